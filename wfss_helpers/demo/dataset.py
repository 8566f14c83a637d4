"""The embedded demo dataset: find it in the cache, or have it generated, and read its truth.

:func:`load_demo_dataset` returns a :class:`DemoDataset` (the paths of a synthetic NIRCam
WFSS dataset and its ground truth), generating it on first use with
:func:`wfss_helpers.demo.build.build_demo_dataset`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from . import instrument as inst

__all__ = ["DEMO_VERSION", "DEMO_SEED", "DemoDataset", "default_cache_dir", "load_demo_dataset"]

log = logging.getLogger(__name__)

#: Bump when the generator changes, so old caches are not reused.
DEMO_VERSION = 1
#: Default seed of the scene and noise.
DEMO_SEED = 2024

FILES = {
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


def dataset_from_directory(directory: Path, manifest: dict) -> DemoDataset:
    refs = {key: directory / "reference_files" / name for key, name in inst.REFERENCE_FILE_NAMES.items()}
    return DemoDataset(
        directory=directory,
        grismconf_file=directory / "grismconf" / manifest["grismconf_file"],
        reference_files=refs,
        crds_path=directory / "crds_offline",
        manifest=manifest,
        **{key: directory / name for key, name in FILES.items()},
    )


def write_manifest(directory: Path, *, seed: int, grismconf_file: str, generation_seconds: float) -> dict:
    """Write ``manifest.json``, last, which marks a generated dataset complete.

    Returns
    -------
    dict
        The manifest.
    """
    files = sorted(p for p in directory.rglob("*") if p.is_file())
    manifest = {
        "version": DEMO_VERSION,
        "seed": seed,
        "label": inst.DEMO_LABEL,
        "grismconf_file": grismconf_file,
        "generation_seconds": generation_seconds,
        "total_bytes": int(sum(p.stat().st_size for p in files)),
        "files": {str(p.relative_to(directory)): {"bytes": p.stat().st_size} for p in files},
        "data_sha256": {key: _data_sha256(directory / name) for key, name in FILES.items() if key != "truth"},
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


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
    from ..file_checks import writable_directory

    cache_dir = writable_directory(cache_dir if cache_dir is not None else default_cache_dir(), "demo-data cache")
    directory = cache_dir / f"nircam_wfss_demo_v{DEMO_VERSION}_seed{seed}"
    manifest = _read_manifest(directory)
    if manifest is not None and not rebuild and manifest.get("version") == DEMO_VERSION:
        dataset = dataset_from_directory(directory, manifest)
        if all(Path(getattr(dataset, key)).exists() for key in FILES):
            return dataset
    if directory.exists():
        # Only ever our own sub-directory (its name carries the generator's version).
        log.info("Removing incomplete or outdated demo dataset at %s", directory)
        shutil.rmtree(directory)
    from .build import build_demo_dataset

    return build_demo_dataset(directory, seed=seed)


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
    for key in FILES:
        print(f"  {key:12s} {getattr(dataset, key).name}")
    print(f"  grismconf    {dataset.grismconf_file.relative_to(dataset.directory)}")


if __name__ == "__main__":
    main()
