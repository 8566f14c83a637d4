"""Box extraction and flux calibration against analytic and injected truth."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from astropy import units as u
from hypothesis import given, settings
from hypothesis import strategies as st

from scipy.ndimage import binary_erosion
from test_real_configurations import paint_spectrum

from wfss_helpers.extraction.results import BoxExtraction
from wfss_helpers.extraction.box_background import estimate_background
from wfss_helpers.extraction.aperture import aperture_weights, bad_pixel_mask
from wfss_helpers.extraction.box import box_extract, wavelength_map
from wfss_helpers.extraction.flux_calibration import (
    flux_calibrate,
    relresponse_from_sensitivity,
    sensitivity_from_relresponse,
)
from wfss_helpers.extraction import sensitivity_curve
from wfss_helpers.extraction.lines import fit_emission_line
from wfss_helpers.geometry.trace import GrismTrace
from wfss_helpers.geometry import dispersed_position, t_from_column, trace_bounding_box
from wfss_helpers.geometry.configuration import load_grism_config


@pytest.fixture(scope="module")
def config(demo):
    return load_grism_config(demo.grismconf_file)


@pytest.fixture(scope="module")
def showcase(demo):
    row = demo.source(1)
    return float(row["x0_wfss"]), float(row["y0_wfss"])


def _profile_image(config, x0, y0, per_column, sigma=1.0, background=0.5, shape=(2048, 2048)):
    """A trace-following Gaussian profile whose columns sum to `per_column`."""
    image = np.full(shape, background, dtype=float)
    box = trace_bounding_box(config, 1, x0, y0, 20, detector_shape=shape)
    rows, cols = box.slices
    columns = np.arange(box.x_min, box.x_max + 1)
    _, yc = dispersed_position(config, 1, x0, y0, t_from_column(config, 1, x0, y0, columns))
    yy = np.arange(box.y_min, box.y_max + 1)[:, None]
    profile = np.exp(-0.5 * ((yy - yc[None, :]) / sigma) ** 2)
    image[rows, cols] += per_column * profile / profile.sum(axis=0)
    return image


def test_aperture_weights_are_exact_overlaps():
    rows = np.arange(0, 10)
    w = aperture_weights(rows, np.array([4.3, 5.0]), 2.0)
    np.testing.assert_allclose(w.sum(axis=0), [4.0, 4.0])
    # Aperture 2.3..6.3: pixel 2 spans 1.5..2.5 (0.2 inside), pixel 6 spans 5.5..6.5 (0.8).
    np.testing.assert_allclose(w[:, 0], [0, 0, 0.2, 1, 1, 1, 0.8, 0, 0, 0])
    np.testing.assert_allclose(w[:, 1], [0, 0, 0, 0.5, 1, 1, 1, 0.5, 0, 0])  # aperture 3.0..7.0


def test_box_extract_recovers_known_column_sums(config, showcase):
    x0, y0 = showcase
    image = _profile_image(config, x0, y0, per_column=3.0, background=0.5)
    ext = box_extract({"data": image}, config, 1, x0, y0, half_height=6.0, box_half_height=20.0)
    assert ext.background.median == pytest.approx(0.5, abs=1e-12)
    # A 6-sigma half-height holds all but 2e-9 of a Gaussian profile.
    np.testing.assert_allclose(ext.rate.to_value(u.DN / u.s), 3.0, rtol=1e-6)
    assert not ext.mask.any()
    # Seed-style whole-box sum: same answer, as the background is flat and known here.
    whole = box_extract({"data": image}, config, 1, x0, y0, half_height=None, box_half_height=20.0, background=0.5)
    np.testing.assert_allclose(whole.rate.value, 3.0, rtol=1e-6)


def test_uncertainty_matches_scatter(config, showcase):
    x0, y0 = showcase
    clean = _profile_image(config, x0, y0, per_column=3.0, background=0.5)
    sigma = 0.05
    rng = np.random.default_rng(5)
    rates, errors = [], []
    for _ in range(40):
        noisy = clean + sigma * rng.standard_normal(clean.shape)
        ext = box_extract({"data": noisy, "err": np.full(clean.shape, sigma)}, config, 1, x0, y0, half_height=4.0)
        rates.append(ext.rate.value)
        errors.append(ext.rate_err.value)
    scatter = np.std(rates, axis=0)
    np.testing.assert_allclose(np.median(scatter / np.mean(errors, axis=0)), 1.0, atol=0.05)
    np.testing.assert_allclose(np.mean(rates), 3.0 * 0.99994, rtol=2e-3)


def test_bad_pixels_mask_their_columns(config, showcase):
    x0, y0 = showcase
    image = _profile_image(config, x0, y0, per_column=3.0)
    dq = np.zeros(image.shape, dtype=np.uint32)
    ext0 = box_extract({"data": image}, config, 1, x0, y0, half_height=4.0)
    col_nan, col_dq = ext0.column[100], ext0.column[200]
    image[int(round(ext0.trace_y[100])), col_nan] = np.nan
    dq[int(round(ext0.trace_y[200])), col_dq] = 1 | 1024
    ext = box_extract({"data": image, "dq": dq}, config, 1, x0, y0, half_height=4.0)
    assert ext.mask[100] and ext.mask[200] and ext.mask.sum() == 2
    assert np.isnan(ext.rate[100]) and np.isnan(ext.rate_err[200])
    np.testing.assert_allclose(ext.rate.value[~ext.mask], 3.0 * 0.99994, rtol=1e-4)
    assert bad_pixel_mask(np.array([1.0, np.nan]), np.array([-1.0, 1.0])).tolist() == [True, True]


def test_background_estimate_rejects_outliers_and_needs_pixels():
    rng = np.random.default_rng(0)
    values = 0.8 + 0.02 * rng.standard_normal(5000)
    values[:50] = 40.0  # cosmic rays
    bkg = estimate_background(values)
    assert bkg.median == pytest.approx(0.8, abs=0.002)
    assert bkg.std == pytest.approx(0.02, rel=0.05)
    with pytest.raises(ValueError, match="Only 5 usable background pixels"):
        estimate_background([1.0, 2.0, np.nan, 3.0, 4.0, 5.0])


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(20, 3000),
    outliers=st.integers(0, 200),
    sigma=st.floats(2.0, 5.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_background_estimate_equals_sigma_clipped_stats(n, outliers, sigma, seed):
    """The compiled clipping path gives astropy's sigma_clipped_stats numbers exactly."""
    from astropy.stats import sigma_clipped_stats

    rng = np.random.default_rng(seed)
    values = rng.normal(0.8, 0.02, n)
    values[: min(outliers, n)] += rng.exponential(1.0, min(outliers, n))  # sources, cosmic rays
    values[rng.random(n) < 0.01] = np.nan
    if np.isfinite(values).sum() < 20:
        return
    bkg = estimate_background(values, sigma=sigma)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # astropy notes that it ignored the NaNs
        mean, median, std = sigma_clipped_stats(values, sigma=sigma, maxiters=10)
    assert bkg.median == pytest.approx(median, rel=1e-12)
    assert bkg.mean == pytest.approx(mean, rel=1e-12)
    assert bkg.std == pytest.approx(std, rel=1e-9)


