"""The forward model of a crowded field, its contamination, optimal extraction and the
field's spectra file, against independent truth.

Truth here is (a) the demo's injected spectra and aperture fractions, rendered by the
demo's own renderer (``wfss_helpers.demo.scene``: exact pixel integration of each
trace sample, written independently of the model's convolution), (b) analytic
properties of the deposit and the kernel (flux, centroid, width), and (c) the
integral of ``F_lambda S dlambda`` over the configuration's wavelengths.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.table import Table

from wfss_helpers.extraction.background import dispersed_sky_profile
from wfss_helpers.extraction.results import ExtractionFlag
from wfss_helpers.extraction.box import box_extract
from wfss_helpers.field.catalog_extraction import extract_field
from wfss_helpers.extraction.flux_calibration import flux_calibrate
from wfss_helpers.field import (
    T_RANGE,
    Footprint,
    detect_direct_sources,
    disperse_source,
    first_guess_flambda,
    model_field,
    refine_field_model,
    trace_kernel,
)
from wfss_helpers.field.dispersed_source import _cubic_taps, _deposit
from wfss_helpers.extraction.optimal import optimal_extract
from wfss_helpers.geometry.configuration import (
    ExposureMismatchError,
    load_grism_config,
)
from wfss_helpers.geometry.trace import GrismTrace

GRISMS = ("GRISMR", "GRISMC")
_COLUMNS = {"GRISMR": ("x0_wfss", "y0_wfss"), "GRISMC": ("x0_grismc", "y0_grismc")}
#: The band interior where the spectra are compared with the truth, µm.
INTERIOR = (3.20, 3.95)


# --- analytic properties --------------------------------------------------------------


@pytest.mark.parametrize("frac", [0.0, 0.13, 0.5, 0.77, 0.999])
def test_cubic_deposit_keeps_flux_centroid_and_width(frac):
    taps, weights = _cubic_taps(np.array([frac]))
    w = np.array([float(v[0]) for v in weights])
    offsets = np.array(taps, dtype=float)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.sum(w * offsets) == pytest.approx(frac, abs=1e-12)
    # Keys' kernel reproduces quadratics: the second moment about the point is zero,
    # where a linear deposit would leave frac * (1 - frac).
    assert np.sum(w * (offsets - frac) ** 2) == pytest.approx(0.0, abs=1e-12)


def test_deposit_conserves_weights_on_the_grid():
    rng = np.random.default_rng(1)
    x, y = rng.uniform(3, 27, 500), rng.uniform(3, 17, 500)
    weights = rng.uniform(0.5, 2.0, 500)
    grid = _deposit((20, 30), x, y, weights, cross_axis="y")
    assert grid.sum() == pytest.approx(weights.sum(), rel=1e-12)
    yy, xx = np.indices(grid.shape)
    assert np.sum(grid * xx) / grid.sum() == pytest.approx(np.sum(weights * x) / weights.sum())
    assert np.sum(grid * yy) / grid.sum() == pytest.approx(np.sum(weights * y) / weights.sum())


@pytest.fixture(scope="module")
def demo_configs(tmp_path_factory):
    from wfss_helpers.demo.calibration_files import write_grismconf_files

    paths = write_grismconf_files(tmp_path_factory.mktemp("conf"))
    return {grism: load_grism_config(paths[grism]) for grism in GRISMS}


@pytest.mark.parametrize("grism", GRISMS)
def test_trace_kernel_holds_the_integral_of_the_spectrum_on_the_trace(demo_configs, grism):
    config = demo_configs[grism]
    trace = GrismTrace(config, 1, 1000.0, 1100.0)

    def flambda(w):
        return 2e-18 * (w / 3.5) ** -1.5

    kernel, x_lo, y_lo = trace_kernel(trace, flambda, frac=(0.3, 0.6))
    # Independent: F_lambda S dlambda integrated over t with the configuration's DISPL.
    t = np.linspace(*T_RANGE, 20001)  # the sensitivity table ends the trace
    wave = np.array([config.DISPL("+1", 1000.0, 1100.0, v) for v in t])
    sens = trace.sensitivity(wave * u.micron).value
    expected = np.trapezoid(flambda(wave) * sens * np.gradient(wave * 1e4, t), t)
    assert kernel.sum() == pytest.approx(expected, rel=2e-3)
    # Across the dispersion the kernel is centred on the trace, pixel by pixel.
    frac = {"x": 0.3, "y": 0.6}
    along, across = trace.dispersion_axis, trace.cross_axis
    offset = {"x": x_lo, "y": y_lo}
    moved = kernel if along == "x" else kernel.T  # axis 1 along the dispersion
    cross_offsets = offset[across] + np.arange(moved.shape[0])
    start = trace.x0 if along == "x" else trace.y0
    for j in (np.linspace(0.2, 0.8, 4) * moved.shape[1]).astype(int):
        # The point sits at start + frac; kernel column j is offset[along] + j from
        # the point's integer pixel.
        pixel = start + offset[along] + j - frac[along]
        t_j = trace.t_from_pixel(np.array([pixel]))
        cross_start = trace.y0 if along == "x" else trace.x0
        expected = frac[across] + trace.cross_position(t_j)[0] - cross_start
        centre = np.sum(moved[:, j] * cross_offsets) / moved[:, j].sum()
        assert centre == pytest.approx(expected, abs=0.02), (grism, j)


# --- the demo field ------------------------------------------------------------------


def _match(model_sources, truth):
    """Truth id of each model source (nearest direct-image position, within 0.5 px)."""
    out = {}
    for row in model_sources:
        d = np.hypot(truth["x_direct"] - row["x"], truth["y_direct"] - row["y"])
        assert d.min() < 0.5, f"model source {row['id']} matches no injected source"
        out[int(row["id"])] = int(truth["id"][np.argmin(d)])
    return out


@pytest.fixture(scope="module")
def field(demo):
    """Both grisms: the sky-subtracted arrays, the first-guess and refined models."""
    sources = detect_direct_sources(demo.direct_cal)
    out = {"sources": sources, "truth": demo.sources()}
    for grism in GRISMS:
        path = demo.cal_file_for(grism)
        config = load_grism_config(path)
        with fits.open(path) as hdul:
            sci, err, dq = (np.array(hdul[n].data, dtype=float) for n in ("SCI", "ERR", "DQ"))
        first = model_field(sources, path, config)
        axis = "x" if grism == "GRISMR" else "y"
        sky = dispersed_sky_profile(sci, dispersion_axis=axis, dq=dq.astype(int),
                                    mask=first.image() > 0.01)
        arrays = {"data": sci - sky.image, "err": err, "dq": dq.astype(int)}
        refined = refine_field_model(refine_field_model(first, arrays), arrays)
        out[grism] = {"config": config, "arrays": arrays, "first": first,
                      "model": refined}
    catalog = sources.catalog
    out["ids"] = _match(Table({"id": catalog["label"], "x": catalog["x"],
                               "y": catalog["y"]}), out["truth"])
    return out


def test_every_injected_source_is_found_and_cosmic_rays_are_not(field):
    truth = field["truth"]
    catalog = field["sources"].catalog
    assert len(catalog) == len(truth)
    assert sorted(field["ids"].values()) == sorted(int(i) for i in truth["id"])
    # The segments removed as sharper than the PSF are not near any injected source.
    removed = catalog.meta["removed_sharp"]
    assert removed, "the demo direct image has unflagged cosmic rays"


def _label_of(field, truth_id):
    return next(label for label, tid in field["ids"].items() if tid == truth_id)


def _interior_ratio(spectrum, truth_wave, truth_flam, scale=1.0):
    wave = spectrum.spectral_axis.to_value(u.micron)
    flux = np.where(spectrum.mask, np.nan, spectrum.flux.value)
    inside = (wave > INTERIOR[0]) & (wave < INTERIOR[1]) & np.isfinite(flux)
    return np.median(flux[inside] / (np.interp(wave[inside], truth_wave, truth_flam) * scale))


def _pairs(truth, grism):
    return [int(r["id"]) for r in truth if f"({grism})" in str(r["role"])]


@pytest.mark.parametrize("grism", GRISMS)
def test_blended_pairs_decontaminated_within_3_percent_of_truth(demo, field, grism):
    truth = field["truth"]
    model = field[grism]["model"]
    arrays = field[grism]["arrays"]
    members = _pairs(truth, grism)
    assert members, grism
    report = []
    for tid in members:
        label = _label_of(field, tid)
        trace = model.trace(label, 1)
        fraction = float(truth[truth["id"] == tid][f"aperture_fraction_{grism.lower()}"][0])
        wave, flam = demo.true_spectrum(tid)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = box_extract(arrays, trace, background=0.0)
            clean = box_extract(arrays, trace, background=0.0,
                                contamination=model.contamination_image(label, 1))
        before = _interior_ratio(flux_calibrate(raw), wave, flam, fraction)
        after = _interior_ratio(flux_calibrate(clean), wave, flam, fraction)
        report.append((tid, round(before, 3), round(after, 3)))
        assert abs(after - 1) < 0.03, report
        assert abs(after - 1) < abs(before - 1), report
    # The pairs are blends: at least one member is off by 4% or more before.
    assert max(abs(b - 1) for _, b, _ in report) > 0.04, report
    print(grism, report)


@pytest.mark.parametrize("grism", GRISMS)
def test_refinement_lowers_the_residual(field, grism):
    arrays = field[grism]["arrays"]
    first, refined = field[grism]["first"], field[grism]["model"]
    assert refined.iteration == 2
    region = (first.image() > 0.05) & (arrays["err"] > 0)

    def chi(model):
        # Robust RMS of residual / ERR: undetected cosmic rays do not count.
        from astropy.stats import mad_std

        residual = (arrays["data"] - model.image())[region] / arrays["err"][region]
        return float(mad_std(residual, ignore_nan=True))

    before, after = chi(first), chi(refined)
    print(grism, "rms residual / ERR, first guess and refined:", before, after)
    assert after < before
    # What is left is close to the noise of those pixels.
    assert after < 1.3, (before, after)


def _isolated(field, grism):
    """Truth ids blended with nothing in this grism, whole traces, not at an edge."""
    truth = field["truth"]
    xcol, ycol = _COLUMNS[grism]
    chosen = []
    for row in truth:
        if str(row[f"blends_{grism.lower()}"]).strip() not in ("", "--"):
            continue
        if "edge" in str(row["role"]) or not (80 < row[xcol] < 1968 and 80 < row[ycol] < 1968):
            continue
        chosen.append(int(row["id"]))
    return chosen


@pytest.mark.parametrize("grism", GRISMS)
def test_optimal_and_box_agree_and_optimal_gains_signal_to_noise(demo, field, grism):
    truth = field["truth"]
    model = field[grism]["model"]
    arrays = field[grism]["arrays"]
    full = model.image()
    ids = _isolated(field, grism)
    assert len(ids) >= 8, ids
    gains = {}
    for tid in ids:
        label = _label_of(field, tid)
        if (label, "+1") not in model.dispersed:
            continue
        trace = model.trace(label, 1)
        own = model.source_image(label, 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            box = box_extract(arrays, trace, background=0.0, contamination=full - own)
        optimal = optimal_extract(arrays, trace, own, contamination=full - own,
                                  box_half_height=4.0)
        wave = box.wavelength.to_value(u.micron)
        inner = (wave > INTERIOR[0]) & (wave < INTERIOR[1])
        inner &= np.isfinite(box.rate.value) & np.isfinite(optimal.rate.value)
        corrected = np.sum(box.rate.value[inner] / optimal.aperture_fraction[inner])
        ratio = corrected / np.sum(optimal.rate.value[inner])
        assert abs(ratio - 1) < 0.01, (tid, ratio)
        # The profile's aperture correction is the injected one.
        row = truth[truth["id"] == tid][0]
        assert np.median(optimal.aperture_fraction[inner]) == pytest.approx(
            row[f"aperture_fraction_{grism.lower()}"], abs=0.01)
        # The optimal spectrum is the whole light: the truth itself.
        true_wave, true_flam = demo.true_spectrum(tid)
        assert _interior_ratio(flux_calibrate(optimal), true_wave, true_flam) == (
            pytest.approx(1.0, abs=0.03))
        snr_box = box.rate.value[inner] / box.rate_err.value[inner]
        snr_opt = optimal.rate.value[inner] / optimal.rate_err.value[inner]
        gains[tid] = float(np.median(snr_opt / snr_box))
    assert min(gains.values()) > 1.0, gains
    points = [g for tid, g in gains.items()
              if truth[truth["id"] == tid][0]["kind"] == "point"]
    # Point sources gain most (their light is in a few pixels of the aperture), the
    # faint ones (background-limited) by 20% or more.
    assert points and max(points) > 1.2 and min(points) > 1.05, gains
    print(grism, {k: round(v, 3) for k, v in gains.items()})


def test_dispersed_footprint_matches_the_demo_renderer(demo_configs):
    """Model one source from its rendered direct image and compare its dispersed image
    with the demo renderer's (independent code: exact pixel integration per sample)."""
    from wfss_helpers.demo import scene

    row = {"sigma_x": 1.7, "sigma_y": 1.1, "direct_rate": 1.0, "cont_flam": 3e-18,
           "cont_slope": -1.0, "line_wave": 3.6, "line_flux": 2e-16, "line_sigma": 0.003}
    catalog = Table(rows=[row])
    x, y = 1000.37, 900.71
    direct = scene.render_direct_image(catalog, ([x], [y]))
    lo = (int(x) - 30, int(y) - 30)
    stamp = direct[lo[1]:lo[1] + 61, lo[0]:lo[0] + 61]
    footprint = Footprint(1, stamp, lo[0], lo[1], x, y)
    for grism in GRISMS:
        trace = GrismTrace(demo_configs[grism], 1, x, y)
        model = disperse_source(footprint, trace,
                                lambda w: scene.source_flambda(row, w))
        truth = scene.render_wfss_image(catalog, ([x], [y]), orders=(1,), grism=grism)
        image = model.add_to(np.zeros_like(truth))
        # Total light (the footprint holds all but the far wings of the direct image).
        held = stamp.sum() / direct.sum()
        assert image.sum() == pytest.approx(truth.sum() * held, rel=0.005)
        # Pixel by pixel where the trace is bright.
        bright = truth > 0.05 * truth.max()
        ratio = image[bright].sum() / truth[bright].sum()
        assert ratio == pytest.approx(1.0, abs=0.01), grism
        worst = np.max(np.abs(image[bright] - truth[bright])) / truth.max()
        assert worst < 0.03, (grism, worst)


