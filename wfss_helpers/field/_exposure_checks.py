"""Checks of a WFSS exposure against a field model, shared by the refinement of the
model (:mod:`~wfss_helpers.field.refinement`) and the extraction of the whole field
(:mod:`~wfss_helpers.field.catalog_extraction`).

* ``_exposure_arrays`` - the exposure's arrays (a dict of arrays, or a path, a data
  model or a :class:`~wfss_helpers.exposure.WFSSExposure`, opened once and passed on
  as one exposure), of the model's shape and grism, with its unusable pixels as NaN;
* ``_sky_image`` - a sky to subtract first (a level, an image or a
  :class:`~wfss_helpers.extraction.background.SkyModel`), checked;
* ``_warn_unsubtracted_sky`` - far from every modelled trace a sky-subtracted exposure
  has a median of about 0 (``MAX_SKY_RESIDUAL``): a warning otherwise;
* ``_check_model_matches`` - where the model is brightest, the data follow it
  (``MIN_MODEL_MATCH``): the model of another exposure is refused.
"""

from __future__ import annotations

import warnings

import numpy as np
from astropy import units as u

from ..geometry.configuration import ExposureMismatchError

__all__ = []

#: Unit of a WFSS exposure's count rate (a sky given as a Quantity).
RATE_UNIT = u.DN / u.s

#: Far from every modelled trace a sky-subtracted exposure has a median of about 0;
#: a median beyond this fraction of the median ERR there means the sky was not (or
#: badly) subtracted, and the spectra fitted to the data would absorb it (a sky left
#: at 0.1 ERR per pixel biases the faintest demo sources by about 4 per cent).
MAX_SKY_RESIDUAL = 0.1

#: Over the pixels where a field model is brightest, the least-squares scale that
#: takes the model to the data is about 1 for a model of that exposure (0.5 to 2 for
#: a first guess) and near 0 for a model of another exposure (the other grism,
#: another dither): below this, the model is refused.
MIN_MODEL_MATCH = 0.2


def _exposure_arrays(wfss, field_model, *, what, need_err=True):
    """A WFSS exposure's arrays, checked against a field model.

    Returns the exposure, opened once (a dict becomes one of bare arrays), with those
    arrays (``data`` as floats, ``err`` and ``dq`` as given), the data as
    floats with NaN where a pixel is unusable (not finite, no positive ERR,
    ``DO_NOT_USE``), ERR as floats (None if absent), and the exposure's FILTER, PUPIL
    and name (None for a dict).
    """
    from ..exposure import as_wfss_exposure
    from ..extraction.inputs import _check_grism
    from ..extraction.aperture import bad_pixel_mask

    # Opened and checked once, here (a dict becomes an exposure of bare arrays); the
    # extractions reuse it.
    opened = as_wfss_exposure(wfss, stacklevel=4)
    data, err, dq, exposure = opened.data, opened.err, opened.dq, opened.identity
    if exposure is not None:
        _check_grism(next(iter(field_model.dispersed.values())).trace, exposure)
    data = np.asarray(data, dtype=float)
    if data.shape != tuple(field_model.shape):
        raise ValueError(
            f"The exposure has shape {data.shape}, the field model "
            f"{tuple(field_model.shape)}: they must be the same exposure. Model this "
            "exposure (field_model.model_field) first."
        )
    arrays = {"data": data}
    if err is None:
        if need_err:
            raise ValueError(
                f"{what} weights each pixel by 1/ERR**2: the exposure has no ERR array."
                " Pass {'data': ..., 'err': ..., 'dq': ...} with the ERR extension of "
                "its _cal.fits."
            )
        err_f = None
    else:
        err_f = np.asarray(err, dtype=float)
        with np.errstate(invalid="ignore"):
            if not np.any(np.isfinite(err_f) & (err_f > 0)):
                raise ValueError(
                    "ERR is zero, negative or NaN in every pixel: it cannot weight "
                    "the pixels. Give the exposure's ERR array (the ERR extension of "
                    "its _cal.fits), not a placeholder."
                )
        arrays["err"] = np.asarray(err)
    if dq is not None:
        arrays["dq"] = np.asarray(dq)
    bad = bad_pixel_mask(data, err_f, dq)
    if err_f is not None:
        with np.errstate(invalid="ignore"):
            bad |= ~(err_f > 0)
    if bad.all():
        raise ValueError(
            "No pixel of the exposure is usable (each is NaN or infinite, has no "
            "positive ERR, or is flagged DO_NOT_USE): check that these are the SCI, "
            "ERR and DQ arrays of a calibrated exposure."
        )
    arrays = opened.with_data(data, err=arrays.get("err"), dq=arrays.get("dq"))
    return arrays, np.where(bad, np.nan, data), err_f, exposure


