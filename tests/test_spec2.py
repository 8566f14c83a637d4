"""The pipeline's own WFSS extraction (wfss_helpers.data_sources.spec2) against our box extraction and
the demo truth, in both grisms.

One Spec2 run per grism (module-scoped): SourceCatalogStep on the direct image, then
AssignWcs, FlatField, Background, Extract2d, SourceType, Photom and Extract1d on the rate
file, all with the demo instrument's reference files. For the showcased source and the
isolated demo sources whose band interior is on the detector:

* pipeline / box extraction over the same number of pixels across the dispersion
  (``box_extract(half_height = box height / 2)`` after our per-line sky) within 1%. Our
  sky (``dispersed_sky_profile``) leaves out the pixels the pipeline masked as sources
  (``BackgroundStep``'s ``mask``): without that, the wings of the traces crossing each
  line bias the median up by ~0.001 DN/s per pixel, 1-2% of the faintest sources here
  (test_unmasked_sky_is_biased_by_the_traces);
* pipeline / (truth x fraction of the light in the pipeline's box) within 2%: the box
  is ``2 h + 1`` pixels for point-like catalog sources (half-height ``h + 0.5``), the
  segment's height for extended ones; the fraction is across the dispersion
  (``sigma_y`` for GRISMR, ``sigma_x`` for GRISMC).

Medians over the band interior 3.25-3.90 micron, emission lines (+-0.03 micron) excluded.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from astropy.table import Table

from wfss_helpers.data_sources import spec2
from wfss_helpers.demo import instrument as inst
from wfss_helpers.demo.calibration_files import reference_files_for

BAND = (3.25, 3.90)
LINE_HALF_WIDTH = 0.03
#: Isolated demo sources with their band interior on the detector, per grism (ids of the
#: truth table; 1 is the showcased source). Left out: the blended pairs
#: (``blends_<grism>``); in GRISMR source 12, whose box is cut by the detector's bottom
#: edge (a box of the same height around our trace would leave the detector: we mask
#: it); in GRISMC sources 14 and 20, whose boxes hold each other's light (20 lies 8 px
#: from the box of 14, eleven times brighter: see test_contaminated_source_is_high).
SOURCES = {
    "GRISMR": (1, 8, 11, 13, 18, 22, 24, 26),
    "GRISMC": (1, 2, 4, 5, 7, 11, 13, 15, 18, 21, 23),
}
CROSS_SIGMA = {"GRISMR": "sigma_y", "GRISMC": "sigma_x"}


@pytest.fixture(scope="module")
def catalog(demo, tmp_path_factory):
    """SourceCatalogStep on the demo direct image: catalog and segmentation map."""
    from jwst.source_catalog import SourceCatalogStep

    from wfss_helpers.data_sources.pipeline import capture_logs, step_overrides

    out = tmp_path_factory.mktemp("spec2_catalog")
    references = {key: demo.reference_files[key] for key in ("apcorr", "abvegaoffset")}
    with capture_logs(out / "pipeline.log"):
        SourceCatalogStep.call(
            str(demo.direct_cal),
            **step_overrides(SourceCatalogStep, references),
            save_results=True,
            output_dir=str(out),
        )
    stem = demo.direct_cal.name.removesuffix("_cal.fits")
    return {
        "catalog": out / f"{stem}_cat.ecsv",
        "segmentation": out / f"{stem}_segm.fits",
    }


def _label(catalog_path, row):
    return int(
        spec2.nearest_catalog_source(catalog_path, row["x_direct"], row["y_direct"])[
            "label"
        ]
    )


@pytest.fixture(scope="module", params=["GRISMR", "GRISMC"])
def grism_run(request, demo, catalog, tmp_path_factory):
    """One Spec2 run per grism over the tested sources (and GRISMC's contaminated pair)."""
    from stdatamodels.jwst import datamodels

    from wfss_helpers.extraction.background import dispersed_sky_profile, subtract_background
    from wfss_helpers.data_sources.pipeline import capture_logs
    from wfss_helpers.geometry.configuration import load_grism_config

    grism = request.param
    out = tmp_path_factory.mktemp(f"spec2_{grism.lower()}")
    truth = demo.sources()
    ids = list(SOURCES[grism]) + ([14, 20] if grism == "GRISMC" else [])
    labels = {
        sid: _label(catalog["catalog"], truth[truth["id"] == sid][0]) for sid in ids
    }
    rate = demo.wfss_rate if grism == "GRISMR" else demo.grismc_rate
    with capture_logs(out / "pipeline.log"):
        run = spec2.run_wfss_spec2(
            rate,
            catalog["catalog"],
            reference_files=reference_files_for(grism, demo.reference_files),
            source_ids=sorted(labels.values()),
            output_dir=out,
        )
    cal = demo.cal_file_for(grism)
    ours = datamodels.open(cal)
    axis = inst.dispersion_axis(grism)
    sources = (
        np.asarray(run.background_subtracted.mask) == 0
    )  # as BackgroundStep masked
    sky = dispersed_sky_profile(
        ours.data, dispersion_axis=axis, dq=ours.dq, mask=sources
    )
    clean = subtract_background(ours.data, sky, err=ours.err, dq=ours.dq)
    yield {
        "grism": grism,
        "run": run,
        "labels": labels,
        "truth": truth,
        "clean": clean,
        "model": ours,
        "sky": sky,
        "config": load_grism_config(cal),
    }
    run.close()
    ours.close()


def _box_like_pipeline(demo, run, row, spectrum):
    """Our F_lambda at the pipeline's pixels: a box as tall as the pipeline's, centred
    on our trace of the source (direct-image position of the truth table)."""
    from wfss_helpers.extraction.box import box_extract
    from wfss_helpers.extraction.flux_calibration import flux_calibrate
    from wfss_helpers.geometry.positions import direct_to_wfss
    from wfss_helpers.geometry.trace import GrismTrace

    x0, y0 = direct_to_wfss(
        demo.direct_cal, run["model"], row["x_direct"], row["y_direct"]
    )
    trace = GrismTrace(run["config"], 1, x0, y0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # edges and contamination flags: masked or kept
        extraction = box_extract(
            run["clean"],
            trace,
            half_height=spectrum.half_height,
            box_half_height=spectrum.half_height + 10,
            background=0.0,
        )
        flam = flux_calibrate(extraction)
    order = np.argsort(extraction.wavelength)
    pixel = extraction.pixel[order]
    values = np.where(flam.mask, np.nan, flam.flux.value)
    out = np.full(spectrum.pixel.size, np.nan)
    found = np.isin(spectrum.pixel, pixel)
    out[found] = values[np.searchsorted(pixel, spectrum.pixel[found])]
    wavelength = np.full(spectrum.pixel.size, np.nan)
    wavelength[found] = extraction.wavelength.value[order][
        np.searchsorted(pixel, spectrum.pixel[found])
    ]
    return out, wavelength


def _interior(row, wavelength):
    inside = (wavelength > BAND[0]) & (wavelength < BAND[1])
    if float(row["line_flux"]) > 0:
        inside &= np.abs(wavelength - float(row["line_wave"])) > LINE_HALF_WIDTH
    return inside


def _ratios(demo, run):
    """Per tested source: pipeline / ours and pipeline / (truth x fraction)."""
    rows = []
    for sid in SOURCES[run["grism"]]:
        row = run["truth"][run["truth"]["id"] == sid][0]
        label = run["labels"][sid]
        spectrum = spec2.pipeline_spectrum(run["run"].x1d, label)
        wave = spectrum.wavelength.value
        ours, our_wave = _box_like_pipeline(demo, run, row, spectrum)
        inside = _interior(row, wave)
        # columns (rows) summed short by the pipeline hold a bad pixel: we mask them
        full = (
            inside
            & np.isfinite(spectrum.flux.value)
            & (spectrum.npixels == spectrum.box_height)
        )
        usable = full & np.isfinite(ours)
        true_wave, true_flam = demo.true_spectrum(sid)
        sigma = float(row[CROSS_SIGMA[run["grism"]]])
        fraction = inst.aperture_fraction(spectrum.half_height, sigma)
        truth = np.interp(wave, true_wave, true_flam) * fraction
        rows.append(
            {
                "id": sid,
                "label": label,
                "type": spectrum.source_type,
                "height": spectrum.box_height,
                "n": int(usable.sum()),
                "n_truth": int(full.sum()),
                "vs_ours": float(np.median(spectrum.flux.value[usable] / ours[usable])),
                "vs_truth": float(np.median(spectrum.flux.value[full] / truth[full])),
                "dlam_max": float(np.nanmax(np.abs(wave - our_wave)[inside]) * 1e4),
            }
        )
    return Table(rows=rows)


@pytest.fixture(scope="module")
def ratios(demo, grism_run):
    return _ratios(demo, grism_run)


def test_catalog_finds_every_demo_source(demo, catalog):
    table = Table.read(catalog["catalog"])
    for row in demo.sources():
        found = spec2.nearest_catalog_source(table, row["x_direct"], row["y_direct"])
        assert (
            np.hypot(
                found["xcentroid"] - row["x_direct"],
                found["ycentroid"] - row["y_direct"],
            )
            < 0.1
        )


def test_boxes_are_the_documented_heights(grism_run):
    """Point-like catalog sources: 2 h + 1 = 11 pixels; extended: the segment's height."""
    catalog = Table.read(grism_run["run"].background_subtracted.meta.source_catalog)
    for slit in grism_run["run"].slits.slits:
        extended = bool(catalog["is_extended"][catalog["label"] == slit.source_id][0])
        height = slit.ysize if grism_run["grism"] == "GRISMR" else slit.xsize
        assert (height > 30) if extended else (height == 11), (slit.source_id, height)
        assert slit.source_type == ("EXTENDED" if extended else "POINT")


def test_background_scale_is_the_injected_sky(grism_run):
    background = grism_run["run"].background_subtracted
    assert background.meta.background.scaling_factor == pytest.approx(0.80, abs=0.002)
    # jwst 3.0.0 warns "No sources will be masked" though it masked them: check the mask
    assert 0.05 < np.mean(np.asarray(background.mask) == 0) < 0.5


def test_pipeline_matches_box_extraction_over_the_same_pixels(ratios, grism_run):
    assert len(ratios) >= 8 and 1 in ratios["id"]
    assert np.all(ratios["n"] > 200), ratios
    bad = ratios[np.abs(ratios["vs_ours"] - 1) > 0.01]
    assert len(bad) == 0, (
        grism_run["grism"] + "\n" + "\n".join(ratios.pformat(max_width=-1))
    )


def test_pipeline_matches_truth_times_light_in_the_box(ratios, grism_run):
    assert np.all(ratios["n_truth"] > 200), ratios
    bad = ratios[np.abs(ratios["vs_truth"] - 1) > 0.02]
    assert len(bad) == 0, (
        grism_run["grism"] + "\n" + "\n".join(ratios.pformat(max_width=-1))
    )


def test_wavelengths_per_pixel_agree(ratios):
    """Same wavelength per column (row) within 0.2 Å (a tenth of a hundredth of a pixel
    in position): the pipeline's source position is the catalog centroid."""
    assert np.all(ratios["dlam_max"] < 0.2), ratios


def test_showcased_point_source_misses_its_psf_wings(demo, grism_run):
    """Without an aperture correction the 11-pixel box holds ~91% of the light."""
    label = grism_run["labels"][1]
    spectrum = spec2.pipeline_spectrum(grism_run["run"].x1d_path, label)
    assert spectrum.source_type == "POINT" and spectrum.box_height == 11
    row = demo.source(1)
    wave = spectrum.wavelength.value
    inside = _interior(row, wave) & np.isfinite(spectrum.flux.value)
    true_wave, true_flam = demo.true_spectrum(1)
    raw = np.median(
        spectrum.flux.value[inside] / np.interp(wave[inside], true_wave, true_flam)
    )
    expected = inst.aperture_fraction(5.5, float(row[CROSS_SIGMA[grism_run["grism"]]]))
    assert expected == pytest.approx(0.91, abs=0.01)
    assert raw == pytest.approx(expected, abs=0.01)


def test_unmasked_sky_is_biased_by_the_traces(grism_run):
    """The per-line median of notebook 4, without a source mask, sits ~0.001 DN/s per
    pixel above the sky with the sources masked as the pipeline masks them."""
    from wfss_helpers.extraction.background import dispersed_sky_profile

    model = grism_run["model"]
    axis = inst.dispersion_axis(grism_run["grism"])
    unmasked = dispersed_sky_profile(model.data, dispersion_axis=axis, dq=model.dq)
    bias = np.nanmedian(unmasked.profile - grism_run["sky"].profile)
    assert 0.0003 < bias < 0.003


def test_contaminated_source_is_high(demo, grism_run):
    """GRISMC: demo source 20 gets light of its bright neighbour 14 in its box."""
    if grism_run["grism"] != "GRISMC":
        pytest.skip("the pair is a GRISMC one")
    row = demo.source(20)
    spectrum = spec2.pipeline_spectrum(grism_run["run"].x1d, grism_run["labels"][20])
    wave = spectrum.wavelength.value
    true_wave, true_flam = demo.true_spectrum(20)
    fraction = inst.aperture_fraction(spectrum.half_height, float(row["sigma_x"]))
    inside = _interior(row, wave) & np.isfinite(spectrum.flux.value)
    ratio = np.median(
        spectrum.flux.value[inside]
        / (np.interp(wave[inside], true_wave, true_flam) * fraction)
    )
    assert ratio > 1.1


def test_x1d_read_by_specutils_matches_helper(grism_run):
    from astropy import units as u
    from specutils import SpectrumList

    spectra = SpectrumList.read(
        grism_run["run"].x1d_path, format="JWST x1d multi", flux_col="FLUX"
    )
    assert sorted(int(s.meta["source_id"]) for s in spectra) == sorted(
        grism_run["labels"].values()
    )
    for spectrum in spectra:
        ours = spec2.pipeline_spectrum(
            grism_run["run"].x1d_path, int(spectrum.meta["source_id"])
        )
        flam = spectrum.flux.to(
            ours.flux.unit, u.spectral_density(spectrum.spectral_axis)
        )
        np.testing.assert_allclose(ours.wavelength.value, spectrum.spectral_axis.value)
        np.testing.assert_allclose(
            ours.flux.value, flam.value, rtol=1e-12, equal_nan=True
        )
        assert ours.pixel.size == spectrum.spectral_axis.size


def test_spectrum_boxes_are_extract2d_boxes(demo, grism_run):
    """The helper's boxes (create_grism_bbox) are Extract2d's cutouts where both are on
    the detector."""
    run = grism_run["run"]
    refs = reference_files_for(grism_run["grism"], demo.reference_files)
    boxes = spec2.spectrum_boxes(run.background_subtracted, refs["wavelengthrange"])
    for slit in run.slits.slits:
        box = boxes[(boxes["label"] == slit.source_id) & (boxes["order"] == 1)][0]
        assert max(box["x_min"], 0) == slit.xstart - 1
        assert max(box["y_min"], 0) == slit.ystart - 1
        assert min(box["x_max"], 2047) == slit.xstart - 1 + slit.xsize - 1
        assert min(box["y_max"], 2047) == slit.ystart - 1 + slit.ysize - 1


# --------------------------------------------------------------------- bad arguments
def test_nearest_catalog_source_refuses_a_far_position(catalog):
    with pytest.raises(LookupError, match="No catalog source within 2.0 px"):
        spec2.nearest_catalog_source(catalog["catalog"], 1000.0, 1000.0 + 0.5 * 2048)


def test_catalog_without_the_wfss_columns_is_refused(catalog, tmp_path):
    table = Table.read(catalog["catalog"])
    table.remove_column("is_extended")
    with pytest.raises(ValueError, match="is_extended"):
        spec2.nearest_catalog_source(table, 0.0, 0.0)
    with pytest.raises(FileNotFoundError, match="SourceCatalogStep"):
        spec2.nearest_catalog_source(tmp_path / "nothing.ecsv", 0.0, 0.0)


def test_pipeline_spectrum_names_what_the_product_has(grism_run):
    with pytest.raises(KeyError, match="no source 9999"):
        spec2.pipeline_spectrum(grism_run["run"].x1d, 9999)
    with pytest.raises(KeyError, match="no order 2"):
        spec2.pipeline_spectrum(grism_run["run"].x1d, grism_run["labels"][1], order=2)


def test_run_wfss_spec2_refuses_bad_inputs(demo, catalog, tmp_path):
    from wfss_helpers.checks.files import InvalidInputFileError

    refs = reference_files_for("GRISMR", demo.reference_files)
    with pytest.raises(InvalidInputFileError, match="already been through"):
        spec2.run_wfss_spec2(demo.wfss_cal, catalog["catalog"], reference_files=refs)
    with pytest.raises(InvalidInputFileError, match="not a WFSS exposure"):
        spec2.run_wfss_spec2(demo.direct_rate, catalog["catalog"], reference_files=refs)
    with pytest.raises(FileNotFoundError, match="SourceCatalogStep"):
        spec2.run_wfss_spec2(
            demo.wfss_rate, tmp_path / "none.ecsv", reference_files=refs
        )
    with pytest.raises(ValueError, match="segmentation_map"):
        spec2.run_wfss_spec2(
            demo.wfss_rate, catalog["catalog"], reference_files=refs, contamination=True
        )
    with pytest.raises(ValueError, match="positive whole number"):
        spec2.run_wfss_spec2(
            demo.wfss_rate, catalog["catalog"], wfss_extract_half_height=2.5
        )


def test_keep_segments(catalog, tmp_path):
    from stdatamodels.jwst import datamodels

    with datamodels.open(catalog["segmentation"]) as model:
        labels = sorted(set(np.unique(model.data).tolist()) - {0})[:2]
    path = spec2.keep_segments(catalog["segmentation"], labels, tmp_path / "pair.fits")
    with datamodels.open(path) as model:
        assert sorted(set(np.unique(model.data).tolist()) - {0}) == labels
    with pytest.raises(ValueError, match="no source labelled"):
        spec2.keep_segments(catalog["segmentation"], [99999], tmp_path / "none.fits")
