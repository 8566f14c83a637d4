"""Exact inverses of the trace polynomials, with a check that the root is unique.

grismconf evaluates the inverse of a polynomial of degree two or more (``INVDISPX``,
``INVDISPY``, ``INVDISPL``) by linear interpolation over 40 samples of ``t``.
:func:`invert_dispersion` refines that with Newton's method on the forward polynomial and
its derivative, so that forward and inverse agree to ~1e-10, after checking that the
polynomial is monotonic over the range of ``t`` asked (otherwise two values of ``t`` would
give the same pixel or wavelength and the inverse would not be unique).
"""

from __future__ import annotations


import numpy as np

from ..checks.arguments import (
    trace_parameter_range,
)

__all__ = [
    "invert_dispersion",
    "NonMonotonicDispersionError",
    "MONOTONIC_SAMPLES",
]

#: Samples of ``t`` on which a polynomial's derivative is checked for a change of sign.
MONOTONIC_SAMPLES = 257

class NonMonotonicDispersionError(ValueError):
    """A dispersion polynomial turns back over the range of ``t`` it is inverted on.

    There one pixel (or wavelength) matches two values of ``t``, so no unique inverse
    exists: usually the polynomial is the cross-dispersion offset (``DISPX`` of GRISMC).
    """


def _sign_changes(t, slope):
    """Values of ``t`` near which a sampled derivative changes sign or vanishes."""
    sign = np.sign(slope)
    turning = np.flatnonzero((sign[:-1] != sign[1:]) | (sign[:-1] == 0))
    if sign[-1] == 0:
        turning = np.append(turning, len(t) - 2)
    points = []
    for i in turning:
        s0, s1 = slope[i], slope[i + 1]
        step = 0.0 if s0 == s1 else (t[i + 1] - t[i]) * s0 / (s0 - s1)
        points.append(float(t[i] + step))
    return points


def _require_monotonic(derivative, span, what, sign=None):
    """Check that ``derivative`` keeps one sign over ``span``; return that sign."""
    t = np.linspace(span[0], span[1], MONOTONIC_SAMPLES)
    slope = np.asarray(derivative(t), dtype=float) * np.ones_like(t)
    turning = _sign_changes(t, slope)
    this_sign = float(np.sign(slope[np.argmax(np.abs(slope))]))
    if turning or (sign is not None and this_sign != sign):
        if turning:
            where = f"near t = {turning[0]:.3f}"
        else:
            where = f"between t = {span[0]:.3f} and {span[1]:.3f}"
        raise NonMonotonicDispersionError(
            f"{what} turns back {where}, within t = {span[0]:.3f}..{span[1]:.3f}: "
            "there one value matches two values of t, so its inverse is not unique. If "
            "this is the cross-dispersion axis (GRISMR disperses along x, GRISMC along "
            "y), invert the other one: wfss_helpers.geometry.trace.GrismTrace picks the "
            "dispersion axis for you. Otherwise narrow t_range to one side of the "
            "turning point."
        )
    return this_sign


def _initial_guess(target, t, f, slope):
    """Linear interpolation of a monotonic sampled ``f(t)``, extrapolated beyond."""
    order = np.argsort(f)
    guess = np.interp(target, f[order], t[order])
    below, above = target < f[order][0], target > f[order][-1]
    for mask, i in ((below, order[0]), (above, order[-1])):
        guess = np.where(mask, t[i] + (target - f[i]) / slope[i], guess)
    return guess


def invert_dispersion(
    forward,
    derivative,
    target,
    t_guess=None,
    *,
    tol=1e-12,
    max_iter=30,
    t_range=(0.0, 1.0),
    what="The dispersion polynomial",
):
    """Solve ``forward(t) = target`` for ``t`` by Newton's method, with a unique root.

    The derivative is first sampled over ``t_range`` (:data:`MONOTONIC_SAMPLES` values):
    if it changes sign there, the polynomial turns back and a target can have two roots,
    so `NonMonotonicDispersionError` is raised instead of returning one of them. Targets
    beyond the values reached over ``t_range`` are extrapolated (roots outside
    ``t_range``), provided the derivative keeps its sign out to them.

    Parameters
    ----------
    forward, derivative : callable
        ``f(t)`` and ``df/dt`` (vectorised).
    target : array_like
        Values to invert.
    t_guess : array_like, optional
        Starting point; default the interpolation of ``f`` sampled over ``t_range``.
    tol : float, optional
        Convergence tolerance on ``|f(t) - target|``, relative to ``max(1, |target|)``.
    max_iter : int, optional
    t_range : tuple of float, optional
        Range of ``t`` over which the root must be unique (default the whole order,
        ``t = 0..1``).
    what : str, optional
        Name of the polynomial in error messages (e.g. ``"DISPX of order +1 ..."``).

    Returns
    -------
    numpy.ndarray
        ``t``, the same shape as ``target``.

    Raises
    ------
    NonMonotonicDispersionError
        If the polynomial turns back (its derivative changes sign or vanishes) over
        ``t_range`` or between it and a root found outside it.
    ValueError
        If the iteration does not converge (a target beyond the polynomial's extreme).
    """
    target = np.asarray(target, dtype=float)
    t_range = trace_parameter_range(t_range)
    sign = _require_monotonic(derivative, t_range, what)
    if t_guess is None:
        samples = np.linspace(t_range[0], t_range[1], MONOTONIC_SAMPLES)
        f = np.asarray(forward(samples), dtype=float) * np.ones_like(samples)
        slope = np.asarray(derivative(samples), dtype=float) * np.ones_like(samples)
        t = _initial_guess(target, samples, f, slope)
    else:
        t = np.array(np.broadcast_to(t_guess, target.shape), dtype=float)
    scale = np.maximum(1.0, np.abs(target))
    for _ in range(max_iter):
        residual = forward(t) - target
        if np.all(np.abs(residual) <= tol * scale):
            break
        slope = derivative(t) * np.ones_like(t)
        if np.any(slope == 0) or not np.all(np.isfinite(slope)):
            raise NonMonotonicDispersionError(
                f"{what} has a turning point where it is inverted; it cannot be "
                "inverted there."
            )
        t = t - residual / slope
    else:
        name = what[:1].lower() + what[1:]
        raise ValueError(
            f"The inverse of {name} did not converge: the value(s) may lie beyond "
            "where the polynomial turns back, outside t_range. Check that the pixel or "
            "wavelength is on this order's trace."
        )
    if t.size:
        low, high = float(np.min(t)), float(np.max(t))
        if low < t_range[0]:
            _require_monotonic(derivative, (low, t_range[0]), what, sign)
        if high > t_range[1]:
            _require_monotonic(derivative, (t_range[1], high), what, sign)
    return t


