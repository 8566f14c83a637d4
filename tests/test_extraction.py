"""Box extraction and flux calibration against analytic and injected truth."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from astropy import units as u
from hypothesis import given, settings
from hypothesis import strategies as st

from wfss_helpers.demo import scene
from wfss_helpers.extraction import (
    aperture_weights,
    bad_pixel_mask,
    box_extract,
    estimate_background,
    wavelength_map,
)
from wfss_helpers.flux_calibration import (
    flux_calibrate,
    relresponse_from_sensitivity,
    sensitivity_curve,
    sensitivity_from_relresponse,
)
from wfss_helpers.lines import fit_emission_line
from wfss_helpers.trace import dispersed_position, load_grism_config, t_from_column, trace_bounding_box


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


def test_flux_calibration_recovers_injected_spectrum(config, demo, showcase):
    """Noise-free rendering of the showcased source alone (order +1): F_lambda back to 1e-4."""
    x0, y0 = showcase
    one = demo.sources()[:1]
    image = scene.render_wfss_image(one, ([x0], [y0]), orders=(1,))
    ext = box_extract({"data": image}, config, 1, x0, y0, half_height=8.0, background=0.0)
    spectrum = flux_calibrate(ext, config)
    wave, flam = demo.true_spectrum(1)
    w = spectrum.spectral_axis.to_value(u.micron)
    interior = (w > 3.2) & (w < 3.9) & (np.abs(w - 3.4) > 0.02)
    ratio = spectrum.flux.value[interior] / np.interp(w[interior], wave, flam)
    np.testing.assert_allclose(ratio, 1.0, atol=2e-4)
    assert spectrum.flux.unit == u.Unit("erg s-1 cm-2 Angstrom-1")
    # Masked where the sensitivity is tiny, never infinite.
    assert spectrum.mask[0] and np.isnan(spectrum.flux.value[0])
    assert np.all(np.isfinite(spectrum.flux.value[~spectrum.mask]))
    # Line flux conserved: integrate the continuum-subtracted spectrum over the line.
    near = np.abs(w - 3.4) < 0.012
    cont = demo.source(1)["cont_flam"] * (w[near] / 3.5) ** demo.source(1)["cont_slope"]
    dlam = np.gradient(w)[near] * 1e4
    line_flux = np.sum((spectrum.flux.value[near] - cont) * dlam)
    assert line_flux == pytest.approx(demo.source(1)["line_flux"], rel=0.01)


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
