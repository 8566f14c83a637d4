"""One source, one order: the trace kernel and the source's dispersed image.

Step 2 of the forward model (see :mod:`wfss_helpers.field.forward_model`). The
dispersed image of a source in one order is its footprint, normalised to unit sum,
convolved with the **trace kernel**: the dispersed image of a point source at the
source's position, its spectrum ``F_lambda * S(lambda) * dlambda`` laid along
``DISPX``/``DISPY`` (:func:`trace_kernel`, over the trace parameter range
:data:`T_RANGE`). :func:`disperse_source` makes it, a :class:`DispersedSource` holds
it (and adds it to a full frame).

A trace sample is shared between pixels linearly along the dispersion and, across it,
with cubic-convolution weights that keep the profile's width (``"cubic"``) or by area
as jwst's ``WfssContamStep`` does (``"linear"``, :data:`CROSS_DEPOSITS`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from astropy import units as u
from scipy import signal

from ..geometry.trace import GrismTrace
from ._arguments import _check_instance, _whole_number
from .footprints import FLAM_UNIT, _check_footprint

__all__ = [
    "T_RANGE",
    "DispersedSource",
    "trace_kernel",
    "disperse_source",
]

#: Range of the trace parameter the kernel follows. A configuration's ``t = 0..1`` need
#: not cover the filter: light falls on the detector wherever the sensitivity table has
#: some, so the trace is followed a quarter of its length beyond each end (the
#: sensitivity, zero outside its table, ends it).
T_RANGE = (-0.25, 1.25)

#: The ways a trace sample can be shared between pixels across the dispersion.
CROSS_DEPOSITS = ("cubic", "linear")


def _check_trace(trace):
    """``trace`` if it is a GrismTrace, else a TypeError saying how to make one."""
    return _check_instance(
        trace, GrismTrace, "trace",
        "make one with GrismTrace(config, order, x0, y0) or FieldModel.trace(id, "
        "order)",
    )


def _linear_taps(frac):
    """Linear interpolation weights at offsets 0 and +1 from the floor pixel."""
    return (0, 1), (1.0 - frac, frac)


def _cubic_taps(frac):
    """Keys' cubic-convolution weights (a = -0.5) at offsets -1, 0, +1, +2.

    They sum to 1 and reproduce a quadratic, so a deposited point keeps its centroid
    *and its width*. A linear (area-sharing) deposit would widen the profile by
    ``f (1 - f)`` pixel² in variance at fractional position ``f``: sharpness a
    detector does not lose, and which an optimal extraction would feel (a too-wide
    profile over-estimates a faint point source by a few per cent).
    """

    def keys(s):
        s = np.abs(s)
        near = 1.5 * s**3 - 2.5 * s**2 + 1
        far = -0.5 * s**3 + 2.5 * s**2 - 4 * s + 2
        return np.where(s <= 1, near, np.where(s < 2, far, 0.0))

    return (-1, 0, 1, 2), tuple(keys(frac - k) for k in (-1, 0, 1, 2))


def _deposit(shape, x, y, weights, *, cross_axis="y"):
    """Deposit point weights onto a grid: linearly along the dispersion, with cubic
    convolution weights across it (flux, centroid and profile width are kept).
    ``cross_axis=None``: linearly along both axes (by area)."""
    ny, nx = shape
    ix = np.floor(x).astype(int)
    iy = np.floor(y).astype(int)
    taps_x = (_cubic_taps if cross_axis == "x" else _linear_taps)(x - ix)
    taps_y = (_cubic_taps if cross_axis == "y" else _linear_taps)(y - iy)
    out = np.zeros(ny * nx)
    for dx, wx in zip(*taps_x):
        for dy, wy in zip(*taps_y):
            jx, jy = ix + dx, iy + dy
            ok = (jx >= 0) & (jx < nx) & (jy >= 0) & (jy < ny)
            out += np.bincount(
                jy[ok] * nx + jx[ok], (weights * wx * wy)[ok], minlength=ny * nx
            )
    return out.reshape(shape)


def trace_kernel(trace, flambda, *, frac=(0.0, 0.0), samples_per_pixel=4,
                 cross_deposit="cubic"):
    """The dispersed image of a point source: the trace with its spectrum laid along it.

    At ``t`` samples over :data:`T_RANGE` the point lands at ``(frac_x + DISPX(t),
    frac_y + DISPY(t))`` with count rate
    ``F_lambda(lambda(t)) * S(lambda(t)) * dlambda/dt * dt``, shared linearly between
    pixels along the dispersion and, across it, with
    cubic-convolution weights (which keep the profile's width) or, with
    ``cross_deposit="linear"``, by area as the pipeline's ``WfssContamStep`` does
    (which widens a point by ``f (1 - f)`` pixel² at fractional position ``f``).

    Parameters
    ----------
    trace : `~wfss_helpers.geometry.trace.GrismTrace`
    flambda : callable
        ``flambda(wavelength_um) -> F_lambda`` in erg/s/cm²/Å (a plain array).
    frac : tuple of float, optional
        Sub-pixel position of the point, ``(x, y)`` in ``[0, 1)``.
    samples_per_pixel : int, optional
        Samples of ``t`` per pixel of trace length.
    cross_deposit : {"cubic", "linear"}, optional
        How a sample is shared between pixels across the dispersion.

    Returns
    -------
    kernel : numpy.ndarray
        Count rate (DN/s) per pixel.
    x_lo, y_lo : int
        Offset of ``kernel[0, 0]`` from the point's integer pixel.

    Raises
    ------
    TypeError
        If ``trace`` is not a GrismTrace, ``flambda`` is not callable, or
        ``samples_per_pixel`` is not a whole number.
    ValueError
        If ``flambda`` returns NaN or infinite values where the order is sensitive,
        another number of values than it was given wavelengths, or a Quantity that is
        not a flux density; if ``frac`` is not in ``[0, 1)`` or ``samples_per_pixel``
        is below 1.
    """
    _check_trace(trace)
    if not callable(flambda):
        raise TypeError(
            f"flambda must be a function of wavelength (µm) returning F_lambda in "
            f"erg/s/cm²/Å, got {type(flambda).__name__} {flambda!r:.60}; e.g. "
            "lambda w: np.full(np.shape(w), 2e-18)."
        )
    samples_per_pixel = _whole_number(samples_per_pixel, "samples_per_pixel")
    _check_cross_deposit(cross_deposit)
    try:
        frac = tuple(float(f) for f in frac)
    except (TypeError, ValueError):
        raise TypeError(
            f"frac must be a pair of numbers (x, y), got {frac!r}."
        ) from None
    if len(frac) != 2 or not all(np.isfinite(f) and 0 <= f < 1 for f in frac):
        raise ValueError(
            f"frac is the sub-pixel position (x, y) of the point, each in [0, 1); got "
            f"{frac!r}."
        )
    ends = np.array(trace.offsets(np.array(T_RANGE)))
    span = float(np.max(np.abs(ends[:, 1] - ends[:, 0])))
    t = np.linspace(*T_RANGE, int(span * samples_per_pixel) + 2)
    dx, dy = trace.offsets(t)
    x = frac[0] + np.asarray(dx, dtype=float)
    y = frac[1] + np.asarray(dy, dtype=float)
    wave = trace.wavelength(t).to_value(u.micron)
    dlam_dt = np.gradient(wave * 1e4, t)  # Å per unit t
    sens = trace.sensitivity(wave * u.micron).value
    flux = _flambda_values(flambda, wave, sens)
    weights = flux * sens * np.abs(dlam_dt)
    weights *= t[1] - t[0]
    # Trapezoid weights at the two ends: each end sample covers half a step.
    weights[[0, -1]] *= 0.5
    weights = np.where(np.isfinite(weights), weights, 0.0)
    # One pixel of margin on each side for the cubic taps across the dispersion.
    x_lo, y_lo = int(np.floor(x.min())) - 1, int(np.floor(y.min())) - 1
    shape = (int(np.floor(y.max())) - y_lo + 3, int(np.floor(x.max())) - x_lo + 3)
    cross_axis = trace.cross_axis if cross_deposit == "cubic" else None
    kernel = _deposit(shape, x - x_lo, y - y_lo, weights, cross_axis=cross_axis)
    return kernel, x_lo, y_lo


def _check_cross_deposit(cross_deposit):
    """Refuse a ``cross_deposit`` that is not one of CROSS_DEPOSITS."""
    if cross_deposit not in CROSS_DEPOSITS:
        raise ValueError(
            f"cross_deposit must be 'cubic' (keeps the profile's width; the default) "
            f"or 'linear' (shares by area, as jwst's WfssContamStep), got "
            f"{cross_deposit!r}."
        )


def _flambda_values(flambda, wave, sens):
    """``flambda(wave)`` as F_lambda in erg/s/cm²/Å, one finite value per wavelength
    wherever the order is sensitive."""
    values = flambda(wave)
    if isinstance(values, u.Quantity):
        try:
            values = values.to_value(
                FLAM_UNIT, equivalencies=u.spectral_density(wave * u.micron)
            )
        except u.UnitConversionError:
            raise ValueError(
                f"flambda returns a Quantity in {values.unit}, which is not a flux "
                "density: return F_lambda (erg/s/cm²/Å) or F_nu (e.g. Jy)."
            ) from None
    try:
        values = np.broadcast_to(np.asarray(values, dtype=float), wave.shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"flambda must return one F_lambda per wavelength it is given ({wave.size}"
            f" values), got {type(values).__name__} of shape {np.shape(values)}."
        ) from None
    sensitive = np.isfinite(sens) & (sens > 0)
    broken = sensitive & ~np.isfinite(values)
    if np.any(broken):
        raise ValueError(
            f"flambda returns NaN or infinite F_lambda at {np.count_nonzero(broken)} "
            f"wavelengths where the order is sensitive (first: "
            f"{wave[broken][0]:.3f} µm): the model would silently lose that light. "
            "Give a finite spectrum (interpolate over gaps)."
        )
    return values


@dataclass(frozen=True)
class DispersedSource:
    """The modelled dispersed light of one source in one order (DN/s).

    Attributes
    ----------
    source_id : int
    order : str
        grismconf name of the order.
    trace : `~wfss_helpers.geometry.trace.GrismTrace`
        At the source's undispersed WFSS position.
    image : numpy.ndarray
        The model, count rate per pixel.
    x_lo, y_lo : int
        WFSS pixel of ``image[0, 0]`` (may be off the detector).
    """

    source_id: int
    order: str
    trace: GrismTrace = field(repr=False)
    image: np.ndarray = field(repr=False)
    x_lo: int
    y_lo: int

    def _overlap(self, shape):
        ny, nx = shape
        sy, sx = self.image.shape
        x0, y0 = max(self.x_lo, 0), max(self.y_lo, 0)
        x1, y1 = min(self.x_lo + sx, nx), min(self.y_lo + sy, ny)
        if x1 <= x0 or y1 <= y0:
            return None
        target = (slice(y0, y1), slice(x0, x1))
        source = (slice(y0 - self.y_lo, y1 - self.y_lo),
                  slice(x0 - self.x_lo, x1 - self.x_lo))
        return target, source

    def on_detector(self, shape=(2048, 2048)) -> bool:
        """True if any of the model falls on a detector of ``shape``."""
        overlap = self._overlap(shape)
        return overlap is not None and bool(np.any(self.image[overlap[1]] != 0))

    def add_to(self, frame, scale=1.0):
        """Add the model (times ``scale``) to a full-frame image, in place."""
        overlap = self._overlap(frame.shape)
        if overlap is not None:
            frame[overlap[0]] += scale * self.image[overlap[1]]
        return frame


def disperse_source(footprint, trace, flambda, *, samples_per_pixel=4,
                    cross_deposit="cubic"):
    """Disperse a footprint along one order: footprint (unit sum) convolved with the
    trace kernel.

    Parameters
    ----------
    footprint : `~wfss_helpers.field.footprints.Footprint`
    trace : `~wfss_helpers.geometry.trace.GrismTrace`
        At the WFSS position of the footprint's centroid.
    flambda : callable
        The source's total spectrum: ``flambda(wavelength_um)`` in erg/s/cm²/Å.
    samples_per_pixel : int, optional
    cross_deposit : {"cubic", "linear"}, optional
        See :func:`trace_kernel`.

    Returns
    -------
    DispersedSource

    Raises
    ------
    TypeError
        If an argument is of the wrong type (see :func:`trace_kernel`).
    ValueError
        If the footprint has NaN pixels or no positive light, or ``flambda`` is not a
        usable spectrum (see :func:`trace_kernel`).
    """
    _check_footprint(footprint)
    _check_trace(trace)
    total = footprint.total
    if not np.isfinite(total) or total <= 0:
        raise ValueError(
            f"Source {footprint.label} has no positive light in its footprint; it "
            "cannot be modelled (remove it from the segmentation map)."
        )
    weights = footprint.stamp / total
    # WFSS position of stamp[0, 0]: the centroid's, shifted by the stamp offset.
    xs0 = trace.x0 - (footprint.x - footprint.x_lo)
    ys0 = trace.y0 - (footprint.y - footprint.y_lo)
    ix, iy = int(np.floor(xs0)), int(np.floor(ys0))
    kernel, kx, ky = trace_kernel(
        trace, flambda, frac=(xs0 - ix, ys0 - iy), samples_per_pixel=samples_per_pixel,
        cross_deposit=cross_deposit,
    )
    image = signal.oaconvolve(weights, kernel, mode="full")
    return DispersedSource(footprint.label, trace.order, trace, image, ix + kx, iy + ky)