def test_extract_field_writes_a_file_specutils_reads(field, tmp_path):
    from specutils import SpectrumList

    import wfss_helpers.field.spectra_file as spectra_file
    import wfss_helpers.field.spectra_summary as spectra_summary

    records = []
    for grism in GRISMS:
        result = extract_field(field[grism]["model"], field[grism]["arrays"], grism=grism)
        # Only traces that leave the detector are skipped, and they say so.
        for row in result.skipped:
            assert "off the" in row["reason"], row["reason"]
        assert len(result.skipped) <= 4, result.skipped
        records += result.spectra
    n_sources = len(field["sources"].catalog)
    assert len(records) >= 2 * 2 * (n_sources - 2)
    path = spectra_file.write_spectra(tmp_path / "field.fits", records)
    read = SpectrumList.read(path, format="wfss-helpers-spectra")
    assert len(read) == len(records)
    for record, spectrum in zip(records, read):
        assert spectrum.meta["source_id"] == record.source_id
        assert spectrum.meta["grism"] == record.grism
        assert spectrum.meta["method"] == record.method
        assert spectrum.flux.unit.is_equivalent(u.erg / u.s / u.cm**2 / u.AA)
        np.testing.assert_allclose(spectrum.flux.value, record.spectrum.flux.value,
                                   rtol=1e-6, equal_nan=True)
        np.testing.assert_array_equal(spectrum.meta["flags"], record.spectrum.meta["flags"])
        np.testing.assert_allclose(spectrum.meta["contamination"].value,
                                   record.spectrum.meta["contamination"].value,
                                   rtol=1e-6, equal_nan=True)
    summary = spectra_summary.summary_table(records)
    summary.write(tmp_path / "summary.ecsv", format="ascii.ecsv")
    back = Table.read(tmp_path / "summary.ecsv", format="ascii.ecsv")
    assert len(back) == len(records) and back["ra"].unit == u.deg


