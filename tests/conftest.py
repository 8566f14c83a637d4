"""Shared fixtures: one demo dataset built from an empty cache, with network auditing."""

from __future__ import annotations

import os
import shutil
import sys

import pytest

# Every attempt of this process to resolve a host name or open a socket connection, while
# recording is switched on. Audit hooks cannot be removed, so one hook serves the session.
_NETWORK_EVENTS = {"socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.sendto"}
_recording: list | None = None


def _audit(event, args):
    if _recording is not None and event in _NETWORK_EVENTS:
        _recording.append((event, repr(args)[:200]))


sys.addaudithook(_audit)


class NetworkRecorder:
    """Context manager listing the network attempts made inside it."""

    def __enter__(self):
        global _recording
        self.events = []
        _recording = self.events
        return self

    def __exit__(self, *exc):
        global _recording
        _recording = None
        return False


#: The environment variables through which CRDS is configured.
_CRDS_VARIABLES = (
    "CRDS_PATH",
    "CRDS_SERVER_URL",
    "CRDS_OBSERVATORY",
    "STPIPE_DISABLE_CRDS_STEPPARS",
)


@pytest.fixture(autouse=True)
def _restore_crds_configuration():
    """Give each test's CRDS configuration back afterwards.

    Generating a dataset configures CRDS in it, and a test's ``tmp_path`` is deleted
    once the test passes: later tests must not run the steps with CRDS in a deleted
    folder.
    """
    before = {name: os.environ.get(name) for name in _CRDS_VARIABLES}
    yield
    if {name: os.environ.get(name) for name in _CRDS_VARIABLES} != before:
        from wfss_helpers.data_sources.crds import _apply_to_loaded_crds

        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _apply_to_loaded_crds(before["CRDS_SERVER_URL"])


@pytest.fixture(scope="session")
def network_recorder():
    return NetworkRecorder


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory):
    """The demo dataset, generated once from an empty cache while recording the network.

    Deleted at the end of the session, whatever the outcome (it is several hundred MB).
    """
    from wfss_helpers.demo.dataset import load_demo_dataset

    cache = tmp_path_factory.mktemp("demo_cache")
    assert not any(cache.iterdir())
    try:
        with NetworkRecorder() as recorder:
            dataset = load_demo_dataset(cache)
        yield dataset, recorder.events
    finally:
        shutil.rmtree(cache, ignore_errors=True)


@pytest.fixture(scope="session")
def demo(demo_build):
    return demo_build[0]


# Synthetic GRISMC and module-B GRISMR configurations (tests/test_trace.py writes them),
# shared by the trace and extraction tests.
@pytest.fixture(scope="module")
def grismc_config(tmp_path_factory):
    from test_trace import GRISMC_LIKE, write_synthetic_conf

    from wfss_helpers.geometry.configuration import load_grism_config

    directory = tmp_path_factory.mktemp("grismc_conf")
    return load_grism_config(write_synthetic_conf(directory, "SYNTH_F444W_modA_C.conf", GRISMC_LIKE))


@pytest.fixture(scope="module")
def grismr_b_config(tmp_path_factory):
    from test_trace import GRISMR_B_LIKE, write_synthetic_conf

    from wfss_helpers.geometry.configuration import load_grism_config

    directory = tmp_path_factory.mktemp("grismr_b_conf")
    return load_grism_config(write_synthetic_conf(directory, "SYNTH_F444W_modB_R.conf", GRISMR_B_LIKE))
