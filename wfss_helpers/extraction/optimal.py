"""Optimal extraction (Horne 1986) with the profile from the direct image.

A box sums the pixels of the aperture with equal weights: the faint wings count as much
as the bright core, and add their noise. Optimal extraction weights every pixel by what
it is expected to hold. With ``P`` the fraction of the entry's light a pixel receives
(the **profile**, summing to 1 over the whole column), ``D`` the data minus any
contamination model, and ``V`` the variance of the pixel (``ERR**2``), the flux of the
entry and its variance are (Horne 1986, PASP 98, 609, eqs. 8-9)

.. math:: f = \\frac{\\sum P D / V}{\\sum P^2 / V}, \\qquad
          \\sigma_f^2 = \\frac{1}{\\sum P^2 / V}.

``f`` is the *whole* light of the entry (not the part inside an aperture): the profile
carries the aperture correction. It stays unbiased when pixels are missing (a bad pixel
is simply left out of both sums), as long as the profile is right.

Horne measured ``P`` from the smoothed data. Here it comes from the **direct image**:
the forward model of the source (:mod:`wfss_helpers.field.forward_model`, the source's
direct-image footprint dispersed along its trace) holds, in each column, the
cross-dispersion profile that the data should have, without the noise of the data.

The same profile gives the **aperture correction** of a box: the fraction of ``P``
inside ``±half_height`` pixels (:func:`profile_aperture_fraction`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from astropy import units as u

from ..checks.arguments import positive_number
from .aperture import aperture_weights, bad_pixel_mask
from .contamination import _contamination_cut, _contamination_model
from .inputs import (
    _arrays,
    _background_level,
    _check_grism,
    _check_usable_box,
    _describe_unusable,
    _unusable_pixels,
)
from .results import RATE_UNIT, BackgroundEstimate, BoxExtraction, ExtractionFlag

__all__ = ["OptimalExtraction", "optimal_extract", "profile_aperture_fraction"]

#: Least fraction of an entry's profile that must fall on usable pixels.
MIN_PROFILE_COVERAGE = 0.5

#: Largest median distance (pixels) between the profile's centroid across the
#: dispersion and the trace before the profile is taken to be another source's.
MAX_PROFILE_OFFSET = 1.0

#: Least median fraction of the profile's light (its whole column, or row, on the
#: detector) inside the window: a source's own model holds 0.97 of it in the default
#: window; the whole field's model, or a window far too narrow, much less.
MIN_WINDOW_FRACTION = 0.5

#: Most profile-weighted negative light, in units of the positive, in the window
#: before the data are taken to have the other sign than the profile (noise gives 1).
MAX_NEGATIVE_RATIO = 2.0

#: The median of the whole exposure, in units of its median ERR, beyond which the
#: sky is taken to be not subtracted (sources raise it a little: 0.05 in the demo).
MAX_EXPOSURE_SKY = 0.5


@dataclass(frozen=True)
class OptimalExtraction(BoxExtraction):
    """An optimally extracted spectrum: a
    :class:`~wfss_helpers.extraction.results.BoxExtraction` whose ``rate`` is the whole
    light of each entry (no aperture correction needed).

    ``half_height`` is the half-height of the window the sums run over. Everything
    that reads a box extraction (``flux_calibrate``, the plots) reads this one.

    Attributes
    ----------
    coverage : numpy.ndarray
        Fraction of the profile on the usable pixels of the window, per entry.
    aperture_fraction : numpy.ndarray or None
        Per entry, the fraction of the profile inside ``±box_half_height`` pixels of
        the trace (the aperture correction of a box of that size); None if not asked.
    method : str
        ``"optimal"``.
    """

    coverage: np.ndarray | None = field(default=None, repr=False)
    aperture_fraction: np.ndarray | None = field(default=None, repr=False)
    method: str = "optimal"


def _check_trace(trace):
    from ..geometry.trace import GrismTrace

    if not isinstance(trace, GrismTrace):
        raise TypeError(
            f"trace must be a GrismTrace, got {type(trace).__name__}: make one with "
            "GrismTrace(config, order, x0, y0) or FieldModel.trace(id, order)."
        )
    return trace


def _profile_image(profile, shape):
    """A full-frame profile model, checked (an array, or a DispersedSource drawn)."""
    if hasattr(profile, "add_to"):  # a DispersedSource
        return profile.add_to(np.zeros(shape))
    if profile is None or isinstance(profile, (str, bytes)):
        raise TypeError(
            f"profile must be the source's model (a full-frame array or its "
            f"DispersedSource), got {profile!r}: e.g. FieldModel.source_image(id, 1)."
        )
    array = np.asarray(profile, dtype=float)
    if array.shape != tuple(shape):
        raise ValueError(
            f"profile has shape {array.shape}, the exposure {tuple(shape)}: give the "
            "source's own full-frame model (FieldModel.source_image(id, order)) or its "
            "DispersedSource."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(
            "profile has NaN or infinite pixels: it must be a finite model."
        )
    return array


def _profile_cut(profile, bbox, trace, shape):
    """The profile in ``bbox`` and its total per entry along the dispersion (over the
    whole detector across it). A DispersedSource is used without drawing it full
    frame."""
    rows_sl, cols_sl = bbox.slices
    if not hasattr(profile, "add_to"):
        image = _profile_image(profile, shape)
        if trace.dispersion_axis == "x":
            totals = image[:, cols_sl].sum(axis=0)
        else:
            totals = image[rows_sl, :].sum(axis=1)
        return image[rows_sl, cols_sl], totals
    stamp = profile.image
    ny, nx = shape
    # The stamp clipped to the detector, then the part inside the box.
    y0, x0 = max(profile.y_lo, 0), max(profile.x_lo, 0)
    y1 = min(profile.y_lo + stamp.shape[0], ny)
    x1 = min(profile.x_lo + stamp.shape[1], nx)
    on = np.zeros((max(y1 - y0, 0), max(x1 - x0, 0)))
    if on.size:
        on = stamp[y0 - profile.y_lo:y1 - profile.y_lo,
                   x0 - profile.x_lo:x1 - profile.x_lo]
    cut = np.zeros(bbox.shape)
    by0, by1 = max(y0, rows_sl.start), min(y1, rows_sl.stop)
    bx0, bx1 = max(x0, cols_sl.start), min(x1, cols_sl.stop)
    if by1 > by0 and bx1 > bx0:
        rows = slice(by0 - rows_sl.start, by1 - rows_sl.start)
        cols = slice(bx0 - cols_sl.start, bx1 - cols_sl.start)
        cut[rows, cols] = on[by0 - y0:by1 - y0, bx0 - x0:bx1 - x0]
    if trace.dispersion_axis == "x":
        sums, first, pixels = on.sum(axis=0), x0, bbox.pixels("x")
    else:
        sums, first, pixels = on.sum(axis=1), y0, bbox.pixels("y")
    totals = np.zeros(pixels.shape)
    index = pixels - first
    inside = (index >= 0) & (index < sums.size)
    totals[inside] = sums[index[inside]]
    return cut, totals


def _window(trace, half_height, shape):
    """The box around the trace and the trace's coordinates in it."""
    bbox = trace.bounding_box(half_height, detector_shape=shape)
    pixels = bbox.pixels(trace.dispersion_axis)
    across = bbox.pixels(trace.cross_axis)
    t = trace.t_from_pixel(pixels)
    centre = trace.cross_position(t)
    return bbox, pixels, across, t, centre


