"""Real-mode downloads on a bad network: every failure ends soon, with a clear message.

The server is :mod:`mast_standin` on 127.0.0.1, made to hang, to trickle, to send an
HTML page; a host name under the reserved ``.invalid`` domain stands for a network
without name resolution. Each case must end in seconds (the tests set small time-outs
and deadlines), say what happened and suggest the demo data, and leave nothing behind
but what it should.
"""

from __future__ import annotations

import inspect
import io
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from mast_standin import running_mast_standin
from wfss_helpers.data_sources import mast as mast_module
from wfss_helpers.data_sources.mast import DownloadError, download_mast_file

#: Where the wfss_helpers under test lives, for a child process to import the same one.
PACKAGE_ROOT = Path(mast_module.__file__).resolve().parents[2]
NAME = "jw01076103001_02101_00001_nrcalong_rate.fits"
DEMO_HINT = "WFSS_TUTORIAL_DATA=demo"


def _fits_bytes(seed=0, shape=(64, 128)):
    """A small, valid FITS file (a primary header and a SCI extension)."""
    data = np.random.default_rng(seed).normal(1.0, 0.1, shape).astype("f4")
    buffer = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(data, name="SCI")]).writeto(buffer)
    return buffer.getvalue()


@pytest.fixture
def mast():
    with running_mast_standin() as state:
        yield state


def _get(mast, directory, **kwargs):
    kwargs.setdefault("progressbar", False)
    kwargs.setdefault("retry_wait", 0.01)
    return download_mast_file(NAME, directory, base_url=mast.url, **kwargs)


def _server(mast):
    return mast.url.split("/")[2]  # 127.0.0.1:<port>


def test_a_server_that_never_answers_is_named_soon(mast, tmp_path, caplog):
    mast.silent.add(NAME)
    start = time.monotonic()
    with caplog.at_level(logging.WARNING), pytest.raises(DownloadError) as err:
        _get(mast, tmp_path, timeout=1, retries=1)
    elapsed = time.monotonic() - start
    assert elapsed < 6
    message = str(err.value)
    said = f"{_server(mast)} accepted the connection but sent no answer in 1 s"
    assert said in message
    assert "after 2 attempts" in message and DEMO_HINT in message
    # The first message, the retry warning, names the server and the way out too.
    first = caplog.records[0].getMessage()
    assert _server(mast) in first and "sent no answer" in first and DEMO_HINT in first
    assert list(tmp_path.iterdir()) == []


def test_the_defaults_speak_within_30_seconds():
    """The first message comes after one time-out; the defaults keep it under 30 s."""
    parameters = inspect.signature(download_mast_file).parameters
    assert parameters["timeout"].default <= 20
    assert parameters["deadline"].default is None  # 120 s + 1 s per 50 kB arrived
    # A 100 MB file on a 50 kB/s link is given the time it needs.
    budget = mast_module._Budget(None)
    budget.received = 100_000_000
    assert budget.limit() >= 100_000_000 / 50_000 + 60


def test_the_default_deadline_ends_a_trickle(mast, tmp_path, monkeypatch):
    """By default a download must keep up 50 kB/s after a grace (120 s, here 1 s)."""
    monkeypatch.setattr(mast_module, "_DEADLINE_BASE", 1.0)
    mast.files[NAME] = _fits_bytes()
    mast.drip[NAME] = 0.1
    start = time.monotonic()
    with pytest.raises(DownloadError, match="within its deadline of 1 s: only"):
        _get(mast, tmp_path, timeout=5)
    assert time.monotonic() - start < 4
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad", [{"deadline": 0}, {"timeout": -1}, {"deadline": "1"}])
def test_bad_time_limits_are_refused(tmp_path, bad):
    with pytest.raises(ValueError, match="must be a number of seconds > 0"):
        download_mast_file(NAME, tmp_path, **bad)


def test_the_deadline_bounds_all_attempts_together(mast, tmp_path):
    mast.silent.add(NAME)
    start = time.monotonic()
    with pytest.raises(DownloadError, match="within its deadline of 3 s") as err:
        _get(mast, tmp_path, timeout=1, retries=50, deadline=3)
    assert time.monotonic() - start < 6
    assert "sent no answer" in str(err.value) and DEMO_HINT in str(err.value)
    assert mast.product_requests(NAME) <= 4


