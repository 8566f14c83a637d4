"""The synthetic sky of the demo dataset and its rendering into NIRCam-like rate files.

A scene is a table of sources (position on the sky, a Gaussian shape and a spectrum made of
a power-law continuum and an optional Gaussian emission line). It is rendered twice:

* into a **direct image** (F356W, ``PUPIL = CLEAR``): each source is a Gaussian whose total
  count rate follows from its band-averaged flux density and the imaging ``photmjsr``;
* into a **WFSS exposure** (F356W + GRISMR), dithered by a few arcsec: each source's
  spectrum is laid along its trace by sampling the trace parameter ``t`` finely with the
  *forward* polynomials of the demo instrument, depositing ``F_lambda S(lambda) dlambda``
  at each ``(x0 + DISPX, y0 + DISPY)``, then blurring with the source shape and the PSF.

Both images get a sky background, Poisson + read noise consistent with their ``ERR``,
``VAR_POISSON`` and ``VAR_RNOISE`` arrays, bad pixels (NaN, flagged in ``DQ``) and a few
cosmic rays, and are multiplied by the flat so that the FlatField step removes it again.
Everything is seeded: the same seed gives the same files, bit for bit.
"""

from __future__ import annotations

import numpy as np
from astropy import units as u
from astropy.table import Table
from scipy import ndimage

from . import instrument as inst

__all__ = [
    "POINTINGS",
    "SHOWCASE_DIRECT_POSITION",
    "EXPOSURE",
    "make_catalog",
    "source_flambda",
    "band_count_rate",
    "imaging_wcs",
    "render_direct_image",
    "render_wfss_image",
    "add_sky_noise_and_defects",
]

#: Pointing of the two exposures: RA/Dec of the reference pixel (deg) and V3 roll (deg).
#: The WFSS exposure is offset by about (+2.4, -1.7) arcsec, so the gWCS matters.
POINTINGS = {
    "direct": {"ra_ref": 53.1624, "dec_ref": -27.7821, "roll_ref": 251.3},
    "wfss": {"ra_ref": 53.1624 + 2.4 / 3600 / np.cos(np.deg2rad(27.7821)), "dec_ref": -27.7821 - 1.7 / 3600, "roll_ref": 251.3},
}

#: The showcased source sits where the seed notebook's source sits in its direct image.
SHOWCASE_DIRECT_POSITION = (1562.0, 696.0)

#: Exposure parameters (effective exposure time in s, gain in e-/DN, sky in DN/s/pixel,
#: read-noise variance in (DN/s)^2 per pixel).
EXPOSURE = {
    "direct": {"exptime": 429.5, "gain": 1.8, "sky": 0.20, "var_rnoise": 2.0e-5},
    "wfss": {"exptime": 1545.9, "gain": 1.8, "sky": 0.80, "var_rnoise": 4.0e-6},
}

#: Gaussian sigma of the NIRCam LW PSF at 3.6 micron (FWHM ~0.12 arcsec), pixels.
PSF_SIGMA_PIX = 0.80

_FLAM = u.erg / u.s / u.cm**2 / u.AA


def source_flambda(source, wavelength_um):
    """F_lambda of a catalog source, in erg/s/cm²/Å.

    Parameters
    ----------
    source : `~astropy.table.Row` or dict
        Needs ``cont_flam`` (F_lambda at 3.5 micron), ``cont_slope`` (power-law index in
        wavelength), ``line_wave`` (micron, NaN for none), ``line_flux`` (erg/s/cm²) and
        ``line_sigma`` (micron).
    wavelength_um : float or array_like
        Wavelength in micron.

    Returns
    -------
    numpy.ndarray
        F_lambda in erg/s/cm²/Å.
    """
    w = np.asarray(wavelength_um, dtype=float)
    flam = source["cont_flam"] * (w / 3.5) ** source["cont_slope"]
    if np.isfinite(source["line_wave"]) and source["line_flux"] > 0:
        sigma_aa = source["line_sigma"] * 1e4
        flam = flam + source["line_flux"] / (np.sqrt(2 * np.pi) * sigma_aa) * np.exp(
            -0.5 * ((w - source["line_wave"]) / source["line_sigma"]) ** 2
        )
    return flam