def profile_aperture_fraction(profile, trace, half_height=4.0, *, shape=(2048, 2048)):
    """The aperture correction of a box, from the model profile: per entry along the
    dispersion, the fraction of the source's light inside ``±half_height`` pixels.

    Parameters
    ----------
    profile : numpy.ndarray or `~wfss_helpers.field.dispersed_source.DispersedSource`
        The source's own model in this order (full frame, any flux unit).
    trace : `~wfss_helpers.geometry.trace.GrismTrace`
    half_height : float, optional
    shape : tuple of int, optional
        Detector shape, used when ``profile`` is a DispersedSource.

    Returns
    -------
    pixels : numpy.ndarray
        Pixels along the dispersion (columns for GRISMR, rows for GRISMC).
    fraction : numpy.ndarray
        NaN where the model holds no light.

    Raises
    ------
    TypeError
        If ``trace`` is not a GrismTrace or ``profile`` not a model.
    ValueError
        If the profile is not a 2-D image (or ``shape`` not a detector shape), the
        window is off the detector, or the profile holds no light near the trace
        (the model of another source or order).
    """
    _check_trace(trace)
    half_height = positive_number(half_height, "half_height")
    if not hasattr(profile, "add_to"):
        shape = np.shape(_profile_image(profile, np.shape(profile)))
    if len(tuple(shape)) != 2:
        raise ValueError(
            f"The profile must be a 2-D detector image (ny, nx), got shape "
            f"{tuple(shape)}: give the source's full-frame model "
            "(FieldModel.source_image(id, order))."
        )
    bbox, pixels, across, _, centre = _window(trace, half_height + 1.0, shape)
    cut, totals = _profile_cut(profile, bbox, trace, shape)
    _check_profile_light(cut, trace, half_height + 1.0)
    if trace.dispersion_axis == "y":
        cut = cut.T
    weights = aperture_weights(across, centre, half_height)
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.sum(weights * cut, axis=0) / totals
    return pixels, np.where(totals > 0, fraction, np.nan)


