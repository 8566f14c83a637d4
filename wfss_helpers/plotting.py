"""Plots used by the tutorial: traces, cutouts, background histograms, spectra.

Each function draws on a Matplotlib ``Axes`` it is given (or a new one) and returns it, so
the figures can be combined and restyled.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from astropy import units as u
from astropy.visualization import ImageNormalize, PercentileInterval, AsinhStretch

from .geometry.trace import BoundingBox, GrismTrace, _as_trace

__all__ = [
    "TUTORIAL_STYLE",
    "use_tutorial_style",
    "image_norm",
    "plot_trace",
    "plot_cutout",
    "plot_background_histogram",
    "plot_spectrum",
]


#: Matplotlib settings of every figure of the tutorial: one consistent, journal-like
#: look (readable labels, thin lines, ticks inside, no chart junk) at retina resolution.
TUTORIAL_STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 220,
    "figure.constrained_layout.use": True,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "xtick.direction": "in",
    "ytick.direction": "in",
    "xtick.top": True,
    "ytick.right": True,
    "lines.linewidth": 1.0,
    "image.origin": "lower",
    "image.cmap": "gray_r",
}


def use_tutorial_style():
    """Apply :data:`TUTORIAL_STYLE` and, inside Jupyter, draw figures at retina resolution.

    Call once at the top of a notebook. Outside IPython only the Matplotlib settings
    change.
    """
    plt.rcParams.update(TUTORIAL_STYLE)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is installed with Jupyter
        return
    shell = get_ipython()
    if shell is not None and "IPKernelApp" in getattr(shell, "config", {}):
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")


def _axes(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    return ax


def image_norm(data, percentile=99.5, asinh_a=0.1):
    """An asinh normalisation clipped at a percentile, ignoring NaNs."""
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}.")
    data = np.asarray(data, dtype=float)
    finite = data[np.isfinite(data)]
    if finite.size == 0:
        raise ValueError("The image has no finite pixels to scale the display to (all NaN, or empty).")
    return ImageNormalize(finite, interval=PercentileInterval(percentile), stretch=AsinhStretch(asinh_a))


def plot_trace(
    config,
    order=None,
    x0=None,
    y0=None,
    *,
    t=None,
    ax=None,
    cmap="viridis",
    colorbar=True,
    **scatter_kwargs,
):
    """The trace of one order for ``0 <= t <= 1``, coloured by wavelength.

    ``plot_trace(config, order, x0, y0)`` or ``plot_trace(trace)`` with a
    :class:`~wfss_helpers.geometry.trace.GrismTrace`. Drawn in detector coordinates (x right,
    y up), whichever the dispersion axis.

    Parameters
    ----------
    config : grismconf.Config or `~wfss_helpers.geometry.trace.GrismTrace`
    order : int or str
    x0, y0 : float
        Source position (0-based pixels).
    t : array_like, optional
        Trace parameters to draw (default 200 values from 0 to 1).
    ax : matplotlib.axes.Axes, optional
    cmap : str, optional
    colorbar : bool, optional
        Add a wavelength colour bar.
    **scatter_kwargs
        Passed to ``ax.scatter``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    trace = _as_trace(config, order, x0, y0)
    ax = _axes(ax)
    t = np.linspace(0, 1, 200) if t is None else np.asarray(t)
    x, y = trace.position(t)
    lam = trace.wavelength(t).to_value(u.micron)
    points = ax.scatter(x, y, c=lam, cmap=cmap, s=scatter_kwargs.pop("s", 4), **scatter_kwargs)
    ax.plot(
        [trace.x0], [trace.y0], marker="*", color="k", ms=10, ls="none",
        label="source (undispersed)",
    )
    if colorbar:
        ax.figure.colorbar(points, ax=ax, label="wavelength [micron]")
    ax.set_xlabel("x (detector column)")
    ax.set_ylabel("y (detector row)")
    return ax


