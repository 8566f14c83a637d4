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
(:class:`~wfss_helpers.geometry.trace.GrismTrace`): for GRISMR the spectrum has one entry per
detector *column* and the aperture spans rows; for GRISMC one entry per detector *row*,
and the aperture spans columns.

Two apertures are offered. ``half_height=None`` sums the whole height of the box
(across the dispersion), the seed notebook's column collapse: it is right only if the
trace is straight along the box. A number follows the trace: at each pixel along the
dispersion it sums the pixels within ``half_height`` of the trace centre, with
fractional weights at the edges.

An entry whose aperture contains a bad pixel (NaN, or flagged ``DO_NOT_USE`` in DQ) has
no unbiased box sum: it is returned masked, with NaN values.

Numbers that would be wrong without anything showing it are refused, warned about or
flagged, entry by entry (:class:`ExtractionFlag`, ``BoxExtraction.flags``):

* **contamination**: entries whose aperture another order of the same source, or an
  order of a neighbour given in ``neighbours=``, falls on are flagged (their rate holds
  that light too), with one warning saying how many;
* **trace centring**: the flux-weighted centre of the trace across the dispersion is
  measured in the box (``BoxExtraction.centroid``, ``centring_offset``); a trace more
  than 1 px from where it is predicted, or none at all, gets a warning (a wrong source
  position extracts blank sky);
* **apertures** narrower than ±1 px, and boxes taller than the detector, are refused;
* an **ERR** array that is zero everywhere in the box (or absent) cannot give the
  uncertainty: it then comes from the scatter of the background pixels, with a warning;
