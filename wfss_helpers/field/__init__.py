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

from .catalog_extraction import (
    FieldExtraction,
    extract_field,
)
from .direct_sources import (
    DirectImageSources,
    detect_direct_sources,
)
from .dispersed_source import (
    T_RANGE,
    DispersedSource,
    disperse_source,
    trace_kernel,
)
from .field_model import (
    FieldModel,
    model_field,
)
from .footprints import (
    FLAM_UNIT,
    PIVOT_WAVELENGTH,
    Footprint,
    first_guess_flambda,
    source_footprints,
)
from .refinement import (
    refine_field_model,
)
from .spectra_file import (
    FORMAT,
    FORMAT_VERSION,
    WAVELENGTH_UNIT,
    GRISMS,
    SourceSpectrum,
    write_spectra,
    read_spectra,
)
from .spectra_summary import (
    summary_table,
)

__all__ = [
    "FieldExtraction",
    "extract_field",
    "FLAM_UNIT",
    "PIVOT_WAVELENGTH",
    "T_RANGE",
    "DirectImageSources",
    "Footprint",
    "DispersedSource",
    "FieldModel",
    "detect_direct_sources",
    "source_footprints",
    "first_guess_flambda",
    "trace_kernel",
    "disperse_source",
    "model_field",
    "refine_field_model",
    "FORMAT",
    "FORMAT_VERSION",
    "WAVELENGTH_UNIT",
    "GRISMS",
    "SourceSpectrum",
    "write_spectra",
    "read_spectra",
    "summary_table",
]