def _interior(config, order, spectrum, gap=10, level=0.2):
    """Where the sensitivity is above ``level`` of its peak, ``gap`` entries inside."""
    sens = config.SENS[order](spectrum.spectral_axis.to_value(u.micron))
    inside = (sens > level * np.max(config.SENS_data[order][1])) & ~spectrum.mask
    return binary_erosion(inside, np.ones(2 * gap + 1, dtype=bool))


def test_flux_calibration_recovers_painted_spectrum(config, showcase):
    """A continuum and an emission line painted with grismconf alone (order +1, no
    noise): F_lambda back to 0.3%, the line flux to 1%."""
    x0, y0 = showcase
    lo, hi = GrismTrace(config, 1, x0, y0).wavelength_range.to_value(u.micron)
    line_um, sigma_um, line_flux = lo + 0.35 * (hi - lo), 0.002, 5e-17  # erg/s/cm2

    def continuum(w):
        return 1e-18 * (np.asarray(w) / 3.5) ** -1

    def flambda(w):
        gauss = np.exp(-0.5 * ((w - line_um) / sigma_um) ** 2)
        return continuum(w) + line_flux * gauss / (sigma_um * 1e4 * np.sqrt(2 * np.pi))

    image = paint_spectrum(config, "+1", x0, y0, flambda)
    ext = box_extract(
        {"data": image}, config, 1, x0, y0, half_height=6.0, background=0.0
    )
    spectrum = flux_calibrate(ext, config)
    w = spectrum.spectral_axis.to_value(u.micron)
    interior = _interior(config, "+1", spectrum) & (np.abs(w - line_um) > 0.02)
    assert interior.sum() > 300
    ratio = spectrum.flux.value[interior] / continuum(w[interior])
    np.testing.assert_allclose(ratio, 1.0, atol=3e-3)
    assert spectrum.flux.unit == u.Unit("erg s-1 cm-2 Angstrom-1")
    # Masked exactly where the sensitivity is tiny (no bad pixels here), never infinite.
    sens = config.SENS["+1"](w)
    tiny = sens < 1e-2 * np.max(config.SENS_data["+1"][1])
    np.testing.assert_array_equal(spectrum.mask, tiny)
    assert np.all(np.isfinite(spectrum.flux.value[~spectrum.mask]))
    # Line flux conserved: integrate the continuum-subtracted spectrum over the line.
    near = np.abs(w - line_um) < 6 * sigma_um
    dlam = np.gradient(w)[near] * 1e4
    measured = np.sum((spectrum.flux.value[near] - continuum(w[near])) * dlam)
    assert measured == pytest.approx(line_flux, rel=0.01)