def test_a_trickle_is_stopped_by_the_deadline(mast, tmp_path):
    body = _fits_bytes()
    mast.files[NAME] = body
    mast.drip[NAME] = 0.25  # 4 bytes a second: a read time-out of 5 s never fires
    start = time.monotonic()
    with pytest.raises(DownloadError) as err:
        _get(mast, tmp_path, timeout=5, deadline=2)
    elapsed = time.monotonic() - start
    assert 2 <= elapsed < 5
    message = str(err.value)
    said = f"Could not download {NAME} from {_server(mast)} within its deadline"
    assert said in message
    assert f"of {len(body):,} bytes arrived in 2." in message and DEMO_HINT in message
    assert "deadline=" in message
    assert mast.product_requests(NAME) == 1  # too slow is not retried
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def no_name_resolution(monkeypatch):
    """``.invalid`` names (RFC 6761) fail to resolve here, with no query sent out.

    A resolver answers "no such name" for them; the answer is given in-process so that
    no DNS packet leaves the machine. Other names resolve as usual.
    """
    real = socket.getaddrinfo
    asked = []

    def getaddrinfo(host, *args, **kwargs):
        if str(host).endswith(".invalid"):
            asked.append(host)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_an_unknown_host_is_not_retried_and_suggests_demo_mode(
    no_name_resolution, tmp_path, caplog, network_recorder
):
    url = "http://mast.wfss-tests.invalid/api/v0.1/Download/file"
    start = time.monotonic()
    with network_recorder() as recorder, caplog.at_level(logging.WARNING):
        with pytest.raises(DownloadError) as err:
            download_mast_file(NAME, tmp_path, base_url=url, progressbar=False,
                               retry_wait=0.5)
    assert time.monotonic() - start < 1
    message = str(err.value)
    assert "the host mast.wfss-tests.invalid could not be found" in message
    assert "no network connection" in message and DEMO_HINT in message
    assert no_name_resolution == ["mast.wfss-tests.invalid"]  # asked once: no retry
    assert not caplog.records
    assert not [e for e in recorder.events if e[0] == "socket.connect"]
    assert list(tmp_path.iterdir()) == []


def test_an_html_page_is_named_as_such(mast, tmp_path):
    mast.files[NAME] = (b"<!DOCTYPE html>\n<html><head><title>MAST maintenance</title>"
                        b"</head><body>Back soon</body></html>")
    mast.content_types[NAME] = "text/html; charset=utf-8"
    with pytest.raises(DownloadError) as err:
        _get(mast, tmp_path, retries=2)
    message = str(err.value)
    assert f"the server ({_server(mast)}) sent an HTML page (text/html)" in message
    assert "MAST maintenance" in message and DEMO_HINT in message
    assert "Give the path" not in message  # that advice is for paths a user gives
    assert mast.product_requests(NAME) == 1  # a page does not become FITS on retrying
    assert list(tmp_path.iterdir()) == []


def _dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=30)
    return child.pid


def test_a_stale_partial_download_is_removed(mast, tmp_path):
    mast.files[NAME] = _fits_bytes(7)
    stale = tmp_path / f".{NAME}.part-{_dead_pid()}"
    stale.write_bytes(b"SIMPLE  = half a file")
    live = tmp_path / f".{NAME}.part-{os.getppid()}"  # a running process: not touched
    live.write_bytes(b"SIMPLE  = being written")
    other = tmp_path / ".other_rate.fits.part-1"
    other.write_bytes(b"not this file's")
    path = _get(mast, tmp_path)
    assert path.read_bytes() == mast.files[NAME]
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted([NAME, f".{NAME}.verified.json", live.name, other.name])


_KILLED_DOWNLOAD = """
import sys
from wfss_helpers.data_sources.mast import download_mast_file
download_mast_file(sys.argv[1], sys.argv[2], base_url=sys.argv[3], progressbar=False)
"""


def test_a_killed_download_leaves_a_partial_that_the_next_one_removes(mast, tmp_path):
    mast.files[NAME] = _fits_bytes(8)
    mast.drip[NAME] = 0.05
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_DOWNLOAD, NAME, str(tmp_path), mast.url],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(PACKAGE_ROOT)},
    )
    try:
        partial = tmp_path / f".{NAME}.part-{child.pid}"
        for _ in range(200):  # at most 20 s for the child to start writing
            if partial.exists():
                break
            time.sleep(0.1)
    finally:
        child.kill()
        child.wait(timeout=30)
    assert [p.name for p in tmp_path.iterdir()] == [partial.name]
    mast.drip.pop(NAME)
    path = _get(mast, tmp_path)
    assert path.read_bytes() == mast.files[NAME]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [NAME, f".{NAME}.verified.json"]
    )
