"""Checks of the numbers a user passes to the helpers, with errors that say how to fix them.

The trace polynomials, numpy and astropy accept a NaN position, a string, or a wavelength in
kilograms and either fail deep inside (``cannot convert float NaN to integer``, ``Can only
apply 'add' function to dimensionless quantities``) or, worse, return a number that means
nothing. The public helpers pass their arguments through these functions first.
(:mod:`wfss_helpers.checks.files` does the same for files and data models.)
"""

from __future__ import annotations

import numbers

import numpy as np
from astropy import units as u

__all__ = [
    "order_number",
    "pixel_position",
    "pixel_positions",
    "pixel_values",
    "trace_parameter_values",
    "positive_number",
    "wavelength_in_micron",
    "trace_parameter_range",
    "neighbour_positions",
]


def _is_text(value):
    return isinstance(value, (str, bytes))


def _as_pixels(value, name):
    """``value`` as a float array in pixels; rejects text and non-pixel units."""
    if value is None or _is_text(value):
        raise TypeError(
            f"{name} must be a number of pixels, got {type(value).__name__} {value!r}. "
            "Convert it first, e.g. float(value)."
        )
    if isinstance(value, u.Quantity):
        if value.unit not in (u.pix, u.dimensionless_unscaled):
            raise ValueError(
                f"{name} has unit {value.unit}; positions are detector pixels (0-based). "
                "Convert a sky position with wfss_helpers.geometry.positions.direct_to_wfss "
                "or sky_to_wfss."
            )
        value = value.value
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number of pixels, got {type(value).__name__} {value!r}.") from None


def pixel_position(x, y, *, names=("x0", "y0")):
    """One source position as two finite floats.

    Accepts numbers, numpy scalars, one-element arrays (as `direct_to_wfss` returns for a
    one-element list) and `~astropy.units.Quantity` in pixels.

    Parameters
    ----------
    x, y : float, array_like of one element, or Quantity (pix)
    names : tuple of str, optional
        Names used in error messages.

    Returns
    -------
    x, y : float

    Raises
    ------
    TypeError
        If a value is not a number.
    ValueError
        If a value is not finite, has a unit other than pixels, or holds several values.
    """
    values = []
    for value, name in zip((x, y), names):
        array = _as_pixels(value, name)
        if array.size != 1:
            raise ValueError(
                f"{name} holds {array.size} values; this helper works on one source at a time. "
                "Loop over the sources (see the whole-catalog example in benchmarks/)."
            )
        values.append(float(array.reshape(())))
    if not all(np.isfinite(values)):
        raise ValueError(
            f"{names[0]}, {names[1]} must be finite 0-based pixel positions (got "
            f"{names[0]}={values[0]}, {names[1]}={values[1]}). A NaN usually comes from a "
            "position off the image or a failed measurement upstream."
        )
    return values[0], values[1]


def pixel_positions(x, y, *, names=("x", "y")):
    """Several positions as two finite float arrays of the same shape.

    Parameters
    ----------
    x, y : float, array_like or Quantity (pix)
    names : tuple of str, optional

    Returns
    -------
    x, y : numpy.ndarray
        Broadcast to a common shape.

    Raises
    ------
    TypeError, ValueError
        As :func:`pixel_position`, or if ``x`` and ``y`` have different lengths.
    """
    xa, ya = _as_pixels(x, names[0]), _as_pixels(y, names[1])
    try:
        xa, ya = np.broadcast_arrays(xa, ya)
    except ValueError:
        raise ValueError(
            f"{names[0]} and {names[1]} have different shapes ({xa.shape} and {ya.shape}); give one "
            f"{names[1]} for every {names[0]}."
        ) from None
    bad = ~(np.isfinite(xa) & np.isfinite(ya))
    if np.any(bad):
        first = np.flatnonzero(bad.ravel())[0]
        raise ValueError(
            f"{bad.sum()} position(s) are not finite (first: {names[0]}={xa.ravel()[first]}, "
            f"{names[1]}={ya.ravel()[first]}); give finite 0-based pixel positions."
        )
    return xa, ya


def pixel_values(values, name="x"):
    """Pixel coordinate(s), e.g. detector columns, as a finite float array.

    Parameters
    ----------
    values : float, array_like or Quantity (pix)
    name : str, optional
        Used in error messages.

    Returns
    -------
    numpy.ndarray
    """
    array = _as_pixels(values, name)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values; give finite 0-based pixel coordinates.")
    return array


