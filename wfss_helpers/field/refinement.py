"""The refinement of a field model: each source's spectrum fitted to the data.

The first guess of :func:`~wfss_helpers.field.field_model.model_field` gives every
source a flat F_lambda at its direct-image flux. :func:`refine_field_model` replaces
it by the spectrum the data ask for: for every source, along the dispersion of one
order, the scale that makes its own model fit the data in its aperture once the
models of all the other sources are subtracted, smoothed, and applied to its spectrum;
then the whole field is modelled again with the new spectra
(:func:`~wfss_helpers.field.field_model.model_field_from_spectra`). Each call is one
iteration; two are enough for the demo field (notebook 6).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
from astropy import units as u
from scipy import ndimage

from ..checks.arguments import positive_number
from ._arguments import _check_instance, _order_name, _some, _whole_number
from ._exposure_checks import (
    _check_model_matches,
    _exposure_arrays,
    _sky_image,
    _warn_unsubtracted_sky,
)
from .field_model import FieldModel, model_field_from_spectra

__all__ = ["refine_field_model"]


def refine_field_model(field_model, wfss, *, order=1, half_height=4.0, min_snr=3.0,
                       smooth=5, sky=None):
    """One iteration: each source's spectrum rescaled, wavelength by wavelength, to fit
    the data in its own aperture once the other sources' models are subtracted.

    For every source, at every pixel along the dispersion of ``order`` (the brightest,
    +1), the scale ``s`` that makes ``s * model`` best fit ``data - others`` in the
    aperture (weighted by 1/ERR^2) is found; ``s`` is median-filtered over ``smooth``
    pixels, and the spectrum becomes ``s(lambda) * F_lambda``. Where the model holds
    less than ``min_snr`` times the noise in the aperture, or the trace is off the
    detector, the scale of the nearest measured wavelength is used. Pixels that are
    not finite, have no positive ERR or are flagged ``DO_NOT_USE`` are left out.

    Parameters
    ----------
    field_model : `~wfss_helpers.field.field_model.FieldModel`
    wfss : path, model, `~wfss_helpers.exposure.WFSSExposure` or dict
        The WFSS exposure with its sky subtracted (``data``, ``err`` and optionally
        ``dq``; or an exposure, e.g. ``WFSSExposure.open(path).with_data(clean)``).
        ERR weights the fit: it must be present.
    order : int, optional
    half_height : float, optional
    min_snr : float, optional
    smooth : int, optional
        Median-filter width, pixels along the dispersion.
    sky : ndarray, float or `~wfss_helpers.extraction.background.SkyModel`, optional
        A sky to subtract from the data first.

    Returns
    -------
    `~wfss_helpers.field.field_model.FieldModel`
        A new model (the input is not changed), ``iteration`` one higher.

    Raises
    ------
    TypeError
        If ``field_model`` is not a FieldModel, or an argument is of the wrong type.
    ValueError
        If the exposure has no ERR, no usable pixel, or another shape than the model;
        if no trace of ``order`` is modelled; if an argument is out of range.
    wfss_helpers.geometry.configuration.ExposureMismatchError
        If the exposure is not the one modelled: its FILTER/PUPIL differ from the
        model's configuration, or the data do not follow the model where it is
        brightest (the model of the other grism or another dither).

    Warns
    -----
    UserWarning
        If the data far from every modelled trace are not about 0 (the sky not
        subtracted: the fit would add it to the spectra), or some sources cannot be
        refined (too faint in every column, or their aperture is off the detector:
        they keep their spectrum).
    """
    _check_instance(field_model, FieldModel, "field_model",
                    "model the field first with model_field(sources, wfss, config)")
    settings = _Refinement.checked(field_model, order, half_height, min_snr, smooth)
    _, data, err, _ = _exposure_arrays(wfss, field_model, what="refine_field_model")
    if sky is not None:
        data = data - _sky_image(sky, data)
    full = field_model.image()
    level = _warn_unsubtracted_sky(
        data, err, full, "The refinement would fit it as the sources' light",
        "or pass sky=", stacklevel=2,
    )
    _check_model_matches(data, err, full, level)
    var = err**2
    spectra = dict(field_model.spectra)
    unrefined = []
    for source_id in field_model.sources["id"]:
        piece = field_model.dispersed.get((int(source_id), settings.order))
        if piece is None:
            continue
        spectrum = _refined_spectrum(data, var, full, piece,
                                     spectra[int(source_id)], settings)
        if spectrum is None:
            unrefined.append(int(source_id))
        else:
            spectra[int(source_id)] = spectrum
    if unrefined:
        _warn_unrefined(unrefined, settings)
    refined = model_field_from_spectra(field_model, spectra)
    return replace(refined, iteration=field_model.iteration + 1)


@dataclass(frozen=True)
class _Refinement:
    """What :func:`refine_field_model` fits: the order, aperture, S/N and smoothing."""

    order: str
    half_height: float
    min_snr: float
    smooth: int

    @classmethod
    def checked(cls, field_model, order, half_height, min_snr, smooth):
        """The settings, each checked (the order must be one the model has)."""
        name = _order_name(field_model.config, order)
        if not any(o == name for _, o in field_model.dispersed):
            raise ValueError(
                f"No trace of order {name} is modelled (the model has orders "
                f"{', '.join(field_model.orders)}): there is nothing to refine in it. "
                "Refine an order the model has (order=1, the brightest)."
            )
        half_height = positive_number(half_height, "half_height")
        min_snr = positive_number(min_snr, "min_snr", allow_zero=True)
        smooth = _whole_number(smooth, "smooth")
        return cls(name, half_height, min_snr, smooth)


def _refined_spectrum(data, var, full, piece, spectrum, settings):
    """One source's spectrum scaled to fit the data in its aperture (None: cannot)."""
    own = piece.add_to(np.zeros(full.shape))
    others = full - own
    try:
        wave, scale, snr = _column_scale(data, var, own, others, piece.trace,
                                         settings.half_height)
    except ValueError:
        return None  # the aperture is off the detector
    good = np.isfinite(scale) & (snr >= settings.min_snr)
    if np.count_nonzero(good) < max(settings.smooth, 3):
        return None
    smoothed = ndimage.median_filter(scale[good], size=settings.smooth, mode="nearest")
    w_good = wave[good]
    sort = np.argsort(w_good)
    old_wave, old_flam = spectrum
    grid = np.union1d(old_wave, w_good)
    factor = np.interp(grid, w_good[sort], smoothed[sort])
    new_flam = np.interp(grid, old_wave, old_flam) * factor
    return grid, new_flam


