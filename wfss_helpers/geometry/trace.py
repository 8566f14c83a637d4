"""Trace geometry: where a source's spectrum lands on a WFSS exposure, and at which wavelength.

The grism configuration (Pirzkal & Ryan 2017) describes a spectral order of a source at
direct-image position ``(x0, y0)`` with three polynomials of a free parameter ``t``:

* ``DISPX(x0, y0, t)`` and ``DISPY(x0, y0, t)``: offset of the trace from ``(x0, y0)``,
* ``DISPL(x0, y0, t)``: the wavelength there.

NIRCam has two grisms: GRISMR disperses along detector rows (``x``; toward ``+x`` in
module A, toward ``-x`` in module B), GRISMC along columns (``y``). Along the dispersion
the offset grows by ~1000 pixels over ``t = 0..1``; across it, the other offset stays
within a few pixels and may even turn back. :class:`GrismTrace` holds one source's order
and finds which axis is which, so that everything built on it (bounding box, aperture,
wavelength map, extraction, flux calibration, plots) follows the dispersion.

Going from a pixel to a wavelength needs the *inverse*, e.g. ``t = INVDISPX(dx)`` then
``DISPL(t)`` for GRISMR, ``t = INVDISPY(dy)`` for GRISMC. grismconf evaluates inverses
of polynomials of degree two or more by linear interpolation over 40 samples of ``t``;
the functions here refine that with Newton's method on the forward polynomial and its
derivative, so that forward and inverse agree to ~1e-10, and they first check that the
polynomial is monotonic over the range of ``t`` asked, so that the inverse is unique
(see :func:`invert_dispersion`).

Every function takes a ``grismconf.Config``, read either from a processed WFSS file (after
AssignWcs and Photom) or from a plain grismconf ``.conf`` file: :func:`load_grism_config`.
Positions are in 0-based detector pixels; wavelengths are `~astropy.units.Quantity`.
The module-level functions (``dispersed_position``, ``t_from_wavelength``, ...) are thin
wrappers that build a :class:`GrismTrace` for ``config, order, x0, y0``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from astropy import units as u

from ..checks.arguments import (
    pixel_position,
    pixel_values,
    positive_number,
    trace_parameter_range,
    trace_parameter_values,
    wavelength_in_micron,
)
from .configuration import WAVELENGTH_UNIT, _is_grism_config, order_name
from .inverse import invert_dispersion

__all__ = [
    "GrismTrace",
    "BoundingBox",
]

@dataclass(frozen=True)
class BoundingBox:
    """A rectangle of detector pixels, ``x_min <= x <= x_max``, ``y_min <= y <= y_max``.

    Attributes
    ----------
    x_min, x_max, y_min, y_max : int
        Inclusive pixel limits, already clipped to the detector.
    clipped : bool
        True if the unclipped box ran past the detector edge.
    """

    x_min: int
    x_max: int
    y_min: int
    y_max: int
    clipped: bool = False

    def __post_init__(self):
        for name in ("x_min", "x_max", "y_min", "y_max"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(
                    f"BoundingBox.{name} must be an integer pixel index, got {value!r}."
                )
        if self.x_min > self.x_max or self.y_min > self.y_max:
            raise ValueError(
                f"BoundingBox limits are inverted (x {self.x_min}..{self.x_max}, "
                f"y {self.y_min}..{self.y_max}); use x_min <= x_max and y_min <= y_max."
            )

    @property
    def slices(self):
        """``(rows, columns)`` slices selecting the box from a 2D array."""
        return slice(self.y_min, self.y_max + 1), slice(self.x_min, self.x_max + 1)

    @property
    def shape(self):
        """``(ny, nx)`` of the box."""
        return self.y_max - self.y_min + 1, self.x_max - self.x_min + 1

    def pixels(self, axis):
        """Pixel coordinates along ``axis`` (``"x"``: the columns, ``"y"``: the rows).

        Parameters
        ----------
        axis : str

        Returns
        -------
        numpy.ndarray of int
        """
        if axis == "x":
            return np.arange(self.x_min, self.x_max + 1)
        if axis == "y":
            return np.arange(self.y_min, self.y_max + 1)
        raise ValueError(f"axis must be 'x' or 'y', got {axis!r}.")


def _detector_shape(detector_shape):
    try:
        ny, nx = (int(n) for n in detector_shape)
    except (TypeError, ValueError):
        raise TypeError(
            f"detector_shape must be (ny, nx), e.g. data.shape; got {detector_shape!r}."
        ) from None
    return ny, nx


@dataclass(frozen=True)
class GrismTrace:
    """One spectral order of one source: its trace, wavelengths and dispersion axis.

    The dispersion axis is the one along which the trace moves most over ``t = 0..1`` at
    the source position: ``"x"`` (detector rows, GRISMR) or ``"y"`` (detector columns,
    GRISMC). "Pixel" in the methods below means the coordinate *along the dispersion
    axis*: the column for GRISMR, the row for GRISMC; the trace centre across the
    dispersion is :meth:`cross_position`.

    Parameters
    ----------
    config : grismconf.Config
        From :func:`load_grism_config`.
    order : int or str
        Spectral order (``1``, ``"+1"``); stored as grismconf's name (``"+1"``).
    x0, y0 : float
        The source's undispersed position on the WFSS exposure (0-based pixels).

    Attributes
    ----------
    dispersion_axis : str
        ``"x"`` or ``"y"``.
    direction : int
        ``+1`` if the trace moves toward larger pixel coordinates as ``t`` (and, for
        NIRCam, the wavelength) grows, ``-1`` if toward smaller ones (module B GRISMR).

    Raises
    ------
    TypeError
        If ``config`` is not a grism configuration, or the position is not a number.
    ValueError
        If the order is not in the configuration, or the position is not finite.

    Examples
    --------
    >>> trace = GrismTrace(config, 1, 1024.0, 1024.0)  # doctest: +SKIP
    >>> trace.dispersion_axis, trace.direction  # doctest: +SKIP
    ('y', 1)
    >>> trace.wavelength_at_pixel(trace.pixel_at_wavelength(3.5))  # doctest: +SKIP
    <Quantity 3.5 micron>
    """

    config: object = field(repr=False)
    order: str
    x0: float
    y0: float
    dispersion_axis: str = field(init=False)
    direction: int = field(init=False)

    def __post_init__(self):
        name = order_name(self.config, self.order)
        x0, y0 = pixel_position(self.x0, self.y0)
        object.__setattr__(self, "order", name)
        object.__setattr__(self, "x0", x0)
        object.__setattr__(self, "y0", y0)
        t = np.linspace(0.0, 1.0, 65)
        dx, dy = self.offsets(t)
        spans = (np.ptp(dx), np.ptp(dy))
        if not np.all(np.isfinite(spans)) or max(spans) == 0:
            raise ValueError(
                f"Order {name} of this grism configuration does not disperse at "
                f"({x0:.1f}, {y0:.1f}): DISPX and DISPY span {spans[0]:.3g} and "
                f"{spans[1]:.3g} pixels over t = 0..1. Check the configuration file."
            )
        axis = "x" if spans[0] >= spans[1] else "y"
        along = dx if axis == "x" else dy
        object.__setattr__(self, "dispersion_axis", axis)
        object.__setattr__(self, "direction", 1 if along[-1] >= along[0] else -1)

    # --- axes -----------------------------------------------------------------------
    @property
    def cross_axis(self) -> str:
        """The axis across the dispersion (``"y"`` for GRISMR, ``"x"`` for GRISMC)."""
        return "y" if self.dispersion_axis == "x" else "x"

    @property
    def source_pixel(self) -> float:
        """The source position along the dispersion axis (``x0`` or ``y0``)."""
        return self.x0 if self.dispersion_axis == "x" else self.y0

    @property
    def source_cross(self) -> float:
        """The source position across the dispersion (``y0`` or ``x0``)."""
        return self.y0 if self.dispersion_axis == "x" else self.x0

    def _describe(self) -> str:
        return f"order {self.order} of the source at ({self.x0:.1f}, {self.y0:.1f})"

    def _disp(self, axis):
        return self.config.DISPX if axis == "x" else self.config.DISPY

    def _ddisp(self, axis):
        return self.config.DDISPX if axis == "x" else self.config.DDISPY

    # --- forward: t -> position, wavelength -------------------------------------------
    def offsets(self, t):
        """``(DISPX(t), DISPY(t))``: offsets of the trace from ``(x0, y0)``.

        Parameters
        ----------
        t : float or array_like

        Returns
        -------
        dx, dy : numpy.ndarray
        """
        t = trace_parameter_values(t)
        ones = np.ones_like(t)
        return (
            np.asarray(self.config.DISPX(self.order, self.x0, self.y0, t)) * ones,
            np.asarray(self.config.DISPY(self.order, self.x0, self.y0, t)) * ones,
        )

    def position(self, t):
        """Detector position ``(x, y)`` of trace parameter ``t``.

        Parameters
        ----------
        t : float or array_like
            Trace parameter (``0..1`` spans the order's wavelength range).

        Returns
        -------
        x, y : numpy.ndarray
        """
        dx, dy = self.offsets(t)
        return self.x0 + dx, self.y0 + dy

    def pixel(self, t):
        """Coordinate along the dispersion axis at ``t`` (the column, or the row).

        Parameters
        ----------
        t : float or array_like

        Returns
        -------
        numpy.ndarray
        """
        x, y = self.position(t)
        return x if self.dispersion_axis == "x" else y

    def cross_position(self, t):
        """Trace centre across the dispersion at ``t`` (the row, or the column).

        Parameters
        ----------
        t : float or array_like

        Returns
        -------
        numpy.ndarray
        """
        x, y = self.position(t)
        return y if self.dispersion_axis == "x" else x

    def wavelength(self, t):
        """Wavelength at trace parameter ``t``.

        Parameters
        ----------
        t : float or array_like

        Returns
        -------
        `~astropy.units.Quantity`
            In micron.
        """
        t = trace_parameter_values(t)
        lam = np.asarray(self.config.DISPL(self.order, self.x0, self.y0, t))
        return lam * np.ones_like(t) * WAVELENGTH_UNIT

    @property
    def wavelength_range(self):
        """Wavelengths at the ends of the order (``t = 0`` and ``1``), increasing.

        Returns
        -------
        `~astropy.units.Quantity`
            Two values, in micron.
        """
        return np.sort(self.wavelength([0.0, 1.0]))

    def angstrom_per_pixel(self, t):
        """Dispersion ``|dlambda / dpixel|`` at ``t``, along the dispersion axis.

        This is the ``dlambda`` of one pixel of the spectrum (a column for GRISMR, a row
        for GRISMC), from the analytic derivatives of ``DISPL`` and ``DISPX``/``DISPY``.

        Parameters
        ----------
        t : float or array_like

        Returns
        -------
        `~astropy.units.Quantity`
            Å per pixel.
        """
        t = trace_parameter_values(t)
        dl = self.config.DDISPL(self.order, self.x0, self.y0, t)
        dp = self._ddisp(self.dispersion_axis)(self.order, self.x0, self.y0, t)
        ratio = np.abs(np.asarray(dl) / np.asarray(dp)) * np.ones_like(t)
        return (ratio * WAVELENGTH_UNIT / u.pix).to(u.AA / u.pix)

    # --- inverses ---------------------------------------------------------------------
    def _invert(self, polynomial, target, t_range):
        name = polynomial.__name__  # DISPX, DISPY or DISPL; DDISPX... is its derivative
        derivative = getattr(self.config, "D" + name)
        source = (self.order, self.x0, self.y0)
        return invert_dispersion(
            lambda t: np.asarray(polynomial(*source, t)) * np.ones_like(t),
            lambda t: np.asarray(derivative(*source, t)) * np.ones_like(t),
            target,
            t_range=t_range,
            what=f"{name} of {self._describe()}",
        )

    def t_from_wavelength(self, wavelength, *, t_range=(0.0, 1.0)):
        """Trace parameter at which the order reaches ``wavelength`` (inverse of DISPL).

        Parameters
        ----------
        wavelength : `~astropy.units.Quantity` or array_like
            Wavelength (a plain number is taken in micron).
        t_range : tuple of float, optional
            Range of ``t`` over which the inverse must be unique.

        Returns
        -------
        numpy.ndarray
            ``t``; values outside ``[0, 1]`` mean wavelengths beyond the ends of the
            order, where the polynomials are extrapolated.

        Raises
        ------
        NonMonotonicDispersionError
            If ``DISPL`` turns back over ``t_range``.
        """
        lam = wavelength_in_micron(wavelength)
        return self._invert(self.config.DISPL, lam, t_range)

    def t_from_pixel(self, pixel, *, t_range=(0.0, 1.0)):
        """Trace parameter of a pixel coordinate along the dispersion axis.

        The exact inverse of ``DISPX`` (GRISMR: ``pixel`` is a column) or ``DISPY``
        (GRISMC: ``pixel`` is a row), refined by Newton's method.

        Parameters
        ----------
        pixel : float or array_like
            Column(s) or row(s), whichever is the dispersion axis.
        t_range : tuple of float, optional
            Range of ``t`` over which the inverse must be unique.

        Returns
        -------
        numpy.ndarray

        Raises
        ------
        NonMonotonicDispersionError
            If the offset along the dispersion turns back over ``t_range``.
        """
        offset = pixel_values(pixel, "pixel") - self.source_pixel
        return self._invert(self._disp(self.dispersion_axis), offset, t_range)

    def wavelength_at_pixel(self, pixel, *, t_range=(0.0, 1.0)):
        """Wavelength that the order puts at a pixel coordinate along the dispersion.

        Parameters
        ----------
        pixel : float or array_like
            Column(s) (GRISMR) or row(s) (GRISMC).
        t_range : tuple of float, optional

        Returns
        -------
        `~astropy.units.Quantity`
        """
        return self.wavelength(self.t_from_pixel(pixel, t_range=t_range))

    def centre_at_pixel(self, pixel, *, t_range=(0.0, 1.0)):
        """Trace centre across the dispersion at a pixel coordinate along it.

        Parameters
        ----------
        pixel : float or array_like
            Column(s) (GRISMR) or row(s) (GRISMC).
        t_range : tuple of float, optional

        Returns
        -------
        numpy.ndarray
            Row(s) (GRISMR) or column(s) (GRISMC).
        """
        return self.cross_position(self.t_from_pixel(pixel, t_range=t_range))

    def _t_in_order(self, wavelength):
        """``t`` of wavelengths that must lie within the order (``t = 0..1``)."""
        lam = wavelength_in_micron(wavelength)
        lo, hi = self.wavelength_range.to_value(WAVELENGTH_UNIT)
        outside = (lam < lo) | (lam > hi)
        if np.any(outside):
            bad = np.atleast_1d(lam)[np.atleast_1d(outside)]
            raise ValueError(
                f"Wavelength(s) {bad[:3]} micron outside order {self.order}'s range "
                f"{lo:.4f}-{hi:.4f} micron for this source; the trace is not defined "
                "there. Choose wavelengths in that range."
            )
        return self.t_from_wavelength(lam)

    def position_at_wavelength(self, wavelength):
        """Detector position ``(x, y)`` where the order reaches ``wavelength``.

        Parameters
        ----------
        wavelength : `~astropy.units.Quantity` or array_like
            Within the order's range (:attr:`wavelength_range`).

        Returns
        -------
        x, y : numpy.ndarray

        Raises
        ------
        ValueError
            If a wavelength lies outside the order's range.
        """
        return self.position(self._t_in_order(wavelength))

    def pixel_at_wavelength(self, wavelength):
        """Coordinate along the dispersion axis where the order reaches ``wavelength``.

        Parameters
        ----------
        wavelength : `~astropy.units.Quantity` or array_like
            Within the order's range (:attr:`wavelength_range`).

        Returns
        -------
        numpy.ndarray
            Column(s) (GRISMR) or row(s) (GRISMC).
        """
        return self.pixel(self._t_in_order(wavelength))

    # --- boxes and maps ---------------------------------------------------------------
    def bounding_box(
        self, half_height, *, t_range=(0.0, 1.0), detector_shape=(2048, 2048)
    ):
        """Box that contains the trace between two values of ``t``, plus a margin.

        Along the dispersion the box spans the pixels from ``t = t_range[0]`` to
        ``t_range[1]``; across it, the trace over that range (sampled densely, so a
        curved trace is covered) widened by ``half_height`` pixels on each side.

        Parameters
        ----------
        half_height : float
            Margin on each side of the trace, across the dispersion (rows for GRISMR,
            columns for GRISMC), in pixels.
        t_range : tuple of float, optional
        detector_shape : tuple of int, optional
            ``(ny, nx)`` to clip to.

        Returns
        -------
        BoundingBox

        Raises
        ------
        ValueError
            If the box lies entirely off the detector.
        """
        half_height = positive_number(half_height, "half_height", allow_zero=True)
        t_range = trace_parameter_range(t_range)
        ny, nx = _detector_shape(detector_shape)
        t = np.linspace(t_range[0], t_range[1], 201)
        x, y = self.position(t)
        margin = {"x": 0.0, "y": 0.0}
        margin[self.cross_axis] = half_height
        raw = (
            int(np.floor(x.min() - margin["x"] + 0.5)),
            int(np.floor(x.max() + margin["x"] + 0.5)),
            int(np.floor(y.min() - margin["y"] + 0.5)),
            int(np.floor(y.max() + margin["y"] + 0.5)),
        )
        box = (max(raw[0], 0), min(raw[1], nx - 1), max(raw[2], 0), min(raw[3], ny - 1))
        if box[0] > box[1] or box[2] > box[3]:
            raise ValueError(
                f"The order {self.order} trace of the source at ({self.x0:.1f}, "
                f"{self.y0:.1f}) for t in {t_range} falls entirely off the {nx}x{ny} "
                f"detector (columns {raw[0]}..{raw[1]}, rows {raw[2]}..{raw[3]}); "
                "nothing can be extracted."
            )
        return BoundingBox(*box, clipped=box != raw)

    def wavelength_map(self, bbox, *, t_range=(0.0, 1.0)):
        """Wavelength of every pixel of a box (grismconf route).

        The wavelength of a pixel depends only on its coordinate along the dispersion:
        its column for GRISMR, its row for GRISMC.

        Parameters
        ----------
        bbox : BoundingBox
        t_range : tuple of float, optional

        Returns
        -------
        `~astropy.units.Quantity`, shape ``bbox.shape``
        """
        if not isinstance(bbox, BoundingBox):
            raise TypeError(
                "bbox must be a BoundingBox (from trace_bounding_box or "
                f"extraction.bbox), got {type(bbox).__name__}."
            )
        pixels = bbox.pixels(self.dispersion_axis)
        lam = self.wavelength_at_pixel(pixels, t_range=t_range)
        lam = lam[None, :] if self.dispersion_axis == "x" else lam[:, None]
        return np.broadcast_to(lam, bbox.shape, subok=True)

    def sensitivity(self, wavelength):
        """Sensitivity of this order at ``wavelength``.

        Parameters
        ----------
        wavelength : `~astropy.units.Quantity` or array_like

        Returns
        -------
        `~astropy.units.Quantity`
            See :func:`wfss_helpers.geometry.sensitivity.sensitivity_curve`.
        """
        from .sensitivity import sensitivity_curve

        return sensitivity_curve(self.config, self.order, wavelength)

    def require_axis(self, axis, what, instead):
        """Raise a clear error if the trace does not disperse along ``axis``.

        Parameters
        ----------
        axis : str
            ``"x"`` or ``"y"``.
        what : str
            The helper that needs it (for the message).
        instead : str
            What to use instead (for the message).
        """
        if self.dispersion_axis != axis:
            unit = "columns" if axis == "x" else "rows"
            along = "x (detector rows, as GRISMR" if self.dispersion_axis == "x" else (
                "y (detector columns, as GRISMC"
            )
            raise ValueError(
                f"{what} takes detector {unit}, but {self._describe()} disperses along "
                f"{along} does), so a {unit[:-1]} number does not pick a point of its "
                f"trace: DISP{axis.upper()} is the cross-dispersion offset. Use "
                f"{instead}, which follows the dispersion axis."
            )


def _as_trace(config, order=None, x0=None, y0=None) -> GrismTrace:
    """A GrismTrace from one, or from ``config, order, x0, y0``."""
    if isinstance(config, GrismTrace):
        given = [v for v in (order, x0, y0) if v is not None]
        if given:
            raise TypeError(
                "Pass either a GrismTrace alone, or config, order, x0 and y0 (not a "
                "GrismTrace and an order or position too)."
            )
        return config
    if _is_grism_config(config) and (order is None or x0 is None or y0 is None):
        raise TypeError(
            "With a grismconf.Config, give the order and the source position too "
            "(config, order, x0, y0), or pass a GrismTrace(config, order, x0, y0)."
        )
    return GrismTrace(config, order, x0, y0)