def trace_parameter_values(t):
    """Trace parameter(s) ``t`` as a finite float array (dimensionless).

    Parameters
    ----------
    t : float or array_like

    Returns
    -------
    numpy.ndarray
    """
    if t is None or _is_text(t):
        raise TypeError(f"t must be a number or an array of numbers, got {t!r}.")
    if isinstance(t, u.Quantity):
        if t.unit != u.dimensionless_unscaled:
            raise ValueError(
                f"t has unit {t.unit}, but the trace parameter is dimensionless (0 and 1 are the "
                "ends of the order). For a wavelength use wavelength_to_pixel() or t_from_wavelength()."
            )
        t = t.value
    try:
        t = np.asarray(t, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"t must be a number or an array of numbers, got {t!r}.") from None
    if not np.all(np.isfinite(t)):
        raise ValueError("t holds NaN or infinite values; give finite trace parameters.")
    return t


def order_number(order):
    """A spectral order as an integer: ``1``, ``"1"`` and ``"+1"`` all give 1.

    Parameters
    ----------
    order : int or str

    Returns
    -------
    int
    """
    try:
        return int(str(order).strip().replace("+", ""))
    except ValueError:
        raise ValueError(f"order must be an integer such as 1 or 2, got {order!r}.") from None


def positive_number(value, name, *, allow_zero=False, unit=None):
    """A finite number greater than zero (or >= 0 with ``allow_zero``), as a float.

    Parameters
    ----------
    value : float or Quantity
    name : str
        Used in error messages.
    allow_zero : bool, optional
    unit : `~astropy.units.Unit`, optional
        If given, a Quantity is converted to it; otherwise Quantities are refused.

    Returns
    -------
    float
    """
    if isinstance(value, u.Quantity):
        if unit is None:
            if value.unit not in (u.pix, u.dimensionless_unscaled):
                raise ValueError(f"{name} has unit {value.unit}; give a plain number.")
            value = value.value
        else:
            try:
                value = value.to_value(unit)
            except u.UnitConversionError:
                raise ValueError(f"{name} has unit {value.unit}; give it in {unit}.") from None
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.ndarray, np.generic)) or np.size(value) != 1:
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}.")
    value = float(np.asarray(value).reshape(()))
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        limit = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {limit}, got {value}.")
    return value


