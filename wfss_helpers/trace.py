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

import contextlib
import io
import os
import re
import warnings
from dataclasses import dataclass, field
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
from .file_checks import InvalidInputFileError

__all__ = [
    "load_grism_config",
    "order_name",
    "ConfigurationOrigin",
    "configuration_origin",
    "check_exposure_matches",
    "ExposureMismatchError",
    "NonMonotonicDispersionError",
    "GrismTrace",
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
#: Samples of ``t`` on which a polynomial's derivative is checked for a change of sign.
MONOTONIC_SAMPLES = 257


class ExposureMismatchError(InvalidInputFileError):
    """An exposure and the configuration or reference file used with it disagree.

    Raised when their ``FILTER`` or ``PUPIL`` (grism) differ, or when a reference file
    has no entry for the exposure's filter, pupil and order.
    """


class NonMonotonicDispersionError(ValueError):
    """A dispersion polynomial turns back over the range of ``t`` it is inverted on.

    There one pixel (or wavelength) matches two values of ``t``, so no unique inverse
    exists: usually the polynomial is the cross-dispersion offset (``DISPX`` of GRISMC).
    """


@contextlib.contextmanager
def _working_directory(path):
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


@dataclass(frozen=True)
class ConfigurationOrigin:
    """What a grism configuration is for, as far as it is known.

    Attributes
    ----------
    filter, pupil : str or None
        ``FILTER`` (e.g. ``"F356W"``) and ``PUPIL`` (``"GRISMR"`` or ``"GRISMC"``); None
        where the configuration does not say.
    source : str
        The file it was read from (or ``""``).
    """

    filter: str | None = None
    pupil: str | None = None
    source: str = ""

    def describe(self) -> str:
        """``"F356W/GRISMR"`` (with ``?`` for what is unknown)."""
        return f"{self.filter or '?'}/{self.pupil or '?'}"


_FILTER_IN_NAME = re.compile(r"(?<![A-Z0-9])(F\d{3}[WMN]2?)(?![A-Z0-9])")
_GRISM_IN_NAME = re.compile(r"(?:_(R|C)\.CONF$)|(GRISM[RC])")


def _clean(value):
    value = str(value).strip().upper() if value is not None else ""
    return value or None


def _origin_from_conf(config) -> ConfigurationOrigin:
    """FILTER and PUPIL of a ``.conf``: its ``FILTER``/``PUPIL`` keywords, else its name
    (``NIRCAM_F356W_modA_R.conf`` is F356W with GRISMR)."""
    keywords = {}
    for line in getattr(config, "GRISM_CONF", None) or ():
        words = line.split()
        if len(words) == 2 and words[0].upper() in ("FILTER", "PUPIL", "GRISM"):
            keywords[words[0].upper()] = words[1]
    raw_name = str(getattr(config, "GRISM_CONF_FILE", "") or "")
    name = raw_name.upper()
    filter_ = _clean(keywords.get("FILTER"))
    if filter_ is None and (match := _FILTER_IN_NAME.search(name)):
        filter_ = match.group(1)
    pupil = _clean(keywords.get("PUPIL") or keywords.get("GRISM"))
    if pupil is None and (match := _GRISM_IN_NAME.search(name)):
        pupil = match.group(2) or f"GRISM{match.group(1)}"
    directory = getattr(config, "GRISM_CONF_PATH", "") or ""
    source = os.path.join(directory, raw_name) if raw_name else ""
    return ConfigurationOrigin(filter_, pupil, source)


def configuration_origin(config) -> ConfigurationOrigin:
    """The filter and grism a grism configuration is for, where known.

    :func:`load_grism_config` records them (from the WFSS file's header, or from a
    ``.conf`` file's ``FILTER``/``PUPIL`` keywords or its name, e.g.
    ``NIRCAM_F444W_modB_C.conf``). The extraction and flux calibration use them to
    refuse an exposure of another filter or grism.

    Parameters
    ----------
    config : grismconf.Config or GrismTrace

    Returns
    -------
    ConfigurationOrigin
    """
    if isinstance(config, GrismTrace):
        config = config.config
    recorded = getattr(config, "wfss_helpers_origin", None)
    if isinstance(recorded, ConfigurationOrigin):
        return recorded
    return _origin_from_conf(config)


def check_exposure_matches(exposure_filter, exposure_pupil, config, exposure_name):
    """Raise `ExposureMismatchError` if an exposure and a configuration differ.

    Parameters
    ----------
    exposure_filter, exposure_pupil : str or None
        The exposure's ``FILTER`` and ``PUPIL``; None skips that comparison.
    config : grismconf.Config or GrismTrace
    exposure_name : str
        Used in the message.
    """
    origin = configuration_origin(config)
    exposure = ConfigurationOrigin(_clean(exposure_filter), _clean(exposure_pupil))
    differ = [
        key
        for key in ("filter", "pupil")
        if getattr(origin, key) and getattr(exposure, key)
        and getattr(origin, key) != getattr(exposure, key)
    ]
    if differ:
        source = f" ({Path(origin.source).name})" if origin.source else ""
        keywords = " and ".join(key.upper() for key in differ)
        raise ExposureMismatchError(
            f"The exposure {exposure_name} was taken with {exposure.describe()} "
            f"(FILTER/PUPIL) but the grism configuration{source} is for "
            f"{origin.describe()}: their {keywords} differ. Load the configuration of "
            "this exposure: load_grism_config(<its _cal.fits>), or the .conf file of "
            "its filter and grism."
        )


def _photom_rows(photom_file):
    """``(filter, pupil, order)`` of every row of a photom reference file, or None.

    ``order`` is None for imaging photom files, which have no order column.
    """
    from astropy.io import fits

    try:
        with fits.open(photom_file) as hdul:
            table = hdul["PHOTOM"].data
            names = [name.lower() for name in table.columns.names]
            orders = table["order"] if "order" in names else [None] * len(table)
            return {
                (_clean(f), _clean(p), None if o is None else int(o))
                for f, p, o in zip(table["filter"], table["pupil"], orders)
            }
    except (OSError, KeyError, TypeError, ValueError):
        return None  # not a table we can read: the jwst step or grismconf will say more


def _describe_rows(rows):
    pairs = sorted({f"{f}/{p}" for f, p, _ in rows})
    return ", ".join(pairs[:8]) + (" ..." if len(pairs) > 8 else "")


def _reference_instrument(path):
    """``(FILTER, PUPIL)`` of a reference file (FITS header or ASDF meta), or None."""
    try:
        with open(path, "rb") as fh:
            start = fh.read(9)
        if start == b"SIMPLE  =":
            from astropy.io import fits

            header = fits.getheader(path)
            return _clean(header.get("FILTER")), _clean(header.get("PUPIL"))
        import asdf

        with asdf.open(path, lazy_load=True, memmap=False) as af:
            instrument = af.tree.get("meta", {}).get("instrument", {})
            return _clean(instrument.get("filter")), _clean(instrument.get("pupil"))
    except Exception:  # noqa: BLE001 - an unreadable reference is checked elsewhere
        return None


def _check_wfss_references(path: Path, header, photom_file: Path):
    """The trace (specwcs) and sensitivity (photom) must be for the file's filter."""
    from .crds_config import local_reference_file

    filter_, pupil = _clean(header.get("FILTER")), _clean(header.get("PUPIL"))
    specwcs = local_reference_file(header.get("R_SPCWCS"), also_in=(path.parent,))
    made_for = _reference_instrument(specwcs) if specwcs is not None else None
    if made_for is not None and any(
        made and made != own for made, own in zip(made_for, (filter_, pupil))
    ):
        raise ExposureMismatchError(
            f"{path.name} says FILTER={filter_}, PUPIL={pupil}, but its trace was "
            f"built from the specwcs reference file {specwcs.name}, which is for "
            f"{made_for[0]}/{made_for[1]}: the header and the calibration do not match "
            "(was FILTER or PUPIL edited, or the file calibrated with another filter's "
            "references?). Re-run wfss_helpers.pipeline.calibrate_wfss on the "
            "_rate.fits file with the reference files of its filter and grism (or "
            "reference_files=None to let CRDS choose)."
        )
    rows = _photom_rows(photom_file)
    if rows is not None and not any(f == filter_ and p == pupil for f, p, _ in rows):
        raise ExposureMismatchError(
            f"{path.name} says FILTER={filter_}, PUPIL={pupil}, but its sensitivity "
            f"reference file {photom_file.name} has no row for that: it has "
            f"{_describe_rows(rows)}. The exposure and the reference file do not match "
            "(was FILTER or PUPIL edited, or the file calibrated with another filter's "
            "references?). Re-run wfss_helpers.pipeline.calibrate_wfss on the "
            "_rate.fits file with the WFSS photom file of its filter and grism (or "
            "reference_files=None)."
        )
    return filter_, pupil


def _conf_value(lines, keyword):
    """The words after ``keyword`` on its line of a ``.conf`` file, or None."""
    for line in lines:
        words = line.split()
        if words and words[0] == keyword:
            return words[1:]
    return None


def _fits_problem(path):
    """Why a file is not a complete FITS file, or None."""
    from astropy.io import fits

    with open(path, "rb") as fh:
        start = fh.read(9)
    if start != b"SIMPLE  =":
        return "it is not a FITS file: it does not start with a FITS header"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", fits.verify.VerifyWarning)
            with fits.open(path, memmap=False) as hdul:
                hdul.verify("exception")
                for hdu in hdul:
                    _ = hdu.data  # a truncated file fails here
    except (OSError, ValueError, TypeError, fits.verify.VerifyError,
            fits.verify.VerifyWarning) as err:
        return f"it is truncated or corrupt ({type(err).__name__}: {err})"
    return None


def _sensitivity_problem(path):
    """Why a sensitivity file cannot be used as grismconf reads it, or None."""
    from astropy.io import fits

    problem = _fits_problem(path)
    if problem is not None:
        return problem
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", fits.verify.VerifyWarning)
            with fits.open(path, memmap=False) as hdul:
                if len(hdul) < 2 or not isinstance(hdul[1], fits.BinTableHDU):
                    return "it has no table in its first extension"
                table = hdul[1].data
                names = [name.upper() for name in hdul[1].columns.names]
                missing = [n for n in ("WAVELENGTH", "SENSITIVITY") if n not in names]
                if missing:
                    return (
                        f"its table has no {' or '.join(missing)} column (it has "
                        f"{', '.join(hdul[1].columns.names)})"
                    )
                wave = np.asarray(table.field("WAVELENGTH"), dtype=float)
                sens = np.asarray(table.field("SENSITIVITY"), dtype=float)
    except (OSError, ValueError, TypeError, KeyError, IndexError,
            fits.verify.VerifyError, fits.verify.VerifyWarning) as err:
        return f"it is truncated or corrupt ({type(err).__name__}: {err})"
    if wave.size < 5 or not (np.all(np.isfinite(wave)) and np.all(np.isfinite(sens))):
        return f"its table has {wave.size} rows, or values that are not finite"
    if not np.max(sens) > 0:
        return "its sensitivity is nowhere above zero"
    return None


def _check_sensitivity_files(path: Path, text: str):
    """Every order of a ``.conf`` must name a readable sensitivity table.

    grismconf reads ``SENSITIVITY_<order>`` relative to the folder of the ``.conf``
    and fails with astropy's error (a missing file), or one that does not name the
    file (a damaged one).
    """
    lines = text.splitlines()
    orders = [
        line.split()[0][len("BEAM_"):] for line in lines if line.startswith("BEAM_")
    ]
    folder = path.parent
    for order in orders:
        value = _conf_value(lines, f"SENSITIVITY_{order}")
        if not value:
            raise InvalidInputFileError(
                f"{path.name} has no SENSITIVITY_{order} line for its order {order} "
                f"(BEAM_{order}): grismconf needs the name of each order's sensitivity "
                "table. Add the line (SENSITIVITY_<order> <file name>, the file beside "
                "the .conf), or use the complete configuration it came from."
            )
        name = " ".join(value)
        sens_file = folder / name  # an absolute name stays absolute, as in grismconf
        if not sens_file.is_file():
            raise FileNotFoundError(
                f"The sensitivity file {name} of order {order}, named in {path.name} "
                f"(SENSITIVITY_{order}), is not in {sens_file.parent}: grismconf reads "
                "it from the folder of the .conf file. Copy it there (it comes with "
                "the configuration), or correct its name in the .conf file."
            )
        problem = _sensitivity_problem(sens_file)
        if problem is not None:
            raise InvalidInputFileError(
                f"The sensitivity file {name} of order {order}, named in {path.name} "
                f"(SENSITIVITY_{order}), in {sens_file.parent}, cannot be read as a "
                f"sensitivity table: {problem}. grismconf needs a FITS table with "
                "WAVELENGTH and SENSITIVITY columns. Copy the file again from where "
                "the configuration came from."
            )


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
        With the filter and grism it is for recorded (see :func:`configuration_origin`).

    Raises
    ------
    FileNotFoundError
        If the file, the sensitivity reference file the WFSS file names, or a
        sensitivity table a ``.conf`` names (looked for in the folder of the ``.conf``),
        is missing.
    wfss_helpers.file_checks.InvalidInputFileError
        If the file is neither a grismconf file nor a complete FITS file, is not a WFSS
        exposure, or has not been through AssignWcs and Photom; or if a ``.conf``
        lacks the ``SENSITIVITY_<order>`` line of an order, or names a sensitivity
        table that is not a FITS table with ``WAVELENGTH`` and ``SENSITIVITY``
        columns (the message names the file and its folder).
    ExposureMismatchError
        If the WFSS file's ``FILTER``/``PUPIL`` disagree with the trace (specwcs) or
        sensitivity (photom) reference files it was calibrated with.

    Notes
    -----
    For a WFSS file, grismconf reads the sensitivity file named in ``R_PHOTOM`` (minus its
    ``crds://`` prefix) from the working directory and otherwise downloads it from CRDS.
    This function looks for it first (absolute path, beside the WFSS file, in
    ``$CRDS_PATH/references/jwst/nircam``) and runs grismconf where it is, so no download
    happens when a local copy exists.
    """
    import grismconf

    from .crds_config import local_reference_file
    from .file_checks import check_processing

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
    origin = None
    if is_fits:
        header = check_processing(path, wfss=True, steps=("assign_wcs", "photom"))
        photom_name = header["R_PHOTOM"]
        found = local_reference_file(photom_name, also_in=(path.parent, Path.cwd()))
        if found is None:
            raise FileNotFoundError(
                f"The sensitivity reference file {photom_name!r} named in {path.name} "
                "is not on this machine (looked beside the file, in the working "
                "directory and in $CRDS_PATH/references/jwst/nircam). Re-run the "
                "Photom step with CRDS online so that CRDS downloads it, or copy it "
                "beside the WFSS file."
            )
        problem = _fits_problem(found)
        if problem is not None:
            raise InvalidInputFileError(
                f"The sensitivity reference file {photom_name!r} named in {path.name}, "
                f"found at {found}, cannot be read: {problem}. Copy a good one there, "
                "or delete it and re-run the Photom step with CRDS online so that CRDS "
                "downloads it again."
            )
        # grismconf opens the name minus "crds://": an absolute path from anywhere, a
        # bare file name from the working directory, so run it where the file is.
        absolute = Path(str(photom_name).removeprefix("crds://")).is_absolute()
        workdir = Path.cwd() if absolute else found.parent
        filter_, pupil = _check_wfss_references(path, header, found)
        origin = ConfigurationOrigin(filter_, pupil, str(path))
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
        _check_sensitivity_files(path, text)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore", ResourceWarning)
        with _working_directory(workdir):
            try:
                config = grismconf.Config(str(path))
            except IndexError:
                if not is_fits:
                    raise
                raise ExposureMismatchError(
                    f"The sensitivity reference file named in {path.name} has no row "
                    f"for one of the orders of its trace (FILTER={header.get('FILTER')}"
                    f", PUPIL={header.get('PUPIL')}): the exposure and its reference "
                    "files do not match. Re-run wfss_helpers.pipeline.calibrate_wfss "
                    "on the _rate.fits file with the WFSS photom file of its filter "
                    "and grism."
                ) from None
    if origin is None:
        origin = _origin_from_conf(config)
    config.wfss_helpers_origin = origin
    return config


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
            "y), invert the other one: wfss_helpers.trace.GrismTrace picks the "
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
            See :func:`wfss_helpers.flux_calibration.sensitivity_curve`.
        """
        from .flux_calibration import sensitivity_curve

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

    See Also
    --------
    GrismTrace.position
    """
    return GrismTrace(config, order, x0, y0).position(t)


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

    See Also
    --------
    GrismTrace.wavelength
    """
    return GrismTrace(config, order, x0, y0).wavelength(t)


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

    See Also
    --------
    GrismTrace.t_from_wavelength
    """
    return GrismTrace(config, order, x0, y0).t_from_wavelength(wavelength)


def t_from_column(config, order, x0, y0, x):
    """Trace parameter of detector column ``x`` (exact inverse of DISPX, GRISMR).

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

    Raises
    ------
    ValueError
        If the order disperses along ``y`` (GRISMC): columns do not pick points of its
        trace; use ``GrismTrace(config, order, x0, y0).t_from_pixel(row)``.

    See Also
    --------
    GrismTrace.t_from_pixel : the same along either dispersion axis.
    """
    trace = GrismTrace(config, order, x0, y0)
    instead = "GrismTrace(config, order, x0, y0).t_from_pixel(row)"
    trace.require_axis("x", "t_from_column", instead)
    return trace.t_from_pixel(x)


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

    See Also
    --------
    GrismTrace.position_at_wavelength
    """
    return GrismTrace(config, order, x0, y0).position_at_wavelength(wavelength)


def column_to_wavelength(config, order, x0, y0, x):
    """Wavelength that a source's order puts in detector column ``x`` (GRISMR).

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

    Raises
    ------
    ValueError
        If the order disperses along ``y`` (GRISMC); use
        ``GrismTrace(config, order, x0, y0).wavelength_at_pixel(row)``.

    See Also
    --------
    GrismTrace.wavelength_at_pixel : the same along either dispersion axis.
    """
    trace = GrismTrace(config, order, x0, y0)
    instead = "GrismTrace(config, order, x0, y0).wavelength_at_pixel(row)"
    trace.require_axis("x", "column_to_wavelength", instead)
    return trace.wavelength_at_pixel(x)


def angstrom_per_pixel(config, order, x0, y0, t):
    """Dispersion ``|dlambda/dpixel|`` at ``t`` along the dispersion axis.

    ``|dlambda/dx|`` for GRISMR, ``|dlambda/dy|`` for GRISMC, from the analytic
    derivatives.

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

    See Also
    --------
    GrismTrace.angstrom_per_pixel
    """
    return GrismTrace(config, order, x0, y0).angstrom_per_pixel(t)


def trace_bounding_box(
    config, order, x0, y0, half_height, *, t_range=(0.0, 1.0),
    detector_shape=(2048, 2048),
):
    """Box that contains a source's trace between two values of ``t``, plus a margin.

    Along the dispersion the box spans the pixels from ``t = t_range[0]`` to
    ``t = t_range[1]``; across it, the trace over that range (sampled densely, so a
    curved trace is covered) widened by ``half_height`` on each side (rows for GRISMR,
    columns for GRISMC).

    Parameters
    ----------
    config : grismconf.Config
    order : int or str
    x0, y0 : float
        Source position (0-based pixels).
    half_height : float
        Margin on each side of the trace, across the dispersion, in pixels.
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

    See Also
    --------
    GrismTrace.bounding_box
    """
    trace = GrismTrace(config, order, x0, y0)
    return trace.bounding_box(
        half_height, t_range=t_range, detector_shape=detector_shape
    )


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
        Rows. For a row-dispersing grism (GRISMR) they do not change the result and
        default to ``y0``; a column-dispersing grism (GRISMC) needs them.

    Returns
    -------
    `~astropy.units.Quantity`

    Raises
    ------
    ValueError
        If the exposure has no gWCS, the order is unknown, or ``y`` is missing for a
        GRISMC exposure.
    """
    from .source_positions import open_model

    x0, y0 = pixel_position(x0, y0)
    order = order_number(order)
    x = np.atleast_1d(pixel_values(x))
    model = open_model(wfss_model, wfss=True)
    if y is None:
        if _clean(model.meta.instrument.pupil) == "GRISMC":
            raise ValueError(
                f"{model.meta.filename} was taken with GRISMC, which disperses along "
                "y: the wavelength of a pixel depends on its row. Give the rows too: "
                "gwcs_column_wavelengths(wfss, order, x0, y0, x, y)."
            )
        y = np.full(x.shape, y0, dtype=float)
    else:
        x, y = pixel_positions(x, y, names=("x", "y"))
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
