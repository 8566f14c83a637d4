"""Checks for the spectra file: nothing lost silently on reading, normal permissions.

:mod:`wfss_helpers.field.spectra_file` reads its extensions through these helpers, so a
file cut off while being written or copied is refused with a message naming what is
missing, rather than read as fewer spectra; and its written files get the permissions a
plain ``open()`` would give them.
"""

from __future__ import annotations

import os
import warnings

from ..checks.files import InvalidInputFileError

__all__ = ["complete_spectrum_hdus", "give_normal_permissions"]


def _current_umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def give_normal_permissions(path):
    """Give ``path`` the permissions of a file made by ``open()``: 0666 & ~umask.

    `tempfile.mkstemp` makes its files readable by their owner only (0600); a
    spectra file written that way could not be read by others in a shared folder.

    Parameters
    ----------
    path : str or `~pathlib.Path`
        The file (just written by this process).
    """
    os.chmod(path, 0o666 & ~_current_umask())


def _ranges(numbers):
    """``[1, 2, 3, 7]`` as ``"1-3, 7"``."""
    parts, start, previous = [], None, None
    for number in sorted(numbers):
        if start is not None and number == previous + 1:
            previous = number
            continue
        if start is not None:
            parts.append(f"{start}" if start == previous else f"{start}-{previous}")
        start = previous = number
    if start is not None:
        parts.append(f"{start}" if start == previous else f"{start}-{previous}")
    return ", ".join(parts)


def _load(hdulist, extname):
    """The ``extname`` HDUs with their data read, and whether astropy saw a cut."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hdus = [hdu for hdu in hdulist[1:] if hdu.name == extname]
        for hdu in hdus:
            hdu.data  # noqa: B018  (reads the data: a short data part is seen now)
    truncated = False
    for warning in caught:
        if "truncated" in str(warning.message):
            truncated = True
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return hdus, truncated


def complete_spectrum_hdus(hdulist, name, extname="SPECTRUM"):
    """All spectrum extensions of a spectra file, or a clear error if any is missing.

    The primary header's ``NSPEC`` says how many ``extname`` extensions (``EXTVER`` 1
    to ``NSPEC``) the file holds; a file cut off while being written or copied holds
    fewer, and astropy reads what is left without an error.

    Parameters
    ----------
    hdulist : `~astropy.io.fits.HDUList`
        The open spectra file.
    name : str
        How to call the file in messages (its path).
    extname : str, optional
        ``EXTNAME`` of the spectrum extensions.

    Returns
    -------
    list of `~astropy.io.fits.BinTableHDU`
        Sorted by ``EXTVER``.

    Raises
    ------
    wfss_helpers.checks.files.InvalidInputFileError
        If the file holds no spectrum, fewer (or other) spectra than ``NSPEC`` says, or
        its last extension is cut short. The message names the missing extensions.
    """
    hdus, truncated = _load(hdulist, extname)
    hdus.sort(key=lambda hdu: hdu.ver)
    expected = hdulist[0].header.get("NSPEC")
    found = [hdu.ver for hdu in hdus]
    how = (
        "It was probably cut off while being written, downloaded or copied: write "
        "or copy it again from the original."
    )
    if not hdus:
        raise InvalidInputFileError(
            f"{name} holds no spectrum: it has only {len(hdulist)} HDU(s) "
            f"({', '.join(hdu.name or 'PRIMARY' for hdu in hdulist)}) and no "
            f"{extname} extension"
            + (f", but its primary header says NSPEC = {expected}. " if expected
               else ". ")
            + how
        )
    if not isinstance(expected, int) or isinstance(expected, bool) or expected < 1:
        raise InvalidInputFileError(
            f"{name} has NSPEC = {expected!r} in its primary header, not the number "
            f"of its {extname} extensions ({len(hdus)} found): the file is damaged. "
            "Write it again with wfss_helpers.field.spectra_file.write_spectra."
        )
    missing = sorted(set(range(1, expected + 1)) - set(found))
    extra = sorted(set(found) - set(range(1, expected + 1)))
    if missing or extra or len(found) != expected or truncated:
        details = []
        if missing:
            details.append(f"{extname} extensions (EXTVER) {_ranges(missing)} missing")
        if extra or len(found) != len(set(found)):
            details.append(f"unexpected EXTVER values {sorted(found)}")
        if truncated:
            details.append("the file ends before its last extension does")
        raise InvalidInputFileError(
            f"{name} is incomplete: its primary header says NSPEC = {expected} "
            f"spectra, but {len(found)} {extname} extension(s) were found "
            f"({'; '.join(details)}). No spectrum was returned, so none is lost "
            "silently. " + how
        )
    return hdus
