"""The synthetic sky of the demo dataset and its rendering into NIRCam-like rate files.

A scene is a table of sources (position on the sky, a Gaussian shape and a spectrum made of
a power-law continuum and an optional Gaussian emission line). It is rendered three times:

* into a **direct image** (F356W, ``PUPIL = CLEAR``): each source, convolved with the PSF,
  holds the count rate that follows from its band-averaged flux density and the imaging
  ``photmjsr``;
* into a **GRISMR** and a **GRISMC** exposure of the same field (F356W, dithered by a few
  arcsec): each source's spectrum is laid along its trace by sampling the trace parameter
  ``t`` finely with the *forward* polynomials of the demo instrument, depositing
  ``F_lambda S(lambda) dlambda`` at each ``(x0 + DISPX, y0 + DISPY)``, then convolving with
  the source shape and the same PSF as the direct image (a core and wings, see
  :data:`~wfss_helpers.demo.instrument.PSF_COMPONENTS`).

The direct image gets a smooth sky; each grism exposure gets the *dispersed* sky
(:func:`~wfss_helpers.demo.instrument.dispersed_sky`). All get Poisson + read noise
consistent with their ``ERR``, ``VAR_POISSON`` and ``VAR_RNOISE`` arrays, bad pixels (NaN,
flagged in ``DQ``) and a few cosmic rays, and are multiplied by the flat so that the
FlatField step removes it again. Everything is seeded: the same seed gives the same files,
bit for bit.
"""

from __future__ import annotations

import numpy as np
from astropy import units as u
from astropy.table import Table
from scipy import ndimage, sparse, special

from . import instrument as inst

__all__ = [
    "KINDS",
    "POINTINGS",
    "SHOWCASE_DIRECT_POSITION",
    "EXPOSURE",
    "make_catalog",
    "source_flambda",
    "band_count_rate",
    "imaging_wcs",
    "render_direct_image",
    "render_wfss_image",
    "sky_image",
    "trace_box",
    "blending_neighbours",
    "add_sky_noise_and_defects",
]

#: The three exposures of the demo field and the grism of each (None: direct image).
KINDS = {"direct": None, "grismr": "GRISMR", "grismc": "GRISMC"}

#: Pointing of the three exposures: RA/Dec of the reference pixel (deg) and V3 roll (deg).
#: The GRISMR exposure is offset by about (+2.4, -1.7) arcsec from the direct image, the
#: GRISMC one by about (+15.8, +1.5) arcsec (about 250 px along +y), so the gWCS matters.
POINTINGS = {
    "direct": {"ra_ref": 53.1624, "dec_ref": -27.7821, "roll_ref": 251.3},
    "grismr": {
        "ra_ref": 53.1624 + 2.4 / 3600 / np.cos(np.deg2rad(27.7821)),
        "dec_ref": -27.7821 - 1.7 / 3600,
        "roll_ref": 251.3,
    },
    "grismc": {
        "ra_ref": 53.1624 + 15.8 / 3600 / np.cos(np.deg2rad(27.7821)),
        "dec_ref": -27.7821 + 1.5 / 3600,
        "roll_ref": 251.3,
    },
}

#: The showcased source sits where the seed notebook's source sits in its direct image.
SHOWCASE_DIRECT_POSITION = (1562.0, 696.0)

#: Exposure parameters (effective exposure time in s, gain in e-/DN, sky in DN/s/pixel
#: (for a grism: the plateau of the dispersed sky), read-noise variance in (DN/s)^2).
EXPOSURE = {
    "direct": {"exptime": 429.5, "gain": 1.8, "sky": 0.20, "var_rnoise": 2.0e-5},
    "grismr": {"exptime": 1545.9, "gain": 1.8, "sky": 0.80, "var_rnoise": 4.0e-6},
    "grismc": {"exptime": 1545.9, "gain": 1.8, "sky": 0.80, "var_rnoise": 4.0e-6},
}

#: Observation numbers written in each rate file (the pipeline's Extract1d needs them).
_EXPOSURE_NUMBERS = {
    "direct": {"visit_group": "02", "activity_id": "02", "exposure_number": "1"},
    "grismr": {"visit_group": "02", "activity_id": "01", "exposure_number": "1"},
    "grismc": {"visit_group": "03", "activity_id": "01", "exposure_number": "1"},
}

_FLAM = u.erg / u.s / u.cm**2 / u.AA


