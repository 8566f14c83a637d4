"""A self-made *demo* NIRCam LW module A grism instrument: F356W with GRISMR and GRISMC.

.. warning::
   Everything in this module is a **demo instrument made for teaching**. Its polynomials
   and curves were written for this tutorial to reproduce the published *figures* of
   NIRCam's long-wavelength grisms (the trace offset across the dispersion and its bow, the
   dispersion of about 9.7 Å per pixel in order +1 and 5.0 Å per pixel in order +2, the
   place of order +2 on the far side of the source, the sensitivity peak near
   1.2e17 DN/s per erg/s/cm²/Å at 3.85 µm), but they are **not a JWST calibration**.
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
position (terms ``1, x0, y0, x0², x0·y0, y0²``). As in the real NIRCam calibration, the
offset *along* the dispersion (DISPX for GRISMR, DISPY for GRISMC) is linear in ``t`` and
the same for every source, DISPL is quadratic in ``t`` and depends on the source position,
and the offset *across* the dispersion (the trace offset of about -22 px for GRISMR and
-44 px for GRISMC, and its bow) depends on the source position.

:mod:`wfss_helpers.demo.calibration_files` writes that instrument as real reference
files (with the ``stdatamodels`` classes the pipeline reads: specwcs with its inverse
models, distortion, flat, imaging and WFSS photom, wavelength range, WFSS background)
and as plain grismconf ``.conf`` files with sensitivity tables, so the tutorial can
show both routes to the same trace.
"""

from __future__ import annotations

import numpy as np
from astropy import units as u
from astropy.modeling import fitting, models
from scipy.special import erf

__all__ = [
    "DEMO_LABEL",
    "DETECTOR_SHAPE",
    "FILTER",
    "GRISM",
    "GRISMS",
    "ORDERS",
    "PIXEL_AREA_SR",
    "PIXEL_SCALE_ARCSEC",
    "PSF_COMPONENTS",
    "V2_REF_ARCSEC",
    "V3_REF_ARCSEC",
    "V3_IDL_YANGLE_DEG",
    "VPARITY",
    "IMAGING_PHOTMJSR",
    "WFSS_PHOTMJSR",
    "dispersion_axis",
    "dispersion_coefficients",
    "evaluate_dispersion",
    "true_t_from_wavelength",
    "trace_offsets",
    "sensitivity",
    "filter_throughput",
    "aperture_fraction",
    "encircled_energy",
    "sky_spectrum",
    "dispersed_sky",
    "flat_field",
    "distortion_model",
]

DEMO_LABEL = "DEMO INSTRUMENT for the wfss_helpers tutorial - NOT a JWST calibration"

#: Full-frame detector shape (ny, nx).
DETECTOR_SHAPE = (2048, 2048)
#: Detector name and filter of the demo instrument.
DETECTOR = "NRCALONG"
FILTER = "F356W"
#: The grisms: GRISMR disperses along rows (+x), GRISMC along columns (+y).
GRISMS = ("GRISMR", "GRISMC")
#: The grism of the tutorial's main exposure.
GRISM = "GRISMR"
#: Spectral orders the demo grisms have.
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
#: Peak sensitivity of order +1, DN/s per erg/s/cm^2/Angstrom (NIRCam F356W: 1.19e17).
PEAK_SENSITIVITY_ORDER1 = 1.19e17
#: Peak sensitivity of order +2 (about 30 times below order +1, near its blue end).
PEAK_SENSITIVITY_ORDER2 = 4.3e15

#: The point-spread function, the same in the direct image and the dispersed images: a
#: sum of round Gaussians ``(weight, sigma in pixels)``. The core is NIRCam's LW PSF at
#: 3.6 µm (FWHM ~0.12"); the two wider components are its wings, so that a ±4 px
#: aperture across the trace holds ~88% of a point source's light.
PSF_COMPONENTS = ((0.70, 0.80), (0.15, 2.5), (0.15, 9.0))

#: The field of view whose sky reaches the grism exposure: direct-image positions
#: ``(x0, y0)`` from -120 to 2168 pixels (the pick-off mirror sees a little beyond the
#: detector). Sky at positions outside it is not dispersed onto the detector.
ILLUMINATED_FIELD = (-120.0, 2168.0)

# Centre and scale of the field coordinates in which the polynomials are written:
# u = (x0 - 1024) / 1024, v = (y0 - 1024) / 1024.
_FIELD_CENTRE = 1024.0
_FIELD_SCALE = 1024.0

