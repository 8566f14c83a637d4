"""A neighbour's trace in the aperture that nobody listed, found in the data.

A source that is not given in ``box_extract(..., neighbours=...)`` and whose trace runs
along the source's, a few pixels away across the dispersion, adds its light to the
aperture without anything showing it (its flux is summed in, the centroid is pulled).
The box extraction therefore looks for a second source in the profile across the
dispersion of the box (the median, over the entries, of the cutout straightened along
the trace, with the local level of each entry subtracted, as
:mod:`~wfss_helpers.extraction.centring` makes it).

A single source's profile is symmetric about its centre (the projection of a
point-symmetric image: a PSF, or a galaxy's light profile). The profile is mirrored
about its brightest peak near the aperture; light in excess of the mirror image, at
least :data:`BLEND_SIGMA` (5) sigma and :data:`MIN_BLEND_FRACTION` of that peak, and at
least :data:`MIN_BLEND_SEPARATION` px from it, within the aperture widened by
:data:`BLEND_MARGIN`, is a second source. Of the two, the one nearer the predicted
trace is taken for the source, the other for the neighbour; the entries where the
neighbour's light is detected are flagged ``UNLISTED_NEIGHBOUR``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .box_background import _robust_std
from .centring import _straightened, _windowed_centroid

__all__ = []

#: Significance of the excess over the mirrored profile that counts as a second source.
BLEND_SIGMA = 5.0
#: Least height of that excess, as a fraction of the brightest peak's height.
MIN_BLEND_FRACTION = 0.05
#: Least distance between the second source and the brightest peak, pixels.
MIN_BLEND_SEPARATION = 2.0
#: How far outside the aperture, across the dispersion, the second source may be.
BLEND_MARGIN = 2.0
#: Per-entry S/N of the neighbour's light (±1 px around it) to flag its entry.
ENTRY_SIGMA = 3.0


@dataclass(frozen=True)
class _Blend:
    """A second source found in the box: where the source and the neighbour lie
    (offsets from the predicted trace, pixels), their peaks' heights in the profile
    across the dispersion, and the entries where the neighbour's light is detected."""

    source_offset: float
    neighbour_offset: float
    source_peak: float
    neighbour_peak: float
    entries: np.ndarray


def _profile_across(sci, bad, across, centre, reach, keep):
    """The straightened, level-subtracted values, their median profile over the kept
    entries, and its noise."""
    offsets = np.arange(-reach, reach + 1, dtype=float)
    values = _straightened(sci, bad, across, centre, offsets)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN entries
        values = values - np.nanmedian(values, axis=0)[None, :]
        profile = np.nanmedian(values[:, keep], axis=1)
        n_used = np.sum(np.isfinite(values[:, keep]), axis=1)
        spread = _robust_std(values[:, keep], axis=1)
        noise = np.nanmedian(1.2533 * spread / np.sqrt(np.maximum(n_used, 1)))
    return offsets, values, profile, float(np.nan_to_num(noise))


def _find_blend(sci, bad, across, centre, half_height, reach, keep):
    """A second source within the aperture (``half_height``, None: the box), or None.

    ``reach`` is the box's half-height (whole pixels), ``keep`` the entries to build
    the profile from (the ones not flagged as contaminated).
    """
    if reach < MIN_BLEND_SEPARATION + 4 or keep.sum() < 5:
        return None
    offsets, values, profile, noise = _profile_across(
        sci, bad, across, centre, reach, keep
    )
    finite = np.isfinite(profile)
    if finite.sum() < 5 or not np.nanmax(profile) > 0:
        return None
    noise = max(noise, 1e-6 * float(np.nanmax(np.abs(profile))))
    region = (reach if half_height is None else half_height) + BLEND_MARGIN
    near = finite & (np.abs(offsets) <= region)
    if not near.any():
        return None
    peak_k = int(np.flatnonzero(near)[np.argmax(profile[near])])
    peak = float(profile[peak_k])
    if peak < BLEND_SIGMA * noise:
        return None
    middle = _windowed_centroid(profile, offsets, offsets[peak_k])
    mirror = np.interp(2.0 * middle - offsets, offsets[finite], profile[finite],
                       left=np.nan, right=np.nan)
    excess = np.where(near & np.isfinite(mirror), profile - mirror, 0.0)
    excess[np.abs(offsets - middle) < MIN_BLEND_SEPARATION] = 0.0
    k = int(np.argmax(excess))
    height = float(excess[k])
    if height < max(BLEND_SIGMA * noise * np.sqrt(2.0), MIN_BLEND_FRACTION * peak):
        return None
    second = float(offsets[k])  # (a centroid would be cut at the mirror's edge)
    if abs(second) <= abs(middle):
        source, neighbour, source_peak, other_peak = second, middle, height, peak
    else:
        source, neighbour, source_peak, other_peak = middle, second, peak, height
    # The source's own light cancels in the mirror about its centre: the predicted
    # trace, if the source is found near it (the estimate is pulled by the neighbour).
    source = 0.0 if abs(source) <= MIN_BLEND_SEPARATION - 0.5 else source
    entries = _neighbour_entries(values, offsets, source, neighbour, peak)
    return _Blend(source, neighbour, source_peak, other_peak, entries)


def _neighbour_entries(values, offsets, source, neighbour, peak):
    """The entries where the neighbour's light is detected: within ±1 px of it, in
    excess of the light at the same distance on the source's other side (the source's
    own, mirrored), against the noise of the pixels far from both."""
    around = np.abs(offsets - neighbour) <= 1.0
    mirrored = np.abs(offsets - (2.0 * source - neighbour)) <= 1.0
    far = (np.abs(offsets - neighbour) > 5) & (np.abs(offsets - source) > 5)
    pixel_noise = float(np.nan_to_num(_robust_std(values[far]))) if far.any() else 0.0
    light = np.nansum(values[around], axis=0)
    if mirrored.sum() == around.sum():  # the mirror side inside the box
        light = light - np.nansum(values[mirrored], axis=0)
    n = int(around.sum() + mirrored.sum())
    spread = max(pixel_noise, 1e-6 * peak) * np.sqrt(max(n, 1))
    return light >= ENTRY_SIGMA * spread


def _warn_blend(blend, trace, aperture, unit):
    """Warn of a second source found in the box (called by ``box._diagnose``:
    stacklevel 4 names the line that called box_extract)."""
    across = "rows" if trace.dispersion_axis == "x" else "columns"
    ratio = blend.neighbour_peak / blend.source_peak
    warnings.warn(
        f"A second source's trace runs along that of {trace._describe()}: the "
        "profile across the dispersion in the box has a peak at "
        f"{blend.source_offset:+.0f} px ({across}) from the predicted trace and one at "
        f"{blend.neighbour_offset:+.1f} px, {ratio:.2g} times as high, which a single "
        f"source's (symmetric) profile cannot make. It was not given in neighbours=; "
        f"{aperture} sums its light too on {int(blend.entries.sum())} {unit}, "
        "flagged UNLISTED_NEIGHBOUR (extraction.contaminated is True there), and "
        "extraction.centroid is pulled toward it. Pass its position in neighbours= "
        "(e.g. the whole catalogue) to flag the entries its orders fall on, or model "
        "the field and subtract its light (contamination=, notebook 6: FieldModel."
        "contamination_image); a narrower half_height keeps less of it.",
        UserWarning, stacklevel=4,
    )
