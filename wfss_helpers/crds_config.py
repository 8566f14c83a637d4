"""Configure CRDS, the JWST Calibration Reference Data System, for offline or online use.

The jwst pipeline steps look up reference files (and step parameters) in CRDS every time
they run. CRDS is configured only through environment variables, so these functions set
them for the current process:

* **online** (real JWST data): ``CRDS_SERVER_URL`` points at the CRDS server and
  ``CRDS_PATH`` at a local cache (by default ``~/crds_cache``) where reference files are
  downloaded once.
* **offline** (the embedded demo data): a one-file CRDS cache makes CRDS run *serverless*:
  it never opens a network connection, every reference file is given explicitly as a step
  override, and step-parameter lookups are switched off. ``CRDS_SERVER_URL`` must then be
  unset: setting it makes CRDS resolve the server's name, which can hang on a machine with
  no network.
"""

from __future__ import annotations

import os
from pathlib import Path

from .file_checks import writable_directory

__all__ = [
    "JWST_CRDS_SERVER_URL",
    "default_crds_path",
    "configure_offline_crds",
    "configure_online_crds",
    "local_reference_file",
    "register_reference_folder",
]

#: The public JWST CRDS server.
JWST_CRDS_SERVER_URL = "https://jwst-crds.stsci.edu"

_OFFLINE_SERVER_CONFIG = {
    "observatory": "jwst",
    "operational_context": "jwst_0000.pmap",
    "last_synced": "offline",
    "force_remote_mode": False,
}


#: The URL crds itself uses for "no server" (serverless mode): it never connects to it.
_SERVERLESS_URL = "https://crds-serverless-mode.stsci.edu"


def _apply_to_loaded_crds(server_url):
    """Make an already imported ``crds`` use ``server_url`` (None: serverless).

    ``crds`` reads ``CRDS_SERVER_URL`` once, when it is imported, and caches the server's
    answers (server info, context) and the cache layout for the life of the process. So in
    a session that has already run a step (say, on the demo data, serverless), changing
    the environment variable alone would change nothing; this applies the new setting and
    forgets the cached answers. Before ``crds`` is imported there is nothing to do.
    """
    import sys

    if "crds" not in sys.modules:
        return
    from crds.client import api
    from crds.core import config, utils

    api.set_crds_server(server_url or _SERVERLESS_URL)
    utils.clear_function_caches()
    config.CRDS_REF_SUBDIR_MODE = "None"  # re-read the reference cache layout of the new cache


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
    a demo file, see :func:`wfss_helpers.demo.dataset.make_relocatable`) or as an
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


def configure_offline_crds(crds_path) -> dict[str, str]:
    """Make CRDS run with no server, from a one-file local cache.

    After this call the jwst steps run with no network access as long as every reference
    file type they declare is given as an ``override_<type>`` (``"N/A"`` where unused).

    Parameters
    ----------
    crds_path : str or pathlib.Path
        Directory of the (tiny) offline CRDS cache; created if needed. Use a directory
        of its own, not a real CRDS cache. An existing ``server_config`` there is left
        alone (nothing is written, so the cache may be read-only) if it is already an
        offline one, and refused otherwise.

    Returns
    -------
    dict of str to str
        The environment variables that were set.

    Raises
    ------
    FileExistsError
        If ``crds_path`` already holds the configuration of an online CRDS cache (which
        this function will not overwrite).
    """
    if not isinstance(crds_path, (str, os.PathLike)):
        raise TypeError(f"crds_path must be a directory path, got {type(crds_path).__name__} {crds_path!r}.")
    crds_path = Path(crds_path).expanduser().resolve()
    config_file = crds_path / "config" / "jwst" / "server_config"
    wanted = repr(_OFFLINE_SERVER_CONFIG)
    if config_file.is_file():
        try:
            current = config_file.read_text().strip()
        except (OSError, UnicodeDecodeError):
            current = None
        if current != wanted:
            raise FileExistsError(
                f"{config_file} belongs to a real (online) CRDS cache. Give "
                "configure_offline_crds() a directory of its own, e.g. a "
                "'crds_offline' folder beside the demo data, so that your real cache "
                "is not modified."
            )
        # Already the offline configuration: nothing to write (it may be read-only).
    else:
        writable_directory(config_file.parent, "offline CRDS cache")
        partial = config_file.with_name(f".server_config.{os.getpid()}.partial")
        partial.write_text(wanted)
        os.replace(partial, config_file)
    os.environ.pop("CRDS_SERVER_URL", None)
    settings = {
        "CRDS_PATH": str(crds_path),
        "CRDS_OBSERVATORY": "jwst",
        "STPIPE_DISABLE_CRDS_STEPPARS": "True",
    }
    os.environ.update(settings)
    _apply_to_loaded_crds(None)
    return settings


def configure_online_crds(crds_path=None, server_url: str | None = None) -> dict[str, str]:
    """Point CRDS at a server and a local cache, for calibrating real JWST data.

    Parameters
    ----------
    crds_path : str or pathlib.Path, optional
        Local cache directory; default :func:`default_crds_path`.
    server_url : str, optional
        CRDS server; default ``$CRDS_SERVER_URL`` or :data:`JWST_CRDS_SERVER_URL`.

    Returns
    -------
    dict of str to str
        The environment variables that were set.
    """
    crds_path = Path(crds_path).expanduser() if crds_path is not None else default_crds_path()
    server_url = server_url or os.environ.get("CRDS_SERVER_URL") or JWST_CRDS_SERVER_URL
    if not isinstance(server_url, str) or not server_url.startswith(("https://", "http://")):
        raise ValueError(f"The CRDS server must be an http(s) URL such as {JWST_CRDS_SERVER_URL}, got {server_url!r}.")
    config_file = crds_path / "config" / "jwst" / "server_config"
    if config_file.is_file() and config_file.read_text().strip() == repr(_OFFLINE_SERVER_CONFIG):
        raise FileExistsError(
            f"{crds_path} is the offline CRDS cache of the demo data; give real data a CRDS cache "
            "of its own (the default is ~/crds_cache, or $CRDS_PATH)."
        )
    writable_directory(crds_path, "CRDS cache")
    settings = {
        "CRDS_PATH": str(crds_path),
        "CRDS_SERVER_URL": server_url,
        "CRDS_OBSERVATORY": "jwst",
    }
    os.environ.pop("STPIPE_DISABLE_CRDS_STEPPARS", None)
    os.environ.update(settings)
    _apply_to_loaded_crds(server_url)
    return settings
