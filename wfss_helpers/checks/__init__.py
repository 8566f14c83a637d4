"""Checks of what a user passes in: arguments
(:mod:`~wfss_helpers.checks.arguments`) and files and data models
(:mod:`~wfss_helpers.checks.files`), each failing with an error that says what is
wrong and how to fix it. The lowest layer: it imports nothing else
from the package.
"""

from . import arguments
from . import files
from .arguments import *  # noqa: F403 - the module's __all__
from .files import *  # noqa: F403 - the module's __all__

#: Every public name of the folder's modules, in the order above.
__all__ = list(dict.fromkeys(
    [
        *arguments.__all__,
        *files.__all__,
    ]
))
