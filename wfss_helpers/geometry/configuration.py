"""Grism configurations: loading one, what it is for, and whether an exposure matches it.

A grism configuration (Pirzkal & Ryan 2017) describes every spectral order of a grism
with the polynomials ``DISPX``, ``DISPY`` and ``DISPL`` of a parameter ``t`` (see
:mod:`wfss_helpers.geometry.trace`) and, per order, a sensitivity curve.
:func:`load_grism_config` reads it either from a processed WFSS file (after AssignWcs and
Photom: grismconf builds it from the file's specwcs and photom reference files) or from a
plain grismconf ``.conf`` file, and checks on the way that those reference files are
there and are what they claim. :func:`configuration_origin` tells which filter and grism
a configuration is for, and :func:`check_exposure_matches` refuses an exposure taken with
another one.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy import units as u

from ..checks.arguments import (
    order_number,
)
from ..checks.files import InvalidInputFileError

__all__ = [
    "load_grism_config",
    "order_name",
    "ConfigurationOrigin",
    "configuration_origin",
    "check_exposure_matches",
    "ExposureMismatchError",
    "WAVELENGTH_UNIT",
]

#: Default wavelength unit of grism configurations.
WAVELENGTH_UNIT = u.micron


class ExposureMismatchError(InvalidInputFileError):
    """An exposure and the configuration or reference file used with it disagree.

    Raised when their ``FILTER`` or ``PUPIL`` (grism) differ, or when a reference file
    has no entry for the exposure's filter, pupil and order.
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
    inner = getattr(config, "config", None)  # a GrismTrace (or anything holding one)
    if inner is not None and _is_grism_config(inner):
        config = inner
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
    from .reference_files import local_reference_file

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
            "references?). Re-run wfss_helpers.data_sources.pipeline.calibrate_wfss on the "
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
            "references?). Re-run wfss_helpers.data_sources.pipeline.calibrate_wfss on the "
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
    path : str, pathlib.Path or `~wfss_helpers.exposure.WFSSExposure`
        Either a WFSS exposure that went through AssignWcs and Photom (its gWCS holds the
        trace polynomials, its ``R_PHOTOM`` names the sensitivity reference file), or a
        grismconf ``.conf`` text file (with its sensitivity tables beside it). A
        ``grismconf.Config`` is returned as it is, and a
        :class:`~wfss_helpers.exposure.WFSSExposure` gives its own configuration
        (loaded once, when first asked for).

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
    wfss_helpers.checks.files.InvalidInputFileError
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
    if _is_grism_config(path):
        return path  # already a configuration: nothing to read
    if hasattr(path, "_as_datamodel") and hasattr(path, "config"):
        return path.config  # a WFSSExposure: its configuration, loaded once
    path = _configuration_path(path)
    workdir = Path.cwd()
    header = origin = None
    if _starts_as_fits(path):
        header, workdir, origin = _wfss_configuration_inputs(path)
    else:
        _check_conf_file(path)
    config = _read_grismconf(path, workdir, header)
    if origin is None:
        origin = _origin_from_conf(config)
    config.wfss_helpers_origin = origin
    return config


def _configuration_path(path) -> Path:
    """The resolved path of an existing file, or a TypeError / FileNotFoundError."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            "load_grism_config() takes the path of a processed WFSS file or a .conf "
            f"file, got {type(path).__name__} {path!r}."
        )
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise FileNotFoundError(f"No grism configuration or WFSS file at {path}.")
    return path


def _starts_as_fits(path) -> bool:
    """True if the file begins with a FITS header card."""
    with open(path, "rb") as fh:
        return fh.read(9) == b"SIMPLE  ="


def _wfss_configuration_inputs(path: Path):
    """``(header, workdir, origin)`` of a WFSS file: checked, with its photom file."""
    from ..checks.files import check_processing

    header = check_processing(path, wfss=True, steps=("assign_wcs", "photom"))
    photom_name = header["R_PHOTOM"]
    found = _local_photom_file(path, photom_name)
    # grismconf opens the name minus "crds://": an absolute path from anywhere, a
    # bare file name from the working directory, so run it where the file is.
    absolute = Path(str(photom_name).removeprefix("crds://")).is_absolute()
    workdir = Path.cwd() if absolute else found.parent
    filter_, pupil = _check_wfss_references(path, header, found)
    return header, workdir, ConfigurationOrigin(filter_, pupil, str(path))


def _local_photom_file(path: Path, photom_name) -> Path:
    """The readable local copy of the sensitivity reference file a WFSS file names."""
    from .reference_files import local_reference_file

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
    return found


def _check_conf_file(path: Path):
    """A ``.conf`` must have DISPX_/DISPL_ lines and readable sensitivity tables."""
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        text = ""
    if "DISPX_" not in text or "DISPL_" not in text:
        raise InvalidInputFileError(
            f"{path.name} is neither a FITS file nor a grismconf configuration (no "
            "DISPX_/DISPL_ lines). Give a processed WFSS _cal.fits file or a grismconf "
            ".conf file."
        )
    _check_sensitivity_files(path, text)


def _read_grismconf(path: Path, workdir: Path, header):
    """``grismconf.Config`` of the file, read quietly in ``workdir``."""
    import grismconf

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore", ResourceWarning)
        with _working_directory(workdir):
            try:
                return grismconf.Config(str(path))
            except IndexError:
                if header is None:  # a .conf file: grismconf's own error
                    raise
                raise ExposureMismatchError(
                    f"The sensitivity reference file named in {path.name} has no row "
                    f"for one of the orders of its trace (FILTER={header.get('FILTER')}"
                    f", PUPIL={header.get('PUPIL')}): the exposure and its reference "
                    "files do not match. Re-run "
                    "wfss_helpers.data_sources.pipeline.calibrate_wfss "
                    "on the _rate.fits file with the WFSS photom file of its filter "
                    "and grism."
                ) from None


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
            "wfss_helpers.geometry.configuration.load_grism_config(path)."
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