def test_column_dispersing_extraction(grismc_config):
    """GRISMC: one entry per detector row, aperture across columns, F_lambda back."""
    x0, y0 = 1000.0, 700.0
    tr = GrismTrace(grismc_config, 1, x0, y0)
    def flambda(w):
        return 1e-18 * (np.asarray(w) / 4) ** -2

    image = paint_spectrum(grismc_config, "+1", x0, y0, flambda) + 0.3
    ext = box_extract({"data": image}, tr, half_height=5.0, box_half_height=15.0)
    assert isinstance(ext, BoxExtraction)
    assert ext.dispersion_axis == "y" and ext.trace == tr
    rows = np.arange(ext.bbox.y_min, ext.bbox.y_max + 1)
    np.testing.assert_array_equal(ext.pixel, rows)
    np.testing.assert_array_equal(ext.row, ext.pixel)
    np.testing.assert_array_equal(ext.trace_y, ext.pixel)
    np.testing.assert_allclose(ext.trace_x, tr.centre_at_pixel(ext.pixel))
    assert ext.pixel.size > 1000 and 9 < np.median(ext.dispersion.value) < 11
    assert ext.background.median == pytest.approx(0.3, abs=1e-9)
    with pytest.raises(AttributeError, match=r"along y \(GRISMC\).*Use .pixel"):
        ext.column
    spectrum = flux_calibrate(ext)  # the configuration of the extraction
    w = spectrum.spectral_axis.to_value(u.micron)
    interior = _interior(grismc_config, "+1", spectrum)
    ratio = spectrum.flux.value[interior] / flambda(w[interior])
    np.testing.assert_allclose(ratio, 1.0, atol=3e-3)
    # The same through the old call, and a wavelength map that depends on the row only.
    old = box_extract({"data": image}, grismc_config, 1, x0, y0, half_height=5.0)
    np.testing.assert_array_equal(old.rate, ext.rate)
    wmap = wavelength_map(tr, ext.bbox)
    old_style = wavelength_map(grismc_config, 1, x0, y0, ext.bbox)
    np.testing.assert_array_equal(wmap, old_style)
    np.testing.assert_allclose(wmap[:, 0].value, ext.wavelength.value)


def test_column_dispersing_aperture_at_the_detector_edge(grismc_config):
    # The trace runs ~44 columns left of the source: near the left edge the aperture
    # leaves the detector (masked) and the box is clipped.
    x0, y0 = 49.0, 700.0
    image = np.full((2048, 2048), 0.3)
    with pytest.warns(UserWarning, match="runs past the detector edge"):
        ext = box_extract(
            {"data": image}, grismc_config, 1, x0, y0, half_height=5.0,
            box_half_height=15.0,
        )
    assert ext.bbox.x_min == 0 and ext.bbox.clipped
    np.testing.assert_array_equal(ext.mask, ext.trace_x - 5.0 < -0.5)
    assert ext.mask.any() and not ext.mask.all()


def test_row_dispersing_toward_minus_x_extraction(grismr_b_config):
    x0, y0 = 1500.0, 900.0
    def flat(w):
        return np.full(np.shape(w), 1e-18)

    image = paint_spectrum(grismr_b_config, "+1", x0, y0, flat)
    ext = box_extract({"data": image}, grismr_b_config, 1, x0, y0, background=0.0)
    np.testing.assert_array_equal(ext.column, ext.pixel)
    assert np.all(np.diff(ext.wavelength.value) < 0)  # wavelength decreases with column
    spectrum = flux_calibrate(ext, grismr_b_config)
    assert np.all(np.diff(spectrum.spectral_axis.value) > 0)
    interior = _interior(grismr_b_config, "+1", spectrum)
    np.testing.assert_allclose(spectrum.flux.value[interior], 1e-18, rtol=3e-3)


