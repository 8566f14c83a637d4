"""Generation of the embedded demo dataset, from nothing, into a new directory.

:func:`build_demo_dataset` writes

1. the demo instrument's reference files and the same grism as plain grismconf
   ``.conf`` files (:mod:`wfss_helpers.demo.calibration_files`);
2. a seeded scene (:mod:`wfss_helpers.demo.scene`) rendered into a direct image and
   dithered WFSS exposures, written as ``_rate.fits`` files, and the ground truth
   (positions, F_lambda spectra, cosmic rays) in ``demo_truth.fits``;
3. the **real** jwst steps (AssignWcs, FlatField with the imaging-flat trick, Photom) run on
   every file through a one-file offline CRDS cache (:mod:`wfss_helpers.data_sources.pipeline`),
   giving ``_cal.fits`` files that ``grismconf.Config`` reads with no network. Their
   log (some 270 lines) goes to ``pipeline.log`` in the dataset; one summary line is
   printed;
4. ``manifest.json``, written last, which marks the dataset complete.

Loading, caching and locking are in :mod:`wfss_helpers.demo.dataset`.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from ..data_sources.crds import configure_offline_crds
from ..data_sources.pipeline import calibrate_imaging, calibrate_wfss, capture_logs
from . import instrument as inst
from . import scene
from .calibration_files import (
    reference_files_for,
    write_grismconf_files,
    write_reference_files,
)
from .manifest import (
    DEMO_SEED,
    DEMO_VERSION,
    FILES,
    DemoDataset,
    dataset_from_directory,
    write_manifest,
)

__all__ = ["build_demo_dataset", "true_wavelength_grid"]

log = logging.getLogger(__name__)

#: The jwst steps' log of the calibration, in the dataset folder.
PIPELINE_LOG = "pipeline.log"

#: Truth-table columns of each grism exposure's undispersed source positions.
_POSITION_COLUMNS = {"grismr": ("x0_wfss", "y0_wfss"), "grismc": ("x0_grismc", "y0_grismc")}
#: Rate file of each exposure (the calibrated file replaces ``_rate`` by ``_cal``).
_RATE_FILES = {
    "direct": FILES["direct_rate"],
    "grismr": FILES["wfss_rate"],
    "grismc": FILES["grismc_rate"],
}


def build_demo_dataset(directory, *, seed: int = DEMO_SEED) -> DemoDataset:
    """Generate the demo dataset into ``directory`` (which must not exist yet).

    Parameters
    ----------
    directory : str or pathlib.Path
        New directory for the dataset.
    seed : int, optional
        Seed of the scene and noise.

    Returns
    -------
    DemoDataset
    """
    start = time.perf_counter()
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise FileExistsError(
            f"{directory} is not empty; give build_demo_dataset a new directory (or use "
            "load_demo_dataset(rebuild=True) to regenerate the cached dataset)."
        )
    directory.mkdir(parents=True, exist_ok=True)
    refs = write_reference_files(directory / "reference_files", flat_seed=seed + 1)
    confs = write_grismconf_files(directory / "grismconf")

    direct_wcs = scene.imaging_wcs("direct", refs["distortion"])
    catalog = scene.make_catalog(direct_wcs, seed=seed)
    # Where each source would land, undispersed, in each grism exposure.
    for kind, columns in _POSITION_COLUMNS.items():
        # (Without the bounding box: a source just off a dithered exposure may still
        # put its spectrum on the detector.)
        x0, y0 = scene.imaging_wcs(kind, refs["distortion"]).invert(
            catalog["ra"].value, catalog["dec"].value, with_bounding_box=False
        )
        catalog[columns[0]] = x0
        catalog[columns[1]] = y0
        catalog[columns[0]].unit = catalog[columns[1]].unit = "pix"
        catalog[f"blends_{kind}"] = scene.blending_neighbours(catalog, scene.KINDS[kind], x0, y0)

    flat = inst.flat_field(seed + 1)
    rng = np.random.default_rng(seed)
    show = catalog[catalog["id"] == 1][0]
    cr_tables = {}
    for kind, grism in scene.KINDS.items():
        model = scene._exposure_model(kind)
        if grism is None:
            positions = (np.asarray(catalog["x_direct"], float), np.asarray(catalog["y_direct"], float))
            noise_free = scene.render_direct_image(catalog, positions)
            avoid = []
        else:
            xcol, ycol = _POSITION_COLUMNS[kind]
            positions = (np.asarray(catalog[xcol], float), np.asarray(catalog[ycol], float))
            noise_free = scene.render_wfss_image(catalog, positions, grism=grism)
            # No undetected cosmic ray on the showcased spectrum.
            (bx0, bx1), (by0, by1) = scene.trace_box(show[xcol], show[ycol], grism, margin=25)
            avoid = [(bx0, bx1, by0, by1)]
        cr_tables[kind] = scene.add_sky_noise_and_defects(model, noise_free, kind, flat, rng, avoid_boxes=avoid)
        name = _RATE_FILES[kind]
        model.meta.filename = name
        model.save(directory / name)
        model.close()

    _write_truth(directory / FILES["truth"], catalog, cr_tables, seed)

    crds_path = directory / "crds_offline"
    configure_offline_crds(crds_path)
    # The steps' log (some 90 lines per exposure) goes to a file of the dataset, not to
    # the screen of whoever loaded the dataset first: they see one line.
    with capture_logs(directory / PIPELINE_LOG, append=False) as pipeline_log:
        calibrate_imaging(
            directory / _RATE_FILES["direct"],
            {"distortion": refs["distortion"], "flat": refs["flat"], "photom": refs["photom_imaging"]},
            output=directory / _RATE_FILES["direct"].replace("_rate", "_cal"),
        ).close()
        for kind in ("grismr", "grismc"):
            calibrate_wfss(
                directory / _RATE_FILES[kind],
                reference_files_for(scene.KINDS[kind], refs),
                output=directory / _RATE_FILES[kind].replace("_rate", "_cal"),
            ).close()
    # The dataset may be moved or shared: the log names its folder, not the build path.
    log_path = directory / PIPELINE_LOG
    log_path.write_text(log_path.read_text().replace(str(directory.resolve()), "<dataset>"))

    manifest = write_manifest(
        directory,
        seed=seed,
        grismconf_file=confs["GRISMR"].name,
        generation_seconds=round(time.perf_counter() - start, 2),
    )
    log.info("Demo dataset generated in %.1f s at %s", manifest["generation_seconds"], directory)
    print(_summary(manifest["generation_seconds"], pipeline_log), flush=True)
    return dataset_from_directory(directory, manifest)


def _summary(seconds, pipeline_log) -> str:
    """The one line a first run shows: what was made, and where the steps' log is."""
    count = pipeline_log.warnings
    line = (
        f"Demo dataset generated in {seconds:.0f} s; the jwst steps' log "
        f"({pipeline_log.records} records, {count} warning{'' if count == 1 else 's'}) "
        f"is {PIPELINE_LOG} in its folder"
    )
    unexpected = count - sum(map(_is_expected_warning, pipeline_log.warning_messages))
    if unexpected:
        return line + f": read it, {unexpected} warning(s) were not expected."
    if count:
        return line + " (the expected photom warning of each grism exposure)."
    return line + "."