def band_count_rate(source):
    """Total count rate (DN/s) of a source in the demo F356W direct image.

    The band-averaged (photon-weighted) F_lambda is turned into F_nu at the band's pivot
    wavelength and divided by the imaging ``photmjsr`` times the pixel solid angle.
    """
    w = np.linspace(2.9, 4.2, 2601)
    thr = inst.filter_throughput(w)
    flam_mean = np.trapezoid(source_flambda(source, w) * thr * w, w) / np.trapezoid(thr * w, w)
    pivot = np.sqrt(np.trapezoid(thr * w, w) / np.trapezoid(thr / w, w))
    fnu = (flam_mean * _FLAM * (pivot * u.micron) ** 2 / _c()).to(u.MJy)
    return float(fnu.value / (inst.IMAGING_PHOTMJSR * inst.PIXEL_AREA_SR))


def _c():
    from astropy.constants import c

    return c


def _exposure_model(kind):
    """An empty ImageModel carrying the metadata of one demo exposure."""
    from stdatamodels.jwst.datamodels import ImageModel

    model = ImageModel(inst.DETECTOR_SHAPE)
    meta = model.meta
    meta.telescope = "JWST"
    meta.instrument.name = "NIRCAM"
    meta.instrument.detector = inst.DETECTOR
    meta.instrument.module = "A"
    meta.instrument.channel = "LONG"
    meta.instrument.filter = inst.FILTER
    meta.instrument.pupil = "CLEAR" if kind == "direct" else inst.GRISM
    meta.exposure.type = "NRC_IMAGE" if kind == "direct" else "NRC_WFSS"
    meta.exposure.start_time = 59800.5 + (0.0 if kind == "direct" else 0.01)
    meta.exposure.mid_time = meta.exposure.start_time + 0.005
    meta.exposure.end_time = meta.exposure.start_time + 0.01
    meta.exposure.effective_exposure_time = EXPOSURE[kind]["exptime"]
    meta.exposure.exposure_time = EXPOSURE[kind]["exptime"]
    meta.exposure.readpatt = "DEEP8" if kind == "wfss" else "SHALLOW4"
    meta.observation.date = "2022-08-22"
    meta.observation.time = "12:00:00" if kind == "direct" else "12:14:24"
    meta.observation.program_number = "99999"
    meta.target.proposer_name = "wfss_helpers demo field"
    inst.set_full_frame(meta)
    meta.subarray.fastaxis = -1
    meta.subarray.slowaxis = 2
    wcsinfo = meta.wcsinfo
    wcsinfo.ra_ref = POINTINGS[kind]["ra_ref"]
    wcsinfo.dec_ref = POINTINGS[kind]["dec_ref"]
    wcsinfo.roll_ref = POINTINGS[kind]["roll_ref"]
    wcsinfo.v2_ref = inst.V2_REF_ARCSEC
    wcsinfo.v3_ref = inst.V3_REF_ARCSEC
    wcsinfo.v3yangle = inst.V3_IDL_YANGLE_DEG
    wcsinfo.vparity = inst.VPARITY
    wcsinfo.siaf_xref_sci = inst.REFERENCE_PIXEL[0] + 1
    wcsinfo.siaf_yref_sci = inst.REFERENCE_PIXEL[1] + 1
    if kind == "wfss":
        wcsinfo.velosys = 0.0
    meta.velocity_aberration.scale_factor = 1.0
    meta.bunit_data = "DN/s"
    meta.bunit_err = "DN/s"
    return model


def imaging_wcs(kind, distortion_path):
    """The detector <-> sky gWCS of one demo pointing, built without any pipeline step.

    Parameters
    ----------
    kind : {"direct", "wfss"}
        Which exposure's pointing.
    distortion_path : path-like
        The demo distortion reference file.

    Returns
    -------
    gwcs.WCS
        Imaging WCS (for the WFSS pointing: where an undispersed source would land).
    """
    from jwst.assign_wcs.assign_wcs import load_wcs

    model = _exposure_model(kind)
    model.meta.instrument.pupil = "CLEAR"
    model.meta.exposure.type = "NRC_IMAGE"
    load_wcs(model, {"distortion": str(distortion_path), "filteroffset": None})
    return model.meta.wcs


def _order1_bbox(x0, y0, margin=0.0):
    """x-range and y-range of the order +1 trace (0 <= t <= 1) of a source at (x0, y0)."""
    coeffs = inst.dispersion_coefficients(1)
    t = np.linspace(0.0, 1.0, 21)
    xs = x0 + inst.evaluate_dispersion(coeffs["DISPX"], x0, y0, t)
    ys = y0 + inst.evaluate_dispersion(coeffs["DISPY"], x0, y0, t)
    return (xs.min() - margin, xs.max() + margin), (ys.min() - margin, ys.max() + margin)


