"""Trace geometry: where a source's spectrum lands on a WFSS exposure, and at which wavelength.

The grism configuration (Pirzkal & Ryan 2017) describes a spectral order of a source at
direct-image position ``(x0, y0)`` with three polynomials of a free parameter ``t``:

* ``DISPX(x0, y0, t)`` and ``DISPY(x0, y0, t)``: offset of the trace from ``(x0, y0)``,
* ``DISPL(x0, y0, t)``: the wavelength there.

Going from a pixel to a wavelength needs the *inverse*, e.g. ``t = INVDISPX(dx)`` then
``DISPL(t)``. grismconf evaluates inverses of polynomials of degree two or more by linear
interpolation over 40 samples of ``t``; the functions here refine that with Newton's method
on the forward polynomial and its derivative, so that forward and inverse agree to ~1e-10
(see :func:`invert_dispersion`).

Every function takes a ``grismconf.Config``, read either from a processed WFSS file (after
AssignWcs and Photom) or from a plain grismconf ``.conf`` file: :func:`load_grism_config`.
Positions are in 0-based detector pixels; wavelengths are `~astropy.units.Quantity`.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy import units as u

from .argument_checks import (
    order_number,
    pixel_position,
    pixel_positions,
    pixel_values,
    positive_number,
    trace_parameter_range,
    trace_parameter_values,
    wavelength_in_micron,
)

__all__ = [
    "load_grism_config",
    "order_name",
    "BoundingBox",
    "dispersed_position",
    "trace_wavelength",
    "invert_dispersion",
    "t_from_wavelength",
    "t_from_column",
    "wavelength_to_pixel",
    "column_to_wavelength",
    "angstrom_per_pixel",
    "trace_bounding_box",
    "gwcs_column_wavelengths",
]

#: Default wavelength unit of grism configurations.
WAVELENGTH_UNIT = u.micron


@contextlib.contextmanager
def _working_directory(path):
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def _photom_reference_location(wfss_file: Path, photom_name: str) -> Path | None:
    """Directory where grismconf will find the sensitivity file named in ``R_PHOTOM``."""
    from .crds_config import local_reference_file

    found = local_reference_file(photom_name, also_in=(wfss_file.parent, Path.cwd()))
    if found is None:
        return None
    # grismconf opens the name minus "crds://": an absolute path from anywhere, a bare file
    # name from the working directory, so run it where the file is.
    return Path.cwd() if Path(photom_name.removeprefix("crds://")).is_absolute() else found.parent


def load_grism_config(path):
    """Read a grism configuration from a processed WFSS file or a grismconf ``.conf`` file.

    Parameters
    ----------
    path : str or pathlib.Path
        Either a WFSS exposure that went through AssignWcs and Photom (its gWCS holds the
        trace polynomials, its ``R_PHOTOM`` names the sensitivity reference file), or a
        grismconf ``.conf`` text file (with its sensitivity tables beside it). A
        ``grismconf.Config`` is returned as it is.

    Returns
    -------
    grismconf.Config

    Raises
    ------
    FileNotFoundError
        If the file, or the sensitivity reference file the WFSS file names, is missing.
    wfss_helpers.file_checks.InvalidInputFileError
        If the file is neither a grismconf file nor a complete FITS file, is not a WFSS
        exposure, or has not been through AssignWcs and Photom.

    Notes
    -----
    For a WFSS file, grismconf reads the sensitivity file named in ``R_PHOTOM`` (minus its
    ``crds://`` prefix) from the working directory and otherwise downloads it from CRDS.
    This function looks for it first (absolute path, beside the WFSS file, in
    ``$CRDS_PATH/references/jwst/nircam``) and runs grismconf where it is, so no download
    happens when a local copy exists.
    """
    import grismconf
    from .file_checks import InvalidInputFileError, check_processing

    if _is_grism_config(path):
        return path  # already a configuration: nothing to read
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"load_grism_config() takes the path of a processed WFSS file or a .conf file, got "
            f"{type(path).__name__} {path!r}."
        )
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise FileNotFoundError(f"No grism configuration or WFSS file at {path}.")
    workdir = Path.cwd()
    with open(path, "rb") as fh:
        is_fits = fh.read(9) == b"SIMPLE  ="
    if is_fits:
        header = check_processing(path, wfss=True, steps=("assign_wcs", "photom"))
        workdir = _photom_reference_location(path, header["R_PHOTOM"])
        if workdir is None:
            raise FileNotFoundError(
                f"The sensitivity reference file {header['R_PHOTOM']!r} named in {path.name} is "
                "not on this machine (looked beside the file, in the working directory and in "
                "$CRDS_PATH/references/jwst/nircam). Re-run the Photom step with CRDS online "
                "so that CRDS downloads it, or copy it beside the WFSS file."
            )
    else:
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            text = ""
        if "DISPX_" not in text or "DISPL_" not in text:
            raise InvalidInputFileError(
                f"{path.name} is neither a FITS file nor a grismconf configuration (no DISPX_/DISPL_ "
                "lines). Give a processed WFSS _cal.fits file or a grismconf .conf file."
            )
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore", ResourceWarning)
        with _working_directory(workdir):
            return grismconf.Config(str(path))


def _is_grism_config(config) -> bool:
    return hasattr(config, "orders") and hasattr(config, "DISPX") and hasattr(config, "DISPL")


def order_name(config, order) -> str:
    """grismconf's name of a spectral order (``1`` -> ``"+1"``), checked against the config.

    Parameters
    ----------
    config : grismconf.Config
    order : int or str
        ``1``, ``"1"`` or ``"+1"``.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If the configuration has no such order.
    """
    if not _is_grism_config(config):
        raise TypeError(
            f"Expected a grismconf.Config, got {type(config).__name__}; create one with "
            "wfss_helpers.trace.load_grism_config(path)."
        )
    try:
        name = f"{order_number(order):+d}"
    except ValueError:
        name = str(order)
    available = list(config.orders)
    if name not in available:
        raise ValueError(
            f"Order {order!r} is not in this grism configuration; it has orders "
            f"{', '.join(available)}. Pass one of those (e.g. order=1)."
        )
    return name


def dispersed_position(config, order, x0, y0, t):
    """Position ``(x, y)`` on the WFSS exposure of trace parameter ``t``.

    Parameters
    ----------
    config : grismconf.Config
    order : int or str
    x0, y0 : float
        The source's position in the WFSS exposure's direct-image frame (0-based pixels).
    t : float or array_like
        Trace parameter (``0..1`` spans the order's wavelength range).

    Returns
    -------
    x, y : numpy.ndarray
    """
    name = order_name(config, order)
    x0, y0 = pixel_position(x0, y0)
    t = trace_parameter_values(t)
    return x0 + config.DISPX(name, x0, y0, t), y0 + config.DISPY(name, x0, y0, t)


def trace_wavelength(config, order, x0, y0, t):
    """Wavelength at trace parameter ``t``.

    Parameters
    ----------
    config : grismconf.Config
    order : int or str
    x0, y0 : float
        Source position (0-based pixels).
    t : float or array_like

    Returns
    -------
    `~astropy.units.Quantity`
        Wavelength in micron.
    """
    name = order_name(config, order)
    x0, y0 = pixel_position(x0, y0)
    return np.asarray(config.DISPL(name, x0, y0, trace_parameter_values(t))) * WAVELENGTH_UNIT


def invert_dispersion(forward, derivative, target, t_guess=None, *, tol=1e-12, max_iter=30):
    """Solve ``forward(t) = target`` for ``t`` by Newton's method.

    Parameters
    ----------
    forward, derivative : callable
        ``f(t)`` and ``df/dt`` (vectorised).
    target : array_like
        Values to invert.
    t_guess : array_like, optional
        Starting point; default the linear interpolation between ``t = 0`` and ``t = 1``.
    tol : float, optional
        Convergence tolerance on ``|f(t) - target|``, in the units of ``f``.
    max_iter : int, optional

    Returns
    -------
    numpy.ndarray
        ``t``, the same shape as ``target``.

    Raises
    ------
    ValueError
        If the polynomial is not monotonic where it is inverted (zero derivative) or the
        iteration does not converge.
    """
    target = np.asarray(target, dtype=float)
    if t_guess is None:
        f0, f1 = forward(np.zeros_like(target)), forward(np.ones_like(target))
        t = (target - f0) / (f1 - f0)
    else:
        t = np.array(np.broadcast_to(t_guess, target.shape), dtype=float)
    for _ in range(max_iter):
        residual = forward(t) - target
        if np.all(np.abs(residual[np.isfinite(residual)]) <= tol * np.maximum(1.0, np.abs(target[np.isfinite(residual)]))):
            return t
        slope = derivative(t)
        if np.any(slope == 0):
            raise ValueError("The dispersion polynomial has a turning point here; it cannot be inverted.")
        t = t - residual / slope
    raise ValueError("The inverse of the dispersion polynomial did not converge.")


def t_from_wavelength(config, order, x0, y0, wavelength):
    """Trace parameter at which the order reaches ``wavelength`` (exact inverse of DISPL).

    Parameters
    ----------
    config : grismconf.Config
    order : int or str
    x0, y0 : float
        Source position (0-based pixels).
    wavelength : `~astropy.units.Quantity` or array_like
        Wavelength (a plain number is taken in micron).

    Returns
    -------
    numpy.ndarray
        ``t``; values outside ``[0, 1]`` mean wavelengths beyond the ends of the order,
        where the polynomials are extrapolated (:func:`wavelength_to_pixel` refuses them).
    """
    name = order_name(config, order)
    x0, y0 = pixel_position(x0, y0)
    lam = wavelength_in_micron(wavelength)
    return invert_dispersion(
        lambda t: config.DISPL(name, x0, y0, t),
        lambda t: config.DDISPL(name, x0, y0, t) * np.ones_like(t),
        lam,
    )


def t_from_column(config, order, x0, y0, x):
    """Trace parameter of detector column ``x`` (exact inverse of DISPX, row dispersion).

    Parameters
    ----------
    config : grismconf.Config
    order : int or str
    x0, y0 : float
        Source position (0-based pixels).
    x : float or array_like
        Column(s) on the WFSS exposure.

    Returns
    -------
    numpy.ndarray
    """
    name = order_name(config, order)
    x0, y0 = pixel_position(x0, y0)
    dx = pixel_values(x) - x0
    return invert_dispersion(
        lambda t: config.DISPX(name, x0, y0, t),
        lambda t: config.DDISPX(name, x0, y0, t) * np.ones_like(t),
        dx,
    )


def wavelength_to_pixel(config, order, x0, y0, wavelength):
    """Where on the WFSS exposure a source's order lands at ``wavelength``.

    Parameters
    ----------
    config : grismconf.Config
    order : int or str
    x0, y0 : float
        Source position (0-based pixels).
    wavelength : `~astropy.units.Quantity` or array_like

    Returns
    -------
    x, y : numpy.ndarray

    Raises
    ------
    ValueError
        If a wavelength lies outside the order's range (``DISPL`` at ``t = 0`` and ``1``).
    """
    name = order_name(config, order)
    x0, y0 = pixel_position(x0, y0)
    lam = wavelength_in_micron(wavelength)
    lo, hi = sorted(float(config.DISPL(name, x0, y0, t)) for t in (0.0, 1.0))
    outside = (lam < lo) | (lam > hi)
    if np.any(outside):
        bad = np.atleast_1d(lam)[np.atleast_1d(outside)]
        raise ValueError(
            f"Wavelength(s) {bad[:3]} micron outside order {name}'s range {lo:.4f}-{hi:.4f} micron "
            "for this source; the trace is not defined there. Choose wavelengths in that range."
        )
    return dispersed_position(config, name, x0, y0, t_from_wavelength(config, name, x0, y0, wavelength))


def column_to_wavelength(config, order, x0, y0, x):
    """Wavelength that a source's order puts in detector column ``x``.

    Parameters
    ----------
    config : grismconf.Config
    order : int or str
    x0, y0 : float
        Source position (0-based pixels).
    x : float or array_like
        Column(s).

    Returns
    -------
    `~astropy.units.Quantity`
    """
    return trace_wavelength(config, order, x0, y0, t_from_column(config, order, x0, y0, x))


def angstrom_per_pixel(config, order, x0, y0, t):
    """Dispersion ``|dlambda/dx|`` at ``t``, from the analytic derivatives.

    Parameters
    ----------
    config : grismconf.Config
    order : int or str
    x0, y0 : float
    t : float or array_like

    Returns
    -------
    `~astropy.units.Quantity`
        Å per pixel.
    """
    name = order_name(config, order)
    x0, y0 = pixel_position(x0, y0)
    t = trace_parameter_values(t)
    ratio = config.DDISPL(name, x0, y0, t) / config.DDISPX(name, x0, y0, t)
    return (np.abs(ratio * np.ones_like(t)) * WAVELENGTH_UNIT / u.pix).to(u.AA / u.pix)


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
                raise TypeError(f"BoundingBox.{name} must be an integer pixel index, got {value!r}.")
        if self.x_min > self.x_max or self.y_min > self.y_max:
            raise ValueError(
                f"BoundingBox limits are inverted (x {self.x_min}..{self.x_max}, y {self.y_min}..{self.y_max}); "
                "use x_min <= x_max and y_min <= y_max."
            )

    @property
    def slices(self):
        """``(rows, columns)`` slices selecting the box from a 2D array."""
        return slice(self.y_min, self.y_max + 1), slice(self.x_min, self.x_max + 1)

    @property
    def shape(self):
        """``(ny, nx)`` of the box."""
        return self.y_max - self.y_min + 1, self.x_max - self.x_min + 1


def trace_bounding_box(config, order, x0, y0, half_height, *, t_range=(0.0, 1.0), detector_shape=(2048, 2048)):
    """Box that contains a source's trace between two values of ``t``, plus a margin.

    The box spans the columns from ``t = t_range[0]`` to ``t = t_range[1]`` and the rows of
    the trace over that range (sampled densely, so a curved trace is covered) widened by
    ``half_height`` on each side.

    Parameters
    ----------
    config : grismconf.Config
    order : int or str
    x0, y0 : float
        Source position (0-based pixels).
    half_height : float
        Margin above and below the trace, in pixels.
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
    x0, y0 = pixel_position(x0, y0)
    half_height = positive_number(half_height, "half_height", allow_zero=True)
    t_range = trace_parameter_range(t_range)
    try:
        ny, nx = (int(n) for n in detector_shape)
    except (TypeError, ValueError):
        raise TypeError(f"detector_shape must be (ny, nx), e.g. data.shape; got {detector_shape!r}.") from None
    t = np.linspace(t_range[0], t_range[1], 201)
    x, y = dispersed_position(config, order, x0, y0, t)
    raw = (
        int(np.floor(x.min() + 0.5)),
        int(np.floor(x.max() + 0.5)),
        int(np.floor(y.min() - half_height + 0.5)),
        int(np.floor(y.max() + half_height + 0.5)),
    )
    box = (max(raw[0], 0), min(raw[1], nx - 1), max(raw[2], 0), min(raw[3], ny - 1))
    if box[0] > box[1] or box[2] > box[3]:
        raise ValueError(
            f"The order {order} trace of the source at ({x0:.1f}, {y0:.1f}) for t in {t_range} "
            f"falls entirely off the {nx}x{ny} detector (columns {raw[0]}..{raw[1]}, rows "
            f"{raw[2]}..{raw[3]}); nothing can be extracted."
        )
    return BoundingBox(*box, clipped=box != raw)


def gwcs_column_wavelengths(wfss_model, order, x0, y0, x, y=None):
    """Wavelengths of WFSS pixels for one source, from the jwst pipeline's gWCS.

    This is the pipeline's route to the same numbers as :func:`column_to_wavelength`:
    the ``grism_detector -> detector`` transform of the WFSS exposure's gWCS maps a
    dispersed pixel and the source position to ``(x0, y0, wavelength, order)``. Unlike
    grismconf it applies the barycentric velocity correction (``VELOSYS``), and it pins
    ``t`` to ``[0, 1]``, so wavelengths beyond the ends of the order are not extrapolated.

    Parameters
    ----------
    wfss_model : path or `~stdatamodels.jwst.datamodels.ImageModel`
        The WFSS exposure after AssignWcs.
    order : int
    x0, y0 : float
        Source position (0-based pixels).
    x : array_like
        Columns.
    y : array_like, optional
        Rows (for a row-dispersing grism they do not change the result); default ``y0``.

    Returns
    -------
    `~astropy.units.Quantity`
    """
    from .source_positions import open_model

    x0, y0 = pixel_position(x0, y0)
    order = order_number(order)
    x = np.atleast_1d(pixel_values(x))
    if y is None:
        y = np.full(x.shape, y0, dtype=float)
    else:
        x, y = pixel_positions(x, y, names=("x", "y"))
    model = open_model(wfss_model, wfss=True)
    if getattr(model.meta, "wcs", None) is None:
        raise ValueError("This WFSS exposure has no gWCS: run the jwst AssignWcsStep on it first.")
    to_detector = model.meta.wcs.get_transform("grism_detector", "detector")
    try:
        _, _, lam, _ = to_detector(x, y, x0, y0, order)
    except (ValueError, KeyError, IndexError) as err:
        raise ValueError(
            f"The gWCS of this WFSS exposure cannot compute order {order} ({err}); NIRCam WFSS "
            "configurations have orders 1 and 2."
        ) from None
    return np.broadcast_to(lam, x.shape) * WAVELENGTH_UNIT
