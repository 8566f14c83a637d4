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

from .aperture import (
    Aperture,
    aperture_fraction_from_image,
    aperture_weights,
    bad_pixel_mask,
)
from .background import (
    SkyModel,
    dispersed_sky_profile,
    scale_background_reference,
    subtract_background,
)
from .box import (
    box_extract,
    wavelength_map,
)
from .box_background import (
    BoxBackground,
    estimate_background,
)
from .contamination import (
    Contamination,
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
from .results import (
    BackgroundEstimate,
    BoxExtraction,
    ExtractionFlag,
)

__all__ = [
    "SkyModel",
    "dispersed_sky_profile",
    "scale_background_reference",
    "subtract_background",
    "BackgroundEstimate",
    "BoxExtraction",
    "ExtractionFlag",
    "Aperture",
    "BoxBackground",
    "Contamination",
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
