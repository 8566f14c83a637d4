"""Shared fixtures: one demo dataset built from an empty cache, with network auditing."""

from __future__ import annotations

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


@pytest.fixture(scope="session")
def network_recorder():
    return NetworkRecorder


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory):
    """The demo dataset, generated once from an empty cache while recording the network."""
    from wfss_helpers.demo.dataset import load_demo_dataset

    cache = tmp_path_factory.mktemp("demo_cache")
    assert not any(cache.iterdir())
    with NetworkRecorder() as recorder:
        dataset = load_demo_dataset(cache)
    return dataset, recorder.events


@pytest.fixture(scope="session")
def demo(demo_build):
    return demo_build[0]
