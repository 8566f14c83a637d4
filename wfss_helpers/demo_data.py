"""The embedded demo dataset: a synthetic NIRCam WFSS + direct-image pair, made offline.

:func:`load_demo_dataset` returns the dataset, generating it on first use (about half a
minute) into a cache directory:

1. the demo instrument's reference files (:mod:`wfss_helpers.demo_instrument`) and the
   same grism as a plain grismconf ``.conf`` file;
2. a seeded scene of 24 sources (:mod:`wfss_helpers.demo_scene`) rendered into a direct
   image and a dithered WFSS exposure, written as ``_rate.fits`` files, and the ground
   truth (positions, F_lambda spectra, cosmic rays) in ``demo_truth.fits``;
3. the **real** jwst steps (AssignWcs, FlatField with the imaging-flat trick, Photom) run on
   both files through a one-file offline CRDS cache (:mod:`wfss_helpers.pipeline`),
   giving ``_cal.fits`` files that ``grismconf.Config`` reads with no network.

A ``manifest.json`` written last marks a complete dataset; a directory without one is an
interrupted build and is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from . import demo_instrument as inst
from . import demo_scene as scene
from .crds_config import configure_offline_crds
from .pipeline import calibrate_imaging, calibrate_wfss

__all__ = ["DEMO_VERSION", "DEMO_SEED", "DemoDataset", "default_cache_dir", "load_demo_dataset"]

log = logging.getLogger(__name__)

#: Bump when the generator changes, so old caches are not reused.
DEMO_VERSION = 1
#: Default seed of the scene and noise.
DEMO_SEED = 2024

_FILES = {
    "direct_rate": "demo_nrcalong_f356w_clear_rate.fits",
    "wfss_rate": "demo_nrcalong_f356w_grismr_rate.fits",
    "direct_cal": "demo_nrcalong_f356w_clear_cal.fits",
    "wfss_cal": "demo_nrcalong_f356w_grismr_cal.fits",
    "truth": "demo_truth.fits",
}


@dataclass(frozen=True)
class DemoDataset:
    """Paths of a generated demo dataset.

    Attributes
    ----------
    directory : pathlib.Path
        The dataset's directory.
    direct_rate, wfss_rate : pathlib.Path
        The synthetic ``_rate.fits`` files (direct image, grism exposure).
    direct_cal, wfss_cal : pathlib.Path
        The same after AssignWcs, FlatField and Photom.
    truth : pathlib.Path
        Ground truth: ``SOURCES`` table, ``SPECTRA`` (wavelength grid and F_lambda of each
        source), ``CR_DIRECT`` / ``CR_WFSS`` cosmic-ray tables.
    grismconf_file : pathlib.Path
        The demo grism as a plain grismconf ``.conf`` file.
    reference_files : dict of str to pathlib.Path
        The demo instrument's reference files.
    crds_path : pathlib.Path
        The offline CRDS cache used to calibrate it.
    manifest : dict
        Version, seed, generation time and file sizes/checksums.
    """

    directory: Path
    direct_rate: Path
    wfss_rate: Path
    direct_cal: Path
    wfss_cal: Path
    truth: Path
    grismconf_file: Path
    reference_files: dict = field(default_factory=dict)
    crds_path: Path | None = None
    manifest: dict = field(default_factory=dict)

    def sources(self) -> Table:
        """The ground-truth source table (positions in both images, spectral parameters)."""
        return Table.read(self.truth, hdu="SOURCES")

    def source(self, source_id: int):
        """The truth-table row of one source."""
        sources = self.sources()
        match = sources[sources["id"] == source_id]
        if len(match) != 1:
            raise KeyError(f"No source with id {source_id}; the demo ids are 1..{len(sources)}.")
        return match[0]

    def true_trace(self, source_id: int, order: int, wavelength):
        """Where the demo instrument put a source's spectrum: ``(x, y)`` at ``wavelength``.

        Computed from the demo instrument's own polynomials and the analytic inverse of
        its DISPL, independently of grismconf and of the pipeline.

        Parameters
        ----------
        source_id : int
        order : int
        wavelength : `~astropy.units.Quantity` or array_like (micron)

        Returns
        -------
        x, y : numpy.ndarray
        """
        from astropy import units as u

        row = self.source(source_id)
        x0, y0 = float(row["x0_wfss"]), float(row["y0_wfss"])
        lam = u.Quantity(wavelength, u.micron).value
        t = inst.true_t_from_wavelength(order, x0, y0, lam)
        coeffs = inst.dispersion_coefficients(order)
        return (
            x0 + inst.evaluate_dispersion(coeffs["DISPX"], x0, y0, t),
            y0 + inst.evaluate_dispersion(coeffs["DISPY"], x0, y0, t),
        )

    def true_spectrum(self, source_id: int):
        """Wavelength (micron) and true F_lambda (erg/s/cm²/Å) of one source."""
        with fits.open(self.truth) as hdul:
            wave = np.array(hdul["SPECTRA"].data["wavelength"][0], dtype=float)
            ids = list(hdul["SPECTRA"].data["id"])
            if source_id not in ids:
                raise KeyError(f"No source with id {source_id}; the demo ids are {min(ids)}..{max(ids)}.")
            flam = np.array(hdul["SPECTRA"].data["flam"][ids.index(source_id)], dtype=float)
        return wave, flam


def default_cache_dir() -> Path:
    """Where the demo dataset lives: ``$WFSS_HELPERS_CACHE`` or the user cache directory.

    Returns
    -------
    pathlib.Path
    """
    env = os.environ.get("WFSS_HELPERS_CACHE")
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("wfss_helpers"))


def _data_sha256(path):
    """Checksum of a file's SCI, ERR and DQ arrays (headers carry creation dates)."""
    digest = hashlib.sha256()
    with fits.open(path) as hdul:
        for name in ("SCI", "ERR", "DQ"):
            digest.update(np.ascontiguousarray(hdul[name].data).tobytes())
    return digest.hexdigest()


