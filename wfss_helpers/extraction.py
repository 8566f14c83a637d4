"""Box extraction of one source's spectrum from a WFSS exposure.

The steps, as in the seed notebook, but computed only inside the source's bounding box:

1. the **bounding box** of the trace between ``t = 0`` and ``t = 1`` (plus a margin),
2. a **cutout** of the SCI, ERR and DQ arrays,
3. a **background** level: the sigma-clipped median of the cutout pixels outside the
   extraction aperture (pixels flagged ``DO_NOT_USE`` or not finite are ignored),
4. for every pixel along the dispersion, the background-subtracted **sum over the
   aperture** across it, its uncertainty from ERR (plus the background's), and the
   pixel's **wavelength** and **dispersion** from the trace polynomials.

The dispersion axis comes from the configuration
(:class:`~wfss_helpers.trace.GrismTrace`): for GRISMR the spectrum has one entry per
detector *column* and the aperture spans rows; for GRISMC one entry per detector *row*,
and the aperture spans columns.

Two apertures are offered. ``half_height=None`` sums the whole height of the box
(across the dispersion), the seed notebook's column collapse: it is right only if the
trace is straight along the box. A number follows the trace: at each pixel along the
dispersion it sums the pixels within ``half_height`` of the trace centre, with
fractional weights at the edges.

An entry whose aperture contains a bad pixel (NaN, or flagged ``DO_NOT_USE`` in DQ) has
no unbiased box sum: it is returned masked, with NaN values.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from astropy import units as u
from astropy.stats import sigma_clip

from .argument_checks import positive_number, trace_parameter_range
from .source_positions import open_model
from .trace import (
    BoundingBox,
    ExposureMismatchError,
    GrismTrace,
    _as_trace,
    check_exposure_matches,
)

__all__ = [
    "BackgroundEstimate",
    "BoxExtraction",
    "bad_pixel_mask",
    "estimate_background",
    "aperture_weights",
    "box_extract",
    "wavelength_map",
]

#: JWST DQ bit of pixels not to be used.
DO_NOT_USE = 1
RATE_UNIT = u.DN / u.s
#: Fewest background pixels a sigma-clipped estimate is trusted with.
MIN_BACKGROUND_PIXELS = 20


@dataclass(frozen=True)
class BackgroundEstimate:
    """A sigma-clipped background level.

    Attributes
    ----------
    median, mean, std : float
        Sigma-clipped statistics of the background pixels, DN/s per pixel.
    n_pixels : int
        Pixels left after clipping.
    median_error : float
        Uncertainty of the median, ``1.2533 * std / sqrt(n_pixels)``.
    sample : numpy.ndarray
        The background pixel values before clipping (for histograms).
    """

    median: float
    mean: float
    std: float
    n_pixels: int
    median_error: float
    sample: np.ndarray


@dataclass(frozen=True)
class BoxExtraction:
    """A box-extracted spectrum, one entry per pixel along the dispersion.

    For GRISMR (``dispersion_axis == "x"``) the entries are detector columns, for GRISMC
    (``"y"``) detector rows; ``pixel`` holds them either way. The GRISMR names of the
    first version, ``column`` and ``trace_y``, still work for GRISMR; ``row`` works for
    GRISMC; ``trace_x``/``trace_y`` give the trace centre's detector coordinates for
    both.

    Attributes
    ----------
    order : str
        grismconf name of the order.
    x0, y0 : float
        Source position the trace was computed for.
    pixel : numpy.ndarray
        Pixel coordinates along the dispersion (0-based columns for GRISMR, rows for
        GRISMC), increasing.
    t : numpy.ndarray
        Trace parameter of each entry.
    trace_centre : numpy.ndarray
        Trace centre across the dispersion at each entry (a row for GRISMR, a column for
        GRISMC).
    wavelength : `~astropy.units.Quantity`
        Wavelength of each entry.
    dispersion : `~astropy.units.Quantity`
        Å per pixel at each entry (the ``dlambda`` of the pixel).
    rate, rate_err : `~astropy.units.Quantity`
        Background-subtracted count rate in the aperture and its 1-sigma uncertainty.
    n_pixels : numpy.ndarray
        Sum of the aperture weights at each entry.
    mask : numpy.ndarray of bool
        True where the entry could not be measured (bad pixel, off the detector).
    background : BackgroundEstimate
    bbox : BoundingBox
    half_height : float or None
        Aperture half-height across the dispersion; None for the whole box.
    dispersion_axis : str
        ``"x"`` (GRISMR) or ``"y"`` (GRISMC).
    trace : `~wfss_helpers.trace.GrismTrace` or None
        The trace the spectrum was extracted along.
    """

    order: str
    x0: float
    y0: float
    pixel: np.ndarray
    t: np.ndarray
    trace_centre: np.ndarray
    wavelength: u.Quantity
    dispersion: u.Quantity
    rate: u.Quantity
    rate_err: u.Quantity
    n_pixels: np.ndarray
    mask: np.ndarray
    background: BackgroundEstimate
    bbox: BoundingBox
    half_height: float | None
    dispersion_axis: str = "x"
    trace: GrismTrace | None = field(default=None, repr=False, compare=False)

    def _only(self, axis, name, instead):
        if self.dispersion_axis != axis:
            grism = "GRISMR" if self.dispersion_axis == "x" else "GRISMC"
            along = "columns" if self.dispersion_axis == "x" else "rows"
            raise AttributeError(
                f"This extraction disperses along {self.dispersion_axis} ({grism}): "
                f"its entries are detector {along}, so it has no .{name}. Use .pixel "
                f"(the {along}) and {instead}."
            )

    @property
    def column(self):
        """Detector column of each entry (GRISMR only; ``pixel`` works for both)."""
        self._only("x", "column", ".trace_x for the trace centre's columns")
        return self.pixel

    @property
    def row(self):
        """Detector row of each entry (GRISMC only; ``pixel`` works for both)."""
        self._only("y", "row", ".trace_y for the trace centre's rows")
        return self.pixel

    @property
    def trace_x(self):
        """Column of the trace centre at each entry."""
        return self.pixel if self.dispersion_axis == "x" else self.trace_centre

    @property
    def trace_y(self):
        """Row of the trace centre at each entry."""
        return self.trace_centre if self.dispersion_axis == "x" else self.pixel


def _check_shapes_match(data, **others):
    """Raise if any of ``others`` (e.g. err, dq) is given with another shape than ``data``."""
    for name, array in others.items():
        if array is not None and np.shape(array) != np.shape(data):
            raise ValueError(f"{name} has shape {np.shape(array)} but data has shape {np.shape(data)}; they must match.")


def bad_pixel_mask(data, err=None, dq=None):
    """True where a pixel must not be used: not finite, or flagged ``DO_NOT_USE``.

    Parameters
    ----------
    data : numpy.ndarray
    err, dq : numpy.ndarray, optional

    Returns
    -------
    numpy.ndarray of bool
    """
    if data is None:
        raise TypeError("data must be an image array, got None.")
    data = np.asarray(data, dtype=float)
    err = None if err is None else np.asarray(err, dtype=float)
    dq = None if dq is None else np.asarray(dq)
    _check_shapes_match(data, err=err, dq=dq)
    bad = ~np.isfinite(data)
    if err is not None:
        with np.errstate(invalid="ignore"):
            bad |= ~np.isfinite(err) | (err < 0)
    if dq is not None:
        bad |= (dq.astype(np.uint32) & DO_NOT_USE) > 0
    return bad


def estimate_background(values, *, sigma=3.0, maxiters=10):
    """Sigma-clipped background level of a set of pixel values.

    The pixels are clipped with `astropy.stats.sigma_clip` (median centre, standard
    deviation, iterated until no pixel is rejected or ``maxiters``); the level is the
    median of the pixels kept. This is what `astropy.stats.sigma_clipped_stats` computes,
    but the clipping is called with ``axis=0``, which takes astropy's compiled
    implementation: the same numbers two to three times faster than its pure-Python path
    (``tests/test_extraction.py`` checks the two agree). NaNs are ignored.

    Parameters
    ----------
    values : array_like
        Background pixels, DN/s.
    sigma : float, optional
        Clipping threshold in standard deviations.
    maxiters : int, optional

    Returns
    -------
    BackgroundEstimate

    Raises
    ------
    ValueError
        If fewer than ``MIN_BACKGROUND_PIXELS`` finite values are given.
    """
    sigma = positive_number(sigma, "sigma")
    if isinstance(maxiters, bool) or not isinstance(maxiters, (int, np.integer)) or maxiters < 1:
        raise ValueError(f"maxiters must be a positive integer, got {maxiters!r}.")
    try:
        sample = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise TypeError("values must be an array of pixel values (numbers).") from None
    finite = sample[np.isfinite(sample)]
    if finite.size < MIN_BACKGROUND_PIXELS:
        raise ValueError(
            f"Only {finite.size} usable background pixels (need at least "
            f"{MIN_BACKGROUND_PIXELS}); make the box taller (larger box_half_height) or "
            "pass a known background level."
        )
    kept = sigma_clip(
        finite, sigma=sigma, maxiters=maxiters, cenfunc="median", stdfunc="std", axis=0, masked=True
    ).compressed()
    mean, median, std = np.mean(kept), np.median(kept), np.std(kept)
    n = int(kept.size)
    return BackgroundEstimate(
        median=float(median),
        mean=float(mean),
        std=float(std),
        n_pixels=n,
        median_error=float(1.2533 * std / np.sqrt(max(n, 1))),
        sample=finite,
    )


def aperture_weights(rows, trace_y, half_height):
    """Fraction of each pixel inside ``trace_y ± half_height``, entry by entry.

    Written for GRISMR (rows across the dispersion, one trace centre per column); for
    GRISMC pass the columns as ``rows`` and the trace centre's column at each row as
    ``trace_y``: the result is then ``(n_columns, n_rows)``.

    Parameters
    ----------
    rows : numpy.ndarray, shape (ny,)
        Pixel coordinates across the dispersion (pixel centres).
    trace_y : numpy.ndarray, shape (nx,)
        Trace centre at each pixel along the dispersion.
    half_height : float
        Aperture half-height, pixels.

    Returns
    -------
    numpy.ndarray, shape (ny, nx)
        Weights between 0 and 1.
    """
    half_height = positive_number(half_height, "half_height")
    trace_y = np.atleast_1d(np.asarray(trace_y, dtype=float))
    lo = trace_y[None, :] - half_height
    hi = trace_y[None, :] + half_height
    r = np.asarray(rows, dtype=float)[:, None]
    return np.clip(np.minimum(r + 0.5, hi) - np.maximum(r - 0.5, lo), 0.0, 1.0)


def _arrays(wfss):
    """SCI, ERR and DQ of a WFSS exposure (path, model or dict), checked."""
    if isinstance(wfss, dict):
        unknown = set(wfss) - {"data", "err", "dq"}
        if "data" not in wfss or unknown:
            raise ValueError(
                f"A dict input needs a 'data' array and may have 'err' and 'dq'; got keys {sorted(wfss)}."
            )
        data = np.asarray(wfss["data"])
        if data.ndim != 2:
            raise ValueError(f"data must be a 2-D image (ny, nx), got shape {data.shape}.")
        _check_shapes_match(data, err=wfss.get("err"), dq=wfss.get("dq"))
        return data, wfss.get("err"), wfss.get("dq"), None
    model = open_model(wfss, wfss=True)
    if str(model.meta.cal_step.flat_field or "").upper() != "COMPLETE":
        warnings.warn(
            f"{model.meta.filename} has not been flat-fielded (S_FLAT is "
            f"{model.meta.cal_step.flat_field or 'missing'!r}): pixel-to-pixel response differences "
            "stay in the spectrum. Run wfss_helpers.pipeline.calibrate_wfss on it first.",
            stacklevel=3,
        )
    instrument = model.meta.instrument
    exposure = (instrument.filter, instrument.pupil, model.meta.filename)
    return model.data, model.err, model.dq, exposure


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
    expected = {"GRISMR": "x", "GRISMC": "y"}.get(str(pupil or "").strip().upper())
    if expected is not None and expected != trace.dispersion_axis:
        raise ExposureMismatchError(
            f"The exposure {name} was taken with {pupil}, which disperses along "
            f"{expected}, but this grism configuration disperses {trace._describe()} "
            f"along {trace.dispersion_axis}: it is the configuration of the other "
            "grism. Load the configuration of this exposure (load_grism_config(<its "
            "_cal.fits>))."
        )


def box_extract(
    wfss,
    config,
    order=None,
    x0=None,
    y0=None,
    *,
    half_height=4.0,
    box_half_height=15.0,
    t_range=(0.0, 1.0),
    background=None,
    sigma=3.0,
):
    """Box-extract one source's spectrum (count rate per pixel along the dispersion).

    ``box_extract(wfss, config, order, x0, y0)`` or ``box_extract(wfss, trace)`` with a
    :class:`~wfss_helpers.trace.GrismTrace`. The dispersion axis comes from the
    configuration: a GRISMR spectrum has one entry per detector column (the aperture
    spans rows), a GRISMC spectrum one per detector row (the aperture spans columns).

    Parameters
    ----------
    wfss : path, `~stdatamodels.jwst.datamodels.ImageModel` or dict
        The flat-fielded WFSS exposure, or a dict with ``data`` (and optionally ``err``,
        ``dq``) arrays.
    config : grismconf.Config or `~wfss_helpers.trace.GrismTrace`
        Grism configuration (:func:`wfss_helpers.trace.load_grism_config`), or a trace
        (then ``order``, ``x0`` and ``y0`` are not given).
    order : int or str
        Spectral order.
    x0, y0 : float
        The source's undispersed position on the WFSS exposure (0-based pixels).
    half_height : float or None, optional
        Aperture half-height around the trace centre, across the dispersion, pixels;
        None sums the whole box (the seed notebook's column collapse).
    box_half_height : float, optional
        Margin of the bounding box on each side of the trace, across the dispersion,
        pixels. The background is measured in the box outside the aperture.
    t_range : tuple of float, optional
        Range of the trace parameter to extract.
    background : float, optional
        A known background level (DN/s per pixel) to subtract instead of estimating it.
    sigma : float, optional
        Sigma-clipping threshold of the background estimate.

    Returns
    -------
    BoxExtraction

    Raises
    ------
    ValueError
        If the aperture is not inside the box, the box is off the detector, too few
        background pixels remain, a size or level is not a finite positive number, the
        position is not finite, or the arrays of a dict input do not match.
    TypeError
        If ``config`` is not a grism configuration, or an argument is not a number.
    wfss_helpers.file_checks.InvalidInputFileError
        If ``wfss`` is not a WFSS exposure (e.g. the direct image), or a damaged file.
    wfss_helpers.trace.ExposureMismatchError
        If the exposure's ``FILTER``/``PUPIL`` differ from the configuration's (when it
        records them), or its grism disperses along the other axis.

    Warns
    -----
    UserWarning
        If the bounding box runs past the detector edge (what is on the detector is
        extracted; entries whose aperture leaves the detector are masked), or if the
        exposure has not been flat-fielded.
    """
    data, err, dq, exposure = _arrays(wfss)
    trace = _as_trace(config, order, x0, y0)
    box_half_height = positive_number(box_half_height, "box_half_height")
    if half_height is not None:
        half_height = positive_number(half_height, "half_height")
    t_range = trace_parameter_range(t_range)
    sigma = positive_number(sigma, "sigma")
    if background is not None:
        background = _background_level(background)
    if half_height is not None and half_height + 1.0 > box_half_height:
        raise ValueError(
            f"half_height={half_height} leaves no background rows inside "
            f"box_half_height={box_half_height}; use box_half_height >= half_height + 3."
        )
    _check_grism(trace, exposure)
    data = np.asarray(data)
    bbox = trace.bounding_box(
        box_half_height, t_range=t_range, detector_shape=data.shape
    )
    along = trace.dispersion_axis
    if bbox.clipped:
        warnings.warn(
            f"The bounding box of the order {trace.order} trace of the source at "
            f"({trace.x0:.1f}, {trace.y0:.1f}) runs past the detector edge; extracting "
            f"the part on the detector (columns {bbox.x_min}..{bbox.x_max}, rows "
            f"{bbox.y_min}..{bbox.y_max}).",
            stacklevel=2,
        )
    rows_sl, cols_sl = bbox.slices
    sci = np.asarray(data[rows_sl, cols_sl], dtype=float)
    cut_err = None if err is None else np.asarray(err[rows_sl, cols_sl], dtype=float)
    cut_dq = None if dq is None else np.asarray(dq[rows_sl, cols_sl])
    bad = bad_pixel_mask(sci, cut_err, cut_dq)
    var = cut_err**2 if cut_err is not None else np.zeros_like(sci)
    if along == "y":
        # GRISMC: work on the transposed cutout, so that axis 1 runs along dispersion.
        sci, var, bad = sci.T, var.T, bad.T
    n_cross = data.shape[0] if along == "x" else data.shape[1]

    pixels = bbox.pixels(along)
    across = bbox.pixels(trace.cross_axis)
    t = trace.t_from_pixel(pixels, t_range=t_range)
    centre = trace.cross_position(t)

    if half_height is None:
        weights = np.ones_like(sci)
        background_pixels = ~bad
    else:
        weights = aperture_weights(across, centre, half_height)
        background_pixels = (weights == 0) & ~bad
    if background is None:
        bkg = estimate_background(sci[background_pixels], sigma=sigma)
    else:
        bkg = BackgroundEstimate(float(background), float(background), 0.0, 0, 0.0, np.array([]))

    in_aperture = weights > 0
    entry_bad = np.any(bad & in_aperture, axis=0)
    if half_height is not None:
        # An aperture cut by the detector edge would be summed short: mask it.
        off = (centre - half_height < -0.5) | (centre + half_height > n_cross - 0.5)
        entry_bad |= off
    clean = np.where(bad, 0.0, sci - bkg.median)
    rate = np.sum(weights * clean, axis=0)
    n_pixels = np.sum(weights, axis=0)
    variance = np.sum(weights**2 * np.where(bad, 0.0, var), axis=0)
    variance += (n_pixels * bkg.median_error) ** 2
    rate = np.where(entry_bad, np.nan, rate)
    rate_err = np.where(entry_bad, np.nan, np.sqrt(variance))

    return BoxExtraction(
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
        n_pixels=n_pixels,
        mask=entry_bad,
        background=bkg,
        bbox=bbox,
        half_height=half_height,
        dispersion_axis=along,
        trace=trace,
    )


def wavelength_map(config, order=None, x0=None, y0=None, bbox=None):
    """Wavelength of every pixel of a bounding box (grismconf route).

    ``wavelength_map(config, order, x0, y0, bbox)`` or ``wavelength_map(trace, bbox)``.
    The wavelength of a pixel depends only on its coordinate along the dispersion: for
    GRISMR its column, ``t = INVDISPX(x - x0)``; for GRISMC its row,
    ``t = INVDISPY(y - y0)``; then ``lambda = DISPL(t)``.

    Parameters
    ----------
    config : grismconf.Config or `~wfss_helpers.trace.GrismTrace`
    order : int or str
    x0, y0 : float
    bbox : BoundingBox

    Returns
    -------
    `~astropy.units.Quantity`, shape ``bbox.shape``
    """
    if isinstance(config, GrismTrace) and bbox is None and x0 is None and y0 is None:
        order, bbox = None, order  # wavelength_map(trace, bbox)
    if not isinstance(bbox, BoundingBox):
        raise TypeError(
            "bbox must be a BoundingBox (from trace_bounding_box or extraction.bbox), "
            f"got {type(bbox).__name__}."
        )
    return _as_trace(config, order, x0, y0).wavelength_map(bbox)
