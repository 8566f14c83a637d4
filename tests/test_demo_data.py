"""Tests of the embedded demo dataset: reference files, offline calibration, truth."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from scipy.special import erf

from wfss_helpers.demo import instrument as inst
from wfss_helpers.demo.calibration_files import REFERENCE_FILE_NAMES
from wfss_helpers.demo import scene
from wfss_helpers import geometry as trace
from wfss_helpers.data_sources.crds import configure_offline_crds
from wfss_helpers.demo.build import build_demo_dataset
from wfss_helpers.demo.manifest import DEMO_SEED
from wfss_helpers.demo.dataset import dataset_directory_name, load_demo_dataset


def test_reference_files_validate(demo):
    from stdatamodels.jwst import datamodels as dm

    classes = {
        "specwcs": dm.NIRCAMGrismModel,
        "distortion": dm.DistortionModel,
        "flat": dm.FlatModel,
        "photom_imaging": dm.NrcImgPhotomModel,
        "photom_wfss": dm.NrcWfssPhotomModel,
    }
    for key, cls in classes.items():
        with cls(str(demo.reference_files[key]), strict_validation=True) as model:
            model.validate()
            assert "DEMO INSTRUMENT" in model.meta.description
            assert model.meta.pedigree == "DUMMY"


def test_steps_ran_offline_with_no_network_attempt(demo_build):
    dataset, events = demo_build
    assert events == [], f"network attempts during generation: {events[:5]}"
    with fits.open(dataset.wfss_cal) as hdul:
        header = hdul[0].header
        assert header["S_WCS"] == "COMPLETE"
        assert header["S_FLAT"] == "COMPLETE"
        assert header["S_PHOTOM"] == "COMPLETE"
        assert header["PUPIL"] == "GRISMR"
        assert header["R_PHOTOM"].startswith("crds://") and header["R_PHOTOM"].endswith(
            REFERENCE_FILE_NAMES["photom_wfss"]
        )
        assert header["R_SPCWCS"].endswith(REFERENCE_FILE_NAMES["specwcs"])
    with fits.open(dataset.direct_cal) as hdul:
        assert hdul[0].header["S_PHOTOM"] == "COMPLETE"
        assert hdul["SCI"].header["BUNIT"] == "MJy/sr"


def _grid(n=60, seed=3):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 2047, n), rng.uniform(0, 2047, n), rng.uniform(-0.1, 1.1, n)


@pytest.mark.parametrize("source", ["processed_file", "conf_file"])
def test_grismconf_agrees_with_demo_polynomials(demo, source, tmp_path, monkeypatch, network_recorder):
    import grismconf

    monkeypatch.chdir(tmp_path)  # the user's working directory must not matter
    with network_recorder() as rec:
        if source == "processed_file":
            # The cal file names its sensitivity file by name (crds://...): grismconf
            # reads it from the working directory, which load_grism_config sets to the
            # dataset's reference_files folder.
            config = trace.load_grism_config(demo.wfss_cal)
        else:
            config = grismconf.Config(str(demo.grismconf_file))
    assert Path.cwd() == tmp_path
    assert rec.events == []
    x0, y0, t = _grid()
    for order in inst.ORDERS:
        name = f"{order:+d}"
        coeffs = inst.dispersion_coefficients(order)
        np.testing.assert_allclose(config.DISPX(name, x0, y0, t), inst.evaluate_dispersion(coeffs["DISPX"], x0, y0, t), atol=1e-8)
        np.testing.assert_allclose(config.DISPY(name, x0, y0, t), inst.evaluate_dispersion(coeffs["DISPY"], x0, y0, t), atol=1e-8)
        np.testing.assert_allclose(config.DISPL(name, x0, y0, t), inst.evaluate_dispersion(coeffs["DISPL"], x0, y0, t), atol=1e-10)
        # On the tabulated grid: equal to the float32 precision of the photom table.
        wave = np.round(np.arange(3.10, 4.0, 0.05), 6).astype(np.float32).astype(float)
        np.testing.assert_allclose(config.SENS[name](wave), inst.sensitivity(wave, order), rtol=1e-5)
        # Between grid points grismconf interpolates linearly (0.002 micron steps).
        wave = np.linspace(3.2, 3.9, 37)
        np.testing.assert_allclose(config.SENS[name](wave), inst.sensitivity(wave, order), rtol=2e-4)


def test_dispersion_is_nircam_like():
    coeffs = inst.dispersion_coefficients(1)
    x0, y0 = 1000.0, 1000.0
    t = np.array([0.2, 0.5, 0.8])
    dlam = inst.evaluate_dispersion(coeffs["DISPL"], x0, y0, t + 1e-4) - inst.evaluate_dispersion(coeffs["DISPL"], x0, y0, t)
    dx = inst.evaluate_dispersion(coeffs["DISPX"], x0, y0, t + 1e-4) - inst.evaluate_dispersion(coeffs["DISPX"], x0, y0, t)
    angstrom_per_pixel = dlam / dx * 1e4
    assert np.all((angstrom_per_pixel > 9.5) & (angstrom_per_pixel < 10.5))
    with pytest.raises(ValueError, match="order 3 does not exist"):
        inst.dispersion_coefficients(3)


def test_wfss_gwcs_matches_demo_trace(demo):
    """The grism gWCS built by AssignWcs from the demo specwcs puts each wavelength where
    the demo instrument says (VELOSYS = 0, so no velocity shift)."""
    from stdatamodels.jwst import datamodels as dm

    sources = demo.sources()
    with dm.open(demo.wfss_cal) as model:
        to_grism = model.meta.wcs.get_transform("detector", "grism_detector")
        for row in sources[:8]:
            x0, y0 = row["x0_wfss"], row["y0_wfss"]
            t = np.array([0.15, 0.5, 0.85])
            coeffs = inst.dispersion_coefficients(1)
            lam = inst.evaluate_dispersion(coeffs["DISPL"], x0, y0, t)
            for ti, lami in zip(t, lam):
                xg, yg, *_ = to_grism(x0, y0, lami, 1)
                assert xg == pytest.approx(x0 + inst.evaluate_dispersion(coeffs["DISPX"], x0, y0, ti), abs=0.02)
                assert yg == pytest.approx(y0 + inst.evaluate_dispersion(coeffs["DISPY"], x0, y0, ti), abs=0.02)


def test_truth_positions_agree_with_the_gwcs_of_both_images(demo):
    """Direct pixel -> sky with the direct image's gWCS -> WFSS pixel with the grism
    image's gWCS reproduces the rendered positions."""
    from stdatamodels.jwst import datamodels as dm

    sources = demo.sources()
    with dm.open(demo.direct_cal) as direct:
        ra, dec = direct.meta.wcs(sources["x_direct"], sources["y_direct"])
    np.testing.assert_allclose(ra, sources["ra"], atol=1e-9)
    np.testing.assert_allclose(dec, sources["dec"], atol=1e-9)
    with dm.open(demo.wfss_cal) as wfss:
        # world -> "detector" frame of the grism WCS: the undispersed source position.
        to_pixel = wfss.meta.wcs.get_transform("world", "detector")
        x, y = np.transpose([to_pixel(r, d, 3.5, 1)[:2] for r, d in zip(ra, dec)])
    np.testing.assert_allclose(x, sources["x0_wfss"], atol=1e-3)
    np.testing.assert_allclose(y, sources["y0_wfss"], atol=1e-3)
    shift = np.hypot(x - sources["x_direct"], y - sources["y_direct"]) * inst.PIXEL_SCALE_ARCSEC
    assert 2.0 < np.median(shift) < 4.0  # dithered by a few arcsec


