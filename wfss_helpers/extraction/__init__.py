"""One source's spectrum from one exposure: the dispersed sky, the box and the optimal
extraction, the flux calibration and emission-line fits.

* :mod:`~wfss_helpers.extraction.background` - the dispersed sky;
* :mod:`~wfss_helpers.extraction.box` - box extraction along either axis, with ERR, DQ and
  per-column flags;
* :mod:`~wfss_helpers.extraction.optimal` - optimal extraction (Horne 1986);
* :mod:`~wfss_helpers.extraction.flux_calibration` - count rate -> F_lambda;
* :mod:`~wfss_helpers.extraction.lines` - emission-line fits.

Imports :mod:`wfss_helpers.geometry`, :mod:`wfss_helpers.exposure` and
:mod:`wfss_helpers.checks`.
"""

from .background import (
    SkyModel,
    dispersed_sky_profile,
    scale_background_reference,
    subtract_background,
)
from .box import (
    BackgroundEstimate,
    BoxExtraction,
    ExtractionFlag,
    bad_pixel_mask,
    estimate_background,
    aperture_weights,
    aperture_fraction_from_image,
    box_extract,
    wavelength_map,
)
from .flux_calibration import (
    SENSITIVITY_UNIT,
    FLAM_UNIT,
    relresponse_from_sensitivity,
    sensitivity_from_relresponse,
    sensitivity_curve,
    flambda_arrays,
    flux_calibrate,
)
from .lines import (
    LineFit,
    fit_emission_line,
)
from .optimal import (
    OptimalExtraction,
    optimal_extract,
    profile_aperture_fraction,
)

__all__ = [
    "SkyModel",
    "dispersed_sky_profile",
    "scale_background_reference",
    "subtract_background",
    "BackgroundEstimate",
    "BoxExtraction",
    "ExtractionFlag",
    "bad_pixel_mask",
    "estimate_background",
    "aperture_weights",
    "aperture_fraction_from_image",
    "box_extract",
    "wavelength_map",
    "SENSITIVITY_UNIT",
    "FLAM_UNIT",
    "relresponse_from_sensitivity",
    "sensitivity_from_relresponse",
    "sensitivity_curve",
    "flambda_arrays",
    "flux_calibrate",
    "LineFit",
    "fit_emission_line",
    "OptimalExtraction",
    "optimal_extract",
    "profile_aperture_fraction",
]