# Trace polynomials of order +1, in the normalised field coordinates (u, v): for each
# power of t, the coefficients of (1, u, v, u², uv, v²). Written for this demo to follow
# the figures of NIRCam's LW module A F356W calibration (see the module docstring).
_ALONG_ORDER1 = (-883.47, 1055.78)  # offset along the dispersion: c0 + c1 t, pixels
_DISPL_ORDER1 = {
    "GRISMR": (
        (3.0700, -4.02e-3, 7.1e-5, 2.24e-3, -1.40e-4, 3.36e-3),
        (1.0241, 1.67e-3, -6.46e-4, 2.24e-3, -2.62e-4, -1.45e-3),
        (5.77e-3, 3.98e-3, 2.32e-4, -1.71e-3, 2.95e-4, 7.04e-4),
    ),
    "GRISMC": (
        (3.1193, 3.4e-4, -5.22e-3, 3.06e-3, -9.79e-4, 2.58e-3),
        (1.0228, -1.27e-3, 3.71e-3, -3.38e-4, 1.87e-3, 6.90e-4),
        (5.83e-3, 7.6e-4, 2.80e-3, 8.4e-5, -8.43e-4, -3.86e-4),
    ),
}
_ACROSS_ORDER1 = {  # offset across the dispersion (DISPY for GRISMR, DISPX for GRISMC)
    "GRISMR": (
        (-22.04, 1.547, 0.654, -1.437, -2.507, -0.191),
        (-2.304, -2.911, -2.715, 3.392, 4.458, -0.332),
        (-0.124, 1.515, 1.435, -2.204, -1.894, 0.188),
    ),
    "GRISMC": (
        (-44.39, 0.604, 1.615, -1.103, -2.987, -3.482),
        (1.995, -1.906, -2.720, -0.342, 3.119, 3.428),
        (-0.942, 1.002, 1.385, 1.079, -0.088, -0.403),
    ),
}
# Order +2: twice the dispersion, on the far side of the source (off the detector for
# sources on it), with a small offset across the dispersion; no field dependence.
_ALONG_ORDER2 = (2253.98, 996.02)
_DISPL_ORDER2 = (3.100, 0.500)
_ACROSS_ORDER2 = {"GRISMR": (-18.70, 1.83), "GRISMC": (-43.23, -0.96)}


def _normalised_to_raw(coefficients):
    """Coefficients of ``(1, u, v, u², uv, v²)`` -> those of ``(1, x, y, x², xy, y²)``.

    With ``u = (x - c) / s`` and ``v = (y - c) / s``; grismconf's field order.
    """
    a, b, c_, d, e, f = (float(v) for v in coefficients)
    xc = yc = _FIELD_CENTRE
    s = _FIELD_SCALE
    b, c_, d, e, f = b / s, c_ / s, d / s**2, e / s**2, f / s**2
    return np.array(
        [
            a - b * xc - c_ * yc + d * xc**2 + e * xc * yc + f * yc**2,
            b - 2 * d * xc - e * yc,
            c_ - e * xc - 2 * f * yc,
            d,
            e,
            f,
        ]
    )


def _constant_rows(values):
    """Field-independent coefficients, one row per power of t (grismconf's field order)."""
    rows = np.zeros((len(values), 6))
    rows[:, 0] = values
    return rows


def _check_grism(grism):
    if grism not in GRISMS:
        raise ValueError(f"The demo instrument has grisms {GRISMS}; got {grism!r}.")
    return grism


def dispersion_axis(grism: str = GRISM) -> str:
    """The detector axis a demo grism disperses along: ``"x"`` (GRISMR) or ``"y"`` (GRISMC)."""
    return "x" if _check_grism(grism) == "GRISMR" else "y"