def _sky_image(sky, data):
    """A sky given to subtract (level, image or SkyModel) as floats, checked."""
    from ..extraction.background import SkyModel

    if isinstance(sky, SkyModel):
        sky = sky.image
    if isinstance(sky, u.Quantity):
        try:
            sky = sky.to_value(RATE_UNIT)
        except u.UnitConversionError:
            raise ValueError(f"sky has unit {sky.unit}; give it in DN/s.") from None
    if isinstance(sky, (str, bytes, bool)):
        raise TypeError(f"sky must be a level or an image in DN/s, got {sky!r}.")
    try:
        image = np.asarray(sky, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"sky must be a level or an image in DN/s, got {type(sky).__name__}."
        ) from None
    if image.ndim and image.shape != data.shape:
        raise ValueError(
            f"sky has shape {image.shape}, the exposure {data.shape}: give one level "
            "or an image of the exposure's shape (e.g. dispersed_sky_profile(...))."
        )
    if np.any(np.isfinite(data) & ~np.isfinite(image)):
        raise ValueError(
            "sky has NaN or infinite values where the data are usable: a sky model "
            "must be finite there."
        )
    return image


def _sky_residual(data, err, model_image):
    """Median of the data far from every modelled trace, the median ERR there, and
    how many pixels that is (None if too few)."""
    with np.errstate(invalid="ignore"):
        far = np.isfinite(data) & np.isfinite(err) & (err > 0)
        far &= np.abs(model_image) < 0.1 * err
    n = int(np.count_nonzero(far))
    if n < 1000:
        return None
    return float(np.median(data[far])), float(np.median(err[far])), n


def _warn_unsubtracted_sky(data, err, model_image, consequence, fix, *, stacklevel):
    """Warn if the data are not about 0 far from the model's traces; return the
    level found there (0 if it could not be measured)."""
    found = _sky_residual(data, err, model_image)
    if found is None:
        return 0.0
    level, noise, n = found
    if abs(level) > MAX_SKY_RESIDUAL * noise:
        state = "not subtracted" if level > 0 else "over-subtracted"
        warnings.warn(
            f"The {n} pixels far from every modelled trace have a median of "
            f"{level:.3g} DN/s, {level / noise:.1f} times their median ERR: the sky "
            f"seems {state}. {consequence} (the faint sources most). Subtract the sky "
            "first (wfss_helpers.extraction.background.dispersed_sky_profile and "
            f"subtract_background) {fix}.",
            UserWarning, stacklevel=stacklevel + 1,
        )
    return level


def _check_model_matches(data, err, model_image, level=0.0):
    """Refuse a field model that the data do not follow where it is brightest."""
    with np.errstate(invalid="ignore"):
        bright = np.isfinite(data) & np.isfinite(err) & (err > 0)
        bright &= model_image > 3.0 * err
    n = int(np.count_nonzero(bright))
    if n < 50:
        return
    m, v = model_image[bright], err[bright] ** 2
    scale = float(np.sum(m * (data[bright] - level) / v) / np.sum(m * m / v))
    if not scale >= MIN_MODEL_MATCH:
        raise ExposureMismatchError(
            f"The field model does not match these data: over the {n} pixels where it "
            f"is brightest (above 3 ERR) the data hold {scale:.2f} times the model (a "
            "model of this exposure holds about 1). It is the model of another "
            "exposure (the other grism, another dither or detector). Model this "
            "exposure: model_field(sources, <its _cal.fits>, "
            "load_grism_config(<its _cal.fits>))."
        )