def _check_profile_light(cut, trace, half_height):
    """Refuse a profile that holds no light, or mostly negative light, near the
    trace: it is not the model of this source and order."""
    positive = float(np.sum(np.clip(cut, 0.0, None)))
    negative = float(np.sum(np.clip(cut, None, 0.0)))
    if not positive > 0:
        raise ValueError(
            f"The profile holds no light within ±{half_height:g} px of "
            f"{trace._describe()}: it is not the model of this source and order (the "
            "model of another source, or of another order?). Give this source's own "
            "model: FieldModel.source_image(id, order) or FieldModel.dispersed[(id, "
            "order)], with the trace FieldModel.trace(id, order)."
        )
    if -negative > 0.1 * positive:
        raise ValueError(
            f"The profile is largely negative near {trace._describe()} ({-negative:.3g}"
            f" against {positive:.3g} positive): a profile is the fraction of the light"
            " each pixel receives. Give the source's model, not a residual or a "
            "model with its sign flipped."
        )


def _check_window_fraction(window_total, entries, trace, half_height):
    """Warn if the window holds a small part of the profile's light."""
    held = window_total[entries & np.isfinite(window_total)]
    if held.size and np.median(held) < MIN_WINDOW_FRACTION:
        warnings.warn(
            f"The window of ±{half_height:g} px holds a median {np.median(held):.2f} "
            f"of the profile's light in each entry of {trace._describe()}: the "
            "profile has most of its light away from the trace. If it is the model of"
            " the whole field (or includes neighbours), the rate is wrong: give this "
            "source's own model (FieldModel.source_image(id, order)); if the source "
            "is that extended, widen the window.",
            UserWarning, stacklevel=3,
        )


