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
flagged, entry by entry
(:class:`~wfss_helpers.extraction.results.ExtractionFlag`, ``BoxExtraction.flags``):

* **contamination**: entries whose aperture another order of the same source, or an
  order of a neighbour given in ``neighbours=``, falls on are flagged (their rate holds
  that light too), with one warning saying how many;
* **a neighbour not listed**: a second source whose trace runs in the aperture, seen
  in the box's profile across the dispersion (which a single source's symmetric
  profile cannot make), flags its entries ``UNLISTED_NEIGHBOUR`` with a warning
  (:mod:`~wfss_helpers.extraction._blending`);
* **trace centring**: the flux-weighted centre of the trace across the dispersion is
  measured in the box (``BoxExtraction.centroid``, ``centring_offset``); a trace more
  than 1 px from where it is predicted, or none at all, gets a warning (a wrong source
  position extracts blank sky);
* **apertures** narrower than ±1 px, and boxes taller than the detector, are refused;
* an **ERR** array that is zero everywhere in the box (or absent) cannot give the
  uncertainty: it then comes from the scatter of the background pixels, with a warning;
* a box where **every pixel** is NaN or flagged is refused, with the counts of each.

This module holds :func:`box_extract`, each of its steps as a function, and
:func:`wavelength_map`; the pieces they use are in
:mod:`~wfss_helpers.extraction.results` (what it returns),
:mod:`~wfss_helpers.extraction.aperture` (the aperture and its weights, the bad-pixel
mask), :mod:`~wfss_helpers.extraction.box_background` (the background level and noise),
:mod:`~wfss_helpers.extraction.contamination` (other orders, neighbours, a model of
their light), :mod:`~wfss_helpers.extraction.centring` (the measured trace centre) and
:mod:`~wfss_helpers.extraction.inputs` (the exposure and arguments, checked).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from astropy import units as u

from ..checks.arguments import neighbour_positions, positive_number, trace_parameter_range
from ..geometry.trace import BoundingBox, GrismTrace, _as_trace
from .aperture import Aperture, _check_aperture_sizes, aperture_weights, bad_pixel_mask
from .box_background import (
    BoxBackground,
    _pixel_scatter,
    _warn_uncertainty,
    estimate_background,
)
from ._blending import _find_blend, _warn_blend
from .centring import _measure_centring, _warn_centring
from .contamination import (
    Contamination,
    _contamination_cut,
    _contamination_flags,
    _contamination_model,
    _warn_contamination,
)
from .inputs import (
    _arrays,
    _background_level,
    _check_background_pixels,
    _check_grism,
    _check_usable_box,
)
from .results import RATE_UNIT, BackgroundEstimate, BoxExtraction, ExtractionFlag

__all__ = ["box_extract", "wavelength_map"]

#: The keywords of :func:`box_extract` that an :class:`Aperture` groups.
APERTURE_KEYWORDS = ("half_height", "box_half_height", "t_range")