def test_catalog_content(demo):
    sources = demo.sources()
    assert len(sources) >= 20
    assert set(sources["kind"]) == {"point", "extended"}
    assert np.sum(np.isfinite(sources["line_wave"])) >= 5
    assert np.sum(sources["cont_slope"] != 0) >= 5
    show = sources[sources["id"] == 1][0]
    assert (show["x_direct"], show["y_direct"]) == scene.SHOWCASE_DIRECT_POSITION
    wave, flam = demo.true_spectrum(1)
    np.testing.assert_allclose(flam, scene.source_flambda(show, wave), rtol=1e-12)


def test_direct_image_sources_at_truth_positions(demo):
    """Flux-weighted centroids and aperture sums of isolated point sources in the direct
    image agree with the injected positions and count rates."""
    sources = demo.sources()
    rate = fits.getdata(demo.direct_rate, "SCI").astype(float)
    flat = fits.getdata(demo.reference_files["flat"], "SCI")
    data = rate / flat - scene.sky_image("direct")
    checked = 0
    for row in sources[(sources["kind"] == "point") & (sources["direct_rate"] > 300)]:
        x, y = row["x_direct"], row["y_direct"]
        ix, iy = int(round(x)), int(round(y))
        if not (10 <= ix < 2038 and 10 <= iy < 2038):
            continue
        stamp = data[iy - 6 : iy + 7, ix - 6 : ix + 7]
        if not np.all(np.isfinite(stamp)):
            continue
        yy, xx = np.mgrid[iy - 6 : iy + 7, ix - 6 : ix + 7]
        total = stamp.sum()
        assert abs((stamp * xx).sum() / total - x) < 0.05
        assert abs((stamp * yy).sum() / total - y) < 0.05
        # The 13x13 box holds the PSF core and part of its wings.
        inside = sum(
            w
            * np.prod(
                [
                    0.5 * (erf((hi - c) / (np.sqrt(2) * sig)) - erf((lo - c) / (np.sqrt(2) * sig)))
                    for lo, hi, c in ((ix - 6.5, ix + 6.5, x), (iy - 6.5, iy + 6.5, y))
                ]
            )
            for w, sig in inst.PSF_COMPONENTS
        )
        assert total == pytest.approx(row["direct_rate"] * inside, rel=0.03)
        checked += 1
    assert checked >= 3