def _check_profile_centre(p, across, centre, entries, trace):
    """Warn if the profile is not centred on the trace (another source's model)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        centroid = np.sum(p * across[:, None], axis=0) / np.sum(p, axis=0)
    offset = np.abs(centroid - centre)[entries & np.isfinite(centroid)]
    if offset.size and np.median(offset) > MAX_PROFILE_OFFSET:
        warnings.warn(
            f"The profile is centred a median {np.median(offset):.1f} px from "
            f"{trace._describe()} across the dispersion: it is probably the model of "
            "another source (or includes its neighbours), and the rate would be "
            "wrong. Give this source's own model with its own trace "
            "(FieldModel.source_image(id, order), FieldModel.trace(id, order)).",
            UserWarning, stacklevel=3,
        )


def _check_measurable(entry_bad, arrays, bbox, trace):
    """Refuse a window in which no entry can be measured (its rate all NaN)."""
    if not entry_bad.all():
        return
    sl = bbox.slices
    data, err, dq = (None if a is None else np.asarray(a[sl]) for a in arrays)
    counts = _unusable_pixels(data.astype(float), err, dq)
    raise ValueError(
        f"No entry of {trace._describe()} can be measured: in every one, less than "
        f"{MIN_PROFILE_COVERAGE:.0%} of the profile falls on usable pixels of the "
        f"window (columns {bbox.x_min}..{bbox.x_max}, rows {bbox.y_min}..{bbox.y_max};"
        f" of its {data.size} pixels, {_describe_unusable(counts)}; a pixel can be "
        "both), and the rate would be NaN everywhere. Check that this is the right "
        "exposure and source position; SCI NaN where the source is means the region "
        "was not calibrated or not exposed, DO_NOT_USE there that DQ was set (or read)"
        " wrongly."
    )


def _check_data_sign(sci, con, sums, trace):
    """Warn if the data are mostly negative where the profile puts the source.

    The profile-weighted sums of the data's negative and positive parts over the
    usable pixels of the measured entries: noise alone gives about as much of each, a
    source more positive; more than :data:`MAX_NEGATIVE_RATIO` times as much negative
    means the data do not have the profile's sign (negated data, or the sky
    over-subtracted).
    """
    entries = ~sums.entry_bad
    d = np.where(sums.good, sci - (0.0 if con is None else con), 0.0)[:, entries]
    p = sums.p[:, entries]
    positive = float(np.sum(p * np.clip(d, 0.0, None)))
    negative = float(np.sum(p * np.clip(-d, 0.0, None)))
    if not negative > MAX_NEGATIVE_RATIO * positive:
        return
    ratio = negative / positive if positive > 0 else np.inf
    median = float(np.median(sums.rate[entries]))
    warnings.warn(
        f"The data are mostly negative where the profile puts the source of "
        f"{trace._describe()}: weighted by the profile, {negative:.3g} DN/s below zero"
        f" against {positive:.3g} above (ratio {ratio:.3g}, more than "
        f"{MAX_NEGATIVE_RATIO:g}), and the rate is negative (median {median:.3g} DN/s"
        " per entry). The profile does not match the data's sign: the data may be "
        "negated (a residual or difference taken the wrong way round) or the sky "
        "over-subtracted. Give the exposure itself with its sky subtracted once "
        "(dispersed_sky_profile and subtract_background), or a correct background=.",
        UserWarning, stacklevel=3,
    )


def _check_exposure_sky(data, err, level):
    """Warn if the exposure's median is not about 0: the sky is not subtracted.

    Sources cover a small part of a WFSS exposure, so the median of all its pixels
    (every 8th row and column: fast) is the sky's; after the sky is subtracted it is a
    few hundredths of the ERR (0.05 in the demo field).
    """
    sample = np.asarray(data[::8, ::8], dtype=float) - level
    noise = np.asarray(err[::8, ::8], dtype=float)
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(sample) & np.isfinite(noise) & (noise > 0)
    if np.count_nonzero(usable) < 100:
        return
    median, typical = float(np.median(sample[usable])), float(np.median(noise[usable]))
    if abs(median) > MAX_EXPOSURE_SKY * typical:
        state = "not subtracted" if median > 0 else "over-subtracted"
        warnings.warn(
            f"The median of the exposure (minus background={level:g}) is {median:.3g}"
            f" DN/s, {median / typical:.1f} times its median ERR: the sky seems "
            f"{state}, and the rate holds it. Subtract the sky first "
            "(wfss_helpers.extraction.background.dispersed_sky_profile and subtract_background)"
            " or give background=.",
            UserWarning, stacklevel=3,
        )


def optimal_extract(wfss, trace, profile, *, contamination=None, half_height=12.0,
                    background=0.0, box_half_height=None, contamination_limit=0.1,
                    _check_sky=True):
    """Optimally extract one source's order (Horne 1986), the profile from a model.

    Parameters
    ----------
    wfss : path, `~stdatamodels.jwst.datamodels.ImageModel` or dict
        The exposure (``data``, ``err``, ``dq``), with its sky subtracted (or give
        ``background``). ERR gives the variance: it must be present.
    trace : `~wfss_helpers.geometry.trace.GrismTrace`
    profile : numpy.ndarray or `~wfss_helpers.field.dispersed_source.DispersedSource`
        The source's own model in this order (full frame): in each entry along the
        dispersion it sets the profile ``P`` (normalised to its total in that entry).
    contamination : array_like, optional
        A model of everything else, subtracted first (as in
        :func:`~wfss_helpers.extraction.box.box_extract`); its optimally weighted sum is
        returned per entry, and flagged ``MODELLED_CONTAMINATION`` where it exceeds
        ``contamination_limit`` of the source's rate.
    half_height : float, optional
        Half-height of the window the sums run over, pixels across the dispersion;
        every pixel the window touches counts whole. The estimate is unbiased for any
        window (the profile is normalised over the whole detector); a wider one only
        adds pixels of little weight.
    background : float, optional
        A level (DN/s per pixel) to subtract; default 0 (sky already subtracted).
    box_half_height : float, optional
        If given, :attr:`OptimalExtraction.aperture_fraction` holds the aperture
        correction of a box of that half-height, from the same profile.
    contamination_limit : float, optional

    Returns
    -------
    OptimalExtraction
        ``rate`` is the source's whole light per entry (DN/s); entries where less than
        half the profile falls on usable pixels are masked (``BAD_PIXEL``).

    Raises
    ------
    TypeError
        If ``trace`` is not a GrismTrace or ``profile`` not a model.
    ValueError
        If there is no ERR array (or it is zero or NaN in the whole window), the
        profile or contamination has another shape than the exposure, the window is
        off the detector or taller than it; if the profile holds no light (or
        mostly negative light) near the trace: the model of another source or order;
        if every pixel of the window, or of the profile's core in every entry, is
        unusable (NaN, DO_NOT_USE): the counts of each are given.
    wfss_helpers.geometry.configuration.ExposureMismatchError
        If the exposure's FILTER/PUPIL are not the trace's configuration's.

    Warns
    -----
    UserWarning
        If the profile is centred more than 1 px from the trace (another source's
        model) or has most of its light outside the window (the whole field's
        model), or the exposure's median is not about 0 (the sky not subtracted), or
        the data are mostly negative where the profile puts the source (negated data,
        the sky over-subtracted): the ratio of negative to positive light is given.
    """
    _check_trace(trace)
    data, err, dq, exposure = _arrays(wfss)
    data = np.asarray(data)  # converted to float64 only inside the window
    n_cross = data.shape[0] if trace.dispersion_axis == "x" else data.shape[1]
    half_height = _checked_window(err, half_height, n_cross)
    level = _background_level(background)
    limit = positive_number(contamination_limit, "contamination_limit")
    _check_grism(trace, exposure)
    contamination = _contamination_model(contamination, data.shape)
    bbox, pixels, across, t, centre = _window(trace, half_height, data.shape)
    prof, totals = _profile_cut(profile, bbox, trace, data.shape)
    _check_profile_light(prof, trace, half_height)
    sci, var, bad, prof, con = _weighted_cutout(
        data, err, dq, bbox, level, contamination, prof, trace
    )
    sums = _horne_sums(sci, var, bad, con, prof, totals, across, centre, half_height)
    _check_measurable(sums.entry_bad, (data, err, dq), bbox, trace)
    _check_data_sign(sci, con, sums, trace)
    _check_profile_centre(sums.p, across, centre, ~sums.entry_bad, trace)
    _check_window_fraction(sums.window_total, ~sums.entry_bad, trace, half_height)
    if _check_sky:
        _check_exposure_sky(data, err, level)
    rate, rate_err, flags, contam_rate = _flag_optimal(
        sums, con, pixels, centre, half_height, n_cross, limit
    )
    return OptimalExtraction(
        order=trace.order, x0=trace.x0, y0=trace.y0, pixel=pixels, t=t,
        trace_centre=centre, wavelength=trace.wavelength(t),
        dispersion=trace.angstrom_per_pixel(t) * u.pix, rate=rate * RATE_UNIT,
        rate_err=rate_err * RATE_UNIT, n_pixels=np.sum(sums.inside, axis=0),
        mask=sums.entry_bad, background=BackgroundEstimate.known(level), bbox=bbox,
        half_height=half_height, dispersion_axis=trace.dispersion_axis, trace=trace,
        flags=flags, contamination=contam_rate, coverage=sums.coverage,
        aperture_fraction=_box_fraction(box_half_height, across, centre, prof, totals),
    )


# The steps of optimal_extract, in the order it takes them.


def _checked_window(err, half_height, n_cross):
    """The window's half-height, checked; ERR must be there to weight the pixels."""
    if err is None:
        raise ValueError(
            "Optimal extraction weights each pixel by 1/ERR**2: the exposure has no "
            "ERR array. Pass {'data': ..., 'err': ..., 'dq': ...} with the ERR array."
        )
    half_height = positive_number(half_height, "half_height")
    if 2 * half_height + 1 > n_cross:
        raise ValueError(
            f"half_height={half_height:g} px makes a window {2 * half_height + 1:g} px "
            f"tall, taller than the detector ({n_cross} px across the dispersion): "
            "every entry would be flagged off the detector. The window only needs to "
            "hold the source's profile: use half_height=12 (the default)."
        )
    return half_height


