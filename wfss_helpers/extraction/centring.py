"""Where the trace lies across the dispersion, measured in the box, and the warnings.

A wrong source position, or the configuration of another exposure, extracts blank sky
or part of the trace without anything showing it. The box extraction therefore measures
the trace centre (``BoxExtraction.centroid`` and ``centring_offset``) and warns if it is
more than ``centring_tolerance`` (1 px) from where it is predicted, or not detected.

The measurement: a local level (the median across the box at each entry) is
subtracted, and the flux-weighted centroid is taken in a ±:data:`CENTROID_HALF_WIDTH`
(3) px window that follows it, first on the median profile of all entries (the
significant peak nearest to the prediction, so a brighter neighbour in the box is not
taken for the source), then entry by entry; the offset is the median over the entries
with S/N of :data:`DETECTION_SIGMA` (5) or more. Such a window centred on a symmetric
profile is not biased by the PSF wings or by an extended source's size. Entries flagged
as contaminated are left out of the summary when enough others remain.
"""

from __future__ import annotations

import warnings

import numpy as np

from .aperture import aperture_weights
from .box_background import _robust_std

__all__ = []

#: Half-width of the window in which the trace centroid is measured, pixels.
CENTROID_HALF_WIDTH = 3.0
#: Significance a trace must reach in the box's profile across the dispersion to count
#: as detected, and the per-entry S/N of an entry whose centroid is kept.
DETECTION_SIGMA = 5.0
#: Fewest entries with a centroid for their median to be the centring offset.
MIN_CENTROID_ENTRIES = 5


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
    """Warn of a trace not detected, or off its prediction by more than ``tolerance``
    (called by ``box._diagnose``: stacklevel 4 names the line that called
    box_extract)."""
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
            stacklevel=4,
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
        stacklevel=4,
    )