def make_catalog(direct_wcs, seed: int = 2024, n_sources: int = 24) -> Table:
    """Draw the demo source catalog.

    Source 1 is the showcased source: bright, compact, isolated (no other order +1 trace
    within 40 pixels of its own), with a continuum and one emission line, placed at the
    seed notebook's direct-image position. The others mix point-like and extended
    sources, flat and sloped continua, with and without emission lines, some near the
    detector edges.

    Parameters
    ----------
    direct_wcs : gwcs.WCS
        WCS of the direct image (turns pixel positions into RA/Dec).
    seed : int, optional
        Random seed.
    n_sources : int, optional
        Number of sources (at least 20).

    Returns
    -------
    `~astropy.table.Table`
        One row per source; positions in the direct image (0-based pixels) and on the sky.
    """
    rng = np.random.default_rng(seed)
    rows = [
        {
            "id": 1,
            "x_direct": SHOWCASE_DIRECT_POSITION[0],
            "y_direct": SHOWCASE_DIRECT_POSITION[1],
            "kind": "extended",
            "sigma_x": 1.3,
            "sigma_y": 1.1,
            "cont_flam": 2.0e-17,
            "cont_slope": -1.0,
            "line_wave": 3.4000,
            "line_flux": 6.0e-16,
            "line_sigma": 0.0015,
        }
    ]
    show_x, show_y = _order1_bbox(*SHOWCASE_DIRECT_POSITION, margin=40.0)
    while len(rows) < n_sources:
        i = len(rows) + 1
        x = rng.uniform(60, 2000)
        y = rng.uniform(40, 2010)
        xr, yr = _order1_bbox(x, y, margin=8.0)
        overlaps = xr[1] > show_x[0] and xr[0] < show_x[1] and yr[1] > show_y[0] and yr[0] < show_y[1]
        near_direct = abs(x - show_x[1] + 40) < 30 and abs(y - SHOWCASE_DIRECT_POSITION[1]) < 30
        if overlaps or near_direct:
            continue
        extended = rng.random() < 0.5
        sx = rng.uniform(1.5, 4.5) if extended else 0.0
        sy = sx * rng.uniform(0.5, 1.0) if extended else 0.0
        has_line = rng.random() < 0.4
        rows.append(
            {
                "id": i,
                "x_direct": x,
                "y_direct": y,
                "kind": "extended" if extended else "point",
                "sigma_x": sx,
                "sigma_y": sy,
                "cont_flam": float(10 ** rng.uniform(np.log10(5e-19), np.log10(1.5e-17))),
                "cont_slope": float(rng.choice([0.0, rng.uniform(-2.5, 2.5)])),
                "line_wave": float(rng.uniform(3.25, 3.90)) if has_line else np.nan,
                "line_flux": float(10 ** rng.uniform(-16.7, -15.5)) if has_line else 0.0,
                "line_sigma": float(rng.uniform(0.001, 0.003)) if has_line else np.nan,
            }
        )
    table = Table(rows=rows)
    sky = direct_wcs.pixel_to_world(table["x_direct"], table["y_direct"])
    table["ra"] = sky.ra.deg
    table["dec"] = sky.dec.deg
    table["ra"].unit = u.deg
    table["dec"].unit = u.deg
    for name in ("x_direct", "y_direct", "sigma_x", "sigma_y"):
        table[name].unit = u.pix
    for name in ("cont_flam",):
        table[name].unit = _FLAM
    table["line_wave"].unit = u.micron
    table["line_sigma"].unit = u.micron
    table["line_flux"].unit = u.erg / u.s / u.cm**2
    table["direct_rate"] = [band_count_rate(row) for row in table]
    table["direct_rate"].description = "total count rate in the direct image, DN/s"
    return table


def _deposit(image, x, y, weights, origin=(0, 0)):
    """Bilinear (cloud-in-cell) deposit of point weights; conserves flux and centroid."""
    ny, nx = image.shape
    xs = np.asarray(x) - origin[0]
    ys = np.asarray(y) - origin[1]
    ix = np.floor(xs).astype(int)
    iy = np.floor(ys).astype(int)
    fx = xs - ix
    fy = ys - iy
    for dx, dy, w in (
        (0, 0, (1 - fx) * (1 - fy)),
        (1, 0, fx * (1 - fy)),
        (0, 1, (1 - fx) * fy),
        (1, 1, fx * fy),
    ):
        jx, jy = ix + dx, iy + dy
        ok = (jx >= 0) & (jx < nx) & (jy >= 0) & (jy < ny)
        np.add.at(image, (jy[ok], jx[ok]), (weights * w)[ok])


