"""A whole field: the forward model of every source, the contamination it gives each
one, the extraction of a whole catalog and the file that holds all the spectra.

Imports :mod:`wfss_helpers.extraction`, :mod:`wfss_helpers.exposure`,
:mod:`wfss_helpers.geometry` and :mod:`wfss_helpers.checks`.
"""

from .catalog_extraction import (
    FieldExtraction,
    extract_field,
)
from .forward_model import (
    FLAM_UNIT,
    PIVOT_WAVELENGTH,
    T_RANGE,
    DirectImageSources,
    Footprint,
    DispersedSource,
    FieldModel,
    detect_direct_sources,
    source_footprints,
    first_guess_flambda,
    trace_kernel,
    disperse_source,
    model_field,
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