def dispersion_coefficients(order: int, grism: str = GRISM) -> dict[str, np.ndarray]:
    """Field-dependent trace polynomials of a demo grism for one order.

    Parameters
    ----------
    order : int
        Spectral order, ``1`` or ``2``.
    grism : {"GRISMR", "GRISMC"}, optional
        The grism (default GRISMR).

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
        If the order or the grism is not one the demo instrument has.

    Notes
    -----
    Order +1 runs from ~3.07 µm at ``t = 0`` to ~4.10 µm at ``t = 1`` over 1056 pixels
    (about 9.7 Å per pixel), from 883 pixels before the source to 172 pixels past it;
    its trace lies ~22 px (GRISMR) or ~44 px (GRISMC) to the side of the source. Order +2
    covers 3.10-3.60 µm at 5.0 Å per pixel, 2254 to 3250 pixels past the source.
    """
    if order not in ORDERS:
        raise ValueError(
            f"The demo grism has orders {ORDERS}; order {order!r} does not exist. "
            "Use order=1 (the bright first order) or order=2."
        )
    _check_grism(grism)
    if order == 1:
        along = _constant_rows(_ALONG_ORDER1)
        displ = np.array([_normalised_to_raw(r) for r in _DISPL_ORDER1[grism]])
        across = np.array([_normalised_to_raw(r) for r in _ACROSS_ORDER1[grism]])
    else:
        along = _constant_rows(_ALONG_ORDER2)
        displ = _constant_rows(_DISPL_ORDER2)
        across = _constant_rows(_ACROSS_ORDER2[grism])
    if grism == "GRISMR":
        return {"DISPL": displ, "DISPX": along, "DISPY": across}
    return {"DISPL": displ, "DISPX": across, "DISPY": along}


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


def trace_offsets(order, x0, y0, t, grism: str = GRISM):
    """``(DISPX, DISPY, DISPL)`` of a demo grism at ``t``: offsets (pixels), wavelength (µm).

    Parameters
    ----------
    order : int
    x0, y0 : float or array_like
        Direct-image position (0-based pixels).
    t : float or array_like
    grism : {"GRISMR", "GRISMC"}, optional

    Returns
    -------
    tuple of numpy.ndarray
    """
    coeffs = dispersion_coefficients(order, grism)
    return tuple(evaluate_dispersion(coeffs[key], x0, y0, t) for key in ("DISPX", "DISPY", "DISPL"))


def true_t_from_wavelength(order, x0, y0, wavelength_um, grism: str = GRISM):
    """Analytic inverse of the demo DISPL (a quadratic in ``t``): independent truth.

    Parameters
    ----------
    order : int
    x0, y0 : float
        Direct-image position (0-based pixels).
    wavelength_um : float or array_like
    grism : {"GRISMR", "GRISMC"}, optional

    Returns
    -------
    numpy.ndarray
        The root of ``DISPL(t) = wavelength`` nearest the order's ``0..1`` range.
    """
    rows = dispersion_coefficients(order, grism)["DISPL"]
    c = [evaluate_dispersion(row[None, :], x0, y0, 1.0) for row in rows]
    c0, c1 = c[0], c[1]
    c2 = c[2] if len(c) > 2 else np.zeros_like(c0)
    lam = np.asarray(wavelength_um, dtype=float)
    # Stable form of the quadratic root: t = 2 (lam - c0) / (c1 + sqrt(c1^2 + 4 c2 (lam - c0))).
    d = lam - c0
    return 2 * d / (c1 + np.sqrt(c1**2 + 4 * c2 * d))