def _blur_sigmas(source):
    return (
        float(np.hypot(source["sigma_y"], PSF_SIGMA_PIX)),
        float(np.hypot(source["sigma_x"], PSF_SIGMA_PIX)),
    )


def render_direct_image(catalog, positions):
    """Noise-free direct image (DN/s, before the flat) of the catalog sources.

    Parameters
    ----------
    catalog : `~astropy.table.Table`
        From :func:`make_catalog`.
    positions : tuple of array_like
        ``(x, y)`` of every source in this image (0-based pixels).

    Returns
    -------
    numpy.ndarray
        Image of shape ``DETECTOR_SHAPE``.
    """
    image = np.zeros(inst.DETECTOR_SHAPE)
    for source, x, y in zip(catalog, *positions):
        sy, sx = _blur_sigmas(source)
        half = int(np.ceil(6 * max(sx, sy))) + 2
        x_lo, y_lo = int(np.floor(x)) - half, int(np.floor(y)) - half
        stamp = np.zeros((2 * half + 2, 2 * half + 2))
        _deposit(stamp, [x], [y], np.array([source["direct_rate"]]), origin=(x_lo, y_lo))
        stamp = ndimage.gaussian_filter(stamp, (sy, sx), mode="constant", truncate=6.0)
        _add_stamp(image, stamp, x_lo, y_lo)
    return image


def _add_stamp(image, stamp, x_lo, y_lo):
    ny, nx = image.shape
    sy, sx = stamp.shape
    x0, y0 = max(x_lo, 0), max(y_lo, 0)
    x1, y1 = min(x_lo + sx, nx), min(y_lo + sy, ny)
    if x1 <= x0 or y1 <= y0:
        return
    image[y0:y1, x0:x1] += stamp[y0 - y_lo : y1 - y_lo, x0 - x_lo : x1 - x_lo]


def render_wfss_image(catalog, positions, orders=inst.ORDERS, samples_per_pixel: int = 8):
    """Noise-free WFSS image (DN/s, before the flat) of the catalog's dispersed spectra.

    Parameters
    ----------
    catalog : `~astropy.table.Table`
        From :func:`make_catalog`.
    positions : tuple of array_like
        ``(x0, y0)`` of every source in the WFSS exposure's frame: where each would land
        if undispersed (0-based pixels).
    orders : sequence of int, optional
        Orders to render.
    samples_per_pixel : int, optional
        Samples of ``t`` per pixel of trace length.

    Returns
    -------
    numpy.ndarray
        Image of shape ``DETECTOR_SHAPE``.
    """
    image = np.zeros(inst.DETECTOR_SHAPE)
    for source, x0, y0 in zip(catalog, *positions):
        sy, sx = _blur_sigmas(source)
        pad = int(np.ceil(6 * max(sx, sy))) + 3
        for order in orders:
            coeffs = inst.dispersion_coefficients(order)
            # Trace length in pixels over the rendered range of t.
            span = abs(
                inst.evaluate_dispersion(coeffs["DISPX"], x0, y0, 1.1) - inst.evaluate_dispersion(coeffs["DISPX"], x0, y0, -0.1)
            )
            t = np.linspace(-0.1, 1.1, int(span * samples_per_pixel) + 2)
            dt = t[1] - t[0]
            lam = inst.evaluate_dispersion(coeffs["DISPL"], x0, y0, t)
            # d(lambda)/dt in Angstrom from the analytic derivative of the polynomial.
            dlam_dt = sum(
                k * inst.evaluate_dispersion(row[None, :], x0, y0, t) * t ** (k - 1)
                for k, row in enumerate(coeffs["DISPL"])
                if k > 0
            ) * 1e4
            weights = source_flambda(source, lam) * inst.sensitivity(lam, order) * dlam_dt * dt
            xs = x0 + inst.evaluate_dispersion(coeffs["DISPX"], x0, y0, t)
            ys = y0 + inst.evaluate_dispersion(coeffs["DISPY"], x0, y0, t)
            keep = weights > 0
            if not np.any(keep):
                continue
            xs, ys, weights = xs[keep], ys[keep], weights[keep]
            x_lo = int(np.floor(xs.min())) - pad
            y_lo = int(np.floor(ys.min())) - pad
            x_hi = int(np.floor(xs.max())) + pad + 2
            y_hi = int(np.floor(ys.max())) + pad + 2
            if x_hi < 0 or y_hi < 0 or x_lo >= inst.DETECTOR_SHAPE[1] or y_lo >= inst.DETECTOR_SHAPE[0]:
                continue
            stamp = np.zeros((y_hi - y_lo, x_hi - x_lo))
            _deposit(stamp, xs, ys, weights, origin=(x_lo, y_lo))
            stamp = ndimage.gaussian_filter(stamp, (sy, sx), mode="constant", truncate=6.0)
            _add_stamp(image, stamp, x_lo, y_lo)
    return image


