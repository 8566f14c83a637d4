"""Real-data mode (CRDS chooses the reference files) against a local CRDS cache stand-in.

``calibrate_imaging`` / ``calibrate_wfss`` with ``reference_files=None`` give the jwst steps no
overrides, so CRDS selects every reference file. Here CRDS is configured as for real data
(``configure_online_crds``) but its server is unreachable (``http://127.0.0.1:9``, a closed
loopback port) and its cache is the stand-in of :mod:`crds_standin`: CRDS must fall back to
the cached rules and files, as it does for a user with a synced cache and a failed network.
See ``tests/crds_standin.py`` for the layout and the mechanism.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from crds_standin import (
    CONTEXT,
    STANDIN_REFERENCE_NAMES,
    STEPS_WITH_PARAMETER_REFERENCES,
    build_local_crds_cache,
)

#: A closed port on loopback: the CRDS server is "unreachable" (connection refused).
UNREACHABLE_SERVER = "http://127.0.0.1:9"


def _host(event, args_repr):
    """Host name or address of one recorded network attempt (None if it cannot be read)."""
    if event in ("socket.getaddrinfo", "socket.gethostbyname"):
        match = re.match(r"\('([^']*)'", args_repr)
    else:  # socket.connect / socket.sendto: the address is the last argument
        match = re.search(r"\('([^']*)', \d+\)\)$", args_repr)
    return match.group(1) if match else None


def _non_loopback(events):
    bad = []
    for event, args_repr in events:
        host = _host(event, args_repr)
        try:
            loopback = host is not None and (host == "localhost" or ipaddress.ip_address(host).is_loopback)
        except ValueError:
            loopback = False
        if not loopback:
            bad.append((event, args_repr))
    return bad


@pytest.fixture(scope="module")
def standin_run(demo, tmp_path_factory, network_recorder):
    """Build the stand-in cache, point CRDS at it as for real data, calibrate both exposures."""
    from crds.core import heavy_client

    from wfss_helpers.data_sources.crds import configure_offline_crds, configure_online_crds
    from wfss_helpers.data_sources.pipeline import calibrate_imaging, calibrate_wfss

    tmp = tmp_path_factory.mktemp("crds_standin")
    cache = build_local_crds_cache(tmp / "crds_cache", demo)
    server_config = (cache / "config" / "jwst" / "server_config").read_text()
    with pytest.MonkeyPatch.context() as mp:
        # Record the current values so that they are restored afterwards, then configure.
        for name in ("CRDS_PATH", "CRDS_SERVER_URL", "CRDS_OBSERVATORY", "STPIPE_DISABLE_CRDS_STEPPARS"):
            if name in os.environ:
                mp.setenv(name, os.environ[name])
            else:
                mp.delenv(name, raising=False)
        # crds was imported (and used, serverless) by the demo build: configure_online_crds
        # must apply the new server to it and make it forget its cached context.
        configure_online_crds(crds_path=cache, server_url=UNREACHABLE_SERVER)
        try:
            assert "STPIPE_DISABLE_CRDS_STEPPARS" not in os.environ
            with network_recorder() as recorder:
                direct = calibrate_imaging(demo.direct_rate, None, output=tmp / "direct_cal.fits")
                direct.close()
                wfss = calibrate_wfss(demo.wfss_rate, None, output=tmp / "wfss_cal.fits")
                wfss.close()
            info = heavy_client.get_config_info("jwst")
            yield {
                "cache": cache,
                "direct_cal": tmp / "direct_cal.fits",
                "wfss_cal": tmp / "wfss_cal.fits",
                "events": recorder.events,
                "config_status": (info.status, info.connected),
                "server_config_before": server_config,
            }
        finally:
            configure_offline_crds(demo.crds_path)


def test_crds_fell_back_from_unreachable_server_to_cache(standin_run):
    # CRDS tried its (closed) server ...
    connects = [args for event, args in standin_run["events"] if event == "socket.connect"]
    assert connects and all(args.endswith("('127.0.0.1', 9))") for args in connects)
    # ... and then ran from the cache: the config came from server_config, not the server,
    assert standin_run["config_status"] == ("cache", False)
    # which CRDS did not rewrite (it only does so after a successful server contact).
    cache = standin_run["cache"]
    assert (cache / "config" / "jwst" / "server_config").read_text() == standin_run["server_config_before"]


def test_network_attempts_only_to_loopback(standin_run):
    assert _non_loopback(standin_run["events"]) == []


@pytest.mark.parametrize(
    "kind, expected",
    [
        (
            "direct_cal",
            {
                "R_DISTOR": "distortion",
                "R_FLAT": "flat",
                "R_PHOTOM": "photom_imaging",
                "R_SPCWCS": None,
                "R_WAVRAN": None,
            },
        ),
        (
            "wfss_cal",
            {
                "R_DISTOR": "distortion",
                "R_SPCWCS": "specwcs",
                "R_FLAT": "flat",
                "R_PHOTOM": "photom_wfss",
                "R_WAVRAN": "wavelengthrange",
            },
        ),
    ],
)
def test_reference_files_are_the_standins(standin_run, kind, expected):
    header = fits.getheader(standin_run[kind])
    assert header["CRDS_CTX"] == CONTEXT
    for keyword, key in expected.items():
        wanted = "N/A" if key is None else "crds://" + STANDIN_REFERENCE_NAMES[key]
        assert header[keyword] == wanted, keyword
    # Types the demo instrument does not have resolved to N/A through the rules.
    for keyword in ("R_FILOFF", "R_REGION", "R_AREA", "R_CAMERA", "R_FFLAT"):
        assert header[keyword] == "N/A", keyword
    for step in ("S_WCS", "S_FLAT", "S_PHOTOM"):
        assert header[step] == "COMPLETE"
    # The files CRDS chose are in the stand-in cache.
    for key in filter(None, expected.values()):
        assert (standin_run["cache"] / "references" / "jwst" / "nircam" / STANDIN_REFERENCE_NAMES[key]).is_file()


# stpipe's own call into crds (not ours) uses a deprecated crds lock helper.
@pytest.mark.filterwarnings("ignore:'get_cache_lock' is deprecated:DeprecationWarning")
@pytest.mark.parametrize("kind", ["direct_rate", "wfss_rate"])
def test_step_parameter_lookups_resolve_to_na(standin_run, demo, kind):
    # stpipe asks CRDS for pars-<step> on every Step.call (STPIPE_DISABLE_CRDS_STEPPARS is
    # not set in real mode). It tolerates a lookup error, but here the rules answer N/A.
    from stdatamodels.jwst.datamodels import read_metadata
    from stpipe import crds_client

    parameters = read_metadata(getattr(demo, kind), flatten=True)
    for reftype in (f"pars-{step.lower()}" for step in STEPS_WITH_PARAMETER_REFERENCES):
        assert crds_client.get_reference_file(parameters, reftype, "jwst") == "N/A", reftype


@pytest.mark.parametrize("kind", ["direct_cal", "wfss_cal"])
def test_data_equal_the_override_calibration(standin_run, demo, kind):
    with fits.open(standin_run[kind]) as ours, fits.open(getattr(demo, kind)) as theirs:
        for ext in ("SCI", "ERR"):
            np.testing.assert_allclose(ours[ext].data, theirs[ext].data, rtol=1e-6, atol=0, equal_nan=True)
        np.testing.assert_array_equal(ours["DQ"].data, theirs["DQ"].data)
        assert ours["SCI"].header["BUNIT"] == theirs["SCI"].header["BUNIT"]
        assert ours["SCI"].header.get("PIXAR_SR") == pytest.approx(theirs["SCI"].header.get("PIXAR_SR"), rel=1e-12)


def test_grism_config_from_crds_calibrated_file(standin_run, demo, network_recorder):
    from wfss_helpers.geometry.configuration import load_grism_config

    assert Path(os.environ["CRDS_PATH"]) == standin_run["cache"]
    with network_recorder() as recorder:
        ours = load_grism_config(standin_run["wfss_cal"])
        theirs = load_grism_config(demo.wfss_cal)
    assert _non_loopback(recorder.events) == []
    assert recorder.events == []
    assert sorted(ours.orders) == sorted(theirs.orders)
    t = np.linspace(0.0, 1.0, 7)
    for order in ours.orders:
        for x0, y0 in ((1024.0, 1024.0), (1500.0, 300.0), (900.0, 1800.0)):
            np.testing.assert_allclose(ours.DISPX(order, x0, y0, t), theirs.DISPX(order, x0, y0, t), rtol=1e-12)
            np.testing.assert_allclose(ours.DISPL(order, x0, y0, t), theirs.DISPL(order, x0, y0, t), rtol=1e-12)
        # Same sensitivity: read from the stand-in's copy of the WFSS photom file.
        np.testing.assert_allclose(ours.SENS_data[order][0], theirs.SENS_data[order][0], rtol=1e-12)
        np.testing.assert_allclose(ours.SENS_data[order][1], theirs.SENS_data[order][1], rtol=1e-6)