def filter_throughput(wavelength_um):
    """Smooth F356W-like band pass (half-power points 3.135 and 3.975 µm).

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
    blue = 0.5 * (1.0 + np.tanh((w - 3.135) / 0.030))
    red = 0.5 * (1.0 - np.tanh((w - 3.965) / 0.032))
    return 0.9 * blue * red


def _order1_shape(w):
    """Grism efficiency rising toward the red across the band, times the band pass."""
    return (1.0 + 0.93 * (w - 3.2)) * filter_throughput(w)


_ORDER1_SHAPE_PEAK = float(np.max(_order1_shape(np.linspace(3.0, 4.2, 12001))))


def sensitivity(wavelength_um, order: int = 1, grism: str = GRISM):
    """Demo grism sensitivity, in DN/s per erg/s/cm²/Å (per Å of spectrum).

    A source of flux density ``F_lambda`` gives ``F_lambda * S(lambda) * dlambda`` DN/s in
    a pixel column that spans ``dlambda`` Å of its spectrum. Both demo grisms have the
    same sensitivity. Order +1 rises from ~7e16 at 3.2 µm to its peak of ~1.19e17 near
    3.85 µm and falls at the filter's red edge; order +2 peaks near 3.16 µm, about 30
    times lower, and fades toward the red.

    Parameters
    ----------
    wavelength_um : float or array_like
        Wavelength in micron.
    order : int, optional
        Spectral order, 1 (default) or 2.
    grism : {"GRISMR", "GRISMC"}, optional

    Returns
    -------
    numpy.ndarray
        Sensitivity, DN/s per (erg/s/cm²/Å).
    """
    dispersion_coefficients(order, grism)  # validates the order and the grism
    w = np.asarray(wavelength_um, dtype=float)
    band = filter_throughput(w) / 0.9
    if order == 1:
        return PEAK_SENSITIVITY_ORDER1 * _order1_shape(w) / _ORDER1_SHAPE_PEAK
    fade = np.exp(-(w - 3.16) / 0.25)
    return PEAK_SENSITIVITY_ORDER2 * np.minimum(fade, 1.0) * band


def aperture_fraction(half_height, source_sigma=0.0):
    """Fraction of a source's light within ``±half_height`` pixels across the trace.

    The cross-dispersion profile of a dispersed source is its own profile across the
    dispersion (a Gaussian of ``source_sigma`` pixels; 0 for a point source) convolved
    with the PSF (:data:`PSF_COMPONENTS`), so the fraction is a weighted sum of error
    functions. This is the aperture correction a box extraction of that half-height needs.

    Parameters
    ----------
    half_height : float
        Aperture half-height, pixels.
    source_sigma : float, optional
        Gaussian sigma of the source across the dispersion, pixels.

    Returns
    -------
    float
    """
    total = 0.0
    for weight, sigma in PSF_COMPONENTS:
        width = np.hypot(sigma, source_sigma)
        total += weight * erf(half_height / (np.sqrt(2.0) * width))
    return float(total)


def encircled_energy(radius):
    """Fraction of a point source's light within ``radius`` pixels (the demo PSF)."""
    r = np.asarray(radius, dtype=float)
    return sum(w * (1.0 - np.exp(-(r**2) / (2.0 * s**2))) for w, s in PSF_COMPONENTS)


def sky_spectrum(wavelength_um):
    """Relative surface brightness (F_lambda per pixel) of the demo sky: a zodiacal-like
    spectrum rising gently toward the red at 3-4 µm (arbitrary normalisation)."""
    w = np.asarray(wavelength_um, dtype=float)
    return (w / 3.5) ** 1.5


def dispersed_sky(grism: str = GRISM, level: float = 1.0):
    """The sky of a WFSS exposure: the sky spectrum dispersed from the whole field.

    Every position of the illuminated field (:data:`ILLUMINATED_FIELD`) disperses the sky
    spectrum through the filter, so a pixel receives, at each wavelength, light from the
    field position ``DISPX`` (or ``DISPY``) pixels before it. Where that position lies
    outside the field, the wavelength is missing: the sky falls off toward the side the
    spectra run to (high x for GRISMR, high y for GRISMC), where only the red end of the
    spectrum still arrives. Order +1 only (order +2 of the field lands past the detector).

    Parameters
    ----------
    grism : {"GRISMR", "GRISMC"}, optional
    level : float, optional
        The sky where the whole spectrum arrives (the plateau), DN/s per pixel.

    Returns
    -------
    numpy.ndarray, shape ``DETECTOR_SHAPE``
        DN/s per pixel; constant across the dispersion.
    """
    axis = dispersion_axis(grism)
    n = DETECTOR_SHAPE[1] if axis == "x" else DETECTOR_SHAPE[0]
    t = np.linspace(-0.05, 1.05, 4401)
    centre = _FIELD_CENTRE
    dx, dy, lam = trace_offsets(1, centre, centre, t, grism)
    along = dx if axis == "x" else dy
    dlam_dt = np.gradient(lam, t) * 1e4
    per_t = sky_spectrum(lam) * sensitivity(lam, 1, grism) * dlam_dt
    pixel = np.arange(n, dtype=float)
    source = pixel[:, None] - along[None, :]
    lo, hi = ILLUMINATED_FIELD
    inside = (source >= lo) & (source <= hi)
    profile = np.trapezoid(np.where(inside, per_t[None, :], 0.0), t, axis=1)
    profile = level * profile / np.trapezoid(per_t, t)
    if axis == "x":
        return np.broadcast_to(profile[None, :], DETECTOR_SHAPE).copy()
    return np.broadcast_to(profile[:, None], DETECTOR_SHAPE).copy()


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


def set_full_frame(meta):
    """Record the full-frame (``FULL``) subarray of the demo detector in a model's meta."""
    meta.subarray.name = "FULL"
    meta.subarray.xstart = 1
    meta.subarray.ystart = 1
    meta.subarray.xsize = DETECTOR_SHAPE[1]
    meta.subarray.ysize = DETECTOR_SHAPE[0]