def _weighted_cutout(data, err, dq, bbox, level, contamination, prof, trace):
    """The window's pixels minus ``level``, their variance, bad pixels, profile and
    contamination model (transposed for GRISMC: axis 1 along the dispersion)."""
    sl = bbox.slices
    cut_err = np.asarray(err[sl], dtype=float)
    cut_dq = None if dq is None else np.asarray(dq[sl])
    sci = np.asarray(data[sl], dtype=float) - level
    var = cut_err**2
    bad = bad_pixel_mask(data[sl], cut_err, cut_dq)
    _check_usable_box(sci, cut_err, cut_dq, bad, bbox, trace, region="window")
    with np.errstate(invalid="ignore"):
        if not np.any(var > 0):
            raise ValueError(
                f"ERR is zero or NaN in every pixel of the window of "
                f"{trace._describe()}: it cannot weight the pixels. Give the "
                "exposure's ERR array (the ERR extension of its _cal.fits)."
            )
    bad |= ~(var > 0)
    con = None if contamination is None else _contamination_cut(contamination, *sl)
    if trace.dispersion_axis == "y":
        sci, var, bad, prof = sci.T, var.T, bad.T, prof.T
        con = None if con is None else con.T
    return sci, var, bad, prof, con


@dataclass(frozen=True)
class _HorneSums:
    """Horne's sums per entry: ``inside`` (the window, 1), the normalised profile
    ``p``, the usable pixels ``good`` and inverse variances ``inv``, ``den = sum(P**2 /
    V)``, the unmasked ``rate``/``rate_err``, the profile on usable pixels
    (``coverage``) and in the window, and the entries that cannot be measured."""

    inside: np.ndarray
    p: np.ndarray
    good: np.ndarray
    inv: np.ndarray
    den: np.ndarray
    rate: np.ndarray
    rate_err: np.ndarray
    coverage: np.ndarray
    window_total: np.ndarray
    entry_bad: np.ndarray


