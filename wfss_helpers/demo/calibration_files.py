"""The demo instrument written as files: the pipeline's reference files and grismconf.

.. warning::
   These are files of the **demo instrument made for teaching**
   (:mod:`wfss_helpers.demo.instrument`), **not a JWST calibration**. Never use them on
   real data.

The same trace and sensitivity, two ways:

* :func:`write_reference_files` writes the reference files the jwst pipeline reads, with
  the ``stdatamodels`` classes it reads them with: specwcs (with its inverse models),
  distortion, flat, imaging and WFSS photom, wavelength range, WFSS background, imaging
  aperture corrections and the AB - Vega offset; :func:`reference_files_for` picks those
  of one grism exposure;
* :func:`write_grismconf_files` writes plain grismconf ``.conf`` files (Pirzkal & Ryan
  2017) with their sensitivity tables (:func:`grismconf_file_name` names them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.modeling import models

from ..extraction.flux_calibration import relresponse_from_sensitivity
from ..geometry.sensitivity import SENSITIVITY_UNIT
from .instrument import (
    DEMO_LABEL,
    DETECTOR,
    DETECTOR_SHAPE,
    FILTER,
    GRISM,
    GRISMS,
    IMAGING_PHOTMJSR,
    ORDERS,
    PIXEL_AREA_SR,
    PIXEL_SCALE_ARCSEC,
    WFSS_PHOTMJSR,
    _check_grism,
    dispersed_sky,
    dispersion_coefficients,
    distortion_model,
    encircled_energy,
    evaluate_dispersion,
    flat_field,
    sensitivity,
    set_full_frame,
)

__all__ = [
    "write_reference_files",
    "reference_files_for",
    "write_grismconf_files",
]

# Wavelength grid (micron) on which the sensitivity tables are tabulated.
_SENS_GRID_UM = np.round(np.arange(2.90, 4.2001, 0.002), 6)


def _polynomial2d_from_row(row):
    """grismconf field coefficients ``(1, x, y, x², xy, y²)`` -> a Polynomial2D."""
    c00, c10, c01, c20, c11, c02 = (float(v) for v in row)
    return models.Polynomial2D(
        2, c0_0=c00, c1_0=c10, c0_1=c01, c2_0=c20, c1_1=c11, c0_2=c02
    )


def _common_meta(model, reftype, description):
    """The metadata every demo reference file shares (type, pedigree, instrument)."""
    model.meta.reftype = reftype
    model.meta.author = "wfss_helpers demo generator"
    model.meta.pedigree = "DUMMY"
    model.meta.useafter = "2022-01-01T00:00:00"
    model.meta.description = f"{DEMO_LABEL}. {description}"
    model.meta.telescope = "JWST"
    model.meta.instrument.name = "NIRCAM"
    model.meta.instrument.detector = DETECTOR
    model.meta.instrument.module = "A"
    model.meta.instrument.channel = "LONG"


def _along_and_inverse(values):
    """The offset along the dispersion, ``c0 + c1 t``: Polynomial1D and inverse."""
    c0, c1 = (float(v) for v in values)
    forward = models.Polynomial1D(1, c0=c0, c1=c1)
    inverse = models.Polynomial1D(1, c0=-c0 / c1, c1=1.0 / c1)
    return forward, inverse


def _write_specwcs(path, grism):
    """The specwcs of one grism, shaped like NIRCam's: per order, the offset along the
    dispersion as one Polynomial1D of ``t`` with its inverse (``invdispx`` for GRISMR,
    ``invdispy`` for GRISMC), DISPL and the offset across the dispersion as lists of
    Polynomial2D of the field position, one per power of ``t``."""
    from stdatamodels.jwst.datamodels import NIRCAMGrismModel

    displ, dispx, dispy, inv_along = [], [], [], []
    for order in ORDERS:
        coeffs = dispersion_coefficients(order, grism)
        along_key, across_key = (
            ("DISPX", "DISPY") if grism == "GRISMR" else ("DISPY", "DISPX")
        )
        forward, inverse = _along_and_inverse(coeffs[along_key][:, 0])
        across = [_polynomial2d_from_row(r) for r in coeffs[across_key]]
        displ.append([_polynomial2d_from_row(r) for r in coeffs["DISPL"]])
        inv_along.append(inverse)
        if grism == "GRISMR":
            dispx.append([forward])
            dispy.append(across)
        else:
            dispx.append(across)
            dispy.append([forward])
    with NIRCAMGrismModel(strict_validation=True) as model:
        _common_meta(model, "specwcs", f"{grism} trace and dispersion polynomials.")
        model.meta.instrument.filter = FILTER
        model.meta.instrument.pupil = grism
        model.meta.exposure.type = "NRC_WFSS"
        model.meta.input_units = u.micron
        model.meta.output_units = u.micron
        model.displ = displ
        model.dispx = dispx
        model.dispy = dispy
        model.invdispl = None
        model.invdispx = inv_along if grism == "GRISMR" else None
        model.invdispy = inv_along if grism == "GRISMC" else None
        model.orders = list(ORDERS)
        model.validate()
        model.save(path)


def _write_wavelengthrange(path):
    """Wavelength limits of each order (what the pipeline's WFSS steps extract)."""
    from stdatamodels.jwst.datamodels import WavelengthrangeModel

    wrange = []
    for order in ORDERS:
        displ = dispersion_coefficients(order)["DISPL"]
        lam = evaluate_dispersion(displ, 1024, 1024, [0, 1])
        wrange.append([order, FILTER, round(float(lam[0]), 3), round(float(lam[1]), 3)])
    with WavelengthrangeModel(strict_validation=True) as model:
        _common_meta(model, "wavelengthrange", "Wavelength range of each WFSS order.")
        model.meta.exposure.type = "NRC_WFSS"
        model.meta.exposure.p_exptype = "NRC_WFSS|NRC_TSGRISM|"
        model.meta.instrument.filter = "N/A"
        model.meta.instrument.pupil = "N/A"
        model.meta.wavelength_units = "micron"
        model.wavelengthrange = wrange
        model.order = list(ORDERS)
        model.extract_orders = [[FILTER, [1]]]
        model.validate()
        model.save(path)


def _write_wfss_background(path, grism):
    """The normalised shape of the dispersed sky (:func:`dispersed_sky`)."""
    from stdatamodels.jwst.datamodels import WfssBkgModel

    with WfssBkgModel(strict_validation=True) as model:
        _common_meta(
            model, "bkg", f"Normalised {grism} WFSS background (dispersed sky)."
        )
        model.meta.instrument.filter = FILTER
        model.meta.instrument.pupil = grism
        model.meta.exposure.type = "NRC_WFSS"
        set_full_frame(model.meta)
        model.data = dispersed_sky(grism, level=1.0).astype(np.float32)
        model.validate()
        model.save(path)


def _write_distortion(path):
    from stdatamodels.jwst.datamodels import DistortionModel

    with DistortionModel(strict_validation=True) as model:
        _common_meta(model, "distortion", "Detector to V2/V3 distortion.")
        model.model = distortion_model()
        model.meta.instrument.filter = "N/A"
        model.meta.instrument.pupil = "N/A"
        model.meta.instrument.p_pupil = "CLEAR|GRISMR|GRISMC|"
        model.meta.exposure.type = "NRC_IMAGE"
        model.meta.exposure.p_exptype = "NRC_IMAGE|NRC_WFSS|NRC_TSIMAGE|NRC_TSGRISM|"
        set_full_frame(model.meta)
        model.meta.input_units = u.pix
        model.meta.output_units = u.arcsec
        model.validate()
        model.save(path)


def _write_flat(path, seed):
    from stdatamodels.jwst.datamodels import FlatModel

    with FlatModel(strict_validation=True) as model:
        _common_meta(model, "flat", "Imaging flat, used for the grism exposure too.")
        model.meta.instrument.filter = FILTER
        model.meta.instrument.pupil = "CLEAR"
        model.meta.exposure.type = "NRC_IMAGE"
        set_full_frame(model.meta)
        model.data = flat_field(seed)
        model.err = np.full(DETECTOR_SHAPE, 0.001, dtype=np.float32)
        model.dq = np.zeros(DETECTOR_SHAPE, dtype=np.uint32)
        model.validate()
        model.save(path)


def _write_imaging_photom(path):
    from stdatamodels.jwst.datamodels import NrcImgPhotomModel

    table = np.array(
        [(FILTER, "CLEAR", IMAGING_PHOTMJSR, 0.01 * IMAGING_PHOTMJSR)],
        dtype=[
            ("filter", "S12"),
            ("pupil", "S15"),
            ("photmjsr", "<f4"),
            ("uncertainty", "<f4"),
        ],
    )
    with NrcImgPhotomModel(strict_validation=True) as model:
        _common_meta(model, "photom", "Imaging photometric conversion.")
        model.meta.exposure.type = "NRC_IMAGE"
        model.meta.exposure.p_exptype = "NRC_IMAGE|NRC_TSIMAGE|"
        model.meta.photometry.pixelarea_steradians = PIXEL_AREA_SR
        model.meta.photometry.pixelarea_arcsecsq = PIXEL_SCALE_ARCSEC**2
        model.phot_table = table
        model.validate()
        model.save(path)


def _write_wfss_photom(path):
    from stdatamodels.jwst.datamodels import NrcWfssPhotomModel

    nelem = _SENS_GRID_UM.size
    rows = []
    for grism, order in ((g, o) for g in GRISMS for o in ORDERS):
        s = sensitivity(_SENS_GRID_UM, order, grism)
        rel = relresponse_from_sensitivity(
            _SENS_GRID_UM * u.micron,
            s * SENSITIVITY_UNIT,
            photmjsr=WFSS_PHOTMJSR,
            pixel_area_sr=PIXEL_AREA_SR,
        )
        rows.append(
            (
                FILTER,
                grism,
                order,
                WFSS_PHOTMJSR,
                0.01 * WFSS_PHOTMJSR,
                nelem,
                _SENS_GRID_UM.astype(np.float32),
                rel.astype(np.float32),
                (0.01 * rel).astype(np.float32),
            )
        )
    table = np.array(
        rows,
        dtype=[
            ("filter", "S12"),
            ("pupil", "S15"),
            ("order", "<i2"),
            ("photmjsr", "<f4"),
            ("uncertainty", "<f4"),
            ("nelem", "<i2"),
            ("wavelength", "<f4", (nelem,)),
            ("relresponse", "<f4", (nelem,)),
            ("reluncertainty", "<f4", (nelem,)),
        ],
    )
    with NrcWfssPhotomModel(strict_validation=True) as model:
        _common_meta(model, "photom", "WFSS sensitivity (relresponse) per order.")
        model.meta.exposure.type = "NRC_WFSS"
        model.meta.exposure.p_exptype = "NRC_WFSS|NRC_TSGRISM|"
        model.meta.photometry.pixelarea_steradians = PIXEL_AREA_SR
        model.meta.photometry.pixelarea_arcsecsq = PIXEL_SCALE_ARCSEC**2
        # The relresponse is per Angstrom of dispersion: the unit the pipeline's
        # PhotomStep converts from (grismconf ignores it).
        model.phot_unit = "MJy Angstrom s / (DN sr)"
        model.wave_unit = "micron"
        model.phot_table = table
        model.validate()
        model.save(path)


def _write_imaging_apcorr(path):
    """Imaging aperture corrections (radii of given encircled energy of the demo PSF),
    which the pipeline's SourceCatalogStep reads."""
    from scipy.optimize import brentq
    from stdatamodels.jwst.datamodels import NrcImgApcorrModel

    rows = []
    for fraction in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        radius = brentq(lambda r: encircled_energy(r) - fraction, 1e-3, 200.0)
        rows.append((FILTER, "CLEAR", fraction, radius, 1.0 / fraction, 40.0, 50.0))
    table = np.array(
        rows,
        dtype=[
            ("filter", "S12"),
            ("pupil", "S15"),
            ("eefraction", "<f4"),
            ("radius", "<f4"),
            ("apcorr", "<f4"),
            ("skyin", "<f4"),
            ("skyout", "<f4"),
        ],
    )
    with NrcImgApcorrModel(strict_validation=True) as model:
        _common_meta(model, "apcorr", "Imaging aperture corrections of the demo PSF.")
        model.meta.exposure.type = "NRC_IMAGE"
        model.meta.exposure.p_exptype = "NRC_IMAGE|"
        model.apcorr_table = table
        model.validate()
        model.save(path)


def _write_abvega_offset(path):
    """AB - Vega magnitude offset of the demo F356W (SourceCatalogStep reads it)."""
    from astropy.table import Table
    from stdatamodels.jwst.datamodels import ABVegaOffsetModel

    with ABVegaOffsetModel(strict_validation=True) as model:
        _common_meta(model, "abvegaoffset", "AB - Vega offset.")
        model.abvega_offset = Table(
            {
                "filter": [FILTER],
                "pupil": ["CLEAR"],
                "abvega_offset": np.array([1.83], dtype=np.float32),
            }
        )
        model.validate()
        model.save(path)


#: File names of the reference files, by role.
REFERENCE_FILE_NAMES = {
    "specwcs": "demo_nircam_specwcs_grismr_f356w.asdf",
    "specwcs_grismc": "demo_nircam_specwcs_grismc_f356w.asdf",
    "distortion": "demo_nircam_distortion_nrcalong.asdf",
    "flat": "demo_nircam_flat_nrcalong_f356w_clear.fits",
    "photom_imaging": "demo_nircam_photom_image_nrcalong.fits",
    "photom_wfss": "demo_nircam_photom_wfss_nrcalong.fits",
    "wavelengthrange": "demo_nircam_wavelengthrange.asdf",
    "bkg": "demo_nircam_wfssbkg_grismr_f356w.fits",
    "bkg_grismc": "demo_nircam_wfssbkg_grismc_f356w.fits",
    "apcorr": "demo_nircam_apcorr_image_nrcalong.fits",
    "abvegaoffset": "demo_nircam_abvegaoffset_nrcalong.asdf",
}


def reference_files_for(grism: str, paths: dict) -> dict:
    """The reference files of one grism exposure, by the pipeline's reference type.

    Parameters
    ----------
    grism : {"GRISMR", "GRISMC"}
    paths : dict
        As returned by :func:`write_reference_files`.

    Returns
    -------
    dict of str to pathlib.Path
        ``distortion``, ``specwcs``, ``flat``, ``photom``, ``wavelengthrange``, ``bkg``.
    """
    suffix = "" if _check_grism(grism) == "GRISMR" else "_grismc"
    return {
        "distortion": paths["distortion"],
        "specwcs": paths["specwcs" + suffix],
        "flat": paths["flat"],
        "photom": paths["photom_wfss"],
        "wavelengthrange": paths["wavelengthrange"],
        "bkg": paths["bkg" + suffix],
    }


def write_reference_files(directory, *, flat_seed: int = 1076) -> dict[str, Path]:
    """Write the demo instrument's reference files with the ``stdatamodels`` classes.

    Parameters
    ----------
    directory : str or pathlib.Path
        Output directory (created if needed). Existing files of the same names are
        replaced: the directory is a cache owned by the demo generator.
    flat_seed : int, optional
        Seed of the flat's pixel-to-pixel pattern.

    Returns
    -------
    dict of str to pathlib.Path
        Keys as in :data:`REFERENCE_FILE_NAMES`.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {key: directory / name for key, name in REFERENCE_FILE_NAMES.items()}
    _write_specwcs(paths["specwcs"], "GRISMR")
    _write_specwcs(paths["specwcs_grismc"], "GRISMC")
    _write_distortion(paths["distortion"])
    _write_flat(paths["flat"], flat_seed)
    _write_imaging_photom(paths["photom_imaging"])
    _write_wfss_photom(paths["photom_wfss"])
    _write_wavelengthrange(paths["wavelengthrange"])
    _write_wfss_background(paths["bkg"], "GRISMR")
    _write_wfss_background(paths["bkg_grismc"], "GRISMC")
    _write_imaging_apcorr(paths["apcorr"])
    _write_abvega_offset(paths["abvegaoffset"])
    return paths


def _conf_row(values):
    return " ".join(f"{float(v):.12e}" for v in values)


def _conf_rows(key, name, rows):
    """grismconf lines of one polynomial: one coefficient where it is field-free."""
    field_free = np.all(rows[:, 1:] == 0)
    return [
        f"{key}_{name}_{k} {_conf_row(row[:1] if field_free else row)}"
        for k, row in enumerate(rows)
    ]


def grismconf_file_name(grism: str = GRISM) -> str:
    """File name of the grismconf ``.conf`` file of one demo grism."""
    return f"DEMO_NIRCAM_{FILTER}_modA_{_check_grism(grism)[-1]}.conf"


def _sensitivity_table_name(grism: str, order: int) -> str:
    """File name of the sensitivity table of one order of a demo grism."""
    return f"DEMO_NIRCAM_{FILTER}_modA_{grism[-1]}_order{order:+d}_sensitivity.fits"


def _write_sensitivity_table(path, order, grism):
    """The sensitivity of one order as the FITS table grismconf reads."""
    sens = sensitivity(_SENS_GRID_UM, order, grism)
    columns = [
        fits.Column(
            name="WAVELENGTH", format="D", unit="micron", array=_SENS_GRID_UM
        ),
        fits.Column(
            name="SENSITIVITY",
            format="D",
            unit="DN/s per erg/s/cm2/Angstrom",
            array=sens,
        ),
        fits.Column(name="ERROR", format="D", array=0.01 * sens),
    ]
    hdu = fits.BinTableHDU.from_columns(columns)
    hdu.header["COMMENT"] = DEMO_LABEL
    hdu.writeto(path, overwrite=True)


def _conf_lines(grism):
    """The lines of the ``.conf`` file of one demo grism (every order)."""
    lines = [
        f"# {DEMO_LABEL}",
        "# Grism configuration (Pirzkal & Ryan 2017 format) of the demo NIRCam LW "
        "module A",
        f"# {grism} + {FILTER}. Offsets are in pixels, wavelengths in micron.",
        "INSTRUMENT NIRCAM",
        f"FILTER {FILTER}",
        "CAMERA LONG",
        "NAXIS 2048 2048",
        "",
    ]
    for order in ORDERS:
        name = f"{order:+d}"
        coeffs = dispersion_coefficients(order, grism)
        lines.append(f"BEAM_{name}")
        for key in ("DISPX", "DISPY", "DISPL"):
            lines += _conf_rows(key, name, coeffs[key])
        lines.append(f"SENSITIVITY_{name} {_sensitivity_table_name(grism, order)}")
        lines.append("")
    return lines


def write_grismconf_files(directory) -> dict[str, Path]:
    """Write the demo grisms as plain grismconf ``.conf`` files plus sensitivity tables.

    Parameters
    ----------
    directory : str or pathlib.Path
        Output directory (created if needed).

    Returns
    -------
    dict of str to pathlib.Path
        The ``.conf`` file of each grism (``"GRISMR"``, ``"GRISMC"``);
        ``grismconf.Config(path)`` reads it.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for grism in GRISMS:
        for order in ORDERS:
            table = directory / _sensitivity_table_name(grism, order)
            _write_sensitivity_table(table, order, grism)
        conf_path = directory / grismconf_file_name(grism)
        conf_path.write_text("\n".join(_conf_lines(grism)) + "\n")
        written[grism] = conf_path
    return written
