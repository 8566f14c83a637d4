"""Checks that a file is what a helper needs, with errors that say how to fix it.

The jwst and astropy readers fail on a wrong or damaged file with messages from deep inside
(a missing ``END`` card, an attribute of ``None``, a ``KeyError`` on a transform name). The
helpers call these checks first, so that the user reads what is wrong with *their* file and
what to do about it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

__all__ = [
    "InvalidInputFileError",
    "check_fits_file",
    "check_processing",
    "is_wfss",
]

#: Exposure types of WFSS (grism) exposures.
WFSS_EXPOSURE_TYPES = ("NRC_WFSS", "NIS_WFSS")


class InvalidInputFileError(ValueError):
    """A file is not, or no longer, what the helper needs."""


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

    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"No file at {path}: check the name and directory.")
    with open(path, "rb") as fh:
        start = fh.read(30)
    if not start.startswith(b"SIMPLE  ="):
        raise InvalidInputFileError(
            f"{path.name} is not a FITS file (it does not start with a FITS header). Give the "
            "path of a JWST _rate.fits or _cal.fits file."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", fits.verify.VerifyWarning)
            with fits.open(path, memmap=False) as hdul:
                hdul.verify("exception")
                for hdu in hdul:
                    _ = hdu.data  # reads every extension: a truncated file fails here
    except (OSError, ValueError, TypeError, fits.verify.VerifyError, fits.verify.VerifyWarning) as err:
        raise InvalidInputFileError(
            f"{path.name} is truncated or corrupt ({type(err).__name__}: {err}). Download or "
            "generate it again; an interrupted download is the usual cause."
        ) from None
    return path.resolve()


def is_wfss(header) -> bool:
    """True if a primary header describes a WFSS (grism) exposure."""
    return str(header.get("EXP_TYPE", "")).strip().upper() in WFSS_EXPOSURE_TYPES


def check_processing(path, *, wfss: bool | None = None, steps=("assign_wcs",)):
    """Check a FITS file's exposure type and the pipeline steps it went through.

    Parameters
    ----------
    path : str or pathlib.Path
    wfss : bool or None, optional
        True: must be a WFSS exposure; False: must not be; None: either.
    steps : sequence of str, optional
        Steps that must be ``COMPLETE``: any of ``"assign_wcs"``, ``"flat_field"``,
        ``"photom"``.

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
    exp_type = header.get("EXP_TYPE", "(none)")
    if wfss is True and not is_wfss(header):
        raise InvalidInputFileError(
            f"{path.name} is not a WFSS exposure (EXP_TYPE = {exp_type}); give the grism "
            "(NRC_WFSS) exposure here, not the direct image."
        )
    if wfss is False and is_wfss(header):
        raise InvalidInputFileError(
            f"{path.name} is a WFSS exposure (EXP_TYPE = {exp_type}); give the direct "
            "(imaging) exposure here."
        )
    keywords = {"assign_wcs": "S_WCS", "flat_field": "S_FLAT", "photom": "S_PHOTOM"}
    how = {
        "assign_wcs": "AssignWcsStep",
        "flat_field": "FlatFieldStep",
        "photom": "PhotomStep",
    }
    for step in steps:
        if str(header.get(keywords[step], "")).upper() != "COMPLETE":
            helper = "calibrate_wfss" if is_wfss(header) else "calibrate_imaging"
            raise InvalidInputFileError(
                f"{path.name} has not been through the jwst {how[step]} ({keywords[step]} is "
                f"{header.get(keywords[step], 'missing')!r}). Run wfss_helpers.pipeline.{helper} "
                "on its _rate.fits file first."
            )
    return header