def _horne_sums(sci, var, bad, con, prof, totals, across, centre, half_height):
    """Horne's weighted sums over the window (eqs. 8-9), and the entries they miss."""
    # The window is made of whole pixels: every pixel it touches counts in full. (A
    # pixel counted for a fraction would enter the sums with a fraction of its profile
    # but all of its light, and bias the rate high.)
    inside = (aperture_weights(across, centre, half_height) > 0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(totals > 0, prof / totals, 0.0) * inside
        good = ~bad & (inside > 0)
        inv = np.where(good, 1.0 / np.where(good, var, 1.0), 0.0)
        d = np.where(good, sci - (0.0 if con is None else con), 0.0)
        den = np.sum(p * p * inv, axis=0)
        rate = np.sum(p * d * inv, axis=0) / den
        rate_err = 1.0 / np.sqrt(den)
        coverage = np.sum(np.where(good, p, 0.0), axis=0)
        window_total = np.sum(p, axis=0)
    entry_bad = ~(coverage >= MIN_PROFILE_COVERAGE * window_total) | ~(totals > 0)
    entry_bad |= ~np.isfinite(rate)
    return _HorneSums(
        inside, p, good, inv, den, rate, rate_err, coverage, window_total, entry_bad
    )


def _flag_optimal(sums, con, pixels, centre, half_height, n_cross, limit):
    """The masked rate and uncertainty, the flags and the contamination model's rate."""
    entry_bad = sums.entry_bad
    off = (centre - half_height < -0.5) | (centre + half_height > n_cross - 0.5)
    rate = np.where(entry_bad, np.nan, sums.rate)
    rate_err = np.where(entry_bad, np.nan, sums.rate_err)
    flags = np.zeros(pixels.shape, dtype=np.uint16)
    flags[entry_bad] |= np.uint16(ExtractionFlag.BAD_PIXEL)
    flags[off] |= np.uint16(ExtractionFlag.OFF_DETECTOR)
    contam_rate = None
    if con is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            weighted = sums.p * np.where(sums.good, con, 0.0) * sums.inv
            contam_rate = np.sum(weighted, axis=0) / sums.den
            contam_rate = np.where(entry_bad, np.nan, contam_rate)
            strong = contam_rate > limit * np.abs(rate)
        flags[strong] |= np.uint16(ExtractionFlag.MODELLED_CONTAMINATION)
        contam_rate = contam_rate * RATE_UNIT
    return rate, rate_err, flags, contam_rate


def _box_fraction(box_half_height, across, centre, prof, totals):
    """The aperture correction of a box of ``box_half_height`` (None if not asked)."""
    if box_half_height is None:
        return None
    box = aperture_weights(across, centre, positive_number(box_half_height,
                                                          "box_half_height"))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(box * prof, axis=0) / totals
