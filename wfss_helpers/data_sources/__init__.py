"""Where the data and their calibration come from: downloads from MAST
(:mod:`~wfss_helpers.data_sources.mast`), the CRDS set-up
(:mod:`~wfss_helpers.data_sources.crds`), the jwst calibration steps
(:mod:`~wfss_helpers.data_sources.pipeline`) and the pipeline's own WFSS extraction
(:mod:`~wfss_helpers.data_sources.spec2`). Which files a notebook uses (the demo or the
real data) is chosen above this, in :mod:`wfss_helpers.tutorial_data`.

Imports :mod:`wfss_helpers.geometry` and :mod:`wfss_helpers.checks`.
"""

from .crds import (
    JWST_CRDS_SERVER_URL,
    configure_offline_crds,
    configure_online_crds,
)
from .mast import (
    MAST_DOWNLOAD_URL,
    MAST_TOKEN_VARIABLE,
    MAST_URL_VARIABLE,
    SEED_FILES,
    DownloadError,
    MastAuthorizationError,
    MastFileNotFoundError,
    mast_product_url,
    download_mast_file,
    verified_copy,
    fetch_seed_data,
)
from .pipeline import (
    PIPELINE_LOGGERS,
    CRDSUnavailableError,
    PipelineLog,
    calibrate_imaging,
    calibrate_wfss,
    capture_logs,
    step_overrides,
    wcs_reference_files,
)
from .spec2 import (
    CATALOG_COLUMNS,
    PipelineSpectrum,
    Spec2Run,
    keep_segments,
    nearest_catalog_source,
    overlapping_boxes,
    pipeline_spectrum,
    run_wfss_spec2,
    spectrum_boxes,
)

__all__ = [
    "JWST_CRDS_SERVER_URL",
    "configure_offline_crds",
    "configure_online_crds",
    "MAST_DOWNLOAD_URL",
    "MAST_TOKEN_VARIABLE",
    "MAST_URL_VARIABLE",
    "SEED_FILES",
    "DownloadError",
    "MastAuthorizationError",
    "MastFileNotFoundError",
    "mast_product_url",
    "download_mast_file",
    "verified_copy",
    "fetch_seed_data",
    "PIPELINE_LOGGERS",
    "CRDSUnavailableError",
    "PipelineLog",
    "calibrate_imaging",
    "calibrate_wfss",
    "capture_logs",
    "step_overrides",
    "wcs_reference_files",
    "CATALOG_COLUMNS",
    "PipelineSpectrum",
    "Spec2Run",
    "keep_segments",
    "nearest_catalog_source",
    "overlapping_boxes",
    "pipeline_spectrum",
    "run_wfss_spec2",
    "spectrum_boxes",
]
