"""The demo/real switch and the CRDS configuration it makes."""

from __future__ import annotations

import os

import pytest

from wfss_helpers.data_sources.crds import JWST_CRDS_SERVER_URL, configure_offline_crds, configure_online_crds
from wfss_helpers.tutorial_data import DATA_MODE_VARIABLE, data_mode, get_tutorial_data


@pytest.fixture
def clean_crds_env(monkeypatch):
    for name in ("CRDS_PATH", "CRDS_SERVER_URL", "STPIPE_DISABLE_CRDS_STEPPARS", DATA_MODE_VARIABLE):
        monkeypatch.delenv(name, raising=False)
    yield


def test_mode_switch(clean_crds_env, monkeypatch):
    assert data_mode() == "demo"
    monkeypatch.setenv(DATA_MODE_VARIABLE, "REAL")
    assert data_mode() == "real"
    assert data_mode("demo") == "demo"
    monkeypatch.setenv(DATA_MODE_VARIABLE, "mast")
    with pytest.raises(ValueError, match="Unknown tutorial data mode 'mast'.*use 'demo'.*or 'real'"):
        data_mode()


def test_demo_mode_is_offline(demo, clean_crds_env, network_recorder):
    with network_recorder() as rec:
        data = get_tutorial_data("demo", cache_dir=demo.directory.parent)
    assert rec.events == []
    assert data.mode == "demo" and data.demo.directory == demo.directory
    assert "CRDS_SERVER_URL" not in os.environ
    assert os.environ["CRDS_PATH"] == str(demo.crds_path.resolve())
    assert os.environ["STPIPE_DISABLE_CRDS_STEPPARS"] == "True"
    assert data.source_position == (1562.0, 696.0)
    assert set(data.reference_files) == {"imaging", "wfss", "grismc"}


def test_online_configuration(clean_crds_env, tmp_path):
    settings = configure_online_crds(tmp_path / "cache")
    assert os.environ["CRDS_SERVER_URL"] == JWST_CRDS_SERVER_URL == settings["CRDS_SERVER_URL"]
    assert os.environ["CRDS_PATH"] == str(tmp_path / "cache")
    assert "STPIPE_DISABLE_CRDS_STEPPARS" not in os.environ
    # Switching back to offline removes the server again.
    configure_offline_crds(tmp_path / "offline")
    assert "CRDS_SERVER_URL" not in os.environ


def test_online_default_cache_is_under_home(clean_crds_env, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = configure_online_crds()
    assert settings["CRDS_PATH"] == str(tmp_path / "crds_cache")