def box_extract(
    wfss, config, order=None, x0=None, y0=None, *,
    half_height=4.0, box_half_height=15.0, t_range=(0.0, 1.0), background=None,
    sigma=3.0, neighbours=None, contamination_margin=2.0, centring_tolerance=1.0,
    contamination=None, contamination_limit=0.1, aperture=None,
):
    """Box-extract one source's spectrum (count rate per pixel along the dispersion).

    ``box_extract(wfss, config, order, x0, y0)`` or ``box_extract(wfss, trace)`` with a
    :class:`~wfss_helpers.geometry.trace.GrismTrace`. A GRISMR spectrum has one entry
    per detector column (the aperture spans rows), a GRISMC spectrum one per detector
    row (the aperture spans columns). The steps and checks are in the module docstring.

    Parameters
    ----------
    wfss : path, `~stdatamodels.jwst.datamodels.ImageModel`, WFSSExposure or dict
        The flat-fielded WFSS exposure, or a dict with ``data`` (and optionally
        ``err``, ``dq``) arrays.
    config : grismconf.Config or `~wfss_helpers.geometry.trace.GrismTrace`
        Grism configuration
        (:func:`~wfss_helpers.geometry.configuration.load_grism_config`), or a trace
        (then ``order``, ``x0`` and ``y0`` are not given).
    order : int or str
        Spectral order.
    x0, y0 : float
        The source's undispersed position on the WFSS exposure (0-based pixels).
    half_height, box_half_height, t_range : optional
        The aperture's half-height across the dispersion (default 4 px; None sums the
        whole box), the box's (15 px) and the trace parameter range ((0, 1)): see
        :class:`~wfss_helpers.extraction.aperture.Aperture`.
    background, sigma : optional
        A known background level (DN/s per pixel; default None: estimated) and the
        clipping threshold of the estimate (3): see
        :class:`~wfss_helpers.extraction.box_background.BoxBackground`.
    neighbours, contamination_margin, contamination, contamination_limit : optional
        Other sources' positions (their orders' entries are flagged), how far outside
        the aperture a trace still counts (2 px), a model of their light to subtract,
        and the share of the rate above which it is flagged (0.1): see
        :class:`~wfss_helpers.extraction.contamination.Contamination`.
    centring_tolerance : float, optional
        Largest offset between the measured and the predicted trace centre, pixels,
        before a warning (default 1).
    aperture : Aperture, optional
        ``half_height``, ``box_half_height`` and ``t_range`` in one (then give none).

    Returns
    -------
    BoxExtraction

    Raises
    ------
    ValueError
        If the aperture is narrower than ±1 px or not inside the box, the box is
        taller than the detector or off it, every pixel of the box is unusable, too
        few background pixels remain, a size or level is not a finite positive number,
        the position is not finite, the arrays of a dict input do not match, or
        ``aperture`` is given with one of its keywords.
    TypeError
        If ``config`` is not a grism configuration, or an argument is not a number.
    wfss_helpers.checks.files.InvalidInputFileError
        If ``wfss`` is not a WFSS exposure (e.g. the direct image), or a damaged file.
    wfss_helpers.geometry.configuration.ExposureMismatchError
        If the exposure's ``FILTER``/``PUPIL`` differ from the configuration's, or its
        grism disperses along the other axis.

    Warns
    -----
    UserWarning
        If the box runs past the detector edge, the exposure is not flat-fielded,
        entries are contaminated or a source not in ``neighbours`` is seen in the
        aperture (both are flagged), the trace is more than ``centring_tolerance``
        from its prediction or not detected, or ERR is absent or zero in the box.
    """
    aperture = _aperture_of(aperture, half_height, box_half_height, t_range)
    data, err, dq, exposure = _arrays(wfss)
    trace = _as_trace(config, order, x0, y0)
    aperture, sky, crowding, tolerance = _checked_arguments(
        aperture, BoxBackground(background, sigma),
        Contamination(neighbours, contamination_margin, contamination,
                      contamination_limit),
        centring_tolerance, np.shape(data),
    )
    data = np.asarray(data)
    n_cross = _n_cross(trace, data.shape)
    _check_box_fits(aperture, n_cross, trace)
    _check_grism(trace, exposure)
    bbox = _bounding_box(trace, aperture, data.shape)
    cut = _cut_out(data, err, dq, bbox, trace, crowding.model)
    place = _place_aperture(trace, bbox, cut, aperture)
    bkg = _background_of(cut, place, sky, aperture.half_height, trace)
    sums = _sum_aperture(cut, place, bkg, aperture.half_height, n_cross)
    flags, found, contam_rate = _flag_entries(trace, crowding, cut, place, sums)
    centroid, offset = _diagnose(
        trace, cut, place, sums, flags, found, aperture.box_half_height, tolerance
    )
    return _result(
        trace, aperture, bbox, place, sums, bkg, (flags, found, contam_rate),
        (centroid, offset),
    )


# The steps of box_extract, in the order it takes them. Each warning they give names
# the line that called box_extract: stacklevel 3 counts warnings.warn, the step and
# box_extract; the _warn_* helpers that _diagnose calls use 4.


