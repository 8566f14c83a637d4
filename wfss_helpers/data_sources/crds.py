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

from ..checks.files import writable_directory
from ..geometry.reference_files import _OFFLINE_SERVER_CONFIG, default_crds_path

__all__ = [
    "JWST_CRDS_SERVER_URL",
    "configure_offline_crds",
    "configure_online_crds",
]

#: The public JWST CRDS server.
JWST_CRDS_SERVER_URL = "https://jwst-crds.stsci.edu"


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
        Local cache directory; default :func:`~wfss_helpers.geometry.reference_files.default_crds_path`.
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
