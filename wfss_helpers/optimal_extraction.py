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
the forward model of the source (:mod:`wfss_helpers.forward_model`, the source's
direct-image footprint dispersed along its trace) holds, in each column, the
cross-dispersion profile that the data should have, without the noise of the data.

The same profile gives the **aperture correction** of a box: the fraction of ``P``
inside ``±half_height`` pixels (:func:`profile_aperture_fraction`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from astropy import units as u

from .argument_checks import positive_number
from .extraction import (
    RATE_UNIT,
    BackgroundEstimate,
    BoxExtraction,
    ExtractionFlag,
    _arrays,
    _background_level,
    _check_grism,
    _contamination_cut,
    _contamination_model,
    aperture_weights,
    bad_pixel_mask,
)

__all__ = ["OptimalExtraction", "optimal_extract", "profile_aperture_fraction"]

#: Least fraction of an entry's profile that must fall on usable pixels.
MIN_PROFILE_COVERAGE = 0.5


@dataclass(frozen=True)
class OptimalExtraction(BoxExtraction):
    """An optimally extracted spectrum: a :class:`~wfss_helpers.extraction.BoxExtraction`
    whose ``rate`` is the whole light of each entry (no aperture correction needed).

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


def _profile_image(profile, shape):
    """A full-frame profile model, checked (an array, or a DispersedSource drawn)."""
    if hasattr(profile, "add_to"):  # a DispersedSource
        return profile.add_to(np.zeros(shape))
    array = np.asarray(profile, dtype=float)
    if array.shape != tuple(shape):
        raise ValueError(
            f"profile has shape {array.shape}, the exposure {tuple(shape)}: give the "
            "source's own full-frame model (FieldModel.source_image(id, order)) or its "
            "DispersedSource."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError("profile has NaN or infinite pixels: it must be a finite model.")
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
        on = stamp[y0 - profile.y_lo:y1 - profile.y_lo, x0 - profile.x_lo:x1 - profile.x_lo]
    cut = np.zeros(bbox.shape)
    by0, by1 = max(y0, rows_sl.start), min(y1, rows_sl.stop)
    bx0, bx1 = max(x0, cols_sl.start), min(x1, cols_sl.stop)
    if by1 > by0 and bx1 > bx0:
        cut[by0 - rows_sl.start:by1 - rows_sl.start, bx0 - cols_sl.start:bx1 - cols_sl.start] = (
            on[by0 - y0:by1 - y0, bx0 - x0:bx1 - x0]
        )
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
    profile : numpy.ndarray or `~wfss_helpers.forward_model.DispersedSource`
        The source's own model in this order (full frame, any flux unit).
    trace : `~wfss_helpers.trace.GrismTrace`
    half_height : float, optional
    shape : tuple of int, optional
        Detector shape, used when ``profile`` is a DispersedSource.

    Returns
    -------
    pixels : numpy.ndarray
        Pixels along the dispersion (columns for GRISMR, rows for GRISMC).
    fraction : numpy.ndarray
        NaN where the model holds no light.
    """
    half_height = positive_number(half_height, "half_height")
    if not hasattr(profile, "add_to"):
        shape = np.shape(profile)
    bbox, pixels, across, _, centre = _window(trace, half_height + 1.0, shape)
    cut, totals = _profile_cut(profile, bbox, trace, shape)
    if trace.dispersion_axis == "y":
        cut = cut.T
    weights = aperture_weights(across, centre, half_height)
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.sum(weights * cut, axis=0) / totals
    return pixels, np.where(totals > 0, fraction, np.nan)


def optimal_extract(wfss, trace, profile, *, contamination=None, half_height=12.0,
                    background=0.0, box_half_height=None, contamination_limit=0.1):
    """Optimally extract one source's order (Horne 1986), the profile from a model.

    Parameters
    ----------
    wfss : path, `~stdatamodels.jwst.datamodels.ImageModel` or dict
        The exposure (``data``, ``err``, ``dq``), with its sky subtracted (or give
        ``background``). ERR gives the variance: it must be present.
    trace : `~wfss_helpers.trace.GrismTrace`
    profile : numpy.ndarray or `~wfss_helpers.forward_model.DispersedSource`
        The source's own model in this order (full frame): in each entry along the
        dispersion it sets the profile ``P`` (normalised to its total in that entry).
    contamination : array_like, optional
        A model of everything else, subtracted first (as in
        :func:`~wfss_helpers.extraction.box_extract`); its optimally weighted sum is
        returned per entry, and flagged ``MODELLED_CONTAMINATION`` where it exceeds
        ``contamination_limit`` of the source's rate.
    half_height : float, optional
        Half-height of the window the sums run over, pixels across the dispersion.
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
    ValueError
        If there is no ERR array, the profile or contamination has another shape than
        the exposure, or the window is off the detector.
    """
    data, err, dq, exposure = _arrays(wfss)
    data = np.asarray(data, dtype=float)
    if err is None:
        raise ValueError(
            "Optimal extraction weights each pixel by 1/ERR**2: the exposure has no ERR "
            "array. Pass {'data': ..., 'err': ..., 'dq': ...} with the ERR array."
        )
    half_height = positive_number(half_height, "half_height")
    level = _background_level(background)
    limit = positive_number(contamination_limit, "contamination_limit")
    _check_grism(trace, exposure)
    contamination = _contamination_model(contamination, data.shape)
    bbox, pixels, across, t, centre = _window(trace, half_height, data.shape)
    prof, totals = _profile_cut(profile, bbox, trace, data.shape)
    sl = bbox.slices
    sci = data[sl] - level
    var = np.asarray(err, dtype=float)[sl] ** 2
    bad = bad_pixel_mask(data[sl], np.asarray(err)[sl], None if dq is None else np.asarray(dq)[sl])
    bad |= ~(var > 0)
    con = None if contamination is None else _contamination_cut(contamination, *sl)
    if trace.dispersion_axis == "y":
        sci, var, bad, prof = sci.T, var.T, bad.T, prof.T
        con = None if con is None else con.T
    inside = aperture_weights(across, centre, half_height)
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
    n_cross = data.shape[0] if trace.dispersion_axis == "x" else data.shape[1]
    off = (centre - half_height < -0.5) | (centre + half_height > n_cross - 0.5)
    rate = np.where(entry_bad, np.nan, rate)
    rate_err = np.where(entry_bad, np.nan, rate_err)
    flags = np.zeros(pixels.shape, dtype=np.uint16)
    flags[entry_bad] |= np.uint16(ExtractionFlag.BAD_PIXEL)
    flags[off] |= np.uint16(ExtractionFlag.OFF_DETECTOR)
    contam_rate = None
    if con is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            contam_rate = np.sum(p * np.where(good, con, 0.0) * inv, axis=0) / den
            contam_rate = np.where(entry_bad, np.nan, contam_rate)
            strong = contam_rate > limit * np.abs(rate)
        flags[strong] |= np.uint16(ExtractionFlag.MODELLED_CONTAMINATION)
        contam_rate = contam_rate * RATE_UNIT
    fraction = None
    if box_half_height is not None:
        box = aperture_weights(across, centre, positive_number(box_half_height,
                                                              "box_half_height"))
        with np.errstate(invalid="ignore", divide="ignore"):
            fraction = np.sum(box * prof, axis=0) / totals
    return OptimalExtraction(
        order=trace.order,
        x0=trace.x0,
        y0=trace.y0,
        pixel=pixels,
        t=t,
        trace_centre=centre,
        wavelength=trace.wavelength(t),
        dispersion=trace.angstrom_per_pixel(t) * u.pix,
        rate=rate * RATE_UNIT,
        rate_err=rate_err * RATE_UNIT,
        n_pixels=np.sum(inside, axis=0),
        mask=entry_bad,
        background=BackgroundEstimate(level, level, 0.0, 0, 0.0, np.array([])),
        bbox=bbox,
        half_height=half_height,
        dispersion_axis=trace.dispersion_axis,
        trace=trace,
        flags=flags,
        contamination=contam_rate,
        coverage=coverage,
        aperture_fraction=fraction,
    )
