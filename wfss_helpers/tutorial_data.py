"""The one switch between the embedded demo data and the real JWST data of program 01076.

Every notebook starts with::

    data = get_tutorial_data()

which reads the environment variable ``WFSS_TUTORIAL_DATA``:

* ``demo`` (default): the embedded synthetic dataset (:mod:`wfss_helpers.demo.dataset`),
  generated offline in seconds, with known injected spectra to check results against;
* ``real``: the seed notebook's files from MAST (``jw01076103001_02102_00001_nrcalong`` for
  the direct image and ``jw01076103001_02101_00001_nrcalong`` for the grism exposure),
  calibrated with reference files from CRDS. Needs a network connection; see
  :mod:`wfss_helpers.data_access` and :mod:`wfss_helpers.crds_config`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DATA_MODE_VARIABLE", "TutorialData", "data_mode", "get_tutorial_data"]

#: Environment variable that selects the data source.
DATA_MODE_VARIABLE = "WFSS_TUTORIAL_DATA"
_MODES = ("demo", "real")

#: Direct-image position of the source the seed notebook extracts (0-based pixels).
SEED_SOURCE_POSITION = (1562.0, 696.0)


@dataclass(frozen=True)
class TutorialData:
    """The files a tutorial notebook works on.

    Attributes
    ----------
    mode : str
        ``"demo"`` or ``"real"``.
    direct_rate, wfss_rate : pathlib.Path
        Direct image and grism exposure, as ``_rate.fits`` files.
    direct_cal, wfss_cal : pathlib.Path
        The same after AssignWcs, FlatField and Photom.
    source_position : tuple of float
        Direct-image position ``(x, y)`` of the showcased source (0-based pixels).
    reference_files : dict or None
        Demo mode: reference files to give the pipeline steps (CRDS is offline). Real
        mode: None (CRDS chooses).
    crds_path : pathlib.Path
        The CRDS cache in use.
    demo : `~wfss_helpers.demo.dataset.DemoDataset` or None
        Demo mode: the dataset with its ground truth. Real mode: None.
    """

    mode: str
    direct_rate: Path
    wfss_rate: Path
    direct_cal: Path
    wfss_cal: Path
    source_position: tuple
    reference_files: dict | None
    crds_path: Path
    demo: object = None

    @property
    def work_dir(self) -> Path:
        """A directory for files the notebooks write."""
        path = self.direct_rate.parent / "notebook_outputs"
        path.mkdir(exist_ok=True)
        return path


def data_mode(mode=None) -> str:
    """The data source in use: ``mode`` if given, else ``$WFSS_TUTORIAL_DATA``, else demo.

    Raises
    ------
    ValueError
        For any other value.
    """
    mode = mode or os.environ.get(DATA_MODE_VARIABLE) or "demo"
    if not isinstance(mode, str):
        raise TypeError(f"The tutorial data mode must be 'demo' or 'real', got {type(mode).__name__} {mode!r}.")
    mode = mode.strip().lower()
    if mode not in _MODES:
        raise ValueError(
            f"Unknown tutorial data mode {mode!r} (from the argument or ${DATA_MODE_VARIABLE}); "
            f"use 'demo' for the embedded synthetic data or 'real' for JWST program 01076."
        )
    return mode


def get_tutorial_data(mode=None, *, cache_dir=None, mast_url=None, crds_path=None, crds_server_url=None) -> TutorialData:
    """Get (generating or downloading if needed) the files the notebooks use.

    Parameters
    ----------
    mode : {"demo", "real"}, optional
        Default: ``$WFSS_TUTORIAL_DATA`` or ``"demo"``.
    cache_dir : path-like, optional
        Where the data are kept (default: the user cache directory, or
        ``$WFSS_HELPERS_CACHE``).
    mast_url : str, optional
        Real data: the MAST download endpoint (default ``$WFSS_MAST_URL`` if set, else the
        public one).
    crds_path, crds_server_url : optional
        Real data: the CRDS cache and server (defaults: ``$CRDS_PATH`` or ``~/crds_cache``,
        and ``https://jwst-crds.stsci.edu``).

    Returns
    -------
    TutorialData
    """
    mode = data_mode(mode)
    if mode == "demo":
        return _demo_data(cache_dir)
    return _real_data(cache_dir, mast_url=mast_url, crds_path=crds_path, crds_server_url=crds_server_url)


def _demo_data(cache_dir):
    from .crds_config import configure_offline_crds
    from .demo.dataset import load_demo_dataset

    demo = load_demo_dataset(cache_dir)
    refs = demo.reference_files
    configure_offline_crds(demo.crds_path)
    return TutorialData(
        mode="demo",
        direct_rate=demo.direct_rate,
        wfss_rate=demo.wfss_rate,
        direct_cal=demo.direct_cal,
        wfss_cal=demo.wfss_cal,
        source_position=tuple(float(v) for v in (demo.source(1)["x_direct"], demo.source(1)["y_direct"])),
        reference_files={
            "imaging": {"distortion": refs["distortion"], "flat": refs["flat"], "photom": refs["photom_imaging"]},
            "wfss": {
                "distortion": refs["distortion"],
                "specwcs": refs["specwcs"],
                "flat": refs["flat"],
                "photom": refs["photom_wfss"],
            },
        },
        crds_path=demo.crds_path,
        demo=demo,
    )


def _real_data(cache_dir, *, mast_url=None, crds_path=None, crds_server_url=None):
    from .crds_config import configure_online_crds
    from .data_access import MAST_DOWNLOAD_URL, MAST_URL_VARIABLE, fetch_seed_data
    from .demo.dataset import default_cache_dir
    from .file_checks import writable_directory
    from .pipeline import calibrate_imaging, calibrate_wfss

    directory = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    directory = writable_directory(directory / "jwst_program_01076", "real-data")
    settings = configure_online_crds(crds_path, server_url=crds_server_url)
    rates = fetch_seed_data(directory, base_url=mast_url or os.environ.get(MAST_URL_VARIABLE) or MAST_DOWNLOAD_URL)
    cal = {role: directory / Path(path).name.replace("_rate.fits", "_cal.fits") for role, path in rates.items()}
    if not cal["imaging"].exists():
        calibrate_imaging(rates["imaging"], output=cal["imaging"]).close()
    if not cal["wfss"].exists():
        calibrate_wfss(rates["wfss"], output=cal["wfss"]).close()
    return TutorialData(
        mode="real",
        direct_rate=Path(rates["imaging"]),
        wfss_rate=Path(rates["wfss"]),
        direct_cal=cal["imaging"],
        wfss_cal=cal["wfss"],
        source_position=SEED_SOURCE_POSITION,
        reference_files=None,
        crds_path=Path(settings["CRDS_PATH"]),
        demo=None,
    )