def _noise_free(demo, kind):
    sources = demo.sources()
    if kind == "direct":
        image = scene.render_direct_image(sources, (sources["x_direct"].value, sources["y_direct"].value))
    else:
        image = scene.render_wfss_image(sources, (sources["x0_wfss"].value, sources["y0_wfss"].value))
    return image + scene.sky_image(kind)


@pytest.mark.parametrize("kind", ["direct", "wfss"])
def test_err_matches_injected_noise(demo, kind):
    """(data - noise-free truth) / ERR is a unit normal, in the rate file and after the
    FlatField step (which must scale data and ERR alike)."""
    expected = _noise_free(demo, kind)
    flat = fits.getdata(demo.reference_files["flat"], "SCI").astype(float)
    crs = Table.read(demo.truth, hdu=f"CR_{kind.upper()}")
    mask = np.zeros(expected.shape, bool)
    for cr in crs[~crs["flagged"]]:
        mask[cr["y"], cr["x"] : cr["x"] + cr["length"]] = True
    for path, scale in ((getattr(demo, f"{kind}_rate"), flat), (getattr(demo, f"{kind}_cal"), 1.0)):
        with fits.open(path) as hdul:
            data = hdul["SCI"].data.astype(float)
            err = hdul["ERR"].data.astype(float)
            if kind == "direct" and path.name.endswith("_cal.fits"):
                # The direct cal file is in MJy/sr; ERR was converted with it.
                conversion = hdul["SCI"].header.get("PHOTMJSR", inst.IMAGING_PHOTMJSR)
                data, err = data / conversion, err / conversion
        good = np.isfinite(data) & np.isfinite(err) & ~mask
        z = ((data - expected * scale) / err)[good]
        assert abs(np.mean(z)) < 0.005
        assert np.std(z) == pytest.approx(1.0, abs=0.01)
        # Gaussian tails: no more than ~0.3% beyond 3 sigma.
        assert np.mean(np.abs(z) > 3) < 0.004


def test_bad_pixels_and_cosmic_rays_are_flagged(demo):
    from stdatamodels.jwst.datamodels import dqflags

    with fits.open(demo.wfss_rate) as hdul:
        data, dq = hdul["SCI"].data, hdul["DQ"].data
    do_not_use = (dq & dqflags.pixel["DO_NOT_USE"]) > 0
    assert 1000 < do_not_use.sum() < 4000
    assert np.all(np.isnan(data[do_not_use]))
    assert np.all(np.isfinite(data[~do_not_use]))
    crs = Table.read(demo.truth, hdu="CR_WFSS")
    assert crs["flagged"].sum() >= 20 and (~crs["flagged"]).sum() >= 5
    for cr in crs[crs["flagged"]]:
        assert dq[cr["y"], cr["x"]] & dqflags.pixel["JUMP_DET"]


def test_generation_is_deterministic_and_seeded(demo, tmp_path):
    again = build_demo_dataset(tmp_path / "again", seed=DEMO_SEED)
    assert again.manifest["data_sha256"] == demo.manifest["data_sha256"]
    for key in ("direct_cal", "wfss_cal"):
        with fits.open(getattr(demo, key)) as a, fits.open(getattr(again, key)) as b:
            np.testing.assert_array_equal(a["SCI"].data, b["SCI"].data)
    np.testing.assert_array_equal(Table.read(demo.truth, hdu="SPECTRA")["flam"], Table.read(again.truth, hdu="SPECTRA")["flam"])
    other = build_demo_dataset(tmp_path / "other", seed=DEMO_SEED + 1)
    assert other.manifest["data_sha256"]["wfss_rate"] != demo.manifest["data_sha256"]["wfss_rate"]


def test_cached_dataset_is_reused_and_incomplete_one_rebuilt(demo):
    cache = demo.directory.parent
    mtime = os.path.getmtime(demo.wfss_cal)
    again = load_demo_dataset(cache)
    assert again.directory == demo.directory
    assert os.path.getmtime(again.wfss_cal) == mtime
    manifest = json.loads((demo.directory / "manifest.json").read_text())
    assert manifest["version"] == demo.manifest["version"]


def test_interrupted_build_is_rebuilt(tmp_path):
    partial = tmp_path / dataset_directory_name(DEMO_SEED)
    partial.mkdir()
    (partial / "demo_nrcalong_f356w_clear_rate.fits").write_bytes(b"half a file")
    dataset = load_demo_dataset(tmp_path)
    assert (dataset.directory / "manifest.json").exists()
    assert fits.getheader(dataset.direct_rate)["EXP_TYPE"] == "NRC_IMAGE"


def test_offline_crds_refuses_to_touch_a_real_cache(tmp_path):
    config = tmp_path / "config" / "jwst" / "server_config"
    config.parent.mkdir(parents=True)
    config.write_text("{'observatory': 'jwst', 'operational_context': 'jwst_1322.pmap'}")
    with pytest.raises(FileExistsError, match="real \\(online\\) CRDS cache"):
        configure_offline_crds(tmp_path)
    assert "jwst_1322" in config.read_text()
