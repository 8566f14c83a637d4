"""Measuring an emission line in an extracted spectrum."""

from __future__ import annotations

from dataclasses import dataclass

import warnings

import numpy as np
from astropy import units as u
from astropy.modeling import fitting, models

from ..checks.arguments import positive_number

__all__ = ["LineFit", "fit_emission_line"]


@dataclass(frozen=True)
class LineFit:
    """A Gaussian + linear-continuum fit of one emission line.

    Attributes
    ----------
    center, center_err : float
        Line centre and its 1-sigma uncertainty, in the units of ``x``.
    sigma : float
        Gaussian width, in the units of ``x``.
    amplitude : float
        Peak height above the continuum.
    flux : float
        Integrated line flux, ``sqrt(2 pi) amplitude sigma`` (units of y times x).
    model : astropy.modeling.Model
        The fitted model, for plotting.
    """

    center: float
    center_err: float
    sigma: float
    amplitude: float
    flux: float
    model: object


def _in_units_of_x(x, guess, half_window):
    """Strip units: x, guess and half_window as plain numbers in the unit of ``x``."""
    if isinstance(x, u.Quantity):
        unit = x.unit
        try:
            guess = u.Quantity(guess, unit).value if isinstance(guess, u.Quantity) else guess
            half_window = u.Quantity(half_window, unit).value if isinstance(half_window, u.Quantity) else half_window
        except u.UnitConversionError:
            raise ValueError(f"guess and half_window must be in units of x ({unit}).") from None
        return x.value, guess, half_window
    if isinstance(guess, u.Quantity) or isinstance(half_window, u.Quantity):
        raise ValueError("guess or half_window has a unit but x does not; give them as plain numbers in the units of x.")
    return x, guess, half_window


def fit_emission_line(x, y, guess, *, half_window=15.0, y_err=None, sigma_guess=2.0):
    """Fit a Gaussian line on a linear continuum around ``guess``.

    Parameters
    ----------
    x, y : array_like
        The spectrum (e.g. column and count rate, or wavelength and F_lambda). NaNs are
        ignored.
    guess : float
        Approximate line centre, units of ``x``.
    half_window : float, optional
        Fit ``|x - guess| <= half_window``.
    y_err : array_like, optional
        1-sigma uncertainties of ``y``, used as weights.
    sigma_guess : float, optional
        Starting Gaussian width, units of ``x``.

    Returns
    -------
    LineFit

    Raises
    ------
    ValueError
        If fewer than 8 usable points lie in the window, the window spans the whole
        spectrum (a window in the wrong units), or the arrays do not match.

    Warns
    -----
    UserWarning
        If the fit finds no significant line (amplitude under 3 sigma, or the width at
        its limit).
    """
    x, guess, half_window = _in_units_of_x(x, guess, half_window)
    y = y.value if isinstance(y, u.Quantity) else y
    try:
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        y_err = None if y_err is None else np.asarray(getattr(y_err, "value", y_err), dtype=float)
    except (TypeError, ValueError):
        raise TypeError("x, y and y_err must be arrays of numbers.") from None
    for name, array in (("y", y), ("y_err", y_err)):
        if array is not None and array.shape != x.shape:
            raise ValueError(f"x has shape {x.shape} but {name} has shape {array.shape}; give one value per point.")
    try:
        guess = float(guess)
    except (TypeError, ValueError):
        raise TypeError(f"guess must be a number (the line centre in units of x), got {guess!r}.") from None
    half_window = positive_number(half_window, "half_window")
    sigma_guess = positive_number(sigma_guess, "sigma_guess")
    if not np.isfinite(guess):
        raise ValueError(f"guess must be a finite line centre, got {guess}.")
    finite_x = x[np.isfinite(x)]
    if finite_x.size and half_window >= 0.5 * (finite_x.max() - finite_x.min()) and finite_x.size >= 8:
        raise ValueError(
            f"half_window={half_window:g} spans the whole spectrum (x runs from {finite_x.min():g} to "
            f"{finite_x.max():g}): it is in the units of x. Give a window around the line, e.g. "
            "15 columns, or 0.005 micron for x in micron."
        )
    sel = (np.abs(x - guess) <= half_window) & np.isfinite(y) & np.isfinite(x)
    if y_err is not None:
        sel &= np.isfinite(y_err) & (y_err > 0)
    if sel.sum() < 8:
        raise ValueError(
            f"Only {sel.sum()} usable points within {half_window} of {guess}: widen "
            "half_window or check that the line lies inside the extracted range."
        )
    xs, ys = x[sel], y[sel]
    edge = np.abs(xs - guess) > 0.6 * half_window
    slope, intercept = np.polyfit(xs[edge], ys[edge], 1) if edge.sum() >= 2 else (0.0, np.median(ys))
    peak = float(np.max(ys - (slope * xs + intercept)))
    init = models.Gaussian1D(peak, guess, sigma_guess) + models.Linear1D(slope, intercept)
    init.mean_0.bounds = (guess - half_window, guess + half_window)
    init.stddev_0.bounds = (1e-3 * half_window, half_window)
    fitter = fitting.LevMarLSQFitter(calc_uncertainties=True)
    weights = None if y_err is None else 1.0 / y_err[sel]
    fit = fitter(init, xs, ys, weights=weights, maxiter=500)
    cov = fitter.fit_info.get("param_cov")
    center_err = float(np.sqrt(cov[1, 1])) if cov is not None else np.nan
    g = fit[0]
    amplitude_err = float(np.sqrt(cov[0, 0])) if cov is not None else np.nan
    at_bound = np.isclose(abs(g.stddev.value), init.stddev_0.bounds, rtol=1e-3).any()
    if at_bound or not (g.amplitude.value > 3 * amplitude_err):
        warnings.warn(
            f"No clear emission line near {guess:g}: the fitted amplitude is "
            f"{g.amplitude.value:.3g} +- {amplitude_err:.3g}"
            + (" and the width hit its limit" if at_bound else "")
            + ". Check the guess and the window before using the result.",
            stacklevel=2,
        )
    return LineFit(
        center=float(g.mean.value),
        center_err=center_err,
        sigma=float(abs(g.stddev.value)),
        amplitude=float(g.amplitude.value),
        flux=float(np.sqrt(2 * np.pi) * g.amplitude.value * abs(g.stddev.value)),
        model=fit,
    )