def test_modelled_contamination_is_flagged_per_column(field):
    model = field["GRISMR"]["model"]
    arrays = field["GRISMR"]["arrays"]
    label = _label_of(field, 3)  # the faint member of the first GRISMR pair
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clean = box_extract(arrays, model.trace(label, 1), background=0.0,
                            contamination=model.contamination_image(label, 1))
    flagged = (clean.flags & ExtractionFlag.MODELLED_CONTAMINATION) != 0
    share = clean.contamination.value / np.abs(clean.rate.value)
    ok = np.isfinite(share)
    np.testing.assert_array_equal(flagged[ok], share[ok] > 0.1)
    assert flagged.any() and clean.contaminated[flagged].all()


# --- refusals -------------------------------------------------------------------------


def test_refusals_say_what_is_wrong(demo, field):
    sources = field["sources"]
    grismc_config = field["GRISMC"]["config"]
    with pytest.raises(ExposureMismatchError):
        model_field(sources, demo.wfss_cal, grismc_config)
    with pytest.raises(ValueError, match="segmentation map has shape"):
        detect_direct_sources(demo.direct_cal, segmentation=np.zeros((10, 10), int))
    footprint = next(iter(field["GRISMR"]["model"].footprints.values()))
    with pytest.raises(ValueError, match="pivot wavelength"):
        _unknown_filter_first_guess(footprint, sources)
    arrays = field["GRISMR"]["arrays"]
    model = field["GRISMR"]["model"]
    label = int(model.sources["id"][0])
    with pytest.raises(ValueError, match="contamination has shape"):
        box_extract(arrays, model.trace(label, 1), contamination=np.zeros((5, 5)))
    with pytest.raises(ValueError, match="ERR"):
        optimal_extract({"data": arrays["data"]}, model.trace(label, 1),
                        model.source_image(label, 1))
    with pytest.raises(KeyError, match="No order"):
        model.trace(label, 2)


