"""Download JWST files from MAST: the real-data mode of the tutorial.

The tutorial's real-data mode uses the two exposures of the seed notebook (JWST
program 01076, NIRCam long-wavelength module A): :data:`SEED_FILES`.
:func:`fetch_seed_data` gets both; :func:`download_mast_file` gets any one public (or,
with a token, proprietary) MAST product by name.

How a download is made safe
---------------------------
* **Streamed, with a progress bar** (``requests`` and ``tqdm``), so an 84 MB rate file
  never sits in memory.
* **Written under a partial name**, ``.<name>.part-<pid>``, in the destination directory
  and moved into place only when complete; a body shorter than its ``Content-Length``
  never becomes a file that looks complete. What a killed download leaves behind is
  recognised by that name and removed by the next download of the file (once the
  process that wrote it has ended).
* **Verified**: the size against the server's ``Content-Length`` (and ``expected_size``
  when given), the SHA-256 against ``sha256`` when given, and the file itself with
  :func:`wfss_helpers.checks.files.check_fits_file` (every HDU must read). A body that
  does not start as FITS (an HTML error or login page, say) is refused at once, saying
  what arrived. A verified file gets a small sidecar, ``.<name>.verified.json``, holding
  its size and SHA-256.
* **Skipped when a verified copy exists**: the file's size and SHA-256 still match its
  sidecar. An existing file that cannot be verified is never overwritten silently: it is
  moved aside (``<name>.unverified-<time>``) with a warning before a new download.
* **Retried** on transient failures (connection errors, time-outs, an interrupted body,
  HTTP 5xx and 429), with a growing pause; not retried on 401/403/404, which a retry
  cannot fix and which raise :class:`MastAuthorizationError` or
  :class:`MastFileNotFoundError` naming the file and the fix, nor on a host name that
  does not resolve (no network, or a mistyped address). Transfers are restarted rather
  than resumed: MAST serves the files whole.
* **Bounded in time**: ``timeout`` (20 s) bounds the wait for the connection, for the
  server's first answer and for each further piece of data; ``deadline`` bounds the
  whole download, every attempt included (by default 120 s plus 1 s per 50 kB that
  arrived: an average of 50 kB/s after the first two minutes), so that a server that
  hangs or trickles is given up on with a message naming it, saying how much arrived
  in how long, and suggesting the demo data.
* **Proprietary data**: a MAST API token (argument ``token`` or the environment
  variable ``MAST_API_TOKEN``, the one astroquery uses) is sent as an ``Authorization``
  header. It is never put in a URL, a log message, an exception or a progress bar.

Why requests, and not pooch or astroquery
-----------------------------------------
``astroquery.mast.Observations.download_file`` also streams and caches, but it first
resolves products through MAST's query services, which the tutorial does not need (the
file names are known) and which a local test server would have to imitate in full.
``pooch.retrieve`` (pooch is used for the cache directory) streams too, but reads in
blocks that a trickling server never fills (so no time-out fires), cannot bound a
download's total time, and names its temporary files ``tmp*``, which nothing can tell
from other files. The transfer itself is a few lines of ``requests``; this module is the
policy around it (which failures to retry, how long to wait, what to verify, what to
say).
"""

from __future__ import annotations

import glob
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

#: MAST's file download endpoint; a product is asked for as
#: ``?uri=mast:JWST/product/<name>``.
MAST_DOWNLOAD_URL = "https://mast.stsci.edu/api/v0.1/Download/file"
#: Environment variable that replaces :data:`MAST_DOWNLOAD_URL` in the tutorial's
#: real-data mode (a mirror, or the tests' local stand-in).
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
#: The default deadline of a download: this many seconds, plus one second per
#: ``_MIN_RATE`` bytes that arrived (see ``deadline`` of :func:`download_mast_file`).
_DEADLINE_BASE = 120.0
_MIN_RATE = 50_000
#: A partial (``.<name>.part-<pid>``) untouched this long is stale, whatever its pid.
_STALE_AFTER = 24 * 3600.0
#: The way out that every network failure message offers.
_DEMO_HINT = "or work with the demo data instead: set WFSS_TUTORIAL_DATA=demo"


class DownloadError(ConnectionError):
    """A file could not be downloaded (after retries) or failed verification."""


class MastAuthorizationError(DownloadError, PermissionError):
    """MAST refused the file (HTTP 401/403): it is proprietary, or the token is bad."""


class MastFileNotFoundError(DownloadError, FileNotFoundError):
    """MAST has no file of that name (HTTP 404)."""


def _check_product_name(filename):
    if (not isinstance(filename, str) or not filename or "/" in filename
            or filename in (".", "..")):
        raise ValueError(
            f"{filename!r} is not a MAST product file name (e.g. 'jw..._rate.fits')."
        )


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