def _cutout_orientation(extraction, trace):
    """Dispersion axis and whether the wavelength decreases along increasing pixels."""
    from .extraction.results import BoxExtraction

    if extraction is not None and not isinstance(extraction, BoxExtraction):
        raise TypeError(
            "extraction must be a BoxExtraction (from box_extract), got "
            f"{type(extraction).__name__}."
        )
    if trace is not None and not isinstance(trace, GrismTrace):
        raise TypeError(
            "trace must be a GrismTrace (wfss_helpers.geometry.trace.GrismTrace(config, "
            f"order, x0, y0)), got {type(trace).__name__}."
        )
    if trace is None and extraction is not None:
        trace = extraction.trace
    if trace is not None:
        lam = trace.wavelength([0.0, 1.0]).value
        return trace.dispersion_axis, (lam[1] - lam[0]) * trace.direction < 0
    if extraction is not None:
        lam = extraction.wavelength.value
        reversed_ = lam.size > 1 and lam[-1] < lam[0]
        return extraction.dispersion_axis, bool(reversed_)
    return "x", False


def plot_cutout(cutout, bbox, *, extraction=None, trace=None, ax=None, title=None):
    """A bounding-box cutout with the trace centre and aperture of an extraction.

    The cutout is drawn with the dispersion running left to right and the wavelength
    increasing to the right: a GRISMR cutout as it lies on the detector (mirrored in x
    where the grism disperses toward ``-x``, module B), a GRISMC cutout transposed (rows
    along the horizontal axis). The axis labels and the title say which.

    Parameters
    ----------
    cutout : numpy.ndarray
        The box's pixels, as on the detector (``data[bbox.slices]``).
    bbox : `~wfss_helpers.geometry.trace.BoundingBox`
    extraction : `~wfss_helpers.extraction.results.BoxExtraction`, optional
        Draws its trace centre and aperture edges; gives the dispersion axis.
    trace : `~wfss_helpers.geometry.trace.GrismTrace`, optional
        Gives the dispersion axis when there is no extraction (default: GRISMR-like, x).
    ax : matplotlib.axes.Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    if not isinstance(bbox, BoundingBox):
        raise TypeError(f"bbox must be a BoundingBox (e.g. extraction.bbox), got {type(bbox).__name__}.")
    if np.shape(cutout) != bbox.shape:
        raise ValueError(
            f"The cutout has shape {np.shape(cutout)} but the box is {bbox.shape}: pass data[bbox.slices], "
            "not the whole image."
        )
    axis, reversed_ = _cutout_orientation(extraction, trace)
    ax = _axes(ax)
    columns = (bbox.x_min - 0.5, bbox.x_max + 0.5)
    rows = (bbox.y_min - 0.5, bbox.y_max + 0.5)
    if axis == "x":
        image = np.asarray(cutout)
        extent = columns + rows
        xlabel, ylabel = "x (detector column)", "y (detector row)"
        note = None
    else:
        image = np.asarray(cutout).T
        extent = rows + columns
        xlabel, ylabel = "y (detector row, dispersion axis)", "x (detector column)"
        note = "GRISMC: transposed, dispersion along y runs left to right"
    ax.imshow(
        image, origin="lower", extent=extent, norm=image_norm(image), cmap="gray_r",
        aspect="auto",
    )
    if reversed_:
        ax.invert_xaxis()  # larger pixels on the left: wavelength grows to the right
        xlabel += ", decreasing"
    if extraction is not None:
        ax.plot(
            extraction.pixel, extraction.trace_centre, color="C1", lw=1,
            label="trace centre",
        )
        if extraction.half_height is not None:
            for sign in (-1, 1):
                edge = extraction.trace_centre + sign * extraction.half_height
                ax.plot(extraction.pixel, edge, color="C0", lw=0.8, ls="--")
        ax.legend(loc="upper left", fontsize="small")
    ax.set_xlabel(f"{xlabel}; wavelength increases to the right")
    ax.set_ylabel(ylabel)
    if title or note:
        parts = (title, f"({note})" if note else None)
        ax.set_title(" ".join(part for part in parts if part))
    return ax


def plot_background_histogram(background, *, ax=None, bins=80):
    """Histogram of background pixels with the sigma-clipped median marked.

    Parameters
    ----------
    background : `~wfss_helpers.extraction.results.BackgroundEstimate`
    ax : matplotlib.axes.Axes, optional
    bins : int, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    from .extraction.results import BackgroundEstimate

    background = getattr(background, "background", background)  # a BoxExtraction is fine too
    if not isinstance(background, BackgroundEstimate):
        raise TypeError(
            f"Expected a BackgroundEstimate (extraction.background), got {type(background).__name__}."
        )
    if background.sample.size == 0:
        raise ValueError(
            "This background was given as a number (box_extract(background=...)), so there are no "
            "background pixels to draw."
        )
    ax = _axes(ax)
    lo = background.median - 6 * background.std
    hi = background.median + 6 * background.std
    ax.hist(background.sample, bins=bins, range=(lo, hi), histtype="stepfilled", alpha=0.6)
    ax.axvline(background.median, color="C3", label=f"sigma-clipped median = {background.median:.4f} DN/s")
    ax.set_xlabel("pixel value [DN/s]")
    ax.set_ylabel("pixels")
    ax.legend(fontsize="small")
    return ax