def _unknown_filter_first_guess(footprint, sources):
    from dataclasses import replace

    odd = sources.model.copy()
    odd.meta.instrument.filter = "F200W"  # a short-wavelength filter: no grism
    return first_guess_flambda(footprint, replace(sources, model=odd))


@pytest.mark.parametrize("grism", GRISMS)
def test_linear_deposit_widens_a_point_by_f_one_minus_f(demo_configs, grism):
    """``cross_deposit="linear"`` (the pipeline's area sharing) widens the profile of a
    point by ``f (1 - f)`` pixel² across the dispersion; the default cubic one keeps
    it; both hold the same light."""
    trace = GrismTrace(demo_configs[grism], 1, 1000.0, 1000.0)
    flat = lambda w: np.full(np.shape(w), 1e-18)  # noqa: E731
    frac = (0.37, 0.37)
    widths, totals = {}, {}
    for deposit in ("cubic", "linear"):
        kernel, x_lo, y_lo = trace_kernel(trace, flat, frac=frac, cross_deposit=deposit)
        moved = kernel if grism == "GRISMR" else kernel.T
        across = (y_lo if grism == "GRISMR" else x_lo) + np.arange(moved.shape[0])
        column = moved[:, moved.shape[1] // 2]
        centre = np.sum(column * across) / column.sum()
        widths[deposit] = np.sum(column * (across - centre) ** 2) / column.sum()
        totals[deposit] = kernel.sum()
    assert totals["linear"] == pytest.approx(totals["cubic"], rel=1e-12)
    # The trace moves across the dispersion by a fraction of a pixel over one column,
    # so the cubic variance is small but not exactly zero.
    assert widths["cubic"] < 0.02
    f = frac[1] if grism == "GRISMR" else frac[0]
    fractional = (f + (trace.cross_position(np.array([0.5]))[0] - trace.source_cross)) % 1
    assert widths["linear"] - widths["cubic"] == pytest.approx(
        fractional * (1 - fractional), abs=0.03)
    with pytest.raises(ValueError, match="cross_deposit must be"):
        trace_kernel(trace, flat, cross_deposit="nearest")