def verified_copy(
    path, *, sha256: str | None = None, expected_size: int | None = None
) -> bool:
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
    if size != record.get("bytes") or (
        expected_size is not None and size != expected_size
    ):
        return False
    if sha256 is not None and record.get("sha256") != sha256.lower():
        return False
    return _sha256(path) == record.get("sha256")


def _verify(path: Path, *, sha256, expected_size, check_fits):
    """Check a freshly downloaded file; raise DownloadError describing what is wrong."""
    from ..checks.files import InvalidInputFileError, check_fits_file

    size = path.stat().st_size
    if expected_size is not None and size != expected_size:
        raise DownloadError(
            f"{path.name}: {size} bytes arrived, {expected_size} expected."
        )
    digest = _sha256(path)
    if sha256 is not None and digest != sha256.lower():
        raise DownloadError(
            f"{path.name}: SHA-256 {digest} does not match the expected {sha256}."
        )
    if check_fits:
        try:
            check_fits_file(path)
        except InvalidInputFileError as err:
            raise DownloadError(
                f"{path.name} arrived but is not a complete FITS file: {err}"
            ) from None
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


@dataclass(frozen=True)
class _RetryPolicy:
    """How a download is retried and timed (see :func:`download_mast_file`)."""

    retries: int = 3
    retry_wait: float = 2.0
    timeout: float = 20.0
    deadline: float | None = None

    def __post_init__(self):
        retries = self.retries
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be an integer >= 0, got {retries!r}.")
        for name in ("timeout", "deadline"):
            value = getattr(self, name)
            if value is None and name == "deadline":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                0 < value < float("inf")
            ):
                raise ValueError(
                    f"{name} must be a number of seconds > 0, got {value!r}."
                )

    def pause(self, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt`` (1 for the first retry)."""
        return self.retry_wait * 2 ** (attempt - 1)


class _Budget:
    """The time one download may take, all its attempts and pauses together."""

    def __init__(self, deadline: float | None):
        self.fixed = deadline
        self.received = 0  # bytes, all attempts together
        self.start = time.monotonic()

    def limit(self) -> float:
        """The deadline in seconds: ``deadline``, or the default for what arrived."""
        if self.fixed is not None:
            return float(self.fixed)
        return _DEADLINE_BASE + self.received / _MIN_RATE

    def elapsed(self) -> float:
        """Seconds since the download started."""
        return time.monotonic() - self.start

    def remaining(self) -> float:
        """Seconds left before the deadline."""
        return self.limit() - self.elapsed()


@dataclass(frozen=True)
class _Expected:
    """What a download must be: its SHA-256 and size (when known), complete FITS."""

    sha256: str | None = None
    size: int | None = None
    check_fits: bool = True


@dataclass
class _Job:
    """One file's download: where from, where to, and how."""

    url: str
    target: Path
    headers: dict
    policy: _RetryPolicy
    expected: _Expected
    token: str | None
    budget: _Budget
    progressbar: bool

    @property
    def server(self) -> str:
        """The server's host (and port), never credentials, for messages."""
        parts = urllib.parse.urlsplit(self.url)
        host = parts.hostname or self.url
        return f"{host}:{parts.port}" if parts.port else host


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


def _partial_path(target: Path) -> Path:
    """Where a transfer of ``target`` by this process is written until complete."""
    return target.with_name(f".{target.name}.part-{os.getpid()}")


def _is_stale(partial: Path) -> bool:
    """True if no running download writes ``partial`` (``.<name>.part-<pid>``)."""
    pid = partial.name.rpartition("-")[2]
    if not pid.isdigit():
        return True
    try:
        if time.time() - partial.stat().st_mtime > _STALE_AFTER:
            return True
    except OSError:
        return False  # gone already
    if int(pid) == os.getpid():
        return False  # another thread of this process is downloading it
    if os.name != "posix":
        return False  # os.kill(pid, 0) would end the process on Windows
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # it exists (and belongs to someone else)
    return False


def _remove_stale_partials(target: Path):
    """Delete what killed downloads of ``target`` left behind."""
    for partial in target.parent.glob(f".{glob.escape(target.name)}.part-*"):
        if _is_stale(partial):
            partial.unlink(missing_ok=True)
            log.info("%s: removed %s, left by an interrupted download", target.name,
                     partial.name)


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


def _name_not_resolved(err) -> bool:
    """True if ``err`` (from requests) comes from a host name that did not resolve."""
    import socket

    seen, stack = set(), [err]
    while stack:
        cause = stack.pop()
        if cause is None or id(cause) in seen:
            continue
        seen.add(id(cause))
        if isinstance(cause, socket.gaierror) or type(cause).__name__ == (
            "NameResolutionError"
        ):
            return True
        stack += [cause.__cause__, cause.__context__, getattr(cause, "reason", None)]
        stack += [a for a in getattr(cause, "args", ()) if isinstance(a, BaseException)]
    return False


def _host_not_found(job: _Job) -> DownloadError:
    host = urllib.parse.urlsplit(job.url).hostname
    return DownloadError(
        f"Could not download {job.target.name}: the host {host} could not be found "
        "(its name does not resolve). There may be no network connection, or the "
        f"address (base_url or ${MAST_URL_VARIABLE}) is mistyped. Check the connection "
        f"and the address and try again, {_DEMO_HINT}."
    )


def _too_slow(job: _Job, received: int, size: int | None) -> DownloadError:
    elapsed = job.budget.elapsed()
    of = f" of {size:,}" if size is not None else ""
    return DownloadError(
        f"Could not download {job.target.name} from {job.server} within its deadline "
        f"of {job.budget.limit():.0f} s: only {received:,}{of} bytes arrived "
        f"in {elapsed:.1f} s ({received / max(elapsed, 1e-9) / 1e3:.2f} kB/s); nothing "
        "incomplete was kept. The connection or the server is too slow: try again "
        f"later, allow more time (deadline=, in seconds), {_DEMO_HINT}."
    )


def _out_of_time(job: _Job, attempts: int, last_error) -> DownloadError:
    return DownloadError(
        f"Could not download {job.target.name} from {job.server} within its deadline "
        f"of {job.budget.limit():.0f} s ({attempts} attempt(s) in "
        f"{job.budget.elapsed():.1f} s; last: {last_error}); nothing incomplete was "
        f"kept. Check the network connection and try again, {_DEMO_HINT}."
    )


def _not_fits(job: _Job, content_type: str, head: bytes) -> DownloadError:
    """The error for a body that is not FITS, saying what it is."""
    kind = content_type.split(";")[0].strip() or "no Content-Type"
    text = head.lstrip()[:512].lower()
    if text.startswith(b"<!doctype html") or b"<html" in text or kind == "text/html":
        what = f"an HTML page ({kind})"
    else:
        what = f"{kind} data"
    start = head.decode("utf-8", "replace").strip()[:60].replace("\n", " ")
    return DownloadError(
        f"{job.target.name} is not a FITS file: the server ({job.server}) sent {what} "
        f"starting {start!r}. It is probably an error, maintenance or login page: open "
        f"{job.url} in a browser to read it, check the address (base_url or "
        f"${MAST_URL_VARIABLE}) and try again later, {_DEMO_HINT}."
    )


def _request(job: _Job):
    """Send the request: the response (headers read), or why there is none."""
    import requests

    timeout = max(min(job.policy.timeout, job.budget.remaining()), 0.05)
    try:
        return requests.get(job.url, headers=job.headers, stream=True,
                            timeout=(timeout, timeout))
    except requests.exceptions.ConnectTimeout:
        return f"{job.server} did not accept the connection within {timeout:.3g} s"
    except requests.exceptions.ReadTimeout:
        return (f"{job.server} accepted the connection but sent no answer in "
                f"{timeout:.3g} s")
    except requests.exceptions.ConnectionError as err:
        if _name_not_resolved(err):
            raise _host_not_found(job) from None
        return f"could not connect to {job.server} ({type(err).__name__})"
    except requests.exceptions.RequestException as err:
        return f"{type(err).__name__} from {job.server}"


def _receive(job: _Job, response, partial: Path):
    """Stream the body into ``partial``: None if all of it arrived, else why not."""
    from tqdm import tqdm
    from urllib3.exceptions import HTTPError as Urllib3Error

    length = response.headers.get("Content-Length", "")
    size = int(length) if length.isdigit() else None
    received, head, checked = 0, b"", not job.expected.check_fits
    with open(partial, "wb") as out, tqdm(
        total=size, unit="B", unit_scale=True, desc=job.target.name, ascii=True,
        disable=not job.progressbar, leave=True,
    ) as bar:
        while True:
            try:
                chunk = response.raw.read1(1 << 16, decode_content=True)
            except (Urllib3Error, OSError) as err:
                return (f"the transfer from {job.server} broke after {received:,} "
                        f"bytes ({type(err).__name__})")
            if not checked and (len(head) >= 512 or not chunk):
                if not head.startswith(b"SIMPLE"):
                    raise _not_fits(job, response.headers.get("Content-Type", ""), head)
                checked = True
            if not chunk:
                break
            out.write(chunk)
            received += len(chunk)
            bar.update(len(chunk))
            job.budget.received += len(chunk)
            head += chunk[: max(512 - len(head), 0)]
            if job.budget.remaining() <= 0:
                raise _too_slow(job, received, size)
    if size is not None and response.raw.tell() < size:
        return (f"the transfer from {job.server} was cut short: {received:,} of "
                f"{size:,} bytes")
    return None


def _transfer(job: _Job):
    """One attempt: None if the file arrived whole at ``job.target``, else why not."""
    response = _request(job)
    if isinstance(response, str):
        return response
    partial = _partial_path(job.target)
    try:
        with response:
            status = response.status_code
            if status >= 400:
                refused = _refused(status, job.target.name, job.token)
                if refused is not None:
                    raise refused
                return f"HTTP {status} from {job.server}"
            why_not = _receive(job, response, partial)
        if why_not is None:
            os.replace(partial, job.target)
        return why_not
    finally:
        partial.unlink(missing_ok=True)


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


def _download_with_retries(job: _Job):
    """Transfer and verify until a good copy arrives: None, else the last error."""
    last_error = None
    attempts = job.policy.retries + 1
    for attempt in range(1, attempts + 1):
        if attempt > 1:
            pause = job.policy.pause(attempt - 1)
            if job.budget.remaining() <= pause:
                raise _out_of_time(job, attempt - 1, last_error)
            log.warning(
                "%s: attempt %d of %d failed (%s); retrying in %.0f s (to work without "
                "the network, set WFSS_TUTORIAL_DATA=demo)",
                job.target.name, attempt - 1, attempts, last_error, pause,
            )
            time.sleep(pause)
        last_error = _transfer(job)
        if last_error is None:
            last_error = _verify_and_record(job.target, job.expected, job.url)
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
    timeout: float = 20.0,
    progressbar: bool = True,
    check_fits: bool = True,
    retry_wait: float = 2.0,
    deadline: float | None = None,
) -> Path:
    """Download one JWST product from MAST into ``directory``, safely.

    See the module documentation for what "safely" means: streamed to a partial file,
    verified, skipped when a verified copy exists, retried on transient failures, and
    given up on, with a message, when the server does not answer or is too slow.

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
    sha256, expected_size : str, int, optional
        Expected SHA-256 (hex) and size in bytes of the file, when known.
    retries : int, optional
        Further attempts after a transient failure.
    timeout : float, optional
        Seconds to wait for the connection, for the server's first answer and for each
        further piece of data (a time-out per read; see ``deadline`` for the whole).
    progressbar : bool, optional
        Show a tqdm progress bar (on stderr).
    check_fits : bool, optional
        Check that the file is complete FITS (every HDU reads); a body that does not
        start as FITS (an HTML page, say) is refused as soon as it starts.
    retry_wait : float, optional
        Seconds before the first retry; doubled for each further one.
    deadline : float, optional
        Seconds the whole download may take, every attempt and pause included: past
        it, the download stops with a message saying how much arrived in how long.
        Default: 120 s plus 1 s per 50 kB that arrived, that is, after its first
        two minutes the download must keep up an average of 50 kB/s: a 100 MB file
        still completes over a 50 kB/s link (in about 35 minutes), while a server
        that hangs or trickles is given up on within about two minutes.

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
        Every attempt failed, the deadline passed, the host name did not resolve (not
        retried), the server sent something that is not FITS, or the file failed
        verification.
    """
    from ..checks.files import writable_directory

    policy = _RetryPolicy(retries=retries, retry_wait=retry_wait, timeout=timeout,
                          deadline=deadline)
    _check_product_name(filename)
    expected = _Expected(sha256=sha256, size=expected_size, check_fits=check_fits)
    directory = writable_directory(directory, "download")
    target = directory / filename
    _remove_stale_partials(target)
    if verified_copy(target, sha256=sha256, expected_size=expected_size):
        log.info("%s: verified copy already in %s, not downloading", filename,
                 directory)
        return target
    _set_aside_unverified(target)
    token = token if token is not None else os.environ.get(MAST_TOKEN_VARIABLE) or None
    headers = {"Accept-Encoding": "identity"}
    if token:
        headers["Authorization"] = f"token {token}"
    job = _Job(url=mast_product_url(filename, base_url), target=target, headers=headers,
               policy=policy, expected=expected, token=token,
               budget=_Budget(deadline), progressbar=progressbar)
    last_error = _download_with_retries(job)
    if last_error is None:
        return target
    raise DownloadError(
        f"Could not download {filename} from {job.server} after {policy.retries + 1} "
        f"attempts in {job.budget.elapsed():.0f} s (last: {last_error}); nothing "
        "incomplete was kept. Check the network connection and try again, "
        f"{_DEMO_HINT}."
    )


def fetch_seed_data(
    directory, *, base_url: str = MAST_DOWNLOAD_URL, token: str | None = None, **kwargs
) -> dict:
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
        role: download_mast_file(
            name, directory, base_url=base_url, token=token, **kwargs
        )
        for role, name in SEED_FILES.items()
    }