def _kind(kind):
    """Canonical exposure name (``"wfss"`` is the GRISMR exposure)."""
    kind = "grismr" if kind == "wfss" else kind
    if kind not in KINDS:
        raise ValueError(f"Unknown demo exposure {kind!r}; use one of {tuple(KINDS)}.")
    return kind


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
    from astropy.constants import c

    w = np.linspace(2.9, 4.2, 2601)
    thr = inst.filter_throughput(w)
    flam_mean = np.trapezoid(source_flambda(source, w) * thr * w, w) / np.trapezoid(thr * w, w)
    pivot = np.sqrt(np.trapezoid(thr * w, w) / np.trapezoid(thr / w, w))
    fnu = (flam_mean * _FLAM * (pivot * u.micron) ** 2 / c).to(u.MJy)
    return float(fnu.value / (inst.IMAGING_PHOTMJSR * inst.PIXEL_AREA_SR))


def _exposure_model(kind):
    """An empty ImageModel carrying the metadata of one demo exposure."""
    from stdatamodels.jwst.datamodels import ImageModel

    kind = _kind(kind)
    grism = KINDS[kind]
    model = ImageModel(inst.DETECTOR_SHAPE)
    meta = model.meta
    meta.telescope = "JWST"
    meta.instrument.name = "NIRCAM"
    meta.instrument.detector = inst.DETECTOR
    meta.instrument.module = "A"
    meta.instrument.channel = "LONG"
    meta.instrument.filter = inst.FILTER
    meta.instrument.pupil = grism or "CLEAR"
    meta.exposure.type = "NRC_WFSS" if grism else "NRC_IMAGE"
    offset = {"direct": 0.0, "grismr": 0.01, "grismc": 0.03}[kind]
    meta.exposure.start_time = 59800.5 + offset
    meta.exposure.mid_time = meta.exposure.start_time + 0.005
    meta.exposure.end_time = meta.exposure.start_time + 0.01
    meta.exposure.effective_exposure_time = EXPOSURE[kind]["exptime"]
    meta.exposure.exposure_time = EXPOSURE[kind]["exptime"]
    meta.exposure.readpatt = "DEEP8" if grism else "SHALLOW4"
    meta.observation.date = "2022-08-22"
    meta.observation.time = {"direct": "12:00:00", "grismr": "12:14:24", "grismc": "12:43:12"}[kind]
    meta.observation.program_number = "99999"
    meta.observation.observation_number = "001"
    meta.observation.visit_number = "001"
    meta.observation.sequence_id = "1"
    for key, value in _EXPOSURE_NUMBERS[kind].items():
        setattr(meta.observation, key, value)
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
    if grism:
        wcsinfo.velosys = 0.0
    meta.velocity_aberration.scale_factor = 1.0
    meta.bunit_data = "DN/s"
    meta.bunit_err = "DN/s"
    return model


def imaging_wcs(kind, distortion_path):
    """The detector <-> sky gWCS of one demo pointing, built without any pipeline step.

    Parameters
    ----------
    kind : {"direct", "grismr", "grismc"}
        Which exposure's pointing (``"wfss"`` means GRISMR).
    distortion_path : path-like
        The demo distortion reference file.

    Returns
    -------
    gwcs.WCS
        Imaging WCS (for a grism pointing: where an undispersed source would land).
    """
    from jwst.assign_wcs.assign_wcs import load_wcs

    model = _exposure_model(kind)
    model.meta.instrument.pupil = "CLEAR"
    model.meta.exposure.type = "NRC_IMAGE"
    load_wcs(model, {"distortion": str(distortion_path), "filteroffset": None})
    return model.meta.wcs


def trace_box(x0, y0, grism="GRISMR", *, order=1, margin=0.0, t_range=(0.0, 1.0)):
    """x-range and y-range of a source's trace (order, ``t_range``) in a demo grism.

    Returns
    -------
    tuple of tuple
        ``((x_lo, x_hi), (y_lo, y_hi))`` widened by ``margin`` pixels.
    """
    t = np.linspace(t_range[0], t_range[1], 41)
    dx, dy, _ = inst.trace_offsets(order, x0, y0, t, grism)
    xs, ys = x0 + dx, y0 + dy
    return (xs.min() - margin, xs.max() + margin), (ys.min() - margin, ys.max() + margin)


def _boxes_overlap(a, b):
    (ax, ay), (bx, by) = a, b
    return ax[1] > bx[0] and ax[0] < bx[1] and ay[1] > by[0] and ay[0] < by[1]