def sky_image(kind):
    """Smooth sky background (DN/s/pixel) of one exposure: a level and a gentle gradient."""
    ny, nx = inst.DETECTOR_SHAPE
    yy, xx = np.mgrid[0:ny, 0:nx]
    level = EXPOSURE[kind]["sky"]
    return level * (1.0 + 0.04 * (xx / nx - 0.5) - 0.02 * (yy / ny - 0.5))


def add_sky_noise_and_defects(model, scene, kind, flat, rng, avoid_boxes=()):
    """Fill a rate-file model from a noise-free scene: sky, flat, noise, bad pixels, CRs.

    Parameters
    ----------
    model : `~stdatamodels.jwst.datamodels.ImageModel`
        Receives ``data``, ``err``, ``dq``, ``var_poisson``, ``var_rnoise``.
    scene : numpy.ndarray
        Noise-free source image (DN/s, flat-fielded units).
    kind : {"direct", "wfss"}
        Which exposure (sets sky, exposure time, gain, read noise).
    flat : numpy.ndarray
        The flat the FlatField step will divide by.
    rng : numpy.random.Generator
        Random generator.
    avoid_boxes : sequence of (x_lo, x_hi, y_lo, y_hi)
        Regions kept free of undetected cosmic rays (the showcased spectrum).

    Returns
    -------
    `~astropy.table.Table`
        The injected cosmic rays (x, y, amplitude, whether flagged).
    """
    from stdatamodels.jwst.datamodels import dqflags

    pars = EXPOSURE[kind]
    expected = (scene + sky_image(kind)) * flat
    var_poisson = np.clip(expected, 0, None) / (pars["gain"] * pars["exptime"])
    var_rnoise = np.full(expected.shape, pars["var_rnoise"] * 1.0)
    err = np.sqrt(var_poisson + var_rnoise)
    data = expected + err * rng.standard_normal(expected.shape)
    dq = np.zeros(expected.shape, dtype=np.uint32)

    # Bad pixels: dead (no response) and hot; the pipeline sets them to NaN.
    npix = expected.size
    bad = rng.choice(npix, size=int(5e-4 * npix), replace=False)
    dead, hot = bad[: bad.size // 2], bad[bad.size // 2 :]
    flags = dqflags.pixel
    dq.flat[dead] |= flags["DEAD"] | flags["DO_NOT_USE"]
    dq.flat[hot] |= flags["HOT"] | flags["DO_NOT_USE"]
    for arr in (data, err, var_poisson, var_rnoise):
        arr.flat[bad] = np.nan

    # Cosmic rays: most were caught by jump detection (flagged; the ramp fit recovered
    # the pixel); a few were not and remain as positive spikes.
    rows = []
    ny, nx = expected.shape
    while len(rows) < 40:
        x, y = int(rng.integers(2, nx - 2)), int(rng.integers(2, ny - 2))
        detected = len(rows) < 30
        if not detected and any(x0 <= x <= x1 and y0 <= y <= y1 for x0, x1, y0, y1 in avoid_boxes):
            continue
        amplitude = float(rng.uniform(2.0, 30.0))
        length = int(rng.integers(1, 4))
        pix = [(y, x + k) for k in range(length)]
        for yy, xx in pix:
            if detected:
                dq[yy, xx] |= flags["JUMP_DET"]
            elif np.isfinite(data[yy, xx]):
                data[yy, xx] += amplitude
        rows.append({"x": x, "y": y, "length": length, "amplitude": amplitude, "flagged": detected})

    model.data = data.astype(np.float32)
    model.err = err.astype(np.float32)
    model.dq = dq
    model.var_poisson = var_poisson.astype(np.float32)
    model.var_rnoise = var_rnoise.astype(np.float32)
    return Table(rows=rows)