def test_cutout_plots_follow_the_dispersion(grismc_config, grismr_b_config):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from wfss_helpers.plotting import plot_cutout

    image = np.random.default_rng(1).normal(0.3, 0.01, (2048, 2048))
    ext_c = box_extract({"data": image}, grismc_config, 1, 1000.0, 700.0)
    cutout = image[ext_c.bbox.slices]
    ax = plot_cutout(cutout, ext_c.bbox, extraction=ext_c, title="GRISMC")
    assert ax.images[0].get_array().shape == cutout.T.shape
    assert "row" in ax.get_xlabel()
    assert "wavelength increases to the right" in ax.get_xlabel()
    assert "transposed" in ax.get_title()
    assert not ax.xaxis_inverted()
    plt.close(ax.figure)
    ext_b = box_extract({"data": image}, grismr_b_config, 1, 1500.0, 900.0)
    ax = plot_cutout(image[ext_b.bbox.slices], ext_b.bbox, extraction=ext_b)
    assert ax.images[0].get_array().shape == ext_b.bbox.shape
    assert ax.xaxis_inverted() and "column" in ax.get_xlabel()
    plt.close(ax.figure)


def test_sensitivity_conversions_round_trip(config):
    wave = np.linspace(3.1, 4.0, 50) * u.micron
    s = sensitivity_curve(config, 1, wave)
    rel = relresponse_from_sensitivity(wave, s, photmjsr=0.7, pixel_area_sr=9.3e-14)
    back = sensitivity_from_relresponse(wave, rel, photmjsr=0.7, pixel_area_sr=9.3e-14)
    np.testing.assert_allclose(back.value, s.value, rtol=1e-12)
    # grismconf's own formula (w in micron, c in cm/s) on the same numbers.
    c = 29_979_245_800.0
    w = wave.value
    grismconf_s = (w * 1e4) / c * (w / 1e8) / (rel * 0.7 * 1e6 * 1e-23 * 9.3e-14) * 1e4
    np.testing.assert_allclose(grismconf_s, s.value, rtol=1e-10)


def test_wavelength_map_depends_on_column_only(config, showcase):
    x0, y0 = showcase
    box = trace_bounding_box(config, 1, x0, y0, 5)
    wmap = wavelength_map(config, 1, x0, y0, box)
    assert wmap.shape == box.shape and wmap.unit == u.micron
    np.testing.assert_array_equal(wmap[0], wmap[-1])
    assert np.all(np.diff(wmap[0].value) > 0)


def test_fit_emission_line_on_analytic_profile():
    x = np.arange(900.0, 1000.0)
    y = 2.0 + 0.01 * (x - 950) + 5.0 * np.exp(-0.5 * ((x - 951.37) / 1.8) ** 2)
    fit = fit_emission_line(x, y, 950.0, half_window=20)
    assert fit.center == pytest.approx(951.37, abs=1e-5)
    assert fit.sigma == pytest.approx(1.8, abs=1e-5)
    assert fit.flux == pytest.approx(5.0 * 1.8 * np.sqrt(2 * np.pi), rel=1e-5)
    with pytest.raises(ValueError, match="usable points"):
        fit_emission_line(x, np.full_like(x, np.nan), 950.0)


@pytest.mark.parametrize("sigma_x, sigma_y", [(0.0, 0.0), (3.0, 1.5)])
def test_aperture_fraction_from_image_against_the_psf(sigma_x, sigma_y):
    """On a noise-free image of the demo PSF convolved with a Gaussian source, integrated
    exactly over each pixel, the fraction measured across either axis is the analytic
    one (wfss_helpers.demo.instrument.aperture_fraction). The source sits where the
    aperture's edges fall on pixel edges, so the aperture holds whole pixels."""
    from scipy.special import ndtr

    from wfss_helpers.demo import instrument as inst
    from wfss_helpers.extraction.aperture import aperture_fraction_from_image

    x, y = 700.5, 900.5
    edges = np.arange(1025) - 0.5

    def pixel_integrals(centre, width):
        return np.diff(ndtr((edges - centre) / width))

    image = np.full((1024, 1024), 0.2)
    for weight, sigma in inst.PSF_COMPONENTS:
        along_x = pixel_integrals(x, np.hypot(sigma, sigma_x))
        along_y = pixel_integrals(y, np.hypot(sigma, sigma_y))
        image += 100.0 * weight * np.outer(along_y, along_x)
    for axis, sigma in (("y", sigma_y), ("x", sigma_x)):
        measured = aperture_fraction_from_image(image, x, y, axis, 4.0, radius=60)
        assert measured == pytest.approx(inst.aperture_fraction(4.0, sigma), abs=1e-3)
    with pytest.raises(ValueError, match="leaves the"):
        aperture_fraction_from_image(image, 10.0, 900.0, "y", 4.0)
