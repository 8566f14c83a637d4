"""Download JWST files from MAST: the real-data mode of the tutorial.

The tutorial's real-data mode uses the two exposures of the seed notebook (JWST program
01076, NIRCam long-wavelength module A): :data:`SEED_FILES`. :func:`fetch_seed_data` gets
both; :func:`download_mast_file` gets any one public (or, with a token, proprietary) MAST
product by name.

How a download is made safe
---------------------------
* **Streamed, with a progress bar**, through `pooch` (``pooch.HTTPDownloader``, which
  uses ``requests`` and ``tqdm``), so an 84 MB rate file never sits in memory.
* **Written under a temporary name** in the destination directory and moved into place
  only when complete: pooch does this. ``requests``/``urllib3`` raise on a body shorter
  than its ``Content-Length``, so an interrupted transfer never becomes a file that looks
  complete.
* **Verified**: the size against the server's ``Content-Length`` (and ``expected_size``
  when given), the SHA-256 against ``sha256`` when given, and the file itself with
  :func:`wfss_helpers.checks.files.check_fits_file` (every HDU must read). A verified file
  gets a small sidecar, ``.<name>.verified.json``, holding its size and SHA-256.
* **Skipped when a verified copy exists**: the file's size and SHA-256 still match its
  sidecar. An existing file that cannot be verified is never overwritten silently: it is
  moved aside (``<name>.unverified-<time>``) with a warning before a new download.
* **Retried** on transient failures (connection errors, time-outs, an interrupted body,
  HTTP 5xx and 429), with a growing pause; not retried on 401/403/404, which a retry
  cannot fix and which raise :class:`MastAuthorizationError` or :class:`MastFileNotFoundError`
  naming the file and the fix. Transfers are restarted rather than resumed: MAST serves
  the files whole, and a rate file takes seconds on a good connection.
* **Proprietary data**: a MAST API token (argument ``token`` or the environment variable
  ``MAST_API_TOKEN``, the one astroquery uses) is sent as an ``Authorization`` header. It
  is never put in a URL, a log message, an exception or a progress bar.

Why pooch and not astroquery
----------------------------
``astroquery.mast.Observations.download_file`` also streams and caches, but it first
resolves products through MAST's query services, which the tutorial does not need (the
file names are known) and which a local test server would have to imitate in full. pooch
(already a dependency, used for the cache directory) is a small, well-kept library whose
download path -- temporary file, hash check, atomic move, progress bar -- is exactly what is
needed; this module adds the policy around it (which failures to retry, what to verify,
what to say).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
import urllib.parse
import warnings
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "MAST_DOWNLOAD_URL",
    "MAST_TOKEN_VARIABLE",
    "MAST_URL_VARIABLE",
    "SEED_FILES",
    "DownloadError",
    "MastAuthorizationError",
    "MastFileNotFoundError",
    "mast_product_url",
    "download_mast_file",
    "verified_copy",
    "fetch_seed_data",
]

log = logging.getLogger(__name__)

#: MAST's file download endpoint; a product is asked for as ``?uri=mast:JWST/product/<name>``.
MAST_DOWNLOAD_URL = "https://mast.stsci.edu/api/v0.1/Download/file"
#: Environment variable that replaces :data:`MAST_DOWNLOAD_URL` in the tutorial's real-data
#: mode (a mirror, or the tests' local stand-in).
MAST_URL_VARIABLE = "WFSS_MAST_URL"
#: Environment variable holding a MAST API token (for proprietary data).
MAST_TOKEN_VARIABLE = "MAST_API_TOKEN"
#: The seed notebook's exposures (JWST program 01076, NRCALONG): role -> file name.
SEED_FILES = {
    "imaging": "jw01076103001_02102_00001_nrcalong_rate.fits",
    "wfss": "jw01076103001_02101_00001_nrcalong_rate.fits",
}
#: HTTP statuses worth another try.
_TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}


class DownloadError(ConnectionError):
    """A file could not be downloaded (after retries) or failed verification."""


class MastAuthorizationError(DownloadError, PermissionError):
    """MAST refused the file (HTTP 401/403): it is proprietary, or the token is wrong."""


class MastFileNotFoundError(DownloadError, FileNotFoundError):
    """MAST has no file of that name (HTTP 404)."""


def _check_product_name(filename):
    if not isinstance(filename, str) or not filename or "/" in filename or filename in (".", ".."):
        raise ValueError(f"{filename!r} is not a MAST product file name (e.g. 'jw..._rate.fits').")


def mast_product_url(filename: str, base_url: str = MAST_DOWNLOAD_URL) -> str:
    """The download URL of a JWST product in MAST.

    Parameters
    ----------
    filename : str
        Product file name, e.g. ``jw01076103001_02101_00001_nrcalong_rate.fits``.
    base_url : str, optional
        The download endpoint (a local stand-in in the tests).

    Returns
    -------
    str
    """
    _check_product_name(filename)
    query = urllib.parse.urlencode({"uri": f"mast:JWST/product/{filename}"}, safe=":/")
    return f"{base_url}?{query}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(f".{path.name}.verified.json")


def verified_copy(path, *, sha256: str | None = None, expected_size: int | None = None) -> bool:
    """True if ``path`` is a complete download that this module verified before.

    The file's size and SHA-256 must match its ``.<name>.verified.json`` sidecar (and
    ``sha256`` / ``expected_size`` when given).

    Parameters
    ----------
    path : str or pathlib.Path
    sha256 : str, optional
        Expected SHA-256 (hex).
    expected_size : int, optional
        Expected size in bytes.

    Returns
    -------
    bool
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"Expected a file path, got {type(path).__name__} {path!r}.")
    path = Path(path)
    sidecar = _sidecar(path)
    if not path.is_file() or not sidecar.is_file():
        return False
    try:
        record = json.loads(sidecar.read_text())
    except (json.JSONDecodeError, OSError):
        return False
    size = path.stat().st_size
    if size != record.get("bytes") or (expected_size is not None and size != expected_size):
        return False
    if sha256 is not None and record.get("sha256") != sha256.lower():
        return False
    return _sha256(path) == record.get("sha256")