def _aperture_of(aperture, half_height, box_half_height, t_range):
    """The :class:`Aperture` given, or the one of the keywords; refuse both at once."""
    keywords = dict(zip(APERTURE_KEYWORDS, (half_height, box_half_height, t_range)))
    if aperture is None:
        return Aperture(**keywords)
    # A keyword is given if it is not box_extract's default itself (an explicit
    # half_height=4.0 is another float object than the default's).
    defaults = box_extract.__kwdefaults__
    given = [name for name, value in keywords.items() if value is not defaults[name]]
    if given:
        raise ValueError(
            f"box_extract was given aperture= and {'= and '.join(given)}=: give the "
            "aperture one way only, either aperture=Aperture(half_height=..., "
            "box_half_height=..., t_range=...) or the keywords."
        )
    if not isinstance(aperture, Aperture):
        raise TypeError(
            f"aperture must be an Aperture(half_height=..., box_half_height=..., "
            f"t_range=...), got {type(aperture).__name__} {aperture!r}."
        )
    return aperture


def _checked_arguments(aperture, sky, crowding, tolerance, shape):
    """The arguments checked (in the order of the keywords) and made numbers."""
    box_half_height = positive_number(aperture.box_half_height, "box_half_height")
    half_height = aperture.half_height
    if half_height is not None:
        half_height = positive_number(half_height, "half_height")
    t_range = trace_parameter_range(aperture.t_range)
    sigma = positive_number(sky.sigma, "sigma")
    background = sky.background
    if background is not None:
        background = _background_level(background)
    neighbours = neighbour_positions(crowding.neighbours)
    margin = positive_number(crowding.margin, "contamination_margin", allow_zero=True)
    tolerance = positive_number(tolerance, "centring_tolerance")
    limit = positive_number(crowding.limit, "contamination_limit")
    model = _contamination_model(crowding.model, shape)
    return (
        Aperture(half_height, box_half_height, t_range),
        BoxBackground(background, sigma),
        Contamination(neighbours, margin, model, limit),
        tolerance,
    )


def _n_cross(trace, shape):
    """The detector's size across the dispersion (GRISMR: rows; GRISMC: columns)."""
    return shape[0] if trace.dispersion_axis == "x" else shape[1]


def _check_box_fits(aperture, n_cross, trace):
    """Refuse an aperture too narrow or outside the box, and a box too tall."""
    half_height, box_half_height = aperture.half_height, aperture.box_half_height
    _check_aperture_sizes(half_height, box_half_height, n_cross, trace)
    if half_height is not None and half_height + 1.0 > box_half_height:
        raise ValueError(
            f"half_height={half_height} leaves no background rows inside "
            f"box_half_height={box_half_height}; use box_half_height >= half_height + 3."
        )


def _bounding_box(trace, aperture, shape):
    """The trace's bounding box on the detector, with a warning if it is clipped."""
    bbox = trace.bounding_box(
        aperture.box_half_height, t_range=aperture.t_range, detector_shape=shape
    )
    if bbox.clipped:
        warnings.warn(
            f"The bounding box of the order {trace.order} trace of the source at "
            f"({trace.x0:.1f}, {trace.y0:.1f}) runs past the detector edge; extracting "
            f"the part on the detector (columns {bbox.x_min}..{bbox.x_max}, rows "
            f"{bbox.y_min}..{bbox.y_max}).",
            stacklevel=3,
        )
    return bbox


@dataclass(frozen=True)
class _Cutout:
    """The box's pixels; for GRISMC transposed, so that axis 1 runs along dispersion.

    ``sci`` has the contamination model ``con`` (None without one) subtracted; ``var``
    is ERR squared (zeros without ERR); ``err_problem`` says why ERR cannot give the
    uncertainties (None if it can).
    """

    sci: np.ndarray
    err: np.ndarray | None
    dq: np.ndarray | None
    var: np.ndarray
    bad: np.ndarray
    con: np.ndarray | None
    err_problem: str | None