def wavelength_in_micron(wavelength, *, name="wavelength", finite=True):
    """Wavelength(s) as a float array in micron.

    Parameters
    ----------
    wavelength : `~astropy.units.Quantity` or array_like
        Any spectral unit (length, frequency, energy); a plain number is taken in micron.
    name : str, optional
        Used in error messages.
    finite : bool, optional
        Refuse NaN and infinite values.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    TypeError
        If it is not a number or Quantity.
    ValueError
        If its unit is not spectral, or (with ``finite``) a value is not finite.
    """
    if wavelength is None or _is_text(wavelength):
        raise TypeError(
            f"{name} must be a number (micron) or a Quantity, got {type(wavelength).__name__} "
            f"{wavelength!r}; e.g. 3.5 * astropy.units.micron."
        )
    if isinstance(wavelength, u.Quantity):
        try:
            values = wavelength.to_value(u.micron, equivalencies=u.spectral())
        except u.UnitConversionError:
            raise ValueError(
                f"{name} has unit {wavelength.unit}, which is not a wavelength; give e.g. "
                "3.5 * astropy.units.micron (Å, nm, Hz and eV also work)."
            ) from None
    else:
        try:
            values = np.asarray(wavelength, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a number (micron) or a Quantity, got {wavelength!r}.") from None
    values = np.asarray(values, dtype=float)
    if finite and not np.all(np.isfinite(values)):
        raise ValueError(f"{name} holds NaN or infinite values; give finite wavelengths.")
    return values


def trace_parameter_range(t_range):
    """A ``(t_min, t_max)`` pair of finite floats with ``t_min < t_max``.

    Parameters
    ----------
    t_range : tuple of float

    Returns
    -------
    tuple of float
    """
    try:
        t_min, t_max = (float(t) for t in t_range)
    except (TypeError, ValueError):
        raise TypeError(f"t_range must be a pair (t_min, t_max), e.g. (0, 1); got {t_range!r}.") from None
    if not (np.isfinite(t_min) and np.isfinite(t_max)) or t_min >= t_max:
        raise ValueError(
            f"t_range must be finite with t_min < t_max (t = 0 and 1 are the ends of the order); got {t_range!r}."
        )
    return t_min, t_max


def _column_names(table):
    """Column names of a table-like object (astropy Table, dict, structured array,
    pandas DataFrame), or None if it is not one."""
    names = getattr(table, "colnames", None)
    if names is None and isinstance(table, dict):
        names = list(table)
    if names is None:
        dtype = getattr(table, "dtype", None)
        names = None if dtype is None or dtype.names is None else list(dtype.names)
    if names is None and hasattr(table, "columns") and hasattr(table, "iloc"):
        names = [str(name) for name in table.columns]  # pandas
    return None if names is None else [str(name) for name in names]


def neighbour_positions(neighbours):
    """Positions of neighbouring sources as two float arrays ``(x0, y0)``.

    Parameters
    ----------
    neighbours : None, array_like of (x0, y0) pairs, or table
        ``None`` (no neighbours); a list or ``(n, 2)`` array of ``(x0, y0)`` pairs; or
        a table (`~astropy.table.Table`, dict, numpy structured array, pandas
        DataFrame) with ``x0`` and ``y0`` columns. Pixels (0-based) on the WFSS
        exposure; a `~astropy.units.Quantity` in pixels is accepted.

    Returns
    -------
    x0, y0 : numpy.ndarray
        One-dimensional, of equal length (empty for None).

    Raises
    ------
    TypeError
        If ``neighbours`` is text or a single number.
    ValueError
        If a table lacks ``x0``/``y0`` columns, an array is not made of pairs, or a
        position is not finite or not in pixels.
    """
    if neighbours is None:
        return np.zeros(0), np.zeros(0)
    if _is_text(neighbours) or isinstance(neighbours, numbers.Number):
        raise TypeError(
            "neighbours must be the positions of other sources: a list of (x0, y0) "
            "pairs or a table with x0 and y0 columns, got "
            f"{type(neighbours).__name__} {neighbours!r}."
        )
    names = _column_names(neighbours)
    if names is not None:
        if "x0" not in names or "y0" not in names:
            raise ValueError(
                "neighbours is a table without x0 and y0 columns (it has "
                f"{names[:8]}). "
                "Give the neighbours' positions on this WFSS exposure in columns named "
                "x0 and y0, e.g. Table({'x0': catalog['x0_wfss'], 'y0': "
                "catalog['y0_wfss']}), or a list of (x0, y0) pairs."
            )
        x, y = neighbours["x0"], neighbours["y0"]
    else:
        if isinstance(neighbours, u.Quantity):
            pairs = neighbours
        else:
            try:
                pairs = np.asarray(
                    [p.value if isinstance(p, u.Quantity) else p for p in neighbours]
                    if isinstance(neighbours, (list, tuple)) else neighbours,
                    dtype=float,
                )
            except (TypeError, ValueError):
                raise TypeError(
                    "neighbours must be a list of (x0, y0) pairs of numbers or a table "
                    f"with x0 and y0 columns; got {type(neighbours).__name__}."
                ) from None
        if pairs.size == 0:
            return np.zeros(0), np.zeros(0)
        if pairs.ndim != 2 or pairs.shape[1] != 2:
            raise ValueError(
                f"neighbours has shape {pairs.shape}; give one (x0, y0) pair per "
                "neighbour (shape (n, 2)), e.g. [(971.9, 1550.1), (1661.9, 1205.1)], "
                "or a table with x0 and y0 columns."
            )
        x, y = pairs[:, 0], pairs[:, 1]
    x, y = pixel_positions(x, y, names=("neighbours x0", "neighbours y0"))
    return np.ravel(x).astype(float), np.ravel(y).astype(float)


def _check_shapes_match(data, **others):
    """Raise if any of ``others`` (e.g. err, dq) is given with another shape than ``data``."""
    for name, array in others.items():
        if array is not None and np.shape(array) != np.shape(data):
            raise ValueError(f"{name} has shape {np.shape(array)} but data has shape {np.shape(data)}; they must match.")