def blending_neighbours(catalog, grism, x0, y0, *, half_height=8.0):
    """For each source, the ids of the others whose order +1 trace falls on its own.

    Two traces blend where they overlap along the dispersion and come within
    ``2 * half_height`` pixels of each other across it.

    Parameters
    ----------
    catalog : `~astropy.table.Table`
    grism : {"GRISMR", "GRISMC"}
    x0, y0 : array_like
        Undispersed positions of the sources in that grism exposure.
    half_height : float, optional

    Returns
    -------
    list of str
        Comma-separated ids (empty string: isolated).
    """
    boxes = [trace_box(x, y, grism, margin=half_height) for x, y in zip(x0, y0)]
    out = []
    for i, box in enumerate(boxes):
        ids = [
            str(catalog["id"][j]) for j, other in enumerate(boxes) if j != i and _boxes_overlap(box, other)
        ]
        out.append(",".join(ids))
    return out


#: Hand-placed sources (direct-image pixels): three pairs whose GRISMR traces overlap, a
#: pair whose GRISMC traces overlap, and a source near each detector edge.
_PLACED = (
    # (x, y, role)
    (620.0, 1520.0, "blend pair 1 (GRISMR)"),
    (1010.0, 1523.0, "blend pair 1 (GRISMR)"),
    (1250.0, 1180.0, "blend pair 2 (GRISMR)"),
    (1700.0, 1178.0, "blend pair 2 (GRISMR)"),
    (400.0, 330.0, "blend pair 3 (GRISMR)"),
    (880.0, 334.0, "blend pair 3 (GRISMR)"),
    (1840.0, 1350.0, "blend pair 4 (GRISMC)"),
    (1843.0, 1900.0, "blend pair 4 (GRISMC)"),
    (25.0, 1050.0, "left edge"),
    (2022.0, 960.0, "right edge"),
    (1100.0, 22.0, "bottom edge"),
    (700.0, 2026.0, "top edge"),
)


def _random_spectrum(rng, row):
    """Continuum, slope and (40% of the time) an emission line, drawn at random."""
    has_line = rng.random() < 0.4
    row.update(
        {
            "cont_flam": float(10 ** rng.uniform(np.log10(5e-19), np.log10(1.5e-17))),
            "cont_slope": float(rng.choice([0.0, rng.uniform(-2.5, 2.5)])),
            "line_wave": float(rng.uniform(3.25, 3.90)) if has_line else np.nan,
            "line_flux": float(10 ** rng.uniform(-16.7, -15.5)) if has_line else 0.0,
            "line_sigma": float(rng.uniform(0.001, 0.003)) if has_line else np.nan,
        }
    )
    return row


def _random_shape(rng, row, extended=None):
    extended = rng.random() < 0.5 if extended is None else extended
    sx = rng.uniform(1.5, 4.5) if extended else 0.0
    row.update(
        {
            "kind": "extended" if extended else "point",
            "sigma_x": sx,
            "sigma_y": sx * rng.uniform(0.5, 1.0) if extended else 0.0,
        }
    )
    return row


