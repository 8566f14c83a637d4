"""Generation of the embedded demo dataset, from nothing, into a new directory.

:func:`build_demo_dataset` writes

1. the demo instrument's reference files (:mod:`wfss_helpers.demo.instrument`) and the
   same grism as plain grismconf ``.conf`` files;
2. a seeded scene (:mod:`wfss_helpers.demo.scene`) rendered into a direct image and
   dithered WFSS exposures, written as ``_rate.fits`` files, and the ground truth
   (positions, F_lambda spectra, cosmic rays) in ``demo_truth.fits``;
3. the **real** jwst steps (AssignWcs, FlatField with the imaging-flat trick, Photom) run on
   every file through a one-file offline CRDS cache (:mod:`wfss_helpers.pipeline`),
   giving ``_cal.fits`` files that ``grismconf.Config`` reads with no network;
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

from ..crds_config import configure_offline_crds
from ..pipeline import calibrate_imaging, calibrate_wfss
from . import instrument as inst
from . import scene
from .dataset import DEMO_SEED, DEMO_VERSION, FILES, DemoDataset, dataset_from_directory, write_manifest

__all__ = ["build_demo_dataset", "true_wavelength_grid"]

log = logging.getLogger(__name__)


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
    refs = inst.write_reference_files(directory / "reference_files", flat_seed=seed + 1)
    conf = inst.write_grismconf_files(directory / "grismconf")

    direct_wcs = scene.imaging_wcs("direct", refs["distortion"])
    wfss_wcs = scene.imaging_wcs("wfss", refs["distortion"])
    catalog = scene.make_catalog(direct_wcs, seed=seed)
    x0, y0 = wfss_wcs.invert(catalog["ra"].value, catalog["dec"].value)
    catalog["x0_wfss"] = x0
    catalog["y0_wfss"] = y0
    catalog["x0_wfss"].unit = catalog["y0_wfss"].unit = "pix"

    flat = inst.flat_field(seed + 1)
    rng = np.random.default_rng(seed)
    show = catalog[catalog["id"] == 1][0]
    (bx0, bx1), (by0, by1) = scene._order1_bbox(show["x0_wfss"], show["y0_wfss"], margin=25)
    cr_tables = {}
    for kind, positions, render in (
        ("direct", (catalog["x_direct"], catalog["y_direct"]), scene.render_direct_image),
        ("wfss", (catalog["x0_wfss"], catalog["y0_wfss"]), scene.render_wfss_image),
    ):
        model = scene._exposure_model(kind)
        noise_free = render(catalog, tuple(np.asarray(p, dtype=float) for p in positions))
        cr_tables[kind] = scene.add_sky_noise_and_defects(
            model, noise_free, kind, flat, rng, avoid_boxes=[(bx0, bx1, by0, by1)] if kind == "wfss" else []
        )
        model.meta.filename = FILES[f"{kind}_rate"]
        model.save(directory / FILES[f"{kind}_rate"])
        model.close()

    _write_truth(directory / FILES["truth"], catalog, cr_tables, seed)

    crds_path = directory / "crds_offline"
    configure_offline_crds(crds_path)
    calibrate_imaging(
        directory / FILES["direct_rate"],
        {"distortion": refs["distortion"], "flat": refs["flat"], "photom": refs["photom_imaging"]},
        output=directory / FILES["direct_cal"],
    ).close()
    calibrate_wfss(
        directory / FILES["wfss_rate"],
        {
            "distortion": refs["distortion"],
            "specwcs": refs["specwcs"],
            "flat": refs["flat"],
            "photom": refs["photom_wfss"],
        },
        output=directory / FILES["wfss_cal"],
    ).close()

    manifest = write_manifest(
        directory,
        seed=seed,
        grismconf_file=conf.name,
        generation_seconds=round(time.perf_counter() - start, 2),
    )
    log.info("Demo dataset generated in %.1f s at %s", manifest["generation_seconds"], directory)
    return dataset_from_directory(directory, manifest)


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
        prefix = "D" if kind == "direct" else "W"
        primary.header[f"{prefix}EXPTIME"] = (pars["exptime"], f"{kind}: effective exposure time, s")
        primary.header[f"{prefix}GAIN"] = (pars["gain"], f"{kind}: gain, e-/DN")
        primary.header[f"{prefix}SKY"] = (pars["sky"], f"{kind}: mean sky, DN/s/pixel")
    hdus = [primary]
    for name, table in (("SOURCES", catalog), ("SPECTRA", spectra), ("CR_DIRECT", cr_tables["direct"]), ("CR_WFSS", cr_tables["wfss"])):
        hdu = fits.table_to_hdu(table)
        hdu.name = name
        hdus.append(hdu)
    fits.HDUList(hdus).writeto(path)
