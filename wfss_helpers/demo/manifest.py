"""What a generated demo dataset holds: its files, its manifest, and the paths to them.

Both sides of the demo dataset use this module: the builder
(:mod:`wfss_helpers.demo.build`) writes the files named in :data:`FILES` and, last,
the manifest (:func:`write_manifest`); the cache (:mod:`wfss_helpers.demo.dataset`)
reads the manifest back to check a dataset and returns a :class:`DemoDataset`. Keeping
them here lets the cache call the builder, and not the other way round.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from . import instrument as inst
from .calibration_files import REFERENCE_FILE_NAMES, grismconf_file_name

__all__ = [
    "DEMO_VERSION",
    "DEMO_SEED",
    "FILES",
    "MANIFEST_NAME",
    "DemoDataset",
    "dataset_from_directory",
    "make_relocatable",
    "write_manifest",
]


#: Bump when the generator changes, so old caches are not reused.
DEMO_VERSION = 3


#: Default seed of the scene and noise.
DEMO_SEED = 2024


#: Name of the manifest, written last: its presence marks a dataset complete.
MANIFEST_NAME = "manifest.json"


FILES = {
    "direct_rate": "demo_nrcalong_f356w_clear_rate.fits",
    "wfss_rate": "demo_nrcalong_f356w_grismr_rate.fits",
    "direct_cal": "demo_nrcalong_f356w_clear_cal.fits",
    "wfss_cal": "demo_nrcalong_f356w_grismr_cal.fits",
    "grismc_rate": "demo_nrcalong_f356w_grismc_rate.fits",
    "grismc_cal": "demo_nrcalong_f356w_grismc_cal.fits",
    "truth": "demo_truth.fits",
}


#: Truth-table columns of the undispersed source positions in each grism exposure.
POSITION_COLUMNS = {
    "GRISMR": ("x0_wfss", "y0_wfss"),
    "GRISMC": ("x0_grismc", "y0_grismc"),
}


@dataclass(frozen=True)
class DemoDataset:
    """Paths of a generated demo dataset.

    Attributes
    ----------
    directory : pathlib.Path
        The dataset's directory.
    direct_rate, wfss_rate, grismc_rate : pathlib.Path
        The synthetic ``_rate.fits`` files: direct image, GRISMR exposure, GRISMC
        exposure of the same field.
    direct_cal, wfss_cal, grismc_cal : pathlib.Path
        The same after AssignWcs, FlatField and Photom.
    truth : pathlib.Path
        Ground truth: ``SOURCES`` table (positions in every exposure, spectral parameters,
        aperture fractions, blended neighbours), ``SPECTRA`` (wavelength grid and F_lambda
        of each source), ``CR_DIRECT`` / ``CR_WFSS`` / ``CR_GRISMC`` cosmic-ray tables.
    grismconf_file : pathlib.Path
        The demo GRISMR as a plain grismconf ``.conf`` file (:meth:`grismconf_file_for`
        gives either grism's).
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
    grismc_rate: Path
    grismc_cal: Path
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
            raise KeyError(
                f"No source with id {source_id}; the demo ids are 1..{len(sources)}."
            )
        return match[0]

    def blended_with(self, source_id: int, grism: str = "GRISMR") -> list[int]:
        """Ids of the sources whose order +1 trace falls on this one's in a grism.

        From the truth table: traces overlapping along the dispersion and within 16 px
        of each other across it (two +-8 px apertures).
        """
        value = self.source(source_id)[f"blends_{grism.lower()}"]
        text = "" if np.ma.is_masked(value) else str(value)
        return [int(v) for v in text.split(",") if v.strip()]

    def grismconf_file_for(self, grism: str = "GRISMR") -> Path:
        """The plain grismconf ``.conf`` file of one demo grism."""
        return self.grismconf_file.parent / grismconf_file_name(grism)

    def cal_file_for(self, grism: str = "GRISMR") -> Path:
        """The calibrated exposure of one demo grism (``wfss_cal`` or ``grismc_cal``)."""
        inst.dispersion_axis(grism)  # checks the name
        return self.wfss_cal if grism == "GRISMR" else self.grismc_cal

    def true_trace(self, source_id: int, order: int, wavelength, grism: str = "GRISMR"):
        """Where the demo instrument put a source's spectrum: ``(x, y)`` at ``wavelength``.

        Computed from the demo instrument's own polynomials and the analytic inverse of
        its DISPL, independently of grismconf and of the pipeline.

        Parameters
        ----------
        source_id : int
        order : int
        wavelength : `~astropy.units.Quantity` or array_like (micron)
        grism : {"GRISMR", "GRISMC"}, optional
            Which exposure.

        Returns
        -------
        x, y : numpy.ndarray
        """
        from astropy import units as u

        row = self.source(source_id)
        xcol, ycol = POSITION_COLUMNS[grism]
        x0, y0 = float(row[xcol]), float(row[ycol])
        lam = u.Quantity(wavelength, u.micron).value
        t = inst.true_t_from_wavelength(order, x0, y0, lam, grism)
        dx, dy, _ = inst.trace_offsets(order, x0, y0, t, grism)
        return x0 + dx, y0 + dy

    def true_spectrum(self, source_id: int):
        """Wavelength (micron) and true F_lambda (erg/s/cm²/Å) of one source."""
        with fits.open(self.truth) as hdul:
            wave = np.array(hdul["SPECTRA"].data["wavelength"][0], dtype=float)
            ids = list(hdul["SPECTRA"].data["id"])
            if source_id not in ids:
                raise KeyError(
                    f"No source with id {source_id}; the demo ids are {min(ids)}..{max(ids)}."
                )
            flam = np.array(
                hdul["SPECTRA"].data["flam"][ids.index(source_id)], dtype=float
            )
        return wave, flam


def _data_sha256(path):
    """Checksum of a file's SCI, ERR and DQ arrays (headers carry creation dates)."""
    digest = hashlib.sha256()
    with fits.open(path) as hdul:
        for name in ("SCI", "ERR", "DQ"):
            digest.update(np.ascontiguousarray(hdul[name].data).tobytes())
    return digest.hexdigest()


def _file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def dataset_from_directory(directory: Path, manifest: dict) -> DemoDataset:
    directory = Path(directory)
    refs = {
        key: directory / "reference_files" / name
        for key, name in REFERENCE_FILE_NAMES.items()
    }
    return DemoDataset(
        directory=directory,
        grismconf_file=directory / "grismconf" / manifest["grismconf_file"],
        reference_files=refs,
        crds_path=directory / "crds_offline",
        manifest=manifest,
        **{key: directory / name for key, name in FILES.items()},
    )


def _recorded_path(name):
    """The absolute path in a recorded reference-file name, or None for a bare name."""
    if not isinstance(name, str):
        return None
    path = name.removeprefix("crds://")
    return path if Path(path).is_absolute() else None


def make_relocatable(directory) -> list[Path]:
    """Make a generated dataset's FITS files name their reference files by name only.

    The jwst steps record each reference file given to them (``R_*`` keywords, and
    ``meta.ref_file`` in the data model) as the path given: an absolute path of the
    machine, and folder, where the dataset was generated. This rewrites each such name
    as ``crds://<file name>``, the form of the files CRDS chooses, which
    :func:`wfss_helpers.geometry.reference_files.local_reference_file` finds in the dataset's
    ``reference_files/`` folder wherever the dataset is. Files recording no absolute
    path are left alone, so a second call changes nothing. :func:`write_manifest` calls
    it.

    Parameters
    ----------
    directory : str or pathlib.Path
        A generated dataset, before its manifest is written (the files change).

    Returns
    -------
    list of pathlib.Path
        The files rewritten.
    """
    from stdatamodels.jwst import datamodels

    directory = Path(directory)
    changed = []
    for path in sorted(directory.glob("*.fits")):
        header = fits.getheader(path)
        if not any(
            key.startswith("R_") and _recorded_path(value)
            for key, value in header.items()
        ):
            continue
        # Saved under its own name (the model records it), in a folder of its own.
        staging = directory / f".relocating-{uuid.uuid4().hex[:12]}"
        staging.mkdir()
        try:
            with datamodels.open(path) as model:
                for reftype, entry in model.meta.ref_file.instance.items():
                    recorded = (
                        _recorded_path(entry.get("name"))
                        if isinstance(entry, dict)
                        else None
                    )
                    if recorded:
                        getattr(model.meta.ref_file, reftype).name = (
                            "crds://" + Path(recorded).name
                        )
                model.save(staging / path.name)
            os.replace(staging / path.name, path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        changed.append(path)
    return changed


def write_manifest(
    directory: Path, *, seed: int, grismconf_file: str, generation_seconds: float
) -> dict:
    """Write ``manifest.json``, last, which marks a generated dataset complete.

    First makes the dataset relocatable (:func:`make_relocatable`), then lists every
    file with its size and SHA-256 (checked by :func:`load_demo_dataset`).

    Returns
    -------
    dict
        The manifest.
    """
    directory = Path(directory)
    make_relocatable(directory)
    files = sorted(
        p for p in directory.rglob("*") if p.is_file() and p.name != MANIFEST_NAME
    )
    listing = {
        p.relative_to(directory).as_posix(): {
            "bytes": p.stat().st_size,
            "sha256": _file_sha256(p),
        }
        for p in files
    }
    manifest = {
        "version": DEMO_VERSION,
        "seed": seed,
        "label": inst.DEMO_LABEL,
        "grismconf_file": grismconf_file,
        "generation_seconds": generation_seconds,
        "total_bytes": int(sum(entry["bytes"] for entry in listing.values())),
        "files": listing,
        "data_sha256": {
            key: _data_sha256(directory / name)
            for key, name in FILES.items()
            if key != "truth"
        },
    }
    partial = directory / f".{MANIFEST_NAME}.partial"
    partial.write_text(json.dumps(manifest, indent=2))
    os.replace(partial, directory / MANIFEST_NAME)
    return manifest
