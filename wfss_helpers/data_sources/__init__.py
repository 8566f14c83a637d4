"""Where the data and their calibration come from: downloads from MAST
(:mod:`~wfss_helpers.data_sources.mast`), the CRDS set-up
(:mod:`~wfss_helpers.data_sources.crds`), the jwst calibration steps
(:mod:`~wfss_helpers.data_sources.pipeline`) and the pipeline's own WFSS extraction
(:mod:`~wfss_helpers.data_sources.spec2`). Which files a notebook uses (the demo or the
real data) is chosen above this, in :mod:`wfss_helpers.tutorial_data`.

Imports :mod:`wfss_helpers.geometry` and :mod:`wfss_helpers.checks`.
"""

from . import crds
from . import mast
from . import pipeline
from . import spec2
from .crds import *  # noqa: F403 - the module's __all__
from .mast import *  # noqa: F403 - the module's __all__
from .pipeline import *  # noqa: F403 - the module's __all__
from .spec2 import *  # noqa: F403 - the module's __all__

#: Every public name of the folder's modules, in the order above.
__all__ = list(dict.fromkeys(
    [
        *crds.__all__,
        *mast.__all__,
        *pipeline.__all__,
        *spec2.__all__,
    ]
))