def _is_expected_warning(message) -> bool:
    """PhotomStep's warning on a grism exposure calibrated with PUPIL = CLEAR.

    With the imaging-flat trick the exposure looks like a CLEAR image, so PhotomStep finds
    no row for it in the WFSS photom file and leaves the data in DN/s, as intended.
    """
    return message.startswith("jwst.photom") and "matching row in table, found 0" in message


def true_wavelength_grid():
    """Wavelength grid (micron) on which the truth spectra are tabulated."""
    return np.round(np.arange(2.90, 4.2001, 0.0005), 7)


def _write_truth(path, catalog, cr_tables, seed):
    wave = true_wavelength_grid()
    spectra = Table()
    spectra["id"] = catalog["id"]
    spectra["wavelength"] = np.tile(wave, (len(catalog), 1))
    spectra["wavelength"].unit = "micron"
    spectra["flam"] = np.array([scene.source_flambda(row, wave) for row in catalog])
    spectra["flam"].unit = "erg s-1 cm-2 Angstrom-1"
    primary = fits.PrimaryHDU()
    primary.header["COMMENT"] = inst.DEMO_LABEL
    primary.header["SEED"] = seed
    primary.header["VERSION"] = DEMO_VERSION
    for kind, pars in scene.EXPOSURE.items():
        prefix = {"direct": "D", "grismr": "W", "grismc": "C"}[kind]
        primary.header[f"{prefix}EXPTIME"] = (pars["exptime"], f"{kind}: effective exposure time, s")
        primary.header[f"{prefix}GAIN"] = (pars["gain"], f"{kind}: gain, e-/DN")
        primary.header[f"{prefix}SKY"] = (pars["sky"], f"{kind}: mean sky, DN/s/pixel")
    hdus = [primary]
    tables = (
        ("SOURCES", catalog),
        ("SPECTRA", spectra),
        ("CR_DIRECT", cr_tables["direct"]),
        ("CR_WFSS", cr_tables["grismr"]),
        ("CR_GRISMC", cr_tables["grismc"]),
    )
    for name, table in tables:
        hdu = fits.table_to_hdu(table)
        hdu.name = name
        hdus.append(hdu)
    fits.HDUList(hdus).writeto(path)
