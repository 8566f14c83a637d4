"""The aperture of a box extraction: which pixels it sums, with which weights.

* :class:`Aperture` - the aperture's half-height across the dispersion, the box around
  it and the range of the trace parameter (``box_extract``'s keywords ``half_height``,
  ``box_half_height`` and ``t_range``, or ``box_extract(..., aperture=Aperture(...))``);
* :func:`bad_pixel_mask` - the pixels no sum may use: not finite, a NaN or negative ERR,
  or flagged ``DO_NOT_USE`` in DQ;
* :func:`aperture_weights` - the fraction of each pixel inside ``trace centre ±
  half_height``, entry by entry along the dispersion;
* :func:`aperture_fraction_from_image` - the fraction of a source's light such an
  aperture holds, measured on a direct image (the aperture correction);
* :data:`MIN_HALF_HEIGHT` - the narrowest aperture a box extraction accepts (±1 px),
  and the check of the aperture's and the box's sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.stats import sigma_clip

from ..checks.arguments import _check_shapes_match, positive_number
from .results import DO_NOT_USE

__all__ = [
    "Aperture",
    "bad_pixel_mask",
    "aperture_weights",
    "aperture_fraction_from_image",
]

#: Smallest aperture half-height across the dispersion, pixels
#: (:func:`~wfss_helpers.extraction.box.box_extract`).
MIN_HALF_HEIGHT = 1.0


@dataclass(frozen=True)
class Aperture:
    """The aperture of a box extraction, the box around it and the part of the trace.

    ``box_extract(wfss, trace, aperture=Aperture(half_height=3.0))`` is
    ``box_extract(wfss, trace, half_height=3.0)``: the attributes are
    :func:`~wfss_helpers.extraction.box.box_extract`'s keywords of the same names, with
    the same defaults and meanings. They are checked when the extraction runs.

    Attributes
    ----------
    half_height : float or None
        Aperture half-height around the trace centre, across the dispersion, pixels
        (at least :data:`MIN_HALF_HEIGHT`, 1 px; default 4); None sums the whole box
        (the seed notebook's column collapse).
    box_half_height : float
        Margin of the bounding box on each side of the trace, across the dispersion,
        pixels (default 15). The background is measured in the box outside the
        aperture, and the trace centre is searched for in it. The box must fit on the
        detector, and leave background pixels: at least ``half_height + 1``
        (``half_height + 3`` or more is advised).
    t_range : tuple of float
        Range of the trace parameter to extract (default ``(0.0, 1.0)``, the whole
        order).
    """

    half_height: float | None = 4.0
    box_half_height: float = 15.0
    t_range: tuple = (0.0, 1.0)


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