* a box where **every pixel** is NaN or flagged is refused, with the counts of each.
"""

from __future__ import annotations

import enum
import warnings
from dataclasses import dataclass, field

import numpy as np
from astropy import units as u
from astropy.stats import sigma_clip

from ..checks.arguments import neighbour_positions, positive_number, trace_parameter_range
from ..exposure import as_wfss_exposure
from ..geometry.trace import BoundingBox, GrismTrace, _as_trace
from ..geometry.configuration import ExposureMismatchError, check_exposure_matches

__all__ = [
    "BackgroundEstimate",
    "BoxExtraction",
    "ExtractionFlag",
    "bad_pixel_mask",
    "estimate_background",
    "aperture_weights",
    "aperture_fraction_from_image",
    "box_extract",
    "wavelength_map",
]

#: JWST DQ bit of pixels not to be used.
DO_NOT_USE = 1
RATE_UNIT = u.DN / u.s
#: Fewest background pixels a sigma-clipped estimate is trusted with.
MIN_BACKGROUND_PIXELS = 20
#: Smallest aperture half-height across the dispersion, pixels (:func:`box_extract`).
MIN_HALF_HEIGHT = 1.0
#: Half-width of the window in which the trace centroid is measured, pixels.
CENTROID_HALF_WIDTH = 3.0
#: Significance a trace must reach in the box's profile across the dispersion to count
#: as detected, and the per-entry S/N of an entry whose centroid is kept.
DETECTION_SIGMA = 5.0
#: Fewest entries with a centroid for their median to be the centring offset.
MIN_CENTROID_ENTRIES = 5


class ExtractionFlag(enum.IntFlag):
    """Bits of ``BoxExtraction.flags``, one integer per entry along the dispersion.

    ``BAD_PIXEL`` and ``OFF_DETECTOR`` entries are masked (NaN); ``OTHER_ORDER`` and
    ``NEIGHBOUR`` entries have a value, but it includes light that is not the source's.

    Attributes
    ----------
    BAD_PIXEL : 1
        A pixel of the aperture is NaN, has a NaN or negative ERR, or is flagged
        ``DO_NOT_USE`` in DQ.
    OFF_DETECTOR : 2
        The aperture leaves the detector across the dispersion.
    OTHER_ORDER : 4
        Another spectral order of the same source falls in the aperture (its trace
        centre within the aperture widened by ``contamination_margin``).
    NEIGHBOUR : 8
        An order of a neighbour given in ``box_extract(..., neighbours=...)`` falls in
        the aperture.
    MODELLED_CONTAMINATION : 16
        A contamination model was subtracted (``box_extract(...,
        contamination=...)``) and it holds more than ``contamination_limit`` (10 % by
        default) of the source's own rate at this entry: the value is only as good as
        the model of the neighbours.
    """

    BAD_PIXEL = 1
    OFF_DETECTOR = 2
    OTHER_ORDER = 4
    NEIGHBOUR = 8
    MODELLED_CONTAMINATION = 16

    @classmethod
    def masking(cls):
        """The bits that mask an entry (``BAD_PIXEL | OFF_DETECTOR``)."""
        return cls.BAD_PIXEL | cls.OFF_DETECTOR

    @classmethod
    def contamination(cls):
        """The bits of contaminated entries (``OTHER_ORDER | NEIGHBOUR |
        MODELLED_CONTAMINATION``)."""
        return cls.OTHER_ORDER | cls.NEIGHBOUR | cls.MODELLED_CONTAMINATION


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

    @classmethod
    def known(cls, level):
        """A level given, not measured: no pixels, no scatter, no uncertainty."""
        return cls(float(level), float(level), 0.0, 0, 0.0, np.array([]))


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
    trace : `~wfss_helpers.geometry.trace.GrismTrace` or None
        The trace the spectrum was extracted along.
    flags : numpy.ndarray of int
        Bitmask of :class:`ExtractionFlag` values per entry (0: nothing to report).
        :attr:`contaminated`, :attr:`other_order_contaminated` and
        :attr:`neighbour_contaminated` read it.
    contaminants : tuple of str
        What falls in the aperture of the flagged entries, e.g. ``"order +2 of this
        source"`` or ``"order +1 of the neighbour at (971.9, 1550.1)"``.
    centroid : numpy.ndarray
        Measured flux-weighted centre of the trace across the dispersion at each entry
        (a row for GRISMR, a column for GRISMC); NaN where the entry has too little
        signal (S/N below 5 in a ±3 px window) to measure it.
    centring_offset : float
        How far the trace lies from where it is predicted, across the dispersion, in
        pixels (measured minus predicted: positive toward larger rows for GRISMR,
        larger columns for GRISMC): the median of ``centroid - trace_centre`` over the
        entries with signal. NaN if no trace was detected in the box.
    rate_err_source : str
        What ``rate_err`` was built from: ``"ERR"`` (the exposure's ERR array and the
        background's uncertainty) or ``"background scatter"`` (the ERR array was absent
        or zero everywhere in the box).
    contamination : `~astropy.units.Quantity` or None
        The modelled light of other sources (and other orders) in the aperture that was
        subtracted, per entry (DN/s); None if no contamination model was given.
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
    flags: np.ndarray | None = field(default=None, repr=False)
    contaminants: tuple = ()
    centroid: np.ndarray | None = field(default=None, repr=False)
    centring_offset: float = float("nan")
    rate_err_source: str = "ERR"
    contamination: u.Quantity | None = field(default=None, repr=False)

    def __post_init__(self):
        n = np.shape(self.pixel)[0] if np.ndim(self.pixel) else 0
        if self.flags is None:
            flags = np.where(np.asarray(self.mask, dtype=bool), 1, 0)
            object.__setattr__(self, "flags", flags.astype(np.uint16))
        if self.centroid is None:
            object.__setattr__(self, "centroid", np.full(n, np.nan))

    def _has(self, bits):
        return (np.asarray(self.flags).astype(int) & int(bits)) != 0

    @property
    def contaminated(self):
        """True where another order of the source, or of a neighbour, falls in the
        aperture (``flags`` has ``OTHER_ORDER`` or ``NEIGHBOUR``)."""
        return self._has(ExtractionFlag.contamination())

    @property
    def other_order_contaminated(self):
        """True where another order of the same source falls in the aperture."""
        return self._has(ExtractionFlag.OTHER_ORDER)

    @property
    def neighbour_contaminated(self):
        """True where an order of a neighbour (``neighbours=``) falls in the
        aperture."""
        return self._has(ExtractionFlag.NEIGHBOUR)

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


def aperture_fraction_from_image(image, x, y, cross_axis, half_height, *, radius=40):
    """Fraction of a source's light an aperture of ``±half_height`` pixels holds.

    The aperture of a box extraction spans ``±half_height`` pixels *across* the
    dispersion. A direct image of the same source through the same filter (and PSF)
    gives the source's profile across the dispersion: the image around the source, minus
    its sigma-clipped sky, summed along the dispersion axis. The fraction is the profile
    within the aperture (with the same fractional weights, :func:`aperture_weights`) over
    the whole profile within ``radius``: the aperture correction, with no model of the PSF.

    Parameters
    ----------
    image : array_like, shape (ny, nx)
        The direct image (any flux unit: only ratios are used).
    x, y : float
        The source's position in that image (0-based pixels).
    cross_axis : {"y", "x"}
        The axis the aperture spans: ``"y"`` (rows) for GRISMR, ``"x"`` (columns) for
        GRISMC (:attr:`wfss_helpers.geometry.trace.GrismTrace.cross_axis`).
    half_height : float
        The aperture half-height, pixels.
    radius : int, optional
        Half-size of the square around the source that holds all its light, pixels.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``cross_axis`` is not ``"x"`` or ``"y"``, the square leaves the image, or the
        profile holds no light.
    """
    if cross_axis not in ("x", "y"):
        raise ValueError(f"cross_axis must be 'y' (GRISMR) or 'x' (GRISMC), got {cross_axis!r}.")
    half_height = positive_number(half_height, "half_height")
    image = np.asarray(image, dtype=float)
    ix, iy = int(round(float(x))), int(round(float(y)))
    if not (radius <= ix < image.shape[1] - radius and radius <= iy < image.shape[0] - radius):
        raise ValueError(
            f"The {2 * radius + 1}-pixel square around ({x:.1f}, {y:.1f}) leaves the "
            f"{image.shape[1]}x{image.shape[0]} image: give a smaller radius, or take the "
            "aperture correction from a PSF model for a source this close to the edge."
        )
    rows = slice(iy - radius, iy + radius + 1)
    cols = slice(ix - radius, ix + radius + 1)
    stamp = image[rows, cols]
    stamp = stamp - np.ma.median(sigma_clip(stamp[np.isfinite(stamp)], sigma=3.0))
    if cross_axis == "y":
        profile, pixels, centre = np.nansum(stamp, axis=1), rows, float(y)
    else:
        profile, pixels, centre = np.nansum(stamp, axis=0), cols, float(x)
    total = np.sum(profile)
    if not np.isfinite(total) or total <= 0:
        raise ValueError(
            f"The direct image holds no light around ({x:.1f}, {y:.1f}) above its sky: "
            "check the position (direct-image pixels, 0-based)."
        )
    weights = aperture_weights(np.arange(pixels.start, pixels.stop), [centre], half_height)[:, 0]
    return float(np.sum(weights * profile) / total)


def _arrays(wfss, stacklevel=3):
    """SCI, ERR and DQ of a WFSS exposure (exposure, path, model or dict), checked, and
    its FILTER, PUPIL and name (None for bare arrays)."""
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
    # A path or a model becomes one exposure (opened and checked once, warned about if
    # not flat-fielded); an exposure is used as it is.
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
    expected = {"GRISMR": "x", "GRISMC": "y"}.get(str(pupil or "").strip().upper())
    if expected is not None and expected != trace.dispersion_axis:
        raise ExposureMismatchError(
            f"The exposure {name} was taken with {pupil}, which disperses along "
            f"{expected}, but this grism configuration disperses {trace._describe()} "
            f"along {trace.dispersion_axis}: it is the configuration of the other "
            "grism. Load the configuration of this exposure (load_grism_config(<its "
            "_cal.fits>))."
        )


def _check_aperture_sizes(half_height, box_half_height, n_cross, trace):
    """Refuse apertures too narrow to hold a known fraction of the trace, and boxes
    taller than the detector."""
    sizes = ((half_height, "half_height"), (box_half_height, "box_half_height"))
    for value, name in sizes:
        if value is None or value >= MIN_HALF_HEIGHT:
            continue
        if name == "box_half_height" and half_height is not None:
            continue  # the next check in box_extract says what the box needs
        aperture = "the aperture" if name == "half_height" else "the box, summed whole,"
        raise ValueError(
            f"{name}={value:g} px is below the minimum of {MIN_HALF_HEIGHT:g} px: "
            f"{aperture} spans ±{name} px across the dispersion, and narrower than "
            "±1 px it holds a fraction of the trace that depends on where the trace "
            "centre falls within a pixel and on its position error (a few tenths of "
            "a pixel), so the spectrum would be low by a factor no aperture "
            "correction can be trusted to give (0.2 of the flux at 0.5 px for the "
            "demo's showcased source). "
            f"Use {name} >= {MIN_HALF_HEIGHT:g} (the tutorial uses 4) and an aperture "
            "correction."
        )
    tallest = 2 * box_half_height + 1
    if tallest > n_cross:
        unit = "rows" if trace.dispersion_axis == "x" else "columns"
        raise ValueError(
            f"box_half_height={box_half_height:g} px makes a box {tallest:g} px tall "
            f"across the dispersion, taller than the detector ({n_cross} {unit}): it "
            "would take the background from (or, with half_height=None, sum) the whole "
            "detector, with every other source on it. Use a box a few pixels taller "
            "than the aperture: box_half_height = half_height + 3 or more (the "
            "tutorial uses 15)."
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


def _check_usable_box(sci, err, dq, bad, bbox, trace):
    """Refuse a box in which no pixel can be used."""
    if not bad.all():
        return
    counts = _unusable_pixels(sci, err, dq)
    raise ValueError(
        f"Every one of the {bad.size} pixels of the box of {trace._describe()} "
        f"(columns {bbox.x_min}..{bbox.x_max}, rows {bbox.y_min}..{bbox.y_max}) is "
        f"unusable ({_describe_unusable(counts)}; a pixel can be both): there is "
        "nothing to extract, and a taller box would not help. Check that this is the "
        "right exposure and source position; SCI all NaN there means the region was "
        "not calibrated or not exposed, every pixel DO_NOT_USE that DQ was set (or "
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


def _pixel_scatter(sci, bad, background_pixels):
    """Noise per pixel from the data: the robust standard deviation of the differences
    of neighbouring background pixels along the dispersion, over sqrt(2).

    Differences cancel whatever changes slowly along the dispersion (the sky, the PSF
    wings in the background rows), which a plain standard deviation would count as
    noise. Without enough background pixels, the whole box is used. Returns the
    noise (DN/s per pixel) and the number of differences it is from.
    """
    for usable in (background_pixels, ~bad):
        pairs = usable[:, 1:] & usable[:, :-1] & np.isfinite(sci[:, 1:] - sci[:, :-1])
        differences = (sci[:, 1:] - sci[:, :-1])[pairs]
        if differences.size >= MIN_BACKGROUND_PIXELS:
            return float(_robust_std(differences) / np.sqrt(2.0)), int(differences.size)
    return 0.0, 0


def _order_on_aperture(other, axis, pixels, low, high):
    """True for each entry whose aperture (``low..high`` across the dispersion) the
    trace ``other`` crosses."""
    t = np.linspace(0.0, 1.0, 65)
    x, y = other.position(t)
    coarse_along, coarse_across = (x, y) if axis == "x" else (y, x)
    slack = 5.0  # how far the trace may stray between coarse samples, pixels
    if (
        coarse_along.max() < pixels[0] - slack or coarse_along.min() > pixels[-1] + slack
        or coarse_across.max() < low.min() - slack
        or coarse_across.min() > high.max() + slack
    ):
        return np.zeros(pixels.shape, dtype=bool)  # nowhere near: a quick answer
    length = float(np.sum(np.hypot(np.diff(x), np.diff(y))))
    t = np.linspace(0.0, 1.0, int(min(max(4 * length + 2, 65), 200_000)))
    x, y = other.position(t)
    along, across = (x, y) if axis == "x" else (y, x)
    step = np.diff(along)
    hits = np.zeros(pixels.shape, dtype=bool)
    if np.all(step > 0) or np.all(step < 0):
        order = np.argsort(along)
        along, across = along[order], across[order]
        reached = (pixels >= along[0] - 0.5) & (pixels <= along[-1] + 0.5)
        centre = np.interp(pixels, along, across)
        return reached & (centre >= low) & (centre <= high)
    index = np.rint(along).astype(np.int64) - int(pixels[0])
    inside = (index >= 0) & (index < pixels.size)
    index, across = index[inside], across[inside]
    hit = (across >= low[index]) & (across <= high[index])
    hits[index[hit]] = True
    return hits


def _contamination(trace, neighbours, pixels, low, high):
    """Flags of the entries on which other orders of the source or of neighbours fall,
    and a description of each contaminant."""
    flags = np.zeros(pixels.shape, dtype=np.uint16)
    found = []
    axis = trace.dispersion_axis
    others = [(trace.x0, trace.y0, ExtractionFlag.OTHER_ORDER, "this source")]
    for nx, ny in zip(*neighbours):
        if np.hypot(nx - trace.x0, ny - trace.y0) < 1.0:
            continue  # the source itself, listed in the catalogue
        who = f"the neighbour at ({nx:.1f}, {ny:.1f})"
        others.append((nx, ny, ExtractionFlag.NEIGHBOUR, who))
    for ox, oy, bit, who in others:
        for name in trace.config.orders:
            if bit == ExtractionFlag.OTHER_ORDER and name == trace.order:
                continue
            try:
                other = GrismTrace(trace.config, name, ox, oy)
            except ValueError:
                continue  # an order that does not disperse there: no trace
            hits = _order_on_aperture(other, axis, pixels, low, high)
            if hits.any():
                flags[hits] |= np.uint16(bit)
                found.append((f"order {name} of {who}", int(hits.sum())))
    return flags, found


def _warn_contamination(flags, found, trace, unit):
    geometric = int(ExtractionFlag.OTHER_ORDER | ExtractionFlag.NEIGHBOUR)
    contaminated = (flags & geometric) != 0
    if not contaminated.any():
        return
    listing = "; ".join(f"{what} on {n}" for what, n in found[:6])
    if len(found) > 6:
        listing += f"; and {len(found) - 6} more"
    warnings.warn(
        f"{int(contaminated.sum())} of the {flags.size} {unit} of {trace._describe()} "
        f"are contaminated: other traces fall in their aperture ({listing}). Their "
        "rate includes that light. They are flagged: extraction.contaminated is True "
        "there (extraction.flags, extraction.contaminants say which); leave them out, "
        "or model and subtract the other spectra.",
        stacklevel=3,
    )


def _straightened(sci, bad, across, centre, offsets):
    """The cutout resampled along the trace: ``values[k, j]`` at ``centre[j] +
    offsets[k]`` across the dispersion (linear interpolation; NaN off the box or next
    to a bad pixel)."""
    position = centre[None, :] + offsets[:, None] - across[0]
    low = np.floor(position).astype(np.int64)
    frac = position - low
    n = sci.shape[0]
    inside = (low >= 0) & (low + 1 < n)
    low_c = np.clip(low, 0, n - 2)
    columns = np.broadcast_to(np.arange(sci.shape[1])[None, :], low.shape)
    below, above = sci[low_c, columns], sci[low_c + 1, columns]
    usable = inside & ~bad[low_c, columns] & ~bad[low_c + 1, columns]
    values = (1.0 - frac) * below + frac * above
    return np.where(usable, values, np.nan)


def _robust_std(values, axis=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(values, axis=axis, keepdims=True)
        return 1.4826 * np.nanmedian(np.abs(values - median), axis=axis)


def _windowed_centroid(profile, offsets, start):
    """Flux-weighted centre of ``profile`` in a ±CENTROID_HALF_WIDTH window, iterated
    from ``start`` (the window follows the centroid)."""
    centre = float(start)
    positive = np.clip(np.nan_to_num(profile), 0.0, None)
    for _ in range(30):
        window = aperture_weights(offsets, [centre], CENTROID_HALF_WIDTH)[:, 0]
        weights = window * positive
        if weights.sum() <= 0:
            break
        new = float(np.sum(weights * offsets) / np.sum(weights))
        if abs(new - centre) < 1e-4:
            centre = new
            break
        centre = new
    return centre


def _measure_centring(sci, bad, across, centre, search, contaminated):
    """Where the trace is across the dispersion, measured in the box.

    Entries flagged as contaminated are left out of the summary when enough others
    remain. Returns ``(centroid, offset, significance)``: the flux-weighted centre at
    each entry (NaN without signal), the median offset from ``centre`` (NaN if no
    trace is detected) and the significance of the trace in the box's profile.
    """
    n_along = sci.shape[1]
    centroid = np.full(n_along, np.nan)
    reach = int(np.floor(search))
    if reach < CENTROID_HALF_WIDTH + 2:
        return centroid, float("nan"), 0.0
    keep = ~contaminated
    if keep.sum() < max(MIN_CENTROID_ENTRIES, 0.1 * n_along):
        keep = np.ones(n_along, dtype=bool)
    offsets = np.arange(-reach, reach + 1, dtype=float)
    values = _straightened(sci, bad, across, centre, offsets)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN entries
        level = np.nanmedian(values, axis=0)  # the local level of each entry
        values = values - level[None, :]
        # The median over entries: robust against a neighbour, cosmic rays.
        profile = np.nanmedian(values[:, keep], axis=1)
        n_used = np.sum(np.isfinite(values[:, keep]), axis=1)
    spread = _robust_std(values[:, keep], axis=1)
    if not np.any(np.isfinite(profile)) or not np.nanmax(np.abs(profile)) > 0:
        return centroid, float("nan"), 0.0  # nothing but NaN, or a flat box
    noise = np.nanmedian(1.2533 * spread / np.sqrt(np.maximum(n_used, 1)))
    # Noise-free (simulated) data: any clear peak is significant.
    noise = max(float(np.nan_to_num(noise)), 1e-6 * float(np.nanmax(np.abs(profile))))
    smooth = np.convolve(np.nan_to_num(profile), [0.25, 0.5, 0.25], mode="same")
    peaks = [
        k for k in range(1, offsets.size - 1)
        if smooth[k] >= smooth[k - 1] and smooth[k] >= smooth[k + 1]
        and profile[k] >= DETECTION_SIGMA * noise
        and abs(offsets[k]) <= reach - CENTROID_HALF_WIDTH
    ]
    significance = float(np.nanmax(profile) / noise)
    if not peaks:
        return centroid, float("nan"), significance
    # The peak nearest to the prediction: the source's, not a brighter neighbour's.
    nearest = min(peaks, key=lambda k: abs(offsets[k]))
    significance = float(profile[nearest] / noise)
    offset = _windowed_centroid(profile, offsets, offsets[nearest])
    # Entry by entry, in the same window on the pixels themselves.
    far = np.abs(offsets - offset) > CENTROID_HALF_WIDTH + 3
    pixel_noise = float(_robust_std(values[far]))
    sky = np.where(bad, 0.0, sci - level[None, :])
    estimate = centre + offset
    for _ in range(2):
        weights = aperture_weights(across, estimate, CENTROID_HALF_WIDTH)
        weights = np.where(bad, 0.0, weights)
        total = np.sum(weights * sky, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            measured = np.sum(weights * sky * across[:, None], axis=0) / total
            snr = total / (pixel_noise * np.sqrt(np.sum(weights**2, axis=0)))
        good = (
            np.isfinite(measured) & (snr >= DETECTION_SIGMA)
            & (np.abs(measured - estimate) <= CENTROID_HALF_WIDTH)
        )
        estimate = np.where(good, measured, centre + offset)
    centroid = np.where(good, measured, np.nan)
    if np.sum(good & keep) >= MIN_CENTROID_ENTRIES:
        offset = float(np.median(centroid[good & keep] - centre[good & keep]))
    return centroid, offset, significance


def _warn_centring(
    offset, significance, centroid, trace, tolerance, search, aperture, unit
):
    across = "rows" if trace.dispersion_axis == "x" else "columns"
    if not np.isfinite(offset):
        warnings.warn(
            f"No trace of {trace._describe()} was detected within ±{search:g} px of "
            "where it is predicted across the dispersion (the strongest feature of the "
            f"box's profile across the dispersion is {significance:.1f} sigma, or at "
            "its edge): the extraction may be blank sky. Check x0, y0 (the source's "
            "position on this exposure, from its direct-image position and the WCS of "
            "both files) and that the configuration is this exposure's; if the source "
            "is too faint to be seen, this warning can be ignored. "
            "extraction.centring_offset is NaN.",
            stacklevel=3,
        )
        return
    if abs(offset) <= tolerance:
        return
    n = int(np.count_nonzero(np.isfinite(centroid)))
    how = f"median over {n} {unit} with signal" if n >= MIN_CENTROID_ENTRIES else (
        "from the box's profile across the dispersion"
    )
    warnings.warn(
        f"The trace of {trace._describe()} lies {offset:+.2f} px ({across}) from where "
        f"it is predicted across the dispersion (flux-weighted centroid, {how}), more "
        f"than {tolerance:g} px. If the position is wrong, {aperture} misses part of "
        "the trace and the rate is too low (and a position wrong along the dispersion "
        "shifts the wavelengths): check x0, y0 (the source's position on this "
        "exposure, from its direct-image position and the WCS of both files) and "
        "that the configuration is this exposure's. If a neighbour's trace overlaps "
        "this one and pulls the centroid, the rate includes its light: pass "
        "neighbours= to flag those entries. extraction.centroid has the measured "
        "centre of each entry.",
        stacklevel=3,
    )


def _warn_uncertainty(reason, scatter, n_pixels):
    warnings.warn(
        f"{reason}: the uncertainties are from the background scatter only "
        f"({scatter:.3g} DN/s per pixel, the robust scatter of {n_pixels} differences "
        "of neighbouring background pixels, given to every pixel of the aperture); "
        "they leave out the source's own Poisson noise, so they are too small where "
        "the source is bright. Pass the exposure's ERR array (model.err, or "
        "subtract_background(..., err=model.err)) for complete uncertainties. "
        "extraction.rate_err_source says which was used.",
        stacklevel=3,
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
    neighbours=None,
    contamination_margin=2.0,
    centring_tolerance=1.0,
    contamination=None,
    contamination_limit=0.1,
):
    """Box-extract one source's spectrum (count rate per pixel along the dispersion).

    ``box_extract(wfss, config, order, x0, y0)`` or ``box_extract(wfss, trace)`` with a
    :class:`~wfss_helpers.geometry.trace.GrismTrace`. The dispersion axis comes from the
    configuration: a GRISMR spectrum has one entry per detector column (the aperture
    spans rows), a GRISMC spectrum one per detector row (the aperture spans columns).

    Parameters
    ----------
    wfss : path, `~stdatamodels.jwst.datamodels.ImageModel` or dict
        The flat-fielded WFSS exposure, or a dict with ``data`` (and optionally ``err``,
        ``dq``) arrays.
    config : grismconf.Config or `~wfss_helpers.geometry.trace.GrismTrace`
        Grism configuration (:func:`wfss_helpers.geometry.configuration.load_grism_config`), or a trace
        (then ``order``, ``x0`` and ``y0`` are not given).
    order : int or str
        Spectral order.
    x0, y0 : float
        The source's undispersed position on the WFSS exposure (0-based pixels).
    half_height : float or None, optional
        Aperture half-height around the trace centre, across the dispersion, pixels
        (at least :data:`MIN_HALF_HEIGHT`, 1 px); None sums the whole box (the seed
        notebook's column collapse).
    box_half_height : float, optional
        Margin of the bounding box on each side of the trace, across the dispersion,
        pixels. The background is measured in the box outside the aperture, and the
        trace centre is searched for in it. The box must fit on the detector.
    t_range : tuple of float, optional
        Range of the trace parameter to extract.
    background : float, optional
        A known background level (DN/s per pixel) to subtract instead of estimating it.
    sigma : float, optional
        Sigma-clipping threshold of the background estimate.
    neighbours : array_like of (x0, y0) pairs, or table, optional
        Positions of other sources on the same WFSS exposure (0-based pixels, in the
        same frame as ``x0, y0``): a list or ``(n, 2)`` array of pairs, or a table
        (`~astropy.table.Table`, dict, structured array) with ``x0`` and ``y0``
        columns. Entries on which any order of a neighbour falls in the aperture are
        flagged ``NEIGHBOUR``. A position within 1 px of the source's is the source
        itself and is skipped, so a whole catalogue can be passed.
    contamination_margin : float, optional
        How far outside the aperture, across the dispersion, another trace's centre
        may lie and still be counted as falling in it, pixels (default 2: the core of
        a point source's trace). Widen it for extended neighbours.
    centring_tolerance : float, optional
        Largest offset between the measured and the predicted trace centre, pixels,
        before a warning (default 1).
    contamination : array_like, optional
        A model of the light of everything but this source's order on the exposure
        (DN/s per pixel, the exposure's shape), e.g.
        :meth:`wfss_helpers.field.forward_model.FieldModel.contamination_image`. It is
        subtracted before the extraction, its sum over the aperture is returned per
        entry (``BoxExtraction.contamination``), and entries where it exceeds
        ``contamination_limit`` times the source's rate are flagged
        ``MODELLED_CONTAMINATION``.
    contamination_limit : float, optional
        See ``contamination`` (default 0.1).

    Returns
    -------
    BoxExtraction

    Raises
    ------
    ValueError
        If the aperture is narrower than ±1 px or not inside the box, the box is
        taller than the detector or off it, every pixel of the box is unusable, too
        few background pixels remain, a size or level is not a finite positive number,
        the position is not finite, or the arrays of a dict input do not match.
    TypeError
        If ``config`` is not a grism configuration, or an argument is not a number.
    wfss_helpers.checks.files.InvalidInputFileError
        If ``wfss`` is not a WFSS exposure (e.g. the direct image), or a damaged file.
    wfss_helpers.geometry.configuration.ExposureMismatchError
        If the exposure's ``FILTER``/``PUPIL`` differ from the configuration's (when it
        records them), or its grism disperses along the other axis.

    Warns
    -----
    UserWarning
        If the bounding box runs past the detector edge (what is on the detector is
        extracted; entries whose aperture leaves the detector are masked); if the
        exposure has not been flat-fielded; if entries are contaminated by other
        orders of the source or by neighbours (they are flagged); if the trace is
        more than ``centring_tolerance`` from where it is predicted, or is not
        detected in the box; if the ERR array is absent or zero everywhere in the
        box (the uncertainties then come from the background scatter).

    Notes
    -----
    The trace centre is measured after a local level (the median across the box at
    each entry) is subtracted, as the flux-weighted centroid in a ±3 px window that
    follows it, first on the median profile of all entries (the significant peak
    nearest to the prediction, so a brighter neighbour in the box is not taken for
    the source), then entry by entry; the offset is the median over the entries with
    S/N of 5 or more. Such a window centred on a symmetric profile is not biased by
    the PSF wings or by an extended source's size.
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
    neighbours = neighbour_positions(neighbours)
    margin = positive_number(
        contamination_margin, "contamination_margin", allow_zero=True
    )
    tolerance = positive_number(centring_tolerance, "centring_tolerance")
    contamination_limit = positive_number(contamination_limit, "contamination_limit")
    data = np.asarray(data)
    contamination = _contamination_model(contamination, data.shape)
    along = trace.dispersion_axis
    n_cross = data.shape[0] if along == "x" else data.shape[1]
    _check_aperture_sizes(half_height, box_half_height, n_cross, trace)
    if half_height is not None and half_height + 1.0 > box_half_height:
        raise ValueError(
            f"half_height={half_height} leaves no background rows inside "
            f"box_half_height={box_half_height}; use box_half_height >= half_height + 3."
        )
    _check_grism(trace, exposure)
    bbox = trace.bounding_box(
        box_half_height, t_range=t_range, detector_shape=data.shape
    )
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
    _check_usable_box(sci, cut_err, cut_dq, bad, bbox, trace)
    con = None
    if contamination is not None:
        con = _contamination_cut(contamination, rows_sl, cols_sl)
        sci = sci - con
    if cut_err is None:
        err_problem = "No ERR array was given"
    elif np.all(cut_err[~bad] == 0):
        err_problem = "ERR is zero everywhere in the box"
    else:
        err_problem = None
    var = cut_err**2 if cut_err is not None else np.zeros_like(sci)
    if along == "y":
        # GRISMC: work on the transposed cutout, so that axis 1 runs along dispersion.
        sci, var, bad = sci.T, var.T, bad.T
        con = None if con is None else con.T
        cut_err = None if cut_err is None else cut_err.T
        cut_dq = None if cut_dq is None else cut_dq.T

    pixels = bbox.pixels(along)
    across = bbox.pixels(trace.cross_axis)
    t = trace.t_from_pixel(pixels, t_range=t_range)
    centre = trace.cross_position(t)

    if half_height is None:
        weights = np.ones_like(sci)
        background_pixels = ~bad
        low = np.full(pixels.shape, across[0] - 0.5)
        high = np.full(pixels.shape, across[-1] + 0.5)
        aperture = "the box"
    else:
        weights = aperture_weights(across, centre, half_height)
        background_pixels = (weights == 0) & ~bad
        low, high = centre - half_height, centre + half_height
        aperture = f"the ±{half_height:g} px aperture"
    if background is None:
        _check_background_pixels(
            sci, cut_err, cut_dq, background_pixels, bad,
            None if half_height is None else weights, trace,
        )
        bkg = estimate_background(sci[background_pixels], sigma=sigma)
    else:
        bkg = BackgroundEstimate.known(background)

    in_aperture = weights > 0
    has_bad = np.any(bad & in_aperture, axis=0)
    off = np.zeros(pixels.shape, dtype=bool)
    if half_height is not None:
        # An aperture cut by the detector edge would be summed short: mask it.
        off = (centre - half_height < -0.5) | (centre + half_height > n_cross - 0.5)
    entry_bad = has_bad | off
    rate_err_source = "ERR"
    if err_problem is not None:
        scatter, n_scatter = _pixel_scatter(sci, bad, background_pixels)
        var = np.full_like(sci, scatter**2)
        rate_err_source = "background scatter"
    clean = np.where(bad, 0.0, sci - bkg.median)
    rate = np.sum(weights * clean, axis=0)
    n_pixels = np.sum(weights, axis=0)
    variance = np.sum(weights**2 * np.where(bad, 0.0, var), axis=0)
    variance += (n_pixels * bkg.median_error) ** 2
    rate = np.where(entry_bad, np.nan, rate)
    rate_err = np.where(entry_bad, np.nan, np.sqrt(variance))

    flags = np.zeros(pixels.shape, dtype=np.uint16)
    flags[has_bad] |= np.uint16(ExtractionFlag.BAD_PIXEL)
    flags[off] |= np.uint16(ExtractionFlag.OFF_DETECTOR)
    contamination_bits, found = _contamination(
        trace, neighbours, pixels, low - margin, high + margin
    )
    flags |= contamination_bits
    contam_rate = None
    if con is not None:
        contam_rate = np.sum(weights * np.where(bad, 0.0, con), axis=0)
        contam_rate = np.where(entry_bad, np.nan, contam_rate)
        with np.errstate(invalid="ignore"):
            strong = contam_rate > contamination_limit * np.abs(rate)
        flags[strong] |= np.uint16(ExtractionFlag.MODELLED_CONTAMINATION)
        contam_rate = contam_rate * RATE_UNIT
    contaminated_bits = int(ExtractionFlag.contamination())
    unit = "columns" if along == "x" else "rows"
    if con is None:
        # With a contamination model subtracted the light is modelled, not ignored:
        # the entries where the model matters are flagged MODELLED_CONTAMINATION.
        _warn_contamination(flags, found, trace, unit)
    centroid, offset, significance = _measure_centring(
        sci, bad, across, centre, box_half_height, (flags & contaminated_bits) != 0
    )
    _warn_centring(
        offset, significance, centroid, trace, tolerance, box_half_height, aperture,
        unit,
    )
    if err_problem is not None:
        _warn_uncertainty(err_problem, scatter, n_scatter)

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
        flags=flags,
        contaminants=tuple(what for what, _ in found),
        centroid=centroid,
        centring_offset=offset,
        rate_err_source=rate_err_source,
        contamination=contam_rate,
    )


def _contamination_model(contamination, shape):
    """A contamination image as a float array of the exposure's shape, checked."""
    if contamination is None:
        return None
    if isinstance(contamination, u.Quantity):
        try:
            contamination = contamination.to_value(RATE_UNIT)
        except u.UnitConversionError:
            raise ValueError(
                f"contamination has unit {contamination.unit}; give it in DN/s per pixel."
            ) from None
    array = np.asarray(contamination, dtype=float)
    if array.shape != tuple(shape):
        raise ValueError(
            f"contamination has shape {array.shape}, the exposure {tuple(shape)}: give a "
            "full-frame model of the same exposure (FieldModel.contamination_image)."
        )
    return array


def _contamination_cut(contamination, rows_sl, cols_sl):
    """The contamination model inside a box, checked to be finite there."""
    cut = np.asarray(contamination[rows_sl, cols_sl], dtype=float)
    if not np.all(np.isfinite(cut)):
        raise ValueError(
            "contamination has NaN or infinite pixels in the extraction box: a model "
            "must be finite everywhere (use 0 where nothing is modelled)."
        )
    return cut


def wavelength_map(config, order=None, x0=None, y0=None, bbox=None):
    """Wavelength of every pixel of a bounding box (grismconf route).

    ``wavelength_map(config, order, x0, y0, bbox)`` or ``wavelength_map(trace, bbox)``.
    The wavelength of a pixel depends only on its coordinate along the dispersion: for
    GRISMR its column, ``t = INVDISPX(x - x0)``; for GRISMC its row,
    ``t = INVDISPY(y - y0)``; then ``lambda = DISPL(t)``.

    Parameters
    ----------
    config : grismconf.Config or `~wfss_helpers.geometry.trace.GrismTrace`
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