def _verify(path: Path, *, sha256, expected_size, check_fits):
    """Check a freshly downloaded file; raise DownloadError describing what is wrong."""
    from ..checks.files import InvalidInputFileError, check_fits_file

    size = path.stat().st_size
    if expected_size is not None and size != expected_size:
        raise DownloadError(f"{path.name}: {size} bytes arrived, {expected_size} expected.")
    digest = _sha256(path)
    if sha256 is not None and digest != sha256.lower():
        raise DownloadError(f"{path.name}: SHA-256 {digest} does not match the expected {sha256}.")
    if check_fits:
        try:
            check_fits_file(path)
        except InvalidInputFileError as err:
            raise DownloadError(f"{path.name} arrived but is not a complete FITS file: {err}") from None
    return {"bytes": size, "sha256": digest}


def _move_aside(path: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%S")
    aside = path.with_name(f"{path.name}.unverified-{stamp}")
    n = 1
    while aside.exists():
        aside = path.with_name(f"{path.name}.unverified-{stamp}-{n}")
        n += 1
    os.replace(path, aside)
    return aside


def _http_status(err):
    response = getattr(err, "response", None)
    return getattr(response, "status_code", None)


@dataclass(frozen=True)
class _RetryPolicy:
    """How a download is retried: further attempts, first pause (doubled), time-out."""

    retries: int = 3
    retry_wait: float = 2.0
    timeout: float = 60.0

    def __post_init__(self):
        retries = self.retries
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be an integer >= 0, got {retries!r}.")

    def pause(self, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt`` (1 for the first retry)."""
        return self.retry_wait * 2 ** (attempt - 1)


@dataclass(frozen=True)
class _Expected:
    """What a download must be: its SHA-256 and size (when known), complete FITS."""

    sha256: str | None = None
    size: int | None = None
    check_fits: bool = True


def _set_aside_unverified(target: Path):
    """Move a file no download verified aside (with a warning); drop its sidecar."""
    if target.exists():
        aside = _move_aside(target)
        warnings.warn(
            f"{target} exists but was not verified by a previous download; kept it as "
            f"{aside.name} and downloading a fresh copy.",
            stacklevel=3,
        )
    _sidecar(target).unlink(missing_ok=True)


@contextlib.contextmanager
def _pooch_logs_warnings_only():
    """pooch would log the hash of every unhashed download; keep it at warnings."""
    import pooch

    pooch_logger = pooch.get_logger()
    level = pooch_logger.level
    pooch_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        pooch_logger.setLevel(level)


def _refused(status, filename: str, token):
    """The error of a status no retry can fix (401/403, 404, other non-transient)."""
    if status in (401, 403):
        how = (
            "The token given was refused: check that it is valid and has not expired "
            "(create one at https://auth.mast.stsci.edu/token)."
            if token
            else f"It may be proprietary: set ${MAST_TOKEN_VARIABLE} (or pass token=) "
            "to a MAST API token of an account with access "
            "(https://auth.mast.stsci.edu/token)."
        )
        return MastAuthorizationError(f"MAST refused {filename} (HTTP {status}). {how}")
    if status == 404:
        return MastFileNotFoundError(
            f"MAST has no file {filename} (HTTP 404). Check the file name (program, "
            "observation, exposure, detector and suffix) and that the data are public."
        )
    if status not in _TRANSIENT_STATUS:
        return DownloadError(f"MAST answered HTTP {status} for {filename}.")
    return None


def _retrieve_once(url: str, target: Path, downloader, token):
    """One transfer with pooch: None if the file arrived, else why not (transient)."""
    import pooch
    import requests

    try:
        pooch.retrieve(
            url,
            known_hash=None,
            fname=target.name,
            path=target.parent,
            downloader=downloader,
        )
    except requests.exceptions.HTTPError as err:
        status = _http_status(err)
        refused = _refused(status, target.name, token)
        if refused is not None:
            raise refused from None
        return f"HTTP {status}"
    except (requests.exceptions.RequestException, OSError) as err:
        # Connection refused/reset, time-out, a body cut short (ChunkedEncodingError).
        return type(err).__name__
    return None


def _verify_and_record(target: Path, expected: _Expected, source: str):
    """Verify an arrived file and write its sidecar: None, or why it failed."""
    try:
        record = _verify(
            target,
            sha256=expected.sha256,
            expected_size=expected.size,
            check_fits=expected.check_fits,
        )
    except DownloadError as err:
        target.unlink(missing_ok=True)
        return str(err)
    record["source"] = source
    _sidecar(target).write_text(json.dumps(record, indent=1))
    return None


def _download_with_retries(url, target, downloader, policy, expected, token):
    """Transfer and verify until a good copy arrives: None, else the last error."""
    last_error = None
    for attempt in range(policy.retries + 1):
        if attempt:
            pause = policy.pause(attempt)
            log.warning(
                "%s: attempt %d failed (%s); retrying in %.0f s",
                target.name,
                attempt,
                last_error,
                pause,
            )
            time.sleep(pause)
        last_error = _retrieve_once(url, target, downloader, token)
        if last_error is None:
            last_error = _verify_and_record(target, expected, url)
            if last_error is None:
                return None
    return last_error


def download_mast_file(
    filename: str,
    directory,
    *,
    base_url: str = MAST_DOWNLOAD_URL,
    token: str | None = None,
    sha256: str | None = None,
    expected_size: int | None = None,
    retries: int = 3,
    timeout: float = 60.0,
    progressbar: bool = True,
    check_fits: bool = True,
    retry_wait: float = 2.0,
) -> Path:
    """Download one JWST product from MAST into ``directory``, safely.

    See the module documentation for what "safely" means: streamed through a temporary
    file, verified, skipped when a verified copy exists, retried on transient failures.

    Parameters
    ----------
    filename : str
        Product file name, e.g. ``jw01076103001_02101_00001_nrcalong_rate.fits``.
    directory : str or pathlib.Path
        Where to put it (created if needed).
    base_url : str, optional
        MAST's download endpoint (default :data:`MAST_DOWNLOAD_URL`).
    token : str, optional
        MAST API token for proprietary data; default ``$MAST_API_TOKEN`` if set. Never
        printed or logged.
    sha256 : str, optional
        Expected SHA-256 (hex) of the file, when known.
    expected_size : int, optional
        Expected size in bytes, when known.
    retries : int, optional
        Further attempts after a transient failure.
    timeout : float, optional
        Seconds to wait for the server to answer or send more data.
    progressbar : bool, optional
        Show a tqdm progress bar (on stderr).
    check_fits : bool, optional
        Check that the file is complete FITS (every HDU reads).
    retry_wait : float, optional
        Seconds before the first retry; doubled for each further one.

    Returns
    -------
    pathlib.Path
        The verified local file.

    Raises
    ------
    MastAuthorizationError
        HTTP 401/403: the file is proprietary (give a token) or the token is not valid.
    MastFileNotFoundError
        HTTP 404: MAST has no such file.
    DownloadError
        Every attempt failed, or the file failed verification.
    """
    import pooch

    from ..checks.files import writable_directory

    policy = _RetryPolicy(retries=retries, retry_wait=retry_wait, timeout=timeout)
    _check_product_name(filename)
    expected = _Expected(sha256=sha256, size=expected_size, check_fits=check_fits)
    directory = writable_directory(directory, "download")
    target = directory / filename
    if verified_copy(target, sha256=sha256, expected_size=expected_size):
        log.info("%s: verified copy already in %s, not downloading", filename, directory)
        return target
    _set_aside_unverified(target)
    token = token if token is not None else os.environ.get(MAST_TOKEN_VARIABLE) or None
    headers = {"Authorization": f"token {token}"} if token else {}
    downloader = pooch.HTTPDownloader(
        progressbar=progressbar, headers=headers, timeout=policy.timeout
    )
    url = mast_product_url(filename, base_url)
    with _pooch_logs_warnings_only():
        last_error = _download_with_retries(
            url, target, downloader, policy, expected, token
        )
    if last_error is None:
        return target
    raise DownloadError(
        f"Could not download {filename} from {base_url} after {policy.retries + 1} "
        f"attempts (last: {last_error}). Check the network connection and try again; "
        "nothing incomplete was kept."
    )


def fetch_seed_data(directory, *, base_url: str = MAST_DOWNLOAD_URL, token: str | None = None, **kwargs) -> dict:
    """Download (or find) the seed notebook's two rate files of JWST program 01076.

    Parameters
    ----------
    directory : str or pathlib.Path
        Where to keep them.
    base_url : str, optional
        MAST's download endpoint.
    token : str, optional
        MAST API token (not needed: the data are public).
    **kwargs
        Passed to :func:`download_mast_file`.

    Returns
    -------
    dict
        ``{"imaging": path, "wfss": path}``.
    """
    return {
        role: download_mast_file(name, directory, base_url=base_url, token=token, **kwargs)
        for role, name in SEED_FILES.items()
    }
