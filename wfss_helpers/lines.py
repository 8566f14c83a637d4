"""Measuring an emission line in an extracted spectrum."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.modeling import fitting, models

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
        If fewer than 8 usable points lie in the window.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    sel = (np.abs(x - guess) <= half_window) & np.isfinite(y)
    if y_err is not None:
        y_err = np.asarray(y_err, dtype=float)
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
    return LineFit(
        center=float(g.mean.value),
        center_err=center_err,
        sigma=float(abs(g.stddev.value)),
        amplitude=float(g.amplitude.value),
        flux=float(np.sqrt(2 * np.pi) * g.amplitude.value * abs(g.stddev.value)),
        model=fit,
    )
