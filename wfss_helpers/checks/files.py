"""Checks that a file is what a helper needs, with errors that say how to fix it.

The jwst and astropy readers fail on a wrong or damaged file with messages from deep inside
(a missing ``END`` card, an attribute of ``None``, a ``KeyError`` on a transform name). The
helpers call these checks first, so that the user reads what is wrong with *their* file and
what to do about it.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

__all__ = [
    "InvalidInputFileError",
    "NotEnoughSpaceError",
    "check_fits_file",
    "open_checked_fits",
    "open_model",
    "check_processing",
    "check_model",
    "is_wfss",
    "writable_directory",
    "out_of_space",
]

#: Exposure types of WFSS (grism) exposures.
WFSS_EXPOSURE_TYPES = ("NRC_WFSS", "NIS_WFSS")


class InvalidInputFileError(ValueError):
    """A file is not, or no longer, what the helper needs."""


class NotEnoughSpaceError(OSError):
    """A folder lacks the free space a file or the demo dataset needs (errno ENOSPC).

    The message names the folder and the space needed; nothing half-written is left.
    """


def _fits_path(path) -> Path:
    """The path of a file that starts like a FITS file (else a clear error)."""
    import os

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"Expected the path of a FITS file, got {type(path).__name__} {path!r}.")
    path = Path(path).expanduser()
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory; give the path of a FITS file in it.")
    if not path.is_file():
        raise FileNotFoundError(f"No file at {path}: check the name and directory.")
    with open(path, "rb") as fh:
        start = fh.read(30)
    if not start.startswith(b"SIMPLE  ="):
        raise InvalidInputFileError(
            f"{path.name} is not a FITS file (it does not start with a FITS header). Give the "
            "path of a JWST _rate.fits or _cal.fits file."
        )
    return path


def _damaged(path, err):
    return InvalidInputFileError(
        f"{path.name} is truncated or corrupt ({type(err).__name__}: {err}). Download or "
        "generate it again; an interrupted download is the usual cause."
    )


@contextlib.contextmanager
def _damage_as_error(path):
    """What astropy raises on a damaged FITS file, as an InvalidInputFileError."""
    from astropy.io import fits

    errors = (OSError, ValueError, TypeError, fits.verify.VerifyError,
              fits.verify.VerifyWarning)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", fits.verify.VerifyWarning)
            yield
    except errors as err:
        raise _damaged(path, err) from None


def check_fits_file(path) -> Path:
    """Check that ``path`` is a complete, readable FITS file with a primary header.

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    pathlib.Path
        The resolved path.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    InvalidInputFileError
        If it is not FITS, or is truncated or corrupt.
    """
    from astropy.io import fits

    path = _fits_path(path)
    with _damage_as_error(path):
        with fits.open(path, memmap=False) as hdul:
            hdul.verify("exception")
            for hdu in hdul:
                _ = hdu.data  # reads every extension: a truncated file fails here
    return path.resolve()


def open_checked_fits(path):
    """Open a FITS file once, checked as :func:`check_fits_file` does, without reading
    its data.

    The headers are read and verified; that the data are all there is checked from the
    file's size against what the headers describe. The arrays are read when first
    accessed (``hdul[...].data``), from the open file.

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    hdul : astropy.io.fits.HDUList
        Open; close it when done.
    path : pathlib.Path
        The resolved path.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    InvalidInputFileError
        If it is not FITS, or is truncated or corrupt.
    """
    from astropy.io import fits

    path = _fits_path(path)
    hdul = None
    try:
        with _damage_as_error(path):
            hdul = fits.open(path, memmap=False)
            hdul.verify("exception")
            end = max(info["datLoc"] + info["datSpan"]
                      for info in (hdu.fileinfo() for hdu in hdul))
            size = path.stat().st_size
            if size < end:
                raise OSError(f"the file has {size} bytes, its headers describe {end}")
    except InvalidInputFileError:
        if hdul is not None:
            hdul.close()
        raise
    return hdul, path.resolve()


def is_wfss(header) -> bool:
    """True if a primary header (or a dict of keywords) describes a WFSS (grism) exposure."""
    if not hasattr(header, "get"):
        raise TypeError(
            f"is_wfss() takes a FITS header, got {type(header).__name__}; use "
            "astropy.io.fits.getheader(path) or check_processing(path)."
        )
    return str(header.get("EXP_TYPE", "")).strip().upper() in WFSS_EXPOSURE_TYPES


#: Steps that can be checked: name -> (header keyword, jwst step class).
_STEPS = {
    "assign_wcs": ("S_WCS", "AssignWcsStep"),
    "flat_field": ("S_FLAT", "FlatFieldStep"),
    "photom": ("S_PHOTOM", "PhotomStep"),
}


def _check_steps_argument(steps):
    steps = (steps,) if isinstance(steps, str) else tuple(steps)
    unknown = [step for step in steps if step not in _STEPS]
    if unknown:
        raise ValueError(f"Unknown step(s) {unknown}; use any of {', '.join(_STEPS)}.")
    return steps


def _check_state(name, exp_type, status, *, wfss, steps, not_done):
    """Shared by check_processing (headers) and check_model (data models)."""
    grism = is_wfss({"EXP_TYPE": exp_type})
    if wfss is True and not grism:
        raise InvalidInputFileError(
            f"{name} is not a WFSS exposure (EXP_TYPE = {exp_type}); give the grism "
            "(NRC_WFSS) exposure here, not the direct image."
        )
    if wfss is False and grism:
        raise InvalidInputFileError(
            f"{name} is a WFSS exposure (EXP_TYPE = {exp_type}); give the direct "
            "(imaging) exposure here."
        )
    helper = "calibrate_wfss" if grism else "calibrate_imaging"
    for step in _check_steps_argument(steps):
        keyword, step_class = _STEPS[step]
        if str(status.get(step) or "").upper() != "COMPLETE":
            raise InvalidInputFileError(
                f"{name} has not been through the jwst {step_class} ({keyword} is "
                f"{status.get(step) or 'missing'!r}). Run wfss_helpers.data_sources.pipeline.{helper} "
                "on its _rate.fits file first."
            )
    for step in _check_steps_argument(not_done):
        keyword, step_class = _STEPS[step]
        if str(status.get(step) or "").upper() == "COMPLETE":
            raise InvalidInputFileError(
                f"{name} has already been through the jwst {step_class} ({keyword} = COMPLETE): "
                f"it is a calibrated file. Give {helper} the _rate.fits file; running the "
                "steps twice would apply the flat field and photometry twice."
            )


def check_processing(path, *, wfss: bool | None = None, steps=("assign_wcs",), not_done=()):
    """Check a FITS file's exposure type and the pipeline steps it went through.

    Parameters
    ----------
    path : str or pathlib.Path
    wfss : bool or None, optional
        True: must be a WFSS exposure; False: must not be; None: either.
    steps : sequence of str, optional
        Steps that must be ``COMPLETE``: any of ``"assign_wcs"``, ``"flat_field"``,
        ``"photom"``.
    not_done : sequence of str, optional
        Steps that must *not* be ``COMPLETE`` yet (for inputs of the calibration).

    Returns
    -------
    astropy.io.fits.Header
        The primary header.

    Raises
    ------
    InvalidInputFileError
        Naming the wrong exposure type or the missing step and how to run it.
    """
    from astropy.io import fits

    path = check_fits_file(path)
    header = fits.getheader(path)
    status = {step: header.get(keyword) for step, (keyword, _) in _STEPS.items()}
    _check_state(path.name, header.get("EXP_TYPE", "(none)"), status, wfss=wfss, steps=steps, not_done=not_done)
    return header


def check_model(model, *, wfss: bool | None = None, steps=(), not_done=()):
    """:func:`check_processing` for a data model that is already open.

    Parameters
    ----------
    model : `~stdatamodels.jwst.datamodels.JwstDataModel`
    wfss, steps, not_done
        As in :func:`check_processing`.

    Returns
    -------
    The model.
    """
    meta = model.meta
    name = getattr(meta, "filename", None) or f"This {type(model).__name__}"
    status = {step: getattr(meta.cal_step, step, None) for step in _STEPS}
    _check_state(name, meta.exposure.type or "(none)", status, wfss=wfss, steps=steps, not_done=not_done)
    return model


def writable_directory(path, what="output"):
    """Create ``path`` (with its parents) if needed and check that it can be written to.

    Parameters
    ----------
    path : str or pathlib.Path
    what : str, optional
        What the directory is for, used in error messages.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    NotADirectoryError
        If ``path`` (or a parent) is a file.
    PermissionError
        If it cannot be created or written to.
    """
    import os

    if path is None or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"The {what} directory must be a path, got {type(path).__name__} {path!r}.")
    path = Path(path).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise NotADirectoryError(
            f"Cannot use {path} as the {what} directory: it, or a folder above it, is a file. "
            "Choose another directory."
        ) from None
    except OSError as err:
        raise PermissionError(
            f"Cannot create the {what} directory {path} ({err.strerror}); choose a directory you "
            "can write to."
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise PermissionError(f"The {what} directory {path} is not writable; choose a directory you can write to.")
    return path


def open_model(model_or_path, *, wfss=None, steps=()):
    """Open a JWST data model unless one is given, and check what it is.

    Parameters
    ----------
    model_or_path : str, pathlib.Path, `~stdatamodels.jwst.datamodels.JwstDataModel` or exposure
        An exposure (:class:`~wfss_helpers.exposure.WFSSExposure`,
        :class:`~wfss_helpers.exposure.DirectImage`) gives its data model, opened once.
    wfss : bool or None, optional
        True: must be a WFSS exposure; False: must not be; None: either.
    steps : sequence of str, optional
        Pipeline steps that must have run (see
        :func:`wfss_helpers.checks.files.check_processing`).

    Returns
    -------
    `~stdatamodels.jwst.datamodels.JwstDataModel`

    Raises
    ------
    TypeError
        If given neither a path nor a data model (e.g. a bare array).
    wfss_helpers.checks.files.InvalidInputFileError
        If the file is damaged, of the wrong exposure type or not processed far enough.
    """
    import os

    from stdatamodels.jwst import datamodels

    if hasattr(model_or_path, "_as_datamodel"):  # an exposure (wfss_helpers.exposure)
        return check_model(model_or_path._as_datamodel(), wfss=wfss, steps=steps)
    if isinstance(model_or_path, datamodels.JwstDataModel):
        return check_model(model_or_path, wfss=wfss, steps=steps)
    if not isinstance(model_or_path, (str, os.PathLike)):
        raise TypeError(
            f"Expected a JWST file path or data model, got {type(model_or_path).__name__}. Pass the "
            "file name or stdatamodels.jwst.datamodels.open(path) (for bare arrays, the extraction "
            "takes a dict: {'data': sci, 'err': err, 'dq': dq})."
        )
    return check_model(datamodels.open(str(check_fits_file(model_or_path))), wfss=wfss, steps=steps)


def out_of_space(err) -> bool:
    """True if ``err``, or an exception it was raised from, is a full disk.

    Parameters
    ----------
    err : BaseException or None

    Returns
    -------
    bool
    """
    import errno

    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        # astropy checks the free space itself first, and raises a plain OSError
        if isinstance(err, OSError) and "not enough space on disk" in str(err).lower():
            return True
        err = err.__cause__ or err.__context__
    return False