def _cut_out(data, err, dq, bbox, trace, model):
    """The SCI, ERR, DQ (and contamination model) pixels of the box, checked."""
    rows_sl, cols_sl = bbox.slices
    sci = np.asarray(data[rows_sl, cols_sl], dtype=float)
    cut_err = None if err is None else np.asarray(err[rows_sl, cols_sl], dtype=float)
    cut_dq = None if dq is None else np.asarray(dq[rows_sl, cols_sl])
    bad = bad_pixel_mask(sci, cut_err, cut_dq)
    _check_usable_box(sci, cut_err, cut_dq, bad, bbox, trace)
    con = None
    if model is not None:
        con = _contamination_cut(model, rows_sl, cols_sl)
        sci = sci - con
    if cut_err is None:
        err_problem = "No ERR array was given"
    elif np.all(cut_err[~bad] == 0):
        err_problem = "ERR is zero everywhere in the box"
    else:
        err_problem = None
    var = cut_err**2 if cut_err is not None else np.zeros_like(sci)
    if trace.dispersion_axis == "y":
        # GRISMC: work on the transposed cutout, so that axis 1 runs along dispersion.
        sci, var, bad = sci.T, var.T, bad.T
        con = None if con is None else con.T
        cut_err = None if cut_err is None else cut_err.T
        cut_dq = None if cut_dq is None else cut_dq.T
    return _Cutout(sci, cut_err, cut_dq, var, bad, con, err_problem)


@dataclass(frozen=True)
class _Placement:
    """Where the trace and the aperture are in the box, entry by entry.

    ``pixels`` along the dispersion, ``across`` it; the trace parameter ``t`` and
    centre of each entry; the aperture's ``weights`` (the box's shape), the background
    pixels, the aperture's edges ``low``/``high`` and its name in messages.
    """

    pixels: np.ndarray
    across: np.ndarray
    t: np.ndarray
    centre: np.ndarray
    weights: np.ndarray
    background_pixels: np.ndarray
    low: np.ndarray
    high: np.ndarray
    label: str


def _place_aperture(trace, bbox, cut, aperture):
    """The trace's position in the box and the aperture's pixel weights around it."""
    pixels = bbox.pixels(trace.dispersion_axis)
    across = bbox.pixels(trace.cross_axis)
    t = trace.t_from_pixel(pixels, t_range=aperture.t_range)
    centre = trace.cross_position(t)
    half_height = aperture.half_height
    if half_height is None:
        weights = np.ones_like(cut.sci)
        background_pixels = ~cut.bad
        low = np.full(pixels.shape, across[0] - 0.5)
        high = np.full(pixels.shape, across[-1] + 0.5)
        label = "the box"
    else:
        weights = aperture_weights(across, centre, half_height)
        background_pixels = (weights == 0) & ~cut.bad
        low, high = centre - half_height, centre + half_height
        label = f"the ±{half_height:g} px aperture"
    return _Placement(
        pixels, across, t, centre, weights, background_pixels, low, high, label
    )


def _background_of(cut, place, sky, half_height, trace):
    """The background level: the one given, or estimated outside the aperture."""
    if sky.background is not None:
        return BackgroundEstimate.known(sky.background)
    _check_background_pixels(
        cut.sci, cut.err, cut.dq, place.background_pixels, cut.bad,
        None if half_height is None else place.weights, trace,
    )
    return estimate_background(cut.sci[place.background_pixels], sigma=sky.sigma)


@dataclass(frozen=True)
class _Sums:
    """The sums over the aperture, per entry, and the entries that cannot be summed.

    ``has_bad``: a bad pixel in the aperture; ``off``: the aperture leaves the
    detector; ``entry_bad``: either (``rate`` and ``rate_err`` are NaN there).
    ``scatter`` is the background scatter and the number of differences it is from,
    when it gives the uncertainties (``rate_err_source``), else None.
    """

    rate: np.ndarray
    rate_err: np.ndarray
    n_pixels: np.ndarray
    has_bad: np.ndarray
    off: np.ndarray
    entry_bad: np.ndarray
    rate_err_source: str
    scatter: tuple | None


def _sum_aperture(cut, place, bkg, half_height, n_cross):
    """The background-subtracted sum over the aperture and its uncertainty."""
    sci, bad, weights, centre = cut.sci, cut.bad, place.weights, place.centre
    in_aperture = weights > 0
    has_bad = np.any(bad & in_aperture, axis=0)
    off = np.zeros(place.pixels.shape, dtype=bool)
    if half_height is not None:
        # An aperture cut by the detector edge would be summed short: mask it.
        off = (centre - half_height < -0.5) | (centre + half_height > n_cross - 0.5)
    entry_bad = has_bad | off
    var, scatter, rate_err_source = cut.var, None, "ERR"
    if cut.err_problem is not None:
        scatter = _pixel_scatter(sci, bad, place.background_pixels)
        var = np.full_like(sci, scatter[0] ** 2)
        rate_err_source = "background scatter"
    clean = np.where(bad, 0.0, sci - bkg.median)
    rate = np.sum(weights * clean, axis=0)
    n_pixels = np.sum(weights, axis=0)
    variance = np.sum(weights**2 * np.where(bad, 0.0, var), axis=0)
    variance += (n_pixels * bkg.median_error) ** 2
    rate = np.where(entry_bad, np.nan, rate)
    rate_err = np.where(entry_bad, np.nan, np.sqrt(variance))
    return _Sums(
        rate, rate_err, n_pixels, has_bad, off, entry_bad, rate_err_source, scatter
    )


