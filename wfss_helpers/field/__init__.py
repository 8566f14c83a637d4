"""A whole field: the forward model of every source, the contamination it gives each
one, the extraction of a whole catalog and the file that holds all the spectra.

* :mod:`~wfss_helpers.field.forward_model` - what the forward model is (an overview:
  the steps below, and why a convolution);
* :mod:`~wfss_helpers.field.direct_sources` - the sources of the direct image
  (photutils' sky, segmentation and catalog);
* :mod:`~wfss_helpers.field.footprints` - each source's footprint and its first-guess
  spectrum;
* :mod:`~wfss_helpers.field.dispersed_source` - the trace kernel and one source's
  dispersed image in one order;
* :mod:`~wfss_helpers.field.field_model` - the model of the whole exposure and the
  contamination of each source;
* :mod:`~wfss_helpers.field.refinement` - each source's spectrum fitted to the data;
* :mod:`~wfss_helpers.field.catalog_extraction` - every source and order extracted,
  decontaminated and calibrated;
* :mod:`~wfss_helpers.field.spectra_file` - one FITS file of all the spectra, which
  specutils reads;
* :mod:`~wfss_helpers.field.spectra_summary` - the one-row-per-spectrum summary table.

Imports :mod:`wfss_helpers.extraction`, :mod:`wfss_helpers.exposure`,
:mod:`wfss_helpers.geometry` and :mod:`wfss_helpers.checks`.
"""

from . import catalog_extraction
from . import direct_sources
from . import dispersed_source
from . import field_model
from . import footprints
from . import refinement
from . import spectra_file
from . import spectra_summary
from . import forward_model
from .catalog_extraction import *  # noqa: F403 - the module's __all__
from .direct_sources import *  # noqa: F403 - the module's __all__
from .dispersed_source import *  # noqa: F403 - the module's __all__
from .field_model import *  # noqa: F403 - the module's __all__
from .footprints import *  # noqa: F403 - the module's __all__
from .refinement import *  # noqa: F403 - the module's __all__
from .spectra_file import *  # noqa: F403 - the module's __all__
from .spectra_summary import *  # noqa: F403 - the module's __all__
from .forward_model import *  # noqa: F403 - the module's __all__

#: Every public name of the folder's modules, in the order above.
__all__ = list(dict.fromkeys(
    [
        *catalog_extraction.__all__,
        *direct_sources.__all__,
        *dispersed_source.__all__,
        *field_model.__all__,
        *footprints.__all__,
        *refinement.__all__,
        *spectra_file.__all__,
        *spectra_summary.__all__,
        *forward_model.__all__,
    ]
))
