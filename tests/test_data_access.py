"""Real-data downloads, exercised against a stand-in MAST on 127.0.0.1 (no mocks).

The real download code (:mod:`wfss_helpers.data_sources.mast`, pooch + requests) talks HTTP to
:mod:`mast_standin`, which serves a file, breaks a transfer mid-stream, and answers 404
and 401 as MAST does.
"""

from __future__ import annotations

import hashlib
import io
import logging
import warnings
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pytest
from astropy.io import fits

from mast_standin import running_mast_standin
from wfss_helpers.data_sources.mast import (
    SEED_FILES,
    DownloadError,
    MastAuthorizationError,
    MastFileNotFoundError,
    download_mast_file,
    fetch_seed_data,
    mast_product_url,
    verified_copy,
)

NAME = "jw01076103001_02101_00001_nrcalong_rate.fits"
TOKEN = "s3cr3t-mast-token-0123456789abcdef"


def _fits_bytes(seed=0, shape=(128, 256)):
    """A small, valid multi-extension FITS file (SCI, ERR, DQ), about 300 kB."""
    rng = np.random.default_rng(seed)
    hdul = fits.HDUList(
        [
            fits.PrimaryHDU(),
            fits.ImageHDU(rng.normal(1.0, 0.1, shape).astype("f4"), name="SCI"),
            fits.ImageHDU(np.full(shape, 0.1, "f4"), name="ERR"),
            fits.ImageHDU(np.zeros(shape, "u4"), name="DQ"),
        ]
    )
    buffer = io.BytesIO()
    hdul.writeto(buffer)
    return buffer.getvalue()


@pytest.fixture
def mast():
    with running_mast_standin() as state:
        yield state


def _get(mast, directory, name=NAME, **kwargs):
    kwargs.setdefault("progressbar", False)
    kwargs.setdefault("retry_wait", 0.01)
    return download_mast_file(name, directory, base_url=mast.url, **kwargs)


def test_product_url_matches_mast():
    assert mast_product_url(NAME) == (
        "https://mast.stsci.edu/api/v0.1/Download/file?uri=mast:JWST/product/" + NAME
    )


def test_good_file_arrives_intact_and_is_not_downloaded_twice(mast, tmp_path):
    body = _fits_bytes()
    mast.files[NAME] = body
    path = _get(mast, tmp_path, sha256=hashlib.sha256(body).hexdigest(), expected_size=len(body))
    assert path == tmp_path / NAME
    assert path.read_bytes() == body
    assert verified_copy(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([NAME, f".{NAME}.verified.json"])
    # A verified copy is reused: no second request.
    assert _get(mast, tmp_path) == path
    assert mast.product_requests(NAME) == 1


def test_transfer_broken_once_is_retried(mast, tmp_path):
    body = _fits_bytes(1)
    mast.files[NAME] = body
    mast.flaky[NAME] = 1
    path = _get(mast, tmp_path, retries=2)
    assert path.read_bytes() == body
    assert mast.product_requests(NAME) == 2


def test_broken_transfer_leaves_no_file_that_looks_complete(mast, tmp_path):
    mast.files[NAME] = _fits_bytes(2)
    mast.flaky[NAME] = 10
    with pytest.raises(DownloadError, match=f"Could not download {NAME} .* after 3 attempts.*nothing incomplete was kept"):
        _get(mast, tmp_path, retries=2)
    assert mast.product_requests(NAME) == 3
    assert list(tmp_path.iterdir()) == []  # no partial file, no temporary file, no sidecar


def test_wrong_checksum_is_rejected(mast, tmp_path):
    mast.files[NAME] = _fits_bytes(3)
    with pytest.raises(DownloadError, match="SHA-256 .* does not match"):
        _get(mast, tmp_path, retries=0, sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_file_that_is_not_fits_is_rejected(mast, tmp_path):
    mast.files[NAME] = b"<html>MAST is down for maintenance</html>"
    with pytest.raises(DownloadError, match="is not a FITS file"):
        _get(mast, tmp_path, retries=0)
    assert list(tmp_path.iterdir()) == []


def test_404_names_the_file_and_the_fix(mast, tmp_path):
    with pytest.raises(MastFileNotFoundError, match=f"MAST has no file {NAME} \\(HTTP 404\\). Check the file name"):
        _get(mast, tmp_path)
    assert mast.product_requests(NAME) == 1  # not retried
    assert list(tmp_path.iterdir()) == []


def test_401_asks_for_a_token_which_is_never_shown(mast, tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("MAST_API_TOKEN", raising=False)
    body = _fits_bytes(4)
    mast.files[NAME] = body
    mast.proprietary[NAME] = TOKEN
    with pytest.raises(MastAuthorizationError, match=f"MAST refused {NAME} \\(HTTP 401\\).*set \\$MAST_API_TOKEN"):
        _get(mast, tmp_path)
    with pytest.raises(MastAuthorizationError, match="token given was refused") as wrong:
        _get(mast, tmp_path, token="not-the-token")
    assert "not-the-token" not in str(wrong.value)

    # With the token (here from the environment) the file arrives, and the token appears
    # in no log record, printed output or URL, only in the request's header.
    monkeypatch.setenv("MAST_API_TOKEN", TOKEN)
    out, err = io.StringIO(), io.StringIO()
    with caplog.at_level(logging.DEBUG), redirect_stdout(out), redirect_stderr(err):
        path = _get(mast, tmp_path, progressbar=True)
    assert path.read_bytes() == body
    assert TOKEN not in caplog.text + out.getvalue() + err.getvalue()
    assert TOKEN not in (tmp_path / f".{NAME}.verified.json").read_text()
    uri, headers = mast.requests[-1]
    assert TOKEN not in uri and headers["Authorization"] == f"token {TOKEN}"


def test_an_unverified_existing_file_is_kept_not_overwritten(mast, tmp_path):
    body = _fits_bytes(5)
    mast.files[NAME] = body
    mine = tmp_path / NAME
    mine.write_bytes(b"my own edited copy")
    with pytest.warns(UserWarning, match="exists but was not verified.*kept it as"):
        path = _get(mast, tmp_path)
    assert path.read_bytes() == body
    kept = [p for p in tmp_path.iterdir() if ".unverified-" in p.name]
    assert len(kept) == 1 and kept[0].read_bytes() == b"my own edited copy"


def test_a_verified_copy_that_changed_is_downloaded_again(mast, tmp_path):
    body = _fits_bytes(6)
    mast.files[NAME] = body
    path = _get(mast, tmp_path)
    path.write_bytes(body[:-2880])  # truncated afterwards, e.g. by a full disk
    assert not verified_copy(path)
    with pytest.warns(UserWarning, match="not verified"):
        again = _get(mast, tmp_path)
    assert again.read_bytes() == body and mast.product_requests(NAME) == 2


def test_bad_file_name(tmp_path):
    with pytest.raises(ValueError, match="not a MAST product file name"):
        download_mast_file("../etc/passwd", tmp_path)


def test_fetch_seed_data_gets_both_exposures(mast, tmp_path):
    for i, name in enumerate(SEED_FILES.values()):
        mast.files[name] = _fits_bytes(10 + i)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        paths = fetch_seed_data(tmp_path, base_url=mast.url, progressbar=False)
    assert set(paths) == {"imaging", "wfss"}
    for role, name in SEED_FILES.items():
        assert paths[role] == tmp_path / name and paths[role].read_bytes() == mast.files[name]