def _dataset_from_directory(directory: Path, manifest: dict) -> DemoDataset:
    refs = {key: directory / "reference_files" / name for key, name in inst.REFERENCE_FILE_NAMES.items()}
    return DemoDataset(
        directory=directory,
        grismconf_file=directory / "grismconf" / manifest["grismconf_file"],
        reference_files=refs,
        crds_path=directory / "crds_offline",
        manifest=manifest,
        **{key: directory / name for key, name in _FILES.items()},
    )


def _read_manifest(directory: Path):
    path = directory / "manifest.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return None


def load_demo_dataset(cache_dir=None, *, seed: int = DEMO_SEED, rebuild: bool = False) -> DemoDataset:
    """Return the demo dataset, generating it first if it is not in the cache.

    Parameters
    ----------
    cache_dir : str or pathlib.Path, optional
        Parent directory of the dataset; default :func:`default_cache_dir`. The dataset
        itself goes into a sub-directory named after the generator version and seed.
    seed : int, optional
        Seed of the scene and noise. The same seed gives identical files.
    rebuild : bool, optional
        Regenerate even if a complete dataset exists.

    Returns
    -------
    DemoDataset
    """
    from .file_checks import writable_directory

    cache_dir = writable_directory(cache_dir if cache_dir is not None else default_cache_dir(), "demo-data cache")
    directory = cache_dir / f"nircam_wfss_demo_v{DEMO_VERSION}_seed{seed}"
    manifest = _read_manifest(directory)
    if manifest is not None and not rebuild and manifest.get("version") == DEMO_VERSION:
        dataset = _dataset_from_directory(directory, manifest)
        if all(Path(getattr(dataset, key)).exists() for key in _FILES):
            return dataset
    if directory.exists():
        # Only ever our own sub-directory (its name carries the generator's version).
        log.info("Removing incomplete or outdated demo dataset at %s", directory)
        shutil.rmtree(directory)
    return build_demo_dataset(directory, seed=seed)


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
        model.meta.filename = _FILES[f"{kind}_rate"]
        model.save(directory / _FILES[f"{kind}_rate"])
        model.close()

    _write_truth(directory / _FILES["truth"], catalog, cr_tables, seed)

    crds_path = directory / "crds_offline"
    configure_offline_crds(crds_path)
    calibrate_imaging(
        directory / _FILES["direct_rate"],
        {"distortion": refs["distortion"], "flat": refs["flat"], "photom": refs["photom_imaging"]},
        output=directory / _FILES["direct_cal"],
    ).close()
    calibrate_wfss(
        directory / _FILES["wfss_rate"],
        {
            "distortion": refs["distortion"],
            "specwcs": refs["specwcs"],
            "flat": refs["flat"],
            "photom": refs["photom_wfss"],
        },
        output=directory / _FILES["wfss_cal"],
    ).close()

    files = sorted(p for p in directory.rglob("*") if p.is_file())
    manifest = {
        "version": DEMO_VERSION,
        "seed": seed,
        "label": inst.DEMO_LABEL,
        "grismconf_file": conf.name,
        "generation_seconds": round(time.perf_counter() - start, 2),
        "total_bytes": int(sum(p.stat().st_size for p in files)),
        "files": {
            str(p.relative_to(directory)): {"bytes": p.stat().st_size}
            for p in files
        },
        "data_sha256": {
            key: _data_sha256(directory / name) for key, name in _FILES.items() if key != "truth"
        },
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2))
    log.info("Demo dataset generated in %.1f s at %s", manifest["generation_seconds"], directory)
    return _dataset_from_directory(directory, manifest)


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


def main(argv=None):
    """Command line: generate (or find) the demo dataset and print its files."""
    import argparse

    parser = argparse.ArgumentParser(description="Generate the embedded NIRCam WFSS demo dataset.")
    parser.add_argument("--cache-dir", default=None, help="parent directory (default: %(default)s -> user cache)")
    parser.add_argument("--seed", type=int, default=DEMO_SEED)
    parser.add_argument("--rebuild", action="store_true", help="regenerate even if cached")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    dataset = load_demo_dataset(args.cache_dir, seed=args.seed, rebuild=args.rebuild)
    print(f"Demo dataset: {dataset.directory}")
    print(f"  generated in {dataset.manifest['generation_seconds']} s, {dataset.manifest['total_bytes'] / 1e6:.0f} MB")
    for key in _FILES:
        print(f"  {key:12s} {getattr(dataset, key).name}")
    print(f"  grismconf    {dataset.grismconf_file.relative_to(dataset.directory)}")


if __name__ == "__main__":
    main()
