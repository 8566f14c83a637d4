"""Trace geometry and positions: where a source's spectrum lands on a WFSS exposure, and
at which wavelength.

* :mod:`~wfss_helpers.geometry.configuration` - loading a grism configuration (from a
  calibrated WFSS file or a ``.conf``), what filter and grism it is for, whether an
  exposure matches it;
* :mod:`~wfss_helpers.geometry.trace` - :class:`~.trace.GrismTrace`, one source's
  order: dispersion axis and direction, DISPX/DISPY/DISPL, their inverses,
  bounding boxes, wavelength maps;
* :mod:`~wfss_helpers.geometry.inverse` - exact inverses of the trace polynomials;
* :mod:`~wfss_helpers.geometry.trace_functions` - the same as plain functions of
  ``config, order, x0, y0`` (the seed notebook's form), and gWCS wavelengths;
* :mod:`~wfss_helpers.geometry.sensitivity` - the sensitivity of an order and the units
  of F_lambda;
* :mod:`~wfss_helpers.geometry.positions` - direct-image pixel -> sky -> WFSS position;
* :mod:`~wfss_helpers.geometry.reference_files` - where the reference files named in a
  header are on this machine.

Imports only :mod:`wfss_helpers.checks`.
"""

from . import configuration
from . import inverse
from . import positions
from . import reference_files
from . import sensitivity
from . import trace
from . import trace_functions
from .configuration import *  # noqa: F403 - the module's __all__
from .inverse import *  # noqa: F403 - the module's __all__
from .positions import *  # noqa: F403 - the module's __all__
from .reference_files import *  # noqa: F403 - the module's __all__
from .sensitivity import *  # noqa: F403 - the module's __all__
from .trace import *  # noqa: F403 - the module's __all__
from .trace_functions import *  # noqa: F403 - the module's __all__

#: Every public name of the folder's modules, in the order above.
__all__ = list(dict.fromkeys(
    [
        *configuration.__all__,
        *inverse.__all__,
        *positions.__all__,
        *reference_files.__all__,
        *sensitivity.__all__,
        *trace.__all__,
        *trace_functions.__all__,
    ]
))
