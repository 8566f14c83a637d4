"""The one switch between the embedded demo data and the real JWST data of program 01076.

Every notebook starts with::

    data = get_tutorial_data()

which reads the environment variable ``WFSS_TUTORIAL_DATA``:

* ``demo`` (default): the embedded synthetic dataset (:mod:`wfss_helpers.demo.dataset`),
  generated offline in seconds, with known injected spectra to check results against;
* ``real``: the seed notebook's files from MAST (``jw01076103001_02102_00001_nrcalong`` for
  the direct image and ``jw01076103001_02101_00001_nrcalong`` for the grism exposure),
  calibrated with reference files from CRDS. Needs a network connection; see
  :mod:`wfss_helpers.data_sources.mast` and :mod:`wfss_helpers.data_sources.crds`.

The notebooks write their own files (calibrated copies, plots) into
:attr:`TutorialData.work_dir`, which is never inside a dataset (a dataset may be
read-only, shared, or regenerated): by default ``<cache>/notebook_outputs/<mode>``, or
the folder named by ``$WFSS_OUTPUT_DIR`` (or ``output_dir=``); if the cache is not
writable (a read-only copy prebuilt for a classroom), ``notebook_outputs/<mode>`` in the
user cache directory. See :func:`notebook_output_dir`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

__all__ = [
    "DATA_MODE_VARIABLE",
    "OUTPUT_DIR_VARIABLE",
    "TutorialData",
    "data_mode",
    "get_tutorial_data",
    "notebook_output_dir",
]

#: Environment variable that selects the data source.
DATA_MODE_VARIABLE = "WFSS_TUTORIAL_DATA"
#: Environment variable naming the folder the notebooks write into.
OUTPUT_DIR_VARIABLE = "WFSS_OUTPUT_DIR"
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
    demo : `~wfss_helpers.demo.manifest.DemoDataset` or None
        Demo mode: the dataset with its ground truth. Real mode: None.
    output_dir : pathlib.Path or None
        Where the notebooks write (see :attr:`work_dir`); None: the default of
        :func:`notebook_output_dir`.
    grismc_rate, grismc_cal : pathlib.Path or None
        A GRISMC exposure of the same field (the demo has one), or None.
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
    output_dir: Path | None = None
    grismc_rate: Path | None = None
    grismc_cal: Path | None = None

    @property
    def work_dir(self) -> Path:
        """The folder for the files the notebooks write, created if needed.

        Never inside the dataset, so that rebuilding the demo data (or replacing a
        download) cannot delete your files, and the data may be read-only.
        """
        from .checks.files import writable_directory

        path = self.output_dir
        if path is None:
            path = notebook_output_dir(self.mode)
        return writable_directory(path, "notebook output")


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


def _is_writable(path: Path) -> bool:
    """True if ``path``, or the nearest existing folder above it, can be written to."""
    for folder in (path, *path.parents):
        if folder.exists():
            return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)
    return False


def notebook_output_dir(mode=None, *, cache_dir=None, output_dir=None) -> Path:
    """Where the notebooks write their files: a folder of the user's, outside the data.

    In order: ``output_dir`` if given, else ``$WFSS_OUTPUT_DIR``, else
    ``<cache>/notebook_outputs/<mode>`` (``<cache>`` being ``cache_dir`` or
    :func:`~wfss_helpers.demo.dataset.default_cache_dir`) if that can be written to,
    else ``notebook_outputs/<mode>`` in the user cache directory (for a read-only,
    shared cache). A relative path is relative to the current directory when first
    read.

    Parameters
    ----------
    mode : {"demo", "real"}, optional
        Default: :func:`data_mode`.
    cache_dir, output_dir : path-like, optional

    Returns
    -------
    pathlib.Path
        An absolute path (not created here; :attr:`TutorialData.work_dir` creates it).
    """
    from .demo.dataset import default_cache_dir, path_from_environment

    mode = data_mode(mode)
    if output_dir is not None:
        if not isinstance(output_dir, (str, os.PathLike)):
            raise TypeError(
                "output_dir must be a directory path, got "
                f"{type(output_dir).__name__} {output_dir!r}."
            )
        return Path(os.path.abspath(Path(output_dir).expanduser()))
    named = path_from_environment(OUTPUT_DIR_VARIABLE)
    if named is not None:
        return named
    if cache_dir is not None:
        cache = Path(os.path.abspath(Path(cache_dir).expanduser()))
    else:
        cache = default_cache_dir()
    path = cache / "notebook_outputs" / mode
    if _is_writable(path):
        return path
    import pooch

    user_cache = Path(os.path.abspath(pooch.os_cache("wfss_helpers")))
    return user_cache / "notebook_outputs" / mode


def get_tutorial_data(
    mode=None,
    *,
    cache_dir=None,
    mast_url=None,
    crds_path=None,
    crds_server_url=None,
    output_dir=None,
) -> TutorialData:
    """Get (generating or downloading if needed) the files the notebooks use.

    Parameters
    ----------
    mode : {"demo", "real"}, optional
        Default: ``$WFSS_TUTORIAL_DATA`` or ``"demo"``.
    cache_dir : path-like, optional
        Where the data are kept (default: the user cache directory, or
        ``$WFSS_HELPERS_CACHE``). May be read-only if the demo dataset is already there.
    mast_url : str, optional
        Real data: the MAST download endpoint (default ``$WFSS_MAST_URL`` if set, else the
        public one).
    crds_path, crds_server_url : optional
        Real data: the CRDS cache and server (defaults: ``$CRDS_PATH`` or ``~/crds_cache``,
        and ``https://jwst-crds.stsci.edu``).
    output_dir : path-like, optional
        Where the notebooks write (default ``$WFSS_OUTPUT_DIR``, else
        ``<cache>/notebook_outputs/<mode>``; see :func:`notebook_output_dir`).

    Returns
    -------
    TutorialData
    """
    mode = data_mode(mode)
    if mode == "demo":
        data = _demo_data(cache_dir)
    else:
        data = _real_data(
            cache_dir,
            mast_url=mast_url,
            crds_path=crds_path,
            crds_server_url=crds_server_url,
        )
    outputs = notebook_output_dir(mode, cache_dir=cache_dir, output_dir=output_dir)
    return replace(data, output_dir=outputs)


def _demo_data(cache_dir):
    from .data_sources.crds import configure_offline_crds
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
            "grismc": {
                "distortion": refs["distortion"],
                "specwcs": refs["specwcs_grismc"],
                "flat": refs["flat"],
                "photom": refs["photom_wfss"],
            },
        },
        crds_path=demo.crds_path,
        demo=demo,
        grismc_rate=demo.grismc_rate,
        grismc_cal=demo.grismc_cal,
    )


def _real_data(cache_dir, *, mast_url=None, crds_path=None, crds_server_url=None):
    from .data_sources.crds import configure_online_crds
    from .data_sources.mast import MAST_DOWNLOAD_URL, MAST_URL_VARIABLE, fetch_seed_data
    from .demo.dataset import default_cache_dir
    from .checks.files import writable_directory
    from .data_sources.pipeline import calibrate_imaging, calibrate_wfss, capture_logs

    if cache_dir is not None:
        directory = Path(os.path.abspath(Path(cache_dir).expanduser()))
    else:
        directory = default_cache_dir()
    directory = writable_directory(directory / "jwst_program_01076", "real-data")
    settings = configure_online_crds(crds_path, server_url=crds_server_url)
    rates = fetch_seed_data(directory, base_url=mast_url or os.environ.get(MAST_URL_VARIABLE) or MAST_DOWNLOAD_URL)
    cal = {role: directory / Path(path).name.replace("_rate.fits", "_cal.fits") for role, path in rates.items()}
    if not (cal["imaging"].exists() and cal["wfss"].exists()):
        # The steps' log (some 180 lines) goes to a file beside the data, not the screen.
        with capture_logs(directory / "pipeline.log") as log:
            if not cal["imaging"].exists():
                calibrate_imaging(rates["imaging"], output=cal["imaging"]).close()
            if not cal["wfss"].exists():
                calibrate_wfss(rates["wfss"], output=cal["wfss"]).close()
        print(f"Calibrated the program 01076 files: {log.summary()}")
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
