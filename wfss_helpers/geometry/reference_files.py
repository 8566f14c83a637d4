"""Where the reference files named in a calibrated file's header are on this machine.

A calibrated JWST file records each reference file it was calibrated with in an ``R_*``
keyword, as ``crds://<file name>`` or as an absolute path. The grism configuration of a
WFSS exposure is built from two of them (the specwcs and the photom reference file), so
loading a configuration (:func:`wfss_helpers.geometry.configuration.load_grism_config`)
needs to find them: in the CRDS cache, beside the data, or in the folders of the demo
datasets loaded in this process. CRDS itself is set up in
:mod:`wfss_helpers.data_sources.crds`.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_crds_path", "local_reference_file", "register_reference_folder"]


_OFFLINE_SERVER_CONFIG = {
    "observatory": "jwst",
    "operational_context": "jwst_0000.pmap",
    "last_synced": "offline",
    "force_remote_mode": False,
}


def default_crds_path() -> Path:
    """The CRDS cache used when none is given: ``$CRDS_PATH`` or ``~/crds_cache``.

    Returns
    -------
    pathlib.Path
    """
    return Path(os.environ.get("CRDS_PATH") or Path.home() / "crds_cache").expanduser()


#: Folders of reference files given by hand, most recent first: the ``reference_files``
#: folders of the demo datasets loaded in this process.
_REFERENCE_FOLDERS: list[Path] = []


def register_reference_folder(folder) -> None:
    """Let :func:`local_reference_file` find reference files in ``folder`` too.

    :func:`wfss_helpers.demo.dataset.load_demo_dataset` registers the
    ``reference_files`` folder of the dataset it returns, so that a calibrated demo
    file, which names its reference files as ``crds://<file name>``, finds them
    wherever the dataset is.

    Parameters
    ----------
    folder : str or pathlib.Path
    """
    folder = Path(folder)
    if folder in _REFERENCE_FOLDERS:
        _REFERENCE_FOLDERS.remove(folder)
    _REFERENCE_FOLDERS.insert(0, folder)


def _offline_reference_folder() -> Path | None:
    """The ``reference_files`` folder beside ``$CRDS_PATH``, if that is offline.

    The offline cache of the demo data holds no reference files: the steps are given
    them by hand, from the dataset's ``reference_files`` folder next to it.
    """
    crds_path = os.environ.get("CRDS_PATH")
    if not crds_path:
        return None
    crds_path = Path(crds_path).expanduser()
    try:
        text = (crds_path / "config" / "jwst" / "server_config").read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    if text != repr(_OFFLINE_SERVER_CONFIG):
        return None
    return crds_path.parent / "reference_files"


def local_reference_file(name, *, also_in=()) -> Path | None:
    """Where a reference file named in a header (``R_*`` keyword) is on this machine.

    The jwst steps record a reference file as ``crds://<file name>`` (chosen by CRDS, or
    a demo file, see :func:`wfss_helpers.demo.manifest.make_relocatable`) or as an
    absolute path (given as an override). This looks for it as an absolute path, in the
    CRDS cache (``$CRDS_PATH/references/jwst/nircam`` or, in a flat cache,
    ``$CRDS_PATH/references/jwst``), in the directories ``also_in`` and their
    ``reference_files`` sub-folders, when ``$CRDS_PATH`` is an offline cache made by
    :func:`configure_offline_crds` in the ``reference_files`` folder beside it (the demo
    dataset's layout), and in the folders of :func:`register_reference_folder` (those of
    the demo datasets loaded in this process). A dataset copied or mounted elsewhere is
    thus found where it is.

    Parameters
    ----------
    name : str
        The recorded name, with or without ``crds://``.
    also_in : sequence of path-like, optional
        Further directories to look in (e.g. the data file's own).

    Returns
    -------
    pathlib.Path or None
        The file, or None if it is not on this machine (or the name is ``N/A``).
    """
    if not name or str(name).strip().upper() in ("N/A", "NONE"):
        return None
    name = str(name)
    name = name[len("crds://"):] if name.startswith("crds://") else name
    path = Path(name).expanduser()
    if path.is_absolute():
        return path if path.is_file() else None
    references = default_crds_path() / "references" / "jwst"
    folders = [references / "nircam", references]
    for directory in map(Path, also_in):
        folders += [directory, directory / "reference_files"]
    offline = _offline_reference_folder()
    if offline is not None:
        folders.append(offline)
    folders += _REFERENCE_FOLDERS
    for directory in folders:
        if (directory / name).is_file():
            return directory / name
    return None
