"""A self-made *demo* NIRCam LW module A grism instrument (GRISMR + F356W).

.. warning::
   Everything in this module is a **demo instrument made for teaching**. The numbers are
   chosen to look and behave like NIRCam's long-wavelength grism (about 10 Å per pixel in
   order +1, a tilted and slightly curved trace whose shape depends on the source position,
   a smooth sensitivity curve covering F356W), but they are **not a JWST calibration**.
   Never use these reference files on real data.

The instrument is described in the language of the grism configuration of Pirzkal & Ryan
(2017, WFC3 ISR 2017-01), which grismconf and the jwst pipeline both use: for a source at
direct-image position ``(x0, y0)`` and a free parameter ``t`` (``0 <= t <= 1`` covers the
order's wavelength range),

.. math::

   \\lambda = \\mathrm{DISPL}(x_0, y_0, t), \\quad
   \\Delta x = \\mathrm{DISPX}(x_0, y_0, t), \\quad
   \\Delta y = \\mathrm{DISPY}(x_0, y_0, t),

each a polynomial in ``t`` whose coefficients are themselves 2D polynomials of the field
position (terms ``1, x0, y0, x0², x0·y0, y0²``).

The module writes that instrument as real reference files (with the ``stdatamodels``
classes the pipeline reads) and as a plain grismconf ``.conf`` file with sensitivity tables,
so the tutorial can show both routes to the same trace.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.modeling import fitting, models

from ..flux_calibration import SENSITIVITY_UNIT, relresponse_from_sensitivity

__all__ = [
    "DEMO_LABEL",
    "DETECTOR_SHAPE",
    "FILTER",
    "GRISM",
    "ORDERS",
    "PIXEL_AREA_SR",
    "PIXEL_SCALE_ARCSEC",
    "V2_REF_ARCSEC",
    "V3_REF_ARCSEC",
    "V3_IDL_YANGLE_DEG",
    "VPARITY",
    "IMAGING_PHOTMJSR",
    "WFSS_PHOTMJSR",
    "dispersion_coefficients",
    "evaluate_dispersion",
    "true_t_from_wavelength",
    "sensitivity",
    "filter_throughput",
    "flat_field",
    "distortion_model",
    "write_reference_files",
    "write_grismconf_files",
]

DEMO_LABEL = "DEMO INSTRUMENT for the wfss_helpers tutorial - NOT a JWST calibration"

#: Full-frame detector shape (ny, nx).
DETECTOR_SHAPE = (2048, 2048)
#: Detector name, filter and grism of the demo instrument.
DETECTOR = "NRCALONG"
FILTER = "F356W"
GRISM = "GRISMR"
#: Spectral orders the demo grism has, and their grismconf names.
ORDERS = (1, 2)
#: Mean pixel scale (NIRCam LW is ~0.063 arcsec/pixel).
PIXEL_SCALE_ARCSEC = 0.0629
#: Nominal pixel solid angle, steradian.
PIXEL_AREA_SR = float((PIXEL_SCALE_ARCSEC * u.arcsec).to_value(u.rad) ** 2)
#: Reference point of the detector in the telescope (V2, V3) frame, arcsec; the ideal
#: frame's Y axis angle and parity (values of the order of NIRCam's NRCA5_FULL aperture).
V2_REF_ARCSEC = 86.10
V3_REF_ARCSEC = -493.23
V3_IDL_YANGLE_DEG = -0.55
VPARITY = -1
#: Reference pixel (0-based) at which the distortion model has its origin.
REFERENCE_PIXEL = (1023.5, 1023.5)

#: Imaging conversion, MJy/sr per DN/s (F356W/CLEAR).
IMAGING_PHOTMJSR = 0.15
#: WFSS conversion written in the WFSS photom table (the shape is in ``relresponse``).
WFSS_PHOTMJSR = 0.50
#: Peak sensitivity of order +1, DN/s per erg/s/cm^2/Angstrom.
PEAK_SENSITIVITY_ORDER1 = 2.0e16
#: Order +2 is much fainter than order +1.
ORDER2_EFFICIENCY = 0.02

# Wavelength grid (micron) on which the sensitivity tables are tabulated.
_SENS_GRID_UM = np.round(np.arange(2.90, 4.2001, 0.002), 6)

# Centre about which the field dependence is written (0-based pixels).
_FIELD_CENTRE = (1024.0, 1024.0)


def _centred_to_raw(a, b, c, d, e, f):
    """Expand ``a + b u + c v + d u^2 + e u v + f v^2`` (u = x - xc, v = y - yc).

    Returns the coefficients of ``1, x, y, x^2, x y, y^2`` (grismconf's order).
    """
    xc, yc = _FIELD_CENTRE
    return np.array(
        [
            a - b * xc - c * yc + d * xc**2 + e * xc * yc + f * yc**2,
            b - 2 * d * xc - e * yc,
            c - e * xc - 2 * f * yc,
            d,
            e,
            f,
        ]
    )


def dispersion_coefficients(order: int) -> dict[str, np.ndarray]:
    """Field-dependent trace polynomials of the demo grism for one order.

    Parameters
    ----------
    order : int
        Spectral order, ``1`` or ``2``.

    Returns
    -------
    dict
        Keys ``"DISPL"`` (wavelength, micron), ``"DISPX"`` and ``"DISPY"`` (offsets from the
        direct-image position, pixels). Each value is an array of shape ``(n_t, 6)``: row
        ``k`` holds the coefficients of ``t**k`` in grismconf's field order
        ``(1, x0, y0, x0**2, x0*y0, y0**2)``.

    Raises
    ------
    ValueError
        If the order is not one the demo grism has.

    Notes
    -----
    Order +1 runs from 3.05 micron at ``t = 0`` to ~4.07 micron at ``t = 1`` over ~1000
    pixels (about 10 Å per pixel), with the trace lying to the left of the source (negative
    ``DISPX``, as for NIRCam GRISMR in module A). Order +2 covers the same wavelengths at
    twice the dispersion (about 5 Å per pixel), twice as far from the source.
    """
    if order not in ORDERS:
        raise ValueError(
            f"The demo grism has orders {ORDERS}; order {order!r} does not exist. "
            "Use order=1 (the bright first order) or order=2."
        )
    m = float(order)
    displ = np.array(
        [
            _centred_to_raw(3.05, 2.0e-6, -1.0e-6, 0, 0, 0),
            _centred_to_raw(1.00, 1.5e-6, 0.0, 0, 0, 0),
            _centred_to_raw(0.02, 0.0, 0.0, 0, 0, 0),
        ]
    )
    dispx = m * np.array(
        [
            _centred_to_raw(-900.0, 0.004, -0.003, 1.0e-6, 0.0, 0.5e-6),
            _centred_to_raw(1000.0, 0.010, 0.005, 0.0, 0.0, 0.0),
            _centred_to_raw(8.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        ]
    )
    dispy = np.array(
        [
            _centred_to_raw(1.5 * m, 0.001, 0.0, 0.0, 0.0, 0.0),
            _centred_to_raw(-6.0 * m, 0.0, 0.002, 0.0, 0.0, 0.0),
            _centred_to_raw(4.0 * m, 0.0, 0.0, 0.0, 0.0, 0.0),
        ]
    )
    return {"DISPL": displ, "DISPX": dispx, "DISPY": dispy}


def evaluate_dispersion(coefficients, x0, y0, t):
    """Evaluate a grismconf-style polynomial ``sum_k C_k(x0, y0) t**k``.

    Parameters
    ----------
    coefficients : array_like, shape (n_t, 6)
        As returned by :func:`dispersion_coefficients`.
    x0, y0 : float or array_like
        Direct-image position (0-based pixels).
    t : float or array_like
        Trace parameter; broadcast against ``x0`` and ``y0``.

    Returns
    -------
    numpy.ndarray
        The polynomial value.
    """
    x0, y0, t = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x0, y0, t)))
    field = np.stack([np.ones_like(x0), x0, y0, x0**2, x0 * y0, y0**2])
    result = np.zeros_like(t)
    for k, row in enumerate(np.asarray(coefficients, dtype=float)):
        result = result + np.tensordot(row, field, axes=1) * t**k
    return result


def true_t_from_wavelength(order, x0, y0, wavelength_um):
    """Analytic inverse of the demo DISPL (a quadratic in ``t``): independent truth.

    Parameters
    ----------
    order : int
    x0, y0 : float
        Direct-image position (0-based pixels).
    wavelength_um : float or array_like

    Returns
    -------
    numpy.ndarray
        The root of ``DISPL(t) = wavelength`` nearest the order's ``0..1`` range.
    """
    c0, c1, c2 = (
        evaluate_dispersion(row[None, :], x0, y0, 1.0) for row in dispersion_coefficients(order)["DISPL"]
    )
    lam = np.asarray(wavelength_um, dtype=float)
    # Stable form of the quadratic root: t = 2 (lam - c0) / (c1 + sqrt(c1^2 + 4 c2 (lam - c0))).
    d = lam - c0
    return 2 * d / (c1 + np.sqrt(c1**2 + 4 * c2 * d))


def filter_throughput(wavelength_um):
    """Smooth F356W-like band pass (half-power points 3.14 and 3.98 micron).

    Parameters
    ----------
    wavelength_um : float or array_like
        Wavelength in micron.

    Returns
    -------
    numpy.ndarray
        Transmission between 0 and ~0.9.
    """
    w = np.asarray(wavelength_um, dtype=float)
    width = 0.018
    blue = 0.5 * (1.0 + np.tanh((w - 3.14) / (2 * width)))
    red = 0.5 * (1.0 - np.tanh((w - 3.98) / (2 * width)))
    return 0.9 * blue * red


def sensitivity(wavelength_um, order: int = 1):
    """Demo grism sensitivity, in DN/s per erg/s/cm²/Å (per Å of spectrum).

    A source of flux density ``F_lambda`` gives ``F_lambda * S(lambda) * dlambda`` DN/s in
    a pixel column that spans ``dlambda`` Å of its spectrum.

    Parameters
    ----------
    wavelength_um : float or array_like
        Wavelength in micron.
    order : int, optional
        Spectral order, 1 (default) or 2.

    Returns
    -------
    numpy.ndarray
        Sensitivity, DN/s per (erg/s/cm²/Å).
    """
    dispersion_coefficients(order)  # validates the order
    w = np.asarray(wavelength_um, dtype=float)
    # Grism blaze: a gentle slope across the band, peaking near 3.75 micron in order 1.
    blaze_peak = 3.75 if order == 1 else 3.45
    blaze = np.exp(-0.5 * ((w - blaze_peak) / 0.75) ** 2)
    efficiency = 1.0 if order == 1 else ORDER2_EFFICIENCY
    return PEAK_SENSITIVITY_ORDER1 * efficiency * filter_throughput(w) / 0.9 * blaze


def flat_field(seed: int = 1076):
    """Demo imaging flat: a gentle large-scale pattern times 1% pixel-to-pixel noise.

    Parameters
    ----------
    seed : int, optional
        Seed of the pixel-to-pixel pattern (deterministic).

    Returns
    -------
    numpy.ndarray, shape ``DETECTOR_SHAPE``, float32
        Relative response, mean ~1.
    """
    rng = np.random.default_rng(seed)
    ny, nx = DETECTOR_SHAPE
    yy, xx = np.mgrid[0:ny, 0:nx]
    u_ = (xx - nx / 2) / nx
    v_ = (yy - ny / 2) / ny
    large = 1.0 + 0.03 * u_ - 0.02 * v_ - 0.04 * (u_**2 + v_**2)
    pixel = 1.0 + 0.01 * rng.standard_normal(DETECTOR_SHAPE)
    return (large * pixel).astype(np.float32)


def _ideal_polynomials():
    """Detector offset (pixels) -> ideal coordinates (arcsec) with mild distortion."""
    s = PIXEL_SCALE_ARCSEC
    # A few-pixel quadratic distortion at the detector corners.
    px = models.Polynomial2D(2, c1_0=s, c2_0=s * 1.5e-6, c1_1=s * -1.0e-6, c0_2=s * 0.8e-6)
    py = models.Polynomial2D(2, c0_1=s, c2_0=s * -0.6e-6, c1_1=s * 1.2e-6, c0_2=s * 1.0e-6)
    return px, py


def distortion_model():
    """Detector (0-based pixels) -> telescope (V2, V3) in arcsec, with an inverse.

    Returns
    -------
    astropy.modeling.Model
        ``(x, y) -> (v2, v3)``. Its ``inverse`` is a fitted polynomial accurate to
        better than 1e-4 pixel over the detector.
    """
    xr, yr = REFERENCE_PIXEL
    px, py = _ideal_polynomials()
    theta = np.deg2rad(V3_IDL_YANGLE_DEG)
    matrix = np.array(
        [
            [VPARITY * np.cos(theta), np.sin(theta)],
            [-VPARITY * np.sin(theta), np.cos(theta)],
        ]
    )
    to_ideal = (models.Shift(-xr) & models.Shift(-yr)) | models.Mapping((0, 1, 0, 1)) | (px & py)
    to_v2v3 = models.AffineTransformation2D(matrix=matrix, translation=[V2_REF_ARCSEC, V3_REF_ARCSEC])

    # Inverse of the ideal polynomials, fitted on a grid that covers the detector.
    ny, nx = DETECTOR_SHAPE
    gy, gx = np.mgrid[-8 : ny + 8 : 24.0, -8 : nx + 8 : 24.0]
    dx, dy = gx - xr, gy - yr
    xi, yi = px(dx, dy), py(dx, dy)
    fitter = fitting.LinearLSQFitter()
    inv_x = fitter(models.Polynomial2D(4), xi, yi, dx)
    inv_y = fitter(models.Polynomial2D(4), xi, yi, dy)
    from_ideal = models.Mapping((0, 1, 0, 1)) | (inv_x & inv_y) | (models.Shift(xr) & models.Shift(yr))
    inv_affine = to_v2v3.inverse

    forward = to_ideal | to_v2v3
    forward.inverse = inv_affine | from_ideal
    return forward


def _polynomial2d_from_row(row):
    """grismconf field coefficients ``(1, x, y, x², xy, y²)`` -> astropy Polynomial2D."""
    c00, c10, c01, c20, c11, c02 = (float(v) for v in row)
    return models.Polynomial2D(2, c0_0=c00, c1_0=c10, c0_1=c01, c2_0=c20, c1_1=c11, c0_2=c02)


def set_full_frame(meta):
    """Record the full-frame (``FULL``) subarray of the demo detector in a model's meta."""
    meta.subarray.name = "FULL"
    meta.subarray.xstart = 1
    meta.subarray.ystart = 1
    meta.subarray.xsize = DETECTOR_SHAPE[1]
    meta.subarray.ysize = DETECTOR_SHAPE[0]


def _common_meta(model, reftype, description):
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


def _write_specwcs(path):
    from stdatamodels.jwst.datamodels import NIRCAMGrismModel

    displ, dispx, dispy = [], [], []
    for order in ORDERS:
        coeffs = dispersion_coefficients(order)
        displ.append([_polynomial2d_from_row(r) for r in coeffs["DISPL"]])
        dispx.append([_polynomial2d_from_row(r) for r in coeffs["DISPX"]])
        dispy.append([_polynomial2d_from_row(r) for r in coeffs["DISPY"]])
    with NIRCAMGrismModel(strict_validation=True) as model:
        _common_meta(model, "specwcs", "Grism trace and dispersion polynomials.")
        model.meta.instrument.filter = FILTER
        model.meta.instrument.pupil = GRISM
        model.meta.exposure.type = "NRC_WFSS"
        model.meta.input_units = u.micron
        model.meta.output_units = u.micron
        model.displ = displ
        model.dispx = dispx
        model.dispy = dispy
        model.invdispl = None
        model.invdispx = None
        model.invdispy = None
        model.orders = list(ORDERS)
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
        dtype=[("filter", "S12"), ("pupil", "S15"), ("photmjsr", "<f4"), ("uncertainty", "<f4")],
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
    for order in ORDERS:
        s = sensitivity(_SENS_GRID_UM, order)
        rel = relresponse_from_sensitivity(
            _SENS_GRID_UM * u.micron,
            s * SENSITIVITY_UNIT,
            photmjsr=WFSS_PHOTMJSR,
            pixel_area_sr=PIXEL_AREA_SR,
        )
        rows.append(
            (
                FILTER,
                GRISM,
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
        model.phot_unit = "MJy/sr"
        model.wave_unit = "micron"
        model.phot_table = table
        model.validate()
        model.save(path)


#: File names of the reference files, by reference type.
REFERENCE_FILE_NAMES = {
    "specwcs": "demo_nircam_specwcs_grismr_f356w.asdf",
    "distortion": "demo_nircam_distortion_nrcalong.asdf",
    "flat": "demo_nircam_flat_nrcalong_f356w_clear.fits",
    "photom_imaging": "demo_nircam_photom_image_nrcalong.fits",
    "photom_wfss": "demo_nircam_photom_wfss_nrcalong.fits",
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
        Keys ``specwcs``, ``distortion``, ``flat``, ``photom_imaging``, ``photom_wfss``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {key: directory / name for key, name in REFERENCE_FILE_NAMES.items()}
    _write_specwcs(paths["specwcs"])
    _write_distortion(paths["distortion"])
    _write_flat(paths["flat"], flat_seed)
    _write_imaging_photom(paths["photom_imaging"])
    _write_wfss_photom(paths["photom_wfss"])
    return paths


def _conf_row(values):
    return " ".join(f"{float(v):.12e}" for v in values)


def write_grismconf_files(directory) -> Path:
    """Write the demo grism as a plain grismconf ``.conf`` file plus sensitivity tables.

    Parameters
    ----------
    directory : str or pathlib.Path
        Output directory (created if needed).

    Returns
    -------
    pathlib.Path
        Path of the ``.conf`` file; ``grismconf.Config(path)`` reads it.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    conf_path = directory / "DEMO_NIRCAM_F356W_modA_R.conf"
    lines = [
        f"# {DEMO_LABEL}",
        "# Grism configuration (Pirzkal & Ryan 2017 format) of the demo NIRCam LW module A",
        f"# {GRISM} + {FILTER}. Offsets are in pixels, wavelengths in micron.",
        "INSTRUMENT NIRCAM",
        f"FILTER {FILTER}",
        "CAMERA LONG",
        "NAXIS 2048 2048",
        "",
    ]
    for order in ORDERS:
        name = f"{order:+d}"
        coeffs = dispersion_coefficients(order)
        lines.append(f"BEAM_{name} -10 1100")
        lines.append(f"MMAG_EXTRACT_{name} 30")
        lines.append(f"XRANGE_{name} -2000 200")
        lines.append(f"YRANGE_{name} -20 20")
        for key in ("DISPX", "DISPY", "DISPL"):
            for k, row in enumerate(coeffs[key]):
                lines.append(f"{key}_{name}_{k} {_conf_row(row)}")
        sens_name = f"DEMO_NIRCAM_F356W_modA_R_order{order:+d}_sensitivity.fits"
        lines.append(f"SENSITIVITY_{name} {sens_name}")
        lines.append("")
        columns = [
            fits.Column(name="WAVELENGTH", format="D", unit="micron", array=_SENS_GRID_UM),
            fits.Column(
                name="SENSITIVITY",
                format="D",
                unit="DN/s per erg/s/cm2/Angstrom",
                array=sensitivity(_SENS_GRID_UM, order),
            ),
            fits.Column(name="ERROR", format="D", array=0.01 * sensitivity(_SENS_GRID_UM, order)),
        ]
        hdu = fits.BinTableHDU.from_columns(columns)
        hdu.header["COMMENT"] = DEMO_LABEL
        hdu.writeto(directory / sens_name, overwrite=True)
    conf_path.write_text("\n".join(lines) + "\n")
    return conf_path