def make_catalog(direct_wcs, seed: int = 2024, n_sources: int = 26) -> Table:
    """Draw the demo source catalog.

    Source 1 is the showcased source: bright, compact, isolated in both grisms, with a
    continuum and one emission line, placed at the seed notebook's direct-image position.
    Sources 2-13 are placed by hand (:data:`_PLACED`): three pairs whose GRISMR traces
    overlap, one pair whose GRISMC traces overlap (contamination to teach), and one source
    near each detector edge. The rest are random, point-like and extended, flat and sloped
    continua, with and without emission lines, kept off the showcased source's traces.

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
            "role": "showcase",
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
    # The showcased source's traces in both grisms (direct-image frame: the exposures
    # are offset by at most ~15 arcsec, covered by the margin).
    keep_clear = [trace_box(*SHOWCASE_DIRECT_POSITION, g, margin=60.0) for g in inst.GRISMS]
    for k, (x, y, role) in enumerate(_PLACED):
        row = {"id": len(rows) + 1, "x_direct": x, "y_direct": y, "role": role}
        _random_shape(rng, row, extended=(k % 2 == 0))
        _random_spectrum(rng, row)
        if role.startswith("blend") and k % 2 == 0:
            # Make the first of each pair bright, with a line the neighbour contaminates.
            row.update({"cont_flam": 6e-18, "line_wave": 3.55, "line_flux": 4e-16, "line_sigma": 0.002})
        rows.append(row)
    while len(rows) < n_sources:
        x = rng.uniform(60, 1990)
        y = rng.uniform(60, 1990)
        mine = [trace_box(x, y, g, margin=10.0) for g in inst.GRISMS]
        if any(_boxes_overlap(m, k) for m in mine for k in keep_clear):
            continue
        if any(np.hypot(x - r["x_direct"], y - r["y_direct"]) < 40 for r in rows):
            continue
        row = {"id": len(rows) + 1, "x_direct": x, "y_direct": y, "role": "field"}
        _random_shape(rng, row)
        _random_spectrum(rng, row)
        rows.append(row)
    table = Table(rows=rows)
    sky = direct_wcs.pixel_to_world(table["x_direct"], table["y_direct"])
    table["ra"] = sky.ra.deg
    table["dec"] = sky.dec.deg
    table["ra"].unit = u.deg
    table["dec"].unit = u.deg
    for name in ("x_direct", "y_direct", "sigma_x", "sigma_y"):
        table[name].unit = u.pix
    table["cont_flam"].unit = _FLAM
    table["line_wave"].unit = u.micron
    table["line_sigma"].unit = u.micron
    table["line_flux"].unit = u.erg / u.s / u.cm**2
    table["direct_rate"] = [band_count_rate(row) for row in table]
    table["direct_rate"].description = "total count rate in the direct image, DN/s"
    # Aperture corrections: the fraction of each source's light within +-4 px of its
    # trace, across the dispersion (y for GRISMR, x for GRISMC).
    table["aperture_fraction_grismr"] = [inst.aperture_fraction(4.0, s) for s in table["sigma_y"]]
    table["aperture_fraction_grismc"] = [inst.aperture_fraction(4.0, s) for s in table["sigma_x"]]
    for name in ("aperture_fraction_grismr", "aperture_fraction_grismc"):
        table[name].description = "fraction of the light within +-4 px across the trace"
    return table


def _stamp_pad(source):
    """Margin (pixels) a stamp needs around its deposits to hold the PSF wings."""
    widest = max(s for _, s in inst.PSF_COMPONENTS)
    return int(np.ceil(5.0 * np.hypot(widest, max(source["sigma_x"], source["sigma_y"])))) + 3


def _components(source, axis):
    """``(weight, sigma)`` of the source's Gaussian shape convolved with each PSF
    component, along ``axis`` ("x" or "y") of the detector."""
    shape = source["sigma_x"] if axis == "x" else source["sigma_y"]
    return [(weight, float(np.hypot(shape, sigma))) for weight, sigma in inst.PSF_COMPONENTS]


def pixel_integrated_gaussian(centres, sigma, lo, n):
    """Fraction of unit Gaussians falling in each of ``n`` pixels from ``lo``.

    ``out[j, i]`` is the integral over pixel ``lo + i`` (from ``lo + i - 0.5`` to
    ``lo + i + 0.5``) of a Gaussian of width ``sigma`` centred at ``centres[j]``: what
    a detector records, for any sub-pixel position, without the broadening of a
    deposit on the grid followed by a convolution.
    """
    edges = lo + np.arange(n + 1) - 0.5
    cdf = special.ndtr((edges[None, :] - np.atleast_1d(centres)[:, None]) / sigma)
    return np.diff(cdf, axis=1)


def render_direct_image(catalog, positions):
    """Noise-free direct image (DN/s, before the flat) of the catalog sources.

    Each source is its Gaussian shape convolved with the three-Gaussian PSF, integrated
    over the pixels (exactly, at its sub-pixel position).

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
        half = _stamp_pad(source)
        x_lo, y_lo = int(np.floor(x)) - half, int(np.floor(y)) - half
        n = 2 * half + 2
        stamp = np.zeros((n, n))
        for (weight, sx), (_, sy) in zip(_components(source, "x"), _components(source, "y")):
            px = pixel_integrated_gaussian([x], sx, x_lo, n)[0]
            py = pixel_integrated_gaussian([y], sy, y_lo, n)[0]
            stamp += weight * np.outer(py, px)
        _add_stamp(image, source["direct_rate"] * stamp, x_lo, y_lo)
    return image


def _add_stamp(image, stamp, x_lo, y_lo):
    ny, nx = image.shape
    sy, sx = stamp.shape
    x0, y0 = max(x_lo, 0), max(y_lo, 0)
    x1, y1 = min(x_lo + sx, nx), min(y_lo + sy, ny)
    if x1 <= x0 or y1 <= y0:
        return
    image[y0:y1, x0:x1] += stamp[y0 - y_lo : y1 - y_lo, x0 - x_lo : x1 - x_lo]