def _column_scale(data, var, model_self, others, trace, half_height):
    """Per-entry scale of a source's own model that fits the data in its aperture.

    Weighted least squares of ``data - others`` on ``model_self`` over the aperture
    pixels at each entry along the dispersion:
    ``s = sum(M (D - C) / V) / sum(M^2 / V)``.
    """
    from ..extraction.aperture import aperture_weights

    bbox = trace.bounding_box(half_height + 1, detector_shape=data.shape)
    sl = bbox.slices
    d, v = data[sl], var[sl]
    m, c = model_self[sl], others[sl]
    if trace.dispersion_axis == "y":
        d, v, m, c = d.T, v.T, m.T, c.T
    pixels = bbox.pixels(trace.dispersion_axis)
    across = bbox.pixels(trace.cross_axis)
    t = trace.t_from_pixel(pixels)
    w = aperture_weights(across, trace.cross_position(t), half_height)
    good = np.isfinite(d) & np.isfinite(v) & (v > 0) & (w > 0)
    inv = np.where(good, w / np.where(good, v, 1.0), 0.0)
    num = np.sum(inv * m * np.where(good, d - c, 0.0), axis=0)
    den = np.sum(inv * m * m, axis=0)
    signal_to_noise = np.sum(np.where(good, w * m, 0.0), axis=0) / np.sqrt(
        np.sum(np.where(good, w * v, 0.0), axis=0) + 1e-30)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = num / den
    wave = trace.wavelength(t).to_value(u.micron)
    return wave, scale, signal_to_noise


def _warn_unrefined(unrefined, settings):
    """Warn that these sources keep their spectrum (too faint, or off the detector)."""
    smooth, min_snr = settings.smooth, settings.min_snr
    warnings.warn(
        f"{len(unrefined)} source(s) could not be refined in order {settings.order} "
        f"and keep their spectrum (ids {_some(unrefined)}): fewer than "
        f"{max(smooth, 3)} columns with S/N >= min_snr={min_snr:g} in the "
        f"aperture, or the aperture is off the detector.",
        UserWarning, stacklevel=3,
    )