def plot_spectrum(spectrum, *, truth=None, ax=None, label="box extraction", xlim=None):
    """A flux-calibrated spectrum with its 1-sigma band, optionally against the truth.

    Parameters
    ----------
    spectrum : `~specutils.Spectrum`
    truth : tuple of (`~astropy.units.Quantity`, `~astropy.units.Quantity`), optional
        Wavelength and F_lambda of the true spectrum.
    ax : matplotlib.axes.Axes, optional
    label : str, optional
    xlim : tuple of float, optional
        Wavelength range in micron.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import warnings

    from specutils import Spectrum

    if not isinstance(spectrum, Spectrum):
        raise TypeError(
            f"Expected a specutils Spectrum, got {type(spectrum).__name__}; for a box extraction, "
            "call wfss_helpers.extraction.flux_calibration.flux_calibrate(extraction, config) first."
        )
    ax = _axes(ax)
    wave = spectrum.spectral_axis.to_value(u.micron, equivalencies=u.spectral())
    flux = spectrum.flux.value
    if not np.any(np.isfinite(flux)):
        warnings.warn("The spectrum has no finite (unmasked) values: the plot will be empty.", stacklevel=2)
    if spectrum.uncertainty is not None:
        err = spectrum.uncertainty.array
        ax.fill_between(wave, flux - err, flux + err, step="mid", alpha=0.3, color="C0", lw=0)
    ax.step(wave, flux, where="mid", color="C0", lw=0.8, label=label)
    if truth is not None:
        try:
            true_wave = truth[0].to_value(u.micron, equivalencies=u.spectral())
            true_flux = truth[1].to_value(spectrum.flux.unit, equivalencies=u.spectral_density(truth[0]))
        except (AttributeError, TypeError, IndexError, u.UnitConversionError):
            raise ValueError(
                "truth must be (wavelength, flux) Quantities, with a flux density convertible to "
                f"{spectrum.flux.unit}."
            ) from None
        ax.plot(true_wave, true_flux, color="C3", lw=1, label="injected (truth)")
    ax.set_xlabel("wavelength [micron]")
    ax.set_ylabel(f"F$_\\lambda$ [{spectrum.flux.unit.to_string('latex_inline')}]")
    if xlim is not None:
        lo, hi = (u.Quantity(v, u.micron).to_value(u.micron, equivalencies=u.spectral()) for v in xlim)
        if np.isfinite(wave).any() and (min(lo, hi) > np.nanmax(wave) or max(lo, hi) < np.nanmin(wave)):
            warnings.warn(
                f"xlim ({lo:g}, {hi:g}) does not overlap the spectrum ({np.nanmin(wave):.3f}-{np.nanmax(wave):.3f} "
                "micron): plain numbers are taken in micron.",
                stacklevel=2,
            )
        ax.set_xlim(lo, hi)
    ax.legend(fontsize="small")
    return ax