def _flag_entries(trace, crowding, cut, place, sums):
    """The flags of each entry, the contaminants found, and the model's rate."""
    flags = np.zeros(place.pixels.shape, dtype=np.uint16)
    flags[sums.has_bad] |= np.uint16(ExtractionFlag.BAD_PIXEL)
    flags[sums.off] |= np.uint16(ExtractionFlag.OFF_DETECTOR)
    margin = crowding.margin
    low, high = place.low - margin, place.high + margin
    contamination_bits, found = _contamination_flags(
        trace, crowding.neighbours, place.pixels, low, high
    )
    flags |= contamination_bits
    contam_rate = None
    if cut.con is not None:
        contam_rate = np.sum(place.weights * np.where(cut.bad, 0.0, cut.con), axis=0)
        contam_rate = np.where(sums.entry_bad, np.nan, contam_rate)
        with np.errstate(invalid="ignore"):
            strong = contam_rate > crowding.limit * np.abs(sums.rate)
        flags[strong] |= np.uint16(ExtractionFlag.MODELLED_CONTAMINATION)
        contam_rate = contam_rate * RATE_UNIT
    return flags, found, contam_rate


def _diagnose(trace, cut, place, sums, flags, found, search, tolerance):
    """Measure the trace centre; warn of contamination, an off-centre trace, no ERR."""
    contaminated_bits = int(ExtractionFlag.contamination())
    unit = "columns" if trace.dispersion_axis == "x" else "rows"
    if cut.con is None:
        # With a contamination model subtracted the light is modelled, not ignored:
        # the entries where the model matters are flagged MODELLED_CONTAMINATION.
        _warn_contamination(flags, found, trace, unit)
    contaminated = (flags & contaminated_bits) != 0
    blend = _find_blend(
        cut.sci, cut.bad, place.across, place.centre,
        None if place.label == "the box" else place.high[0] - place.centre[0],
        int(np.floor(search)), ~contaminated,
    )
    if blend is not None:
        flags[blend.entries] |= np.uint16(ExtractionFlag.UNLISTED_NEIGHBOUR)
        _warn_blend(blend, trace, place.label, unit)
    centroid, offset, significance = _measure_centring(
        cut.sci, cut.bad, place.across, place.centre, search, contaminated
    )
    if blend is None:  # else the centroid is pulled by the neighbour: said above
        _warn_centring(
            offset, significance, centroid, trace, tolerance, search, place.label, unit
        )
    if cut.err_problem is not None:
        _warn_uncertainty(cut.err_problem, *sums.scatter)
    return centroid, offset


def _result(trace, aperture, bbox, place, sums, bkg, flagged, centring):
    """The :class:`BoxExtraction` of the steps' results."""
    (flags, found, contam_rate), (centroid, offset) = flagged, centring
    return BoxExtraction(
        order=trace.order, x0=trace.x0, y0=trace.y0, pixel=place.pixels, t=place.t,
        trace_centre=place.centre, wavelength=trace.wavelength(place.t),
        dispersion=trace.angstrom_per_pixel(place.t) * u.pix,
        rate=sums.rate * RATE_UNIT, rate_err=sums.rate_err * RATE_UNIT,
        n_pixels=sums.n_pixels, mask=sums.entry_bad, background=bkg, bbox=bbox,
        half_height=aperture.half_height, dispersion_axis=trace.dispersion_axis,
        trace=trace, flags=flags, contaminants=tuple(what for what, _ in found),
        centroid=centroid, centring_offset=offset,
        rate_err_source=sums.rate_err_source, contamination=contam_rate,
    )


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
