"""Light in the aperture that is not the source's: other orders, neighbours, a model.

* :class:`Contamination` - what a box extraction is told about it (``box_extract``'s
  keywords ``neighbours``, ``contamination_margin``, ``contamination`` and
  ``contamination_limit``);
* the ``OTHER_ORDER`` and ``NEIGHBOUR`` flags: the entries whose aperture (widened by
  the margin) another order of the same source, or an order of a neighbour, crosses,
  and the warning that says how many;
* the checks of a contamination model (a full-frame image of everything but the
  source's order, in DN/s per pixel, finite in the box), which is subtracted before the
  extraction.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from astropy import units as u

from ..geometry.trace import GrismTrace
from .results import RATE_UNIT, ExtractionFlag

__all__ = ["Contamination"]


@dataclass(frozen=True, eq=False)
class Contamination:
    """What a box extraction is told about the light of other sources and orders.

    Each attribute is one of :func:`~wfss_helpers.extraction.box.box_extract`'s
    keywords, with its default and meaning.

    Attributes
    ----------
    neighbours : array_like of (x0, y0) pairs, table or None
        Keyword ``neighbours``: positions of other sources on the same WFSS exposure
        (0-based pixels, in the same frame as ``x0, y0``): a list or ``(n, 2)`` array
        of pairs, or a table (`~astropy.table.Table`, dict, structured array) with
        ``x0`` and ``y0`` columns. Entries on which any order of a neighbour falls in
        the aperture are flagged ``NEIGHBOUR``. A position within 1 px of the source's
        is the source itself and is skipped, so a whole catalogue can be passed.
    margin : float
        Keyword ``contamination_margin``: how far outside the aperture, across the
        dispersion, another trace's centre may lie and still be counted as falling in
        it, pixels (default 2: the core of a point source's trace). Widen it for
        extended neighbours. It applies to ``OTHER_ORDER`` and ``NEIGHBOUR``.
    model : array_like or None
        Keyword ``contamination``: a model of the light of everything but this
        source's order on the exposure (DN/s per pixel, the exposure's shape), e.g.
        :meth:`wfss_helpers.field.field_model.FieldModel.contamination_image`. It is
        subtracted before the extraction, its sum over the aperture is returned per
        entry (``BoxExtraction.contamination``), and entries where it exceeds
        ``limit`` times the source's rate are flagged ``MODELLED_CONTAMINATION``. With
        a model, the ``OTHER_ORDER``/``NEIGHBOUR`` warning is not given (that light is
        modelled, not ignored).
    limit : float
        Keyword ``contamination_limit`` (default 0.1): see ``model``.
    """

    neighbours: object = None
    margin: float = 2.0
    model: object = None
    limit: float = 0.1


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


def _contamination_flags(trace, neighbours, pixels, low, high):
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
    """Warn of the entries flagged OTHER_ORDER or NEIGHBOUR (called by
    ``box._diagnose``: stacklevel 4 names the line that called box_extract)."""
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
        stacklevel=4,
    )
