"""The real-data mode, end to end, against local stand-ins for MAST and CRDS (no mocks).

``WFSS_TUTORIAL_DATA=real`` makes the tutorial download the seed notebook's two rate files
from MAST and calibrate them with reference files that CRDS chooses. Here

* MAST is :mod:`mast_standin`, an HTTP server on 127.0.0.1 serving the demo exposures under
  the seed files' names (``WFSS_MAST_URL`` points the tutorial at it);
* CRDS is :mod:`crds_standin`, a local CRDS cache whose rules select the demo instrument's
  reference files, behind a server address that refuses connections (``127.0.0.1:9``),
  as for a user with a synced cache and no network to the CRDS server.

Everything on the real path runs: the download code, the CRDS set-up, the jwst steps with
CRDS choosing, grismconf reading the sensitivity file from the CRDS cache, and the three
notebooks themselves, executed with nothing set but the environment a user would set.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from crds_standin import build_local_crds_cache
from mast_standin import running_mast_standin
from wfss_helpers.data_sources.mast import SEED_FILES
from wfss_helpers.tutorial_data import SEED_SOURCE_POSITION, get_tutorial_data

ROOT = Path(__file__).resolve().parents[1]
UNREACHABLE_CRDS = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def stand_ins(demo, tmp_path_factory):
    """MAST and CRDS stand-ins, and the environment of a real-mode user pointed at them."""
    from wfss_helpers.data_sources.crds import configure_offline_crds

    tmp = tmp_path_factory.mktemp("real_mode")
    crds_cache = build_local_crds_cache(tmp / "crds_cache", demo)
    with running_mast_standin() as mast, pytest.MonkeyPatch.context() as mp:
        mast.files[SEED_FILES["imaging"]] = demo.direct_rate.read_bytes()
        mast.files[SEED_FILES["wfss"]] = demo.wfss_rate.read_bytes()
        environment = {
            "WFSS_TUTORIAL_DATA": "real",
            "WFSS_HELPERS_CACHE": str(tmp / "cache"),
            "WFSS_MAST_URL": mast.url,
            "CRDS_PATH": str(crds_cache),
            "CRDS_SERVER_URL": UNREACHABLE_CRDS,
        }
        for name, value in environment.items():
            mp.setenv(name, value)
        mp.delenv("STPIPE_DISABLE_CRDS_STEPPARS", raising=False)
        try:
            yield {"mast": mast, "cache": tmp / "cache", "crds": crds_cache}
        finally:
            configure_offline_crds(demo.crds_path)


def test_get_tutorial_data_real_mode(stand_ins, demo, network_recorder):
    with network_recorder() as recorder:
        data = get_tutorial_data()  # everything from the environment, as in the notebooks
    assert data.mode == "real" and data.demo is None and data.reference_files is None
    assert data.source_position == SEED_SOURCE_POSITION
    assert data.direct_rate.name == SEED_FILES["imaging"] and data.wfss_rate.name == SEED_FILES["wfss"]
    assert data.direct_rate.read_bytes() == demo.direct_rate.read_bytes()
    assert data.crds_path == stand_ins["crds"]
    # Calibrated with the references CRDS chose from the stand-in cache: the demo's result.
    for ours, theirs in ((data.direct_cal, demo.direct_cal), (data.wfss_cal, demo.wfss_cal)):
        header = fits.getheader(ours)
        assert header["CRDS_CTX"] == "jwst_9001.pmap"
        np.testing.assert_allclose(fits.getdata(ours, "SCI"), fits.getdata(theirs, "SCI"), rtol=1e-6, equal_nan=True)
    connects = [args for event, args in recorder.events if event == "socket.connect"]
    hosts = {re.search(r"\('([^']*)', \d+\)\)$", args).group(1) for args in connects}
    assert hosts == {"127.0.0.1"}, recorder.events  # MAST and CRDS stand-ins only

    # The gWCS reference files CRDS chose are found in its cache (notebook 2 rebuilds gWCSs with them).
    from stdatamodels.jwst import datamodels

    from wfss_helpers.data_sources.pipeline import wcs_reference_files

    with datamodels.open(data.wfss_cal) as model:
        files = wcs_reference_files(model)
    assert Path(files["distortion"]) == stand_ins["crds"] / "references/jwst/nircam/jwst_nircam_distortion_9001.asdf"
    assert Path(files["specwcs"]).name == "jwst_nircam_specwcs_9001.asdf" and files["filteroffset"] is None

    # A second call finds everything in place: no download, no calibration.
    requests = len(stand_ins["mast"].requests)
    stamps = [p.stat().st_mtime_ns for p in (data.direct_cal, data.wfss_cal)]
    again = get_tutorial_data()
    assert again == data
    assert len(stand_ins["mast"].requests) == requests
    assert [p.stat().st_mtime_ns for p in (data.direct_cal, data.wfss_cal)] == stamps


@pytest.mark.parametrize("notebook", sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.py")))
def test_notebook_runs_on_real_mode(stand_ins, notebook):
    """Each notebook, start to end, with WFSS_TUTORIAL_DATA=real (demo-truth checks skipped)."""
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.read(ROOT / "notebooks" / notebook)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.execute()  # raises CellExecutionError, with the failing cell, if any cell fails
    text = "".join(
        output.get("text", "") for cell in nb.cells if cell.cell_type == "code" for output in cell.get("outputs", [])
    )
    assert "data: real" in text
