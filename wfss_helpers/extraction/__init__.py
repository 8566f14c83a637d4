"""One source's spectrum from one exposure: the dispersed sky, the box and the optimal
extraction, the flux calibration and emission-line fits.

* :mod:`~wfss_helpers.extraction.background` - the dispersed sky of a whole exposure;
* :mod:`~wfss_helpers.extraction.box` - box extraction along either axis, with ERR, DQ
  and per-column flags (:func:`~wfss_helpers.extraction.box.box_extract`, its steps, and
  :func:`~wfss_helpers.extraction.box.wavelength_map`);
* :mod:`~wfss_helpers.extraction.results` - what an extraction returns
  (:class:`~wfss_helpers.extraction.results.BoxExtraction`, the per-entry
  :class:`~wfss_helpers.extraction.results.ExtractionFlag`, the background estimate);
* :mod:`~wfss_helpers.extraction.aperture` - the aperture
  (:class:`~wfss_helpers.extraction.aperture.Aperture`), its pixel weights, the
  bad-pixel mask, the aperture correction from a direct image;
* :mod:`~wfss_helpers.extraction.box_background` - the background level under one
  source's box and the noise of its pixels;
* :mod:`~wfss_helpers.extraction.contamination` - other orders, neighbours and a model
  of their light in the aperture;
* :mod:`~wfss_helpers.extraction.centring` - the trace centre measured in the box, and
  its warnings;
* :mod:`~wfss_helpers.extraction.inputs` - the exposure and the arguments of an
  extraction, read and checked;
* :mod:`~wfss_helpers.extraction.optimal` - optimal extraction (Horne 1986);
* :mod:`~wfss_helpers.extraction.flux_calibration` - count rate -> F_lambda;
* :mod:`~wfss_helpers.extraction.lines` - emission-line fits.

Imports :mod:`wfss_helpers.geometry`, :mod:`wfss_helpers.exposure` and
:mod:`wfss_helpers.checks`.
"""

from . import aperture
from . import background
from . import box
from . import box_background
from . import contamination
from . import flux_calibration
from . import lines
from . import optimal
from . import results
from . import centring
from . import inputs
from .aperture import *  # noqa: F403 - the module's __all__
from .background import *  # noqa: F403 - the module's __all__
from .box import *  # noqa: F403 - the module's __all__
from .box_background import *  # noqa: F403 - the module's __all__
from .contamination import *  # noqa: F403 - the module's __all__
from .flux_calibration import *  # noqa: F403 - the module's __all__
from .lines import *  # noqa: F403 - the module's __all__
from .optimal import *  # noqa: F403 - the module's __all__
from .results import *  # noqa: F403 - the module's __all__
from .centring import *  # noqa: F403 - the module's __all__
from .inputs import *  # noqa: F403 - the module's __all__

#: Every public name of the folder's modules, in the order above.
__all__ = list(dict.fromkeys(
    [
        *aperture.__all__,
        *background.__all__,
        *box.__all__,
        *box_background.__all__,
        *contamination.__all__,
        *flux_calibration.__all__,
        *lines.__all__,
        *optimal.__all__,
        *results.__all__,
        *centring.__all__,
        *inputs.__all__,
    ]
))