def _dispersed_stamp(source, along, across, weights, axis, pad):
    """A dispersed trace: exact pixel integration across the dispersion, a linear
    deposit along it (then the PSF along it). Returns the stamp, in ``(across,
    along)`` orientation, and the first pixel of each axis."""
    a_lo = int(np.floor(along.min())) - pad
    a_n = int(np.floor(along.max())) + pad + 2 - a_lo
    c_lo = int(np.floor(across.min())) - pad
    c_n = int(np.floor(across.max())) + pad + 2 - c_lo
    ia = np.floor(along).astype(int) - a_lo
    fa = along - np.floor(along)
    rows = np.repeat(np.arange(along.size), 2)
    cols = np.stack([ia, ia + 1], axis=1).ravel()
    values = np.stack([weights * (1 - fa), weights * fa], axis=1).ravel()
    linear = sparse.csr_matrix((values, (rows, cols)), shape=(along.size, a_n))
    cross_axis = "y" if axis == "x" else "x"
    stamp = np.zeros((c_n, a_n))
    for (weight, s_along), (_, s_cross) in zip(
        _components(source, axis), _components(source, cross_axis)
    ):
        profile = pixel_integrated_gaussian(across, s_cross, c_lo, c_n)  # (n, c_n)
        laid = np.asarray((linear.T @ profile).T)  # (c_n, a_n)
        stamp += weight * ndimage.gaussian_filter1d(
            laid, s_along, axis=1, mode="constant", truncate=5.0
        )
    return stamp, a_lo, c_lo


def render_wfss_image(catalog, positions, orders=inst.ORDERS, samples_per_pixel: int = 8, grism="GRISMR"):
    """Noise-free WFSS image (DN/s, before the flat) of the catalog's dispersed spectra.

    Across the dispersion every sample of the trace is integrated over the pixels
    exactly (at its sub-pixel position), as a detector records it; along the dispersion
    the samples are shared linearly between pixels and convolved with the PSF.

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
    grism : {"GRISMR", "GRISMC"}, optional

    Returns
    -------
    numpy.ndarray
        Image of shape ``DETECTOR_SHAPE``.
    """
    ny, nx = inst.DETECTOR_SHAPE
    image = np.zeros(inst.DETECTOR_SHAPE)
    axis = inst.dispersion_axis(grism)
    for source, x0, y0 in zip(catalog, *positions):
        pad = _stamp_pad(source)
        for order in orders:
            ends = inst.trace_offsets(order, x0, y0, np.array([-0.1, 1.1]), grism)
            span = max(abs(ends[0][1] - ends[0][0]), abs(ends[1][1] - ends[1][0]))
            t = np.linspace(-0.1, 1.1, int(span * samples_per_pixel) + 2)
            dt = t[1] - t[0]
            dx, dy, lam = inst.trace_offsets(order, x0, y0, t, grism)
            # d(lambda)/dt in Angstrom from the analytic derivative of the polynomial.
            rows = inst.dispersion_coefficients(order, grism)["DISPL"]
            dlam_dt = 1e4 * sum(
                k * inst.evaluate_dispersion(row[None, :], x0, y0, t) * t ** (k - 1)
                for k, row in enumerate(rows)
                if k > 0
            )
            weights = source_flambda(source, lam) * inst.sensitivity(lam, order, grism) * dlam_dt * dt
            xs, ys = x0 + dx, y0 + dy
            keep = (weights > 0) & (xs > -pad) & (xs < nx + pad) & (ys > -pad) & (ys < ny + pad)
            if not np.any(keep):
                continue
            xs, ys, weights = xs[keep], ys[keep], weights[keep]
            along, across = (xs, ys) if axis == "x" else (ys, xs)
            stamp, a_lo, c_lo = _dispersed_stamp(source, along, across, weights, axis, pad)
            if axis == "x":
                _add_stamp(image, stamp, a_lo, c_lo)
            else:
                _add_stamp(image, stamp.T, c_lo, a_lo)
    return image


def sky_image(kind):
    """Sky background (DN/s/pixel) of one exposure, before the flat.

    The direct image has a smooth level with a gentle gradient; a grism exposure has the
    dispersed sky of its grism (:func:`~wfss_helpers.demo.instrument.dispersed_sky`).

    Parameters
    ----------
    kind : {"direct", "grismr", "grismc"}
        ``"wfss"`` means GRISMR.

    Returns
    -------
    numpy.ndarray
    """
    kind = _kind(kind)
    level = EXPOSURE[kind]["sky"]
    if KINDS[kind]:
        return inst.dispersed_sky(KINDS[kind], level=level)
    ny, nx = inst.DETECTOR_SHAPE
    yy, xx = np.mgrid[0:ny, 0:nx]
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

    kind = _kind(kind)
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
