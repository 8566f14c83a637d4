"""The inputs of an extraction, read and checked before anything is summed.

* the SCI, ERR and DQ arrays of the exposure (a path, a model, a
  :class:`~wfss_helpers.exposure.WFSSExposure` or a dict of arrays), and its FILTER,
  PUPIL and name;
* the exposure must be the configuration's (filter, grism, dispersion axis);
* a known background level, as a number in DN/s per pixel;
* refusals of a box in which no pixel can be used, or too few to estimate the
  background, saying how many pixels are NaN, flagged ``DO_NOT_USE`` or have a bad
  ERR.

Shared by :mod:`~wfss_helpers.extraction.box` and
:mod:`~wfss_helpers.extraction.optimal` (and the forward model of a field).
"""

from __future__ import annotations

import numpy as np
from astropy import units as u

from ..exposure import GRISM_AXIS, as_wfss_exposure
from ..geometry.configuration import ExposureMismatchError, check_exposure_matches
from .box_background import MIN_BACKGROUND_PIXELS
from .results import DO_NOT_USE, RATE_UNIT

__all__ = []


def _arrays(wfss, stacklevel=3):
    """SCI, ERR and DQ of a WFSS exposure (exposure, path, model or dict), checked, and
    its FILTER, PUPIL and name (None for bare arrays)."""
    # A path, a model or a dict of arrays becomes one exposure (opened and checked
    # once, warned about if not flat-fielded); an exposure is used as it is.
    exposure = as_wfss_exposure(wfss, stacklevel=stacklevel + 1)
    return exposure.data, exposure.err, exposure.dq, exposure.identity


def _background_level(background):
    """A known background level as a float in DN/s per pixel, checked."""
    if isinstance(background, u.Quantity):
        try:
            background = background.to_value(RATE_UNIT)
        except u.UnitConversionError:
            raise ValueError(
                f"background has unit {background.unit}; give it in DN/s (per pixel)."
            ) from None
    try:
        level = float(np.asarray(background, dtype=float).reshape(()))
    except (TypeError, ValueError):
        level = np.nan
    if isinstance(background, (str, bytes, bool)) or not np.isfinite(level):
        raise ValueError(
            "background must be one finite level in DN/s per pixel (or None to "
            f"estimate it), got {background!r}."
        )
    return level


def _check_grism(trace, exposure):
    """The exposure's FILTER/PUPIL must match the configuration and the trace's axis."""
    if exposure is None:
        return
    filter_, pupil, name = exposure
    check_exposure_matches(filter_, pupil, trace, name)
    expected = GRISM_AXIS.get(str(pupil or "").strip().upper())
    if expected is not None and expected != trace.dispersion_axis:
        raise ExposureMismatchError(
            f"The exposure {name} was taken with {pupil}, which disperses along "
            f"{expected}, but this grism configuration disperses {trace._describe()} "
            f"along {trace.dispersion_axis}: it is the configuration of the other "
            "grism. Load the configuration of this exposure (load_grism_config(<its "
            "_cal.fits>))."
        )


def _unusable_pixels(sci, err, dq):
    """Counts of the ways pixels are unusable: (not finite, DO_NOT_USE, bad ERR)."""
    nan = int(np.count_nonzero(~np.isfinite(sci)))
    flagged = 0
    if dq is not None:
        flagged = int(np.count_nonzero((dq.astype(np.uint32) & DO_NOT_USE) > 0))
    bad_err = 0
    if err is not None:
        with np.errstate(invalid="ignore"):
            bad_err = int(np.count_nonzero(~np.isfinite(err) | (err < 0)))
    return nan, flagged, bad_err


def _describe_unusable(counts):
    nan, flagged, bad_err = counts
    return (
        f"{nan} are NaN or infinite in SCI, {flagged} are flagged DO_NOT_USE in DQ, "
        f"{bad_err} have a NaN or negative ERR"
    )


def _check_usable_box(sci, err, dq, bad, bbox, trace, region="box"):
    """Refuse a box (or ``region``: the optimal extraction's window) in which no pixel
    can be used."""
    if not bad.all():
        return
    counts = _unusable_pixels(sci, err, dq)
    raise ValueError(
        f"Every one of the {bad.size} pixels of the {region} of {trace._describe()} "
        f"(columns {bbox.x_min}..{bbox.x_max}, rows {bbox.y_min}..{bbox.y_max}) is "
        f"unusable ({_describe_unusable(counts)}; a pixel can be both): there is "
        f"nothing to extract, and a taller {region} would not help. Check that this is "
        "the right exposure and source position; SCI all NaN there means the region "
        "was not calibrated or not exposed, every pixel DO_NOT_USE that DQ was set (or "
        "read) wrongly."
    )


def _check_background_pixels(sci, err, dq, background_pixels, bad, weights, trace):
    """Say why too few background pixels are left (before estimate_background would)."""
    n = int(np.count_nonzero(background_pixels & np.isfinite(sci)))
    if n >= MIN_BACKGROUND_PIXELS:
        return
    outside = weights == 0 if weights is not None else np.ones_like(bad)
    total = int(np.count_nonzero(outside))
    counts = _unusable_pixels(
        np.where(outside, sci, 0.0),
        None if err is None else np.where(outside, err, 0.0),
        None if dq is None else np.where(outside, dq, 0),
    )
    raise ValueError(
        f"Only {n} usable background pixels in the box of {trace._describe()} "
        f"(need at least {MIN_BACKGROUND_PIXELS}): of its {total} pixels outside the "
        f"aperture, {_describe_unusable(counts)}. Pass a known background level "
        "(background=, e.g. 0.0 after subtracting the sky), or make the box taller "
        "(larger box_half_height) if it is too small."
    )
