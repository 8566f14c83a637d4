"""The crowded-field helpers misused as an astronomer might: each case gets a clear
error (what is wrong, how to fix it) from our package, or a warning, never a plausible
wrong number or a traceback from deep inside numpy, scipy or photutils.

Covers :mod:`wfss_helpers.field.forward_model`, :mod:`wfss_helpers.extraction.optimal` and
:mod:`wfss_helpers.field.catalog_extraction`.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import replace

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits

from wfss_helpers.extraction.background import dispersed_sky_profile
from wfss_helpers.field.catalog_extraction import extract_field
from wfss_helpers.field import (
    FLAM_UNIT,
    detect_direct_sources,
    first_guess_flambda,
    model_field,
    refine_field_model,
    source_footprints,
    trace_kernel,
)
from wfss_helpers.field.field_model import _pixel_grid_mapping
from wfss_helpers.extraction.optimal import optimal_extract, profile_aperture_fraction
from wfss_helpers.geometry.configuration import (
    ExposureMismatchError,
    load_grism_config,
)


def _flat(value):
    return lambda w: np.full(np.shape(w), value)


@pytest.fixture(scope="module")
def crowd(demo):
    """The demo field: sources, both configurations, the GRISMR arrays with and
    without the sky, first-guess models of both grisms and a refined GRISMR model."""
    from stdatamodels.jwst import datamodels

    sources = detect_direct_sources(demo.direct_cal)
    config_r = load_grism_config(demo.wfss_cal)
    config_c = load_grism_config(demo.grismc_cal)
    with fits.open(demo.wfss_cal) as hdul:
        sci, err, dq = (np.array(hdul[n].data) for n in ("SCI", "ERR", "DQ"))
    first = model_field(sources, demo.wfss_cal, config_r)
    sky = dispersed_sky_profile(sci, dispersion_axis="x", dq=dq,
                                mask=first.image() > 0.01)
    clean = {"data": sci - sky.image, "err": err, "dq": dq}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # valid input: no warning
        refined = refine_field_model(first, clean)
    return {
        "sources": sources, "config_r": config_r, "config_c": config_c,
        "raw": {"data": sci, "err": err, "dq": dq}, "clean": clean, "sky": sky,
        "first": first, "model": refined,
        "grismc_model": model_field(sources, demo.grismc_cal, config_c),
        "direct": datamodels.open(str(demo.direct_cal)),
        "wfss": datamodels.open(str(demo.wfss_cal)),  # opened once: faster calls
    }


@pytest.fixture(scope="module")
def single(crowd):
    """The direct-image sources reduced to one (fast to model) and its label."""
    sources = crowd["sources"]
    label = crowd["first"].ids[0]
    segm = sources.segmentation.copy()
    segm.keep_labels([label])
    catalog = sources.catalog[sources.catalog["label"] == label]
    return replace(sources, segmentation=segm, catalog=catalog), label


@pytest.fixture(scope="module")
def one(crowd):
    """A source with its trace, own model and contamination (GRISMR, order +1)."""
    model = crowd["model"]
    label = model.ids[1]
    return {"label": label, "trace": model.trace(label, 1),
            "own": model.source_image(label, 1),
            "others": model.contamination_image(label, 1),
            "other": model.ids[5]}


# --- detect_direct_sources ------------------------------------------------------------


@pytest.mark.parametrize("kwargs, error, match", [
    ({"n_pixels": 0}, ValueError, "n_pixels must be a whole number >= 1"),
    ({"n_pixels": "12"}, TypeError, "n_pixels must be a whole number"),
    ({"n_pixels": 2.5}, ValueError, "n_pixels must be a whole number"),
    ({"n_pixels": np.nan}, ValueError, "n_pixels"),
    ({"box_size": 0}, ValueError, "box_size must be a whole number >= 1"),
    ({"box_size": "64"}, TypeError, "box_size must be a whole number"),
    ({"nsigma": -1}, ValueError, "nsigma must be a finite number > 0"),
    ({"max_peak_fraction": 0}, ValueError, "max_peak_fraction"),
    ({"max_peak_fraction": np.nan}, ValueError, "max_peak_fraction"),
    ({"max_peak_fraction": 2}, ValueError, "between 0 and 1"),
    ({"max_peak_fraction": "0.2"}, TypeError, "max_peak_fraction must be a number"),
    ({"deblend": "no"}, TypeError, "deblend must be True or False"),
    ({"segmentation": "field_segm.fits"}, TypeError, "not a file name"),
])
def test_detection_arguments_are_checked(demo, kwargs, error, match):
    with pytest.raises(error, match=match):
        detect_direct_sources(demo.direct_cal, **kwargs)


def test_detection_refuses_unusable_direct_images(demo, crowd):
    direct = crowd["direct"]
    with pytest.raises(ValueError, match="has no gWCS: run the jwst AssignWcsStep"):
        detect_direct_sources(demo.direct_rate)
    with pytest.raises(ValueError, match="is a WFSS exposure"):
        detect_direct_sources(demo.wfss_cal)
    blank = direct.copy()
    blank.data[:] = np.nan
    with pytest.raises(ValueError, match="has no usable pixel"):
        detect_direct_sources(blank)
    shape = direct.data.shape
    with pytest.raises(ValueError, match="not whole labels"):
        detect_direct_sources(direct, segmentation=np.full(shape, 0.5))
    with pytest.raises(ValueError, match="has no segment"):
        detect_direct_sources(direct, segmentation=np.zeros(shape, int))


def test_detection_says_when_every_segment_is_removed(crowd):
    with pytest.raises(ValueError, match="sharper than the PSF.*max_peak_fraction"):
        detect_direct_sources(crowd["direct"], max_peak_fraction=1e-4)


def test_empty_segments_of_a_given_map_are_removed_with_a_warning(crowd):
    sources = crowd["sources"]
    segm = np.array(sources.segmentation.data)
    # A segment over a patch of sky with the image made negative there.
    direct = crowd["direct"].copy()
    direct.data[5:15, 5:15] = -10.0
    segm[5:15, 5:15] = 999
    with pytest.warns(UserWarning, match=r"hold no positive light.*999"):
        found = detect_direct_sources(direct, segmentation=segm)
    assert found.catalog.meta["removed_empty"] == [999]
    assert 999 not in found.catalog["label"]


# --- footprints and the first guess ---------------------------------------------------


def test_footprints_and_first_guess_arguments(crowd, demo):
    sources = crowd["sources"]
    with pytest.raises(TypeError, match="sources must be a DirectImageSources"):
        source_footprints(demo.direct_cal)
    with pytest.raises(ValueError, match="grow must be a whole number"):
        source_footprints(sources, grow=2.5)
    footprint = next(iter(crowd["first"].footprints.values()))
    with_unit = first_guess_flambda(footprint, sources, pivot_wavelength=3.563 * u.um)
    # A plain number is in µm (the package's rule), a wavelength in Å is converted.
    assert first_guess_flambda(footprint, sources, pivot_wavelength=3.563) == with_unit
    assert first_guess_flambda(
        footprint, sources, pivot_wavelength=35630 * u.AA
    ).value == pytest.approx(with_unit.value)
    with pytest.raises(ValueError, match="not the pivot of a JWST filter"):
        first_guess_flambda(footprint, sources, pivot_wavelength=35630)
    with pytest.raises(ValueError, match="not the pivot of a JWST filter"):
        first_guess_flambda(footprint, sources, pivot_wavelength=-3.5 * u.um)
    in_dn = crowd["direct"].copy()
    in_dn.meta.bunit_data = "DN/s"
    with pytest.raises(ValueError, match="not MJy/sr.*calibrate_imaging"):
        first_guess_flambda(footprint, replace(sources, model=in_dn))


def test_trace_kernel_refuses_a_spectrum_it_would_silently_drop(one):
    trace = one["trace"]
    flam = 2e-18
    kernel, _, _ = trace_kernel(trace, _flat(flam))
    with pytest.raises(ValueError, match="NaN or infinite F_lambda"):
        trace_kernel(trace, _flat(np.nan))
    with pytest.raises(TypeError, match="flambda must be a function"):
        trace_kernel(trace, flam)
    with pytest.raises(ValueError, match="samples_per_pixel"):
        trace_kernel(trace, _flat(flam), samples_per_pixel=0)
    with pytest.raises(TypeError, match="trace must be a GrismTrace"):
        trace_kernel("+1", _flat(flam))

    def in_jansky(wave):  # the same spectrum as F_nu
        return (np.full(np.shape(wave), flam) * FLAM_UNIT).to(
            u.Jy, equivalencies=u.spectral_density(wave * u.um))

    assert trace_kernel(trace, in_jansky)[0].sum() == pytest.approx(kernel.sum())


# --- model_field ----------------------------------------------------------------------


def test_model_field_checks_configuration_and_orders(crowd, single, demo):
    sources, config, wfss = single[0], crowd["config_r"], crowd["wfss"]
    with pytest.raises(ExposureMismatchError, match="PUPIL differ"):
        model_field(sources, wfss, crowd["config_c"])
    with pytest.raises(TypeError, match="load_grism_config"):
        model_field(sources, wfss, str(demo.grismconf_file))
    with pytest.raises(TypeError, match="detect_direct_sources"):
        model_field(demo.direct_cal, wfss, config)
    for orders in ([3], ["-1"]):
        with pytest.raises(ValueError, match="not in this grism configuration"):
            model_field(sources, wfss, config, orders=orders)
    with pytest.raises(ValueError, match="orders is empty"):
        model_field(sources, wfss, config, orders=[])
    with pytest.raises(ValueError, match="samples_per_pixel"):
        model_field(sources, wfss, config, samples_per_pixel=0)
    # One order alone, as a number or grismconf's name: the same model.
    single = model_field(sources, wfss, config, orders="+1")
    assert single.orders == ["+1"]
    np.testing.assert_array_equal(
        single.image(), model_field(sources, wfss, config, orders=1).image())


def test_model_field_checks_given_spectra(crowd, single, demo):
    config, wfss = crowd["config_r"], crowd["wfss"]
    sources, label = single
    wave = np.linspace(2.4, 4.2, 50)
    flam = 1e-18 * (wave / 3.5) ** -2

    def model(spectrum, **kwargs):
        return model_field(sources, wfss, config, orders=[1],
                           spectra={label: spectrum}, **kwargs)

    reference = model((wave, flam)).source_image(label, 1)
    cases = [
        ((wave, flam[:10]), ValueError, "same length"),
        ((wave, np.where(wave > 3.5, np.nan, flam)), ValueError, "NaN or infinite"),
        ((wave, -flam), ValueError, "no positive F_lambda"),
        ((wave * 1e4, flam), ValueError, "Give the wavelengths in µm"),
        ((wave * u.kg, flam), ValueError, "not a wavelength"),
        ((wave, flam * u.kg), ValueError, "not a flux density"),
        ((np.r_[wave, 4.2], np.r_[flam, 1e-18]), ValueError, "repeats wavelengths"),
        (1e-18, TypeError, "pair"),
    ]
    for spectrum, error, match in cases:
        with pytest.raises(error, match=match):
            model(spectrum)
    with pytest.raises(ValueError, match="not a source of the direct image"):
        model_field(sources, wfss, config, spectra={99999: (wave, flam)})
    with pytest.raises(TypeError, match="must be a dict"):
        model_field(sources, wfss, config, spectra=[(wave, flam)])
    # Unsorted wavelengths, Quantities and an id as text give the same model.
    np.testing.assert_allclose(model((wave[::-1], flam[::-1])).source_image(label, 1),
                               reference)
    as_fnu = (flam * FLAM_UNIT).to(u.Jy, equivalencies=u.spectral_density(wave * u.um))
    # (Far from the trace the FFT leaves round-off of 1e-16 of the peak.)
    np.testing.assert_allclose(
        model((wave * 1e4 * u.AA, as_fnu)).source_image(label, 1), reference,
        rtol=1e-9, atol=1e-12 * reference.max())
    text = model_field(sources, wfss, config, orders=[1],
                       spectra={str(label): (wave, flam)})
    np.testing.assert_array_equal(text.source_image(label, 1), reference)
    with pytest.warns(UserWarning, match="none of its light outside"):
        model((wave[:20], flam[:20]))


def _shifted(direct, columns):
    """The direct image with its WCS moved by ``columns`` pixels: another pointing."""
    from astropy.modeling.models import Shift

    moved = direct.copy()
    moved.meta.wcs = copy.deepcopy(direct.meta.wcs)
    frames = moved.meta.wcs.available_frames
    pixels_to_sky = moved.meta.wcs.get_transform(frames[0], frames[1])
    moved.meta.wcs.set_transform(frames[0], frames[1],
                                 (Shift(columns) & Shift(0)) | pixels_to_sky)
    return moved


def test_a_direct_image_of_another_pointing_is_refused(crowd, demo):
    sources, config = crowd["sources"], crowd["config_r"]
    far = replace(sources, model=_shifted(crowd["direct"], 8000))
    with pytest.raises(ValueError, match="another pointing"):
        model_field(far, demo.wfss_cal, config)
    beside = replace(sources, model=_shifted(crowd["direct"], 3000))
    with pytest.warns(UserWarning, match="Only .* sources .* another pointing"):
        model_field(beside, demo.wfss_cal, config)


def test_a_source_at_the_direct_image_edge_is_mapped(crowd, demo):
    # The pixel-grid check steps 5 px from the source: toward the image's interior
    # (a source within 5 px of the right or top edge used to be refused as off it).
    from stdatamodels.jwst import datamodels

    with datamodels.open(str(demo.wfss_cal)) as wfss:
        for x, y in ((2045.0, 1000.0), (1000.0, 2046.5), (2046.0, 2046.0)):
            x0, y0 = _pixel_grid_mapping(crowd["sources"], wfss, x, y)
            assert np.isfinite(x0) and np.isfinite(y0)


# --- refine_field_model ---------------------------------------------------------------


def test_refinement_warns_when_the_sky_is_not_subtracted(crowd, demo):
    first = crowd["first"]
    with pytest.warns(UserWarning, match="sky seems not subtracted"):
        refine_field_model(first, crowd["raw"])
    with pytest.warns(UserWarning, match="sky seems not subtracted"):
        refine_field_model(first, demo.wfss_cal)
    # The same data with the sky given: no warning, and the clean refinement.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        given = refine_field_model(first, crowd["raw"], sky=crowd["sky"])
    for source_id in first.ids[:3]:
        np.testing.assert_allclose(given.spectra[source_id][1],
                                   crowd["model"].spectra[source_id][1], rtol=1e-6)


def test_refinement_refuses_bad_data(crowd, demo):
    first, clean = crowd["first"], crowd["clean"]
    data, err = clean["data"], clean["err"]
    cases = [
        ({"data": data}, ValueError, "no ERR array"),
        ({"data": data, "err": np.zeros_like(err)}, ValueError, "ERR is zero"),
        ({"data": np.full(data.shape, np.nan), "err": err}, ValueError, "No pixel"),
        ({"data": data[:1000], "err": err[:1000]}, ValueError, "the field model"),
        ({"data": data, "err": err[:1000]}, ValueError, "err has shape"),
        (data, TypeError, "dict"),
    ]
    for wfss, error, match in cases:
        with pytest.raises(error, match=match):
            refine_field_model(first, wfss)
    with pytest.raises(ExposureMismatchError, match="PUPIL differ"):
        refine_field_model(first, demo.grismc_cal)
    with pytest.raises(ExposureMismatchError, match="does not match these data"):
        refine_field_model(crowd["grismc_model"], clean)
    with pytest.raises(TypeError, match="field_model must be a FieldModel"):
        refine_field_model(crowd["sources"], clean)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"smooth": 0}, ValueError, "smooth must be a whole number"),
    ({"smooth": 2.5}, ValueError, "smooth must be a whole number"),
    ({"half_height": "a"}, TypeError, "half_height must be a number"),
    ({"half_height": -1}, ValueError, "half_height"),
    ({"min_snr": np.nan}, ValueError, "min_snr"),
    ({"order": 3}, ValueError, "not in this grism configuration"),
    ({"sky": np.nan}, ValueError, "sky has NaN"),
    ({"sky": np.zeros((10, 10))}, ValueError, "sky has shape"),
    ({"sky": "median"}, TypeError, "sky must be a level"),
])
def test_refinement_arguments_are_checked(crowd, kwargs, error, match):
    with pytest.raises(error, match=match):
        refine_field_model(crowd["first"], crowd["clean"], **kwargs)


def test_refinement_of_an_order_without_traces(crowd, demo):
    only_first = model_field(crowd["sources"], demo.wfss_cal, crowd["config_r"],
                             orders=[1])
    with pytest.raises(ValueError, match="No trace of order \\+2 is modelled"):
        refine_field_model(only_first, crowd["clean"], order=2)
    # Order +2 is modelled but too faint to measure: the sources say so.
    with pytest.warns(UserWarning, match="could not be refined in order \\+2"):
        refine_field_model(crowd["first"], crowd["clean"], order=2)


# --- optimal_extract ------------------------------------------------------------------


def test_optimal_extraction_refuses_a_profile_that_is_not_the_source(crowd, one):
    clean, trace = crowd["clean"], one["trace"]
    model = crowd["model"]
    for profile in (np.zeros_like(one["own"]), -one["own"],
                    model.source_image(one["other"], 1),
                    model.dispersed[(one["other"], "+1")]):
        with pytest.raises(ValueError, match="holds no light"):
            optimal_extract(clean, trace, profile)
    with pytest.raises(ValueError, match="largely negative"):
        optimal_extract(clean, trace, one["own"] - 0.3 * one["own"].max())
    with pytest.warns(UserWarning, match="most of its light away from the trace"):
        optimal_extract(clean, trace, model.image())
    with pytest.warns(UserWarning, match="centred a median"):
        optimal_extract(clean, trace, np.roll(one["own"], 3, axis=0))
    with pytest.raises(TypeError, match="profile must be the source's model"):
        optimal_extract(clean, trace, None)
    with pytest.raises(TypeError, match="trace must be a GrismTrace"):
        optimal_extract(clean, "+1", one["own"])


def test_optimal_extraction_window_and_errors(crowd, one):
    clean, trace, own = crowd["clean"], one["trace"], one["own"]
    with pytest.raises(ValueError, match="taller than the detector"):
        optimal_extract(clean, trace, own, half_height=5000)
    # Any window gives the whole light of a noise-free source: the window is made of
    # whole pixels, and the profile is normalised over the whole column.
    noise_free = {"data": own, "err": np.full_like(own, 0.01)}
    column = own.sum(axis=0 if trace.dispersion_axis == "x" else 1)
    for height in (0.5, 1.0, 2.0, 4.0, 12.0):
        result = optimal_extract(noise_free, trace, own, half_height=height)
        ok = ~result.mask
        np.testing.assert_allclose(result.rate.value[ok], column[result.pixel[ok]],
                                   rtol=1e-9)
    zero = {"data": clean["data"], "err": np.zeros_like(clean["err"])}
    with pytest.raises(ValueError, match="ERR is zero or NaN in every pixel"):
        optimal_extract(zero, trace, own)
    with pytest.warns(UserWarning, match="sky seems not subtracted"):
        optimal_extract(crowd["raw"], trace, own)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the valid call is quiet
        optimal_extract(clean, trace, own, contamination=one["others"])


def test_profile_aperture_fraction_refuses_another_profile(crowd, one):
    trace = one["trace"]
    with pytest.raises(ValueError, match="holds no light"):
        profile_aperture_fraction(crowd["model"].source_image(one["other"], 1), trace)
    with pytest.raises(ValueError, match="2-D detector image"):
        profile_aperture_fraction(one["own"][0], trace)


# --- extract_field --------------------------------------------------------------------


def test_extract_field_refuses_the_model_of_another_exposure(crowd, demo):
    clean = crowd["clean"]
    with pytest.raises(ExposureMismatchError, match="does not match these data"):
        extract_field(crowd["grismc_model"], clean)
    with pytest.raises(ExposureMismatchError, match="PUPIL differ"):
        extract_field(crowd["grismc_model"], demo.wfss_cal)
    with pytest.raises(ExposureMismatchError, match="labelled with the wrong grism"):
        extract_field(crowd["model"], clean, grism="GRISMC")


@pytest.mark.parametrize("kwargs, error, match", [
    ({"methods": ()}, ValueError, "non-empty selection"),
    ({"methods": ["Box"]}, ValueError, "non-empty selection"),
    ({"methods": None}, TypeError, "methods must be a selection"),
    ({"orders": [3]}, ValueError, "not in this grism configuration"),
    ({"orders": []}, ValueError, "orders is empty"),
    ({"half_height": 0.5}, ValueError, "below the box's minimum"),
    ({"window": 5000}, ValueError, "taller than the detector"),
    ({"grism": 5}, TypeError, "grism must be"),
])
def test_extract_field_arguments_are_checked(crowd, kwargs, error, match):
    with pytest.raises(error, match=match):
        extract_field(crowd["model"], crowd["clean"], **kwargs)


def test_extract_field_data_checks(crowd):
    model, clean = crowd["model"], crowd["clean"]
    with pytest.raises(ValueError, match="no ERR array"):
        extract_field(model, {"data": clean["data"]})
    with pytest.raises(ValueError, match="err has shape"):
        extract_field(model, {"data": clean["data"], "err": clean["err"][:10]})
    with pytest.raises(TypeError, match="field_model must be a FieldModel"):
        extract_field(crowd["sources"], clean)
    with pytest.warns(UserWarning, match="sky seems not subtracted"):
        extract_field(model, crowd["raw"], methods="box", orders=1)
    # One method as a word, one order as a number.
    result = extract_field(model, clean, methods="box", orders=1)
    assert {(r.method, r.order) for r in result.spectra} == {("box", "+1")}


# --- FieldModel -----------------------------------------------------------------------


def test_field_model_lookups_name_what_exists(crowd):
    model = crowd["model"]
    label = model.ids[0]
    for call in (lambda: model.trace(99999), lambda: model.flambda(99999),
                 lambda: model.source_image(99999),
                 lambda: model.image(exclude=[99999]),
                 lambda: model.image(exclude=[(99999, 1)])):
        with pytest.raises(KeyError, match="No source 99999 in the model"):
            call()
    with pytest.raises(TypeError, match="source id is a segment label"):
        model.trace("a")
    with pytest.raises(TypeError, match="source id is a segment label"):
        model.image(exclude=[2.5])
    with pytest.raises(ValueError, match=r"source id or an \(id, order\) pair"):
        model.image(exclude=[(label,)])
    with pytest.raises(ValueError, match="ambiguous"):
        model.image(exclude=(label, "+1"))
    full = model.image()
    without = model.image(exclude=[label])
    np.testing.assert_array_equal(model.image(exclude=label), without)
    np.testing.assert_array_equal(model.image(exclude=str(label)), without)
    np.testing.assert_array_equal(model.image(exclude=[[label, 1]]),
                                  model.contamination_image(label, 1))
    np.testing.assert_array_equal(model.image(exclude=None), full)
