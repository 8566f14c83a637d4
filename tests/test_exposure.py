"""The exposure objects: opened and checked once, arrays read lazily, accepted by every
helper with results identical to a path's, and the file opened once per call.

Truth here is the file itself (read with astropy and stdatamodels directly), grismconf
for the configuration, and the helpers given a path (the behaviour before exposures).
"""

from __future__ import annotations

import shutil
import tracemalloc
import warnings

import numpy as np
import pytest
from astropy.io import fits
from stdatamodels.jwst import datamodels

from wfss_helpers.checks.files import InvalidInputFileError
from wfss_helpers.exposure import DirectImage, WFSSExposure, as_wfss_exposure
from wfss_helpers.extraction import box_extract, flux_calibrate, optimal_extract
from wfss_helpers.geometry import (
    ExposureMismatchError,
    GrismTrace,
    direct_to_sky,
    load_grism_config,
    sky_to_wfss,
)

X0, Y0 = 1000.0, 1000.0


class OpenCounter:
    """Counts ``astropy.io.fits.open`` and ``datamodels.open`` calls, per file name."""

    def __init__(self, monkeypatch):
        self.fits, self.models = [], []
        real_fits, real_model = fits.open, datamodels.open

        def counting_fits(name, *args, **kwargs):
            self.fits.append(str(name))
            return real_fits(name, *args, **kwargs)

        def counting_model(init=None, *args, **kwargs):
            self.models.append(str(init))
            return real_model(init, *args, **kwargs)

        monkeypatch.setattr(fits, "open", counting_fits)
        monkeypatch.setattr(datamodels, "open", counting_model)

    def of(self, path):
        name = str(path.name)
        return (sum(name in f for f in self.fits), sum(name in m for m in self.models))


@pytest.fixture(scope="module")
def grismr(demo):
    return WFSSExposure.open(demo.wfss_cal)


def test_identity_and_arrays_come_from_the_file(demo, grismr):
    assert (grismr.filter, grismr.pupil, grismr.grism) == ("F356W", "GRISMR", "GRISMR")
    assert grismr.module == "A" and grismr.exp_type == "NRC_WFSS"
    assert grismr.dispersion_axis == "x"
    assert grismr.step_done("flat_field") and grismr.step_done("assign_wcs")
    with fits.open(demo.wfss_cal) as hdul:
        for key, extension in (("data", "SCI"), ("err", "ERR"), ("dq", "DQ")):
            np.testing.assert_array_equal(getattr(grismr, key), hdul[extension].data)
    assert grismr.shape == (2048, 2048)
    grismc = WFSSExposure.open(demo.grismc_cal)
    assert (grismc.pupil, grismc.dispersion_axis) == ("GRISMC", "y")
    assert "GRISMR" in repr(grismr)


def test_opening_reads_no_array_until_one_is_used(demo, monkeypatch):
    counter = OpenCounter(monkeypatch)
    tracemalloc.start()
    try:
        exposure = WFSSExposure.open(demo.wfss_cal)
        opened, _ = tracemalloc.get_traced_memory()
        _ = exposure.data
        with_sci, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    sci_bytes = 2048 * 2048 * 4
    assert opened < sci_bytes / 4, f"opening allocated {opened / 1e6:.1f} MB"
    assert with_sci - opened >= sci_bytes * 0.9  # SCI read on first use
    assert counter.of(demo.wfss_cal) == (1, 0)  # one FITS open, no data model yet
    # The data model (for the gWCS) is opened once, when first needed, then kept.
    wcs = exposure.wcs
    opened = counter.of(demo.wfss_cal)
    assert opened[1] == 1
    assert exposure.wcs is wcs and counter.of(demo.wfss_cal) == opened


def test_the_same_exposure_is_not_opened_again(demo, grismr, monkeypatch):
    config = load_grism_config(demo.wfss_cal)
    counter = OpenCounter(monkeypatch)
    assert WFSSExposure.open(grismr) is grismr
    assert as_wfss_exposure(grismr) is grismr
    box_extract(grismr, config, 1, X0, Y0)
    assert counter.of(demo.wfss_cal) == (0, 0)


def test_configuration_is_loaded_once_and_is_the_files(demo):
    exposure = WFSSExposure.open(demo.wfss_cal)
    config = exposure.config
    assert exposure.config is config
    assert load_grism_config(exposure) is config  # the helper takes the exposure too
    direct = load_grism_config(demo.wfss_cal)
    t = np.linspace(0, 1, 11)
    np.testing.assert_array_equal(config.DISPX("+1", X0, Y0, t),
                                  direct.DISPX("+1", X0, Y0, t))
    np.testing.assert_array_equal(config.DISPL("+1", X0, Y0, t),
                                  direct.DISPL("+1", X0, Y0, t))


def test_trace_of_a_position_and_of_a_sky_coordinate(demo, grismr):
    trace = grismr.trace((X0, Y0), order=1)
    expected = GrismTrace(load_grism_config(demo.wfss_cal), 1, X0, Y0)
    t = np.linspace(0, 1, 7)
    for a, b in zip(trace.position(t), expected.position(t)):
        np.testing.assert_array_equal(a, b)
    coord = direct_to_sky(demo.direct_cal, 500.0, 600.0)
    x0, y0 = sky_to_wfss(demo.wfss_cal, coord)
    on_sky = grismr.trace(coord)
    assert (on_sky.x0, on_sky.y0) == (x0, y0)
    assert grismr.position(coord) == (x0, y0)
    with pytest.raises(TypeError, match="source must be the undispersed position"):
        grismr.trace(1000.0)


def test_with_data_keeps_identity_and_checks_the_shape(grismr):
    clean = grismr.with_data(np.zeros(grismr.shape))
    assert (clean.name, clean.pupil, clean.filter) == (grismr.name, "GRISMR", "F356W")
    assert clean.err is grismr.err and clean.dq is grismr.dq
    assert np.all(clean.data == 0) and not np.all(grismr.data == 0)
    from_dict = grismr.with_data({"data": np.ones(grismr.shape), "err": None})
    assert from_dict.err is None
    with pytest.raises(ValueError, match="of the same exposure|of this exposure"):
        grismr.with_data(np.zeros((10, 10)))
    with pytest.raises(ValueError, match="takes a dict with a 'data' array"):
        grismr.with_data({"sci": np.zeros(grismr.shape)})


def test_bare_arrays(demo):
    config = load_grism_config(demo.grismconf_file)
    exposure = WFSSExposure.from_arrays(np.zeros((50, 60)), config=config)
    assert exposure.identity is None and exposure.grism == "GRISMR"
    assert exposure.dispersion_axis == "x" and exposure.err is None
    with pytest.raises(ValueError, match="has no grism configuration"):
        _ = WFSSExposure.from_arrays(np.zeros((5, 5))).config
    with pytest.raises(ValueError, match="has no gWCS"):
        _ = exposure.wcs
    with pytest.raises(ValueError, match="must be a 2-D image"):
        WFSSExposure.from_arrays(np.zeros(5))
    with pytest.raises(ValueError, match="err has shape"):
        WFSSExposure.from_arrays(np.zeros((5, 5)), err=np.zeros((4, 4)))


def test_wrong_files_get_clear_errors(demo, tmp_path):
    with pytest.raises(InvalidInputFileError, match="not a WFSS exposure"):
        WFSSExposure.open(demo.direct_cal)
    with pytest.raises(InvalidInputFileError, match="is a WFSS exposure"):
        DirectImage.open(demo.wfss_cal)
    with pytest.raises(InvalidInputFileError, match="is a direct image"):
        WFSSExposure.open(DirectImage.open(demo.direct_cal))
    truncated = tmp_path / "truncated_cal.fits"
    truncated.write_bytes(demo.wfss_cal.read_bytes()[: 40_000_000])
    with pytest.raises(InvalidInputFileError, match="truncated or corrupt"):
        WFSSExposure.open(truncated)
    text = tmp_path / "notes_cal.fits"
    text.write_text("not a FITS file")
    with pytest.raises(InvalidInputFileError, match="is not a FITS file"):
        WFSSExposure.open(text)
    with pytest.raises(FileNotFoundError):
        WFSSExposure.open(tmp_path / "missing.fits")
    with pytest.raises(TypeError, match="for bare arrays, the extraction takes a dict"):
        WFSSExposure.open(np.zeros((4, 4)))
    grismc_config = load_grism_config(demo.grismc_cal)
    with pytest.raises(ExposureMismatchError):
        WFSSExposure.open(demo.wfss_cal, config=grismc_config)


def test_not_flat_fielded_warns_once_where_it_is_opened(demo, tmp_path):
    rate = tmp_path / "copy_rate.fits"
    shutil.copy(demo.wfss_rate, rate)
    with pytest.warns(UserWarning, match="has not been flat-fielded") as caught:
        exposure = WFSSExposure.open(rate)
    assert caught[0].filename == __file__
    config = load_grism_config(demo.wfss_cal)
    with warnings.catch_warnings(record=True) as later:
        warnings.simplefilter("always")
        box_extract(exposure, config, 1, X0, Y0)
    assert not [w for w in later if "flat-fielded" in str(w.message)]
    # A path given to a helper still warns, at the user's call.
    with pytest.warns(UserWarning, match="has not been flat-fielded") as caught:
        box_extract(rate, config, 1, X0, Y0)
    flat = [w.filename for w in caught if "flat-fielded" in str(w.message)]
    assert flat == [__file__]


def test_direct_image(demo):
    direct = DirectImage.open(demo.direct_cal)
    identity = (direct.filter, direct.pupil, direct.exp_type)
    assert identity == ("F356W", "CLEAR", "NRC_IMAGE")
    coord = direct.pixel_to_sky(500.0, 600.0)
    expected = direct_to_sky(demo.direct_cal, 500.0, 600.0)
    assert coord.separation(expected).arcsec == 0.0
    # A helper given the direct image object uses its model, opened once.
    assert direct_to_sky(direct, 500.0, 600.0).separation(expected).arcsec == 0.0
    assert sky_to_wfss(WFSSExposure.open(demo.wfss_cal), coord) == sky_to_wfss(
        demo.wfss_cal, coord)


def _same_extraction(a, b):
    for name in ("rate", "rate_err", "wavelength", "flags", "pixel"):
        np.testing.assert_array_equal(np.asarray(getattr(a, name)),
                                      np.asarray(getattr(b, name)), err_msg=name)


@pytest.mark.parametrize("grism", ["GRISMR", "GRISMC"])
def test_helpers_give_the_same_numbers_with_an_exposure(demo, grism):
    path = demo.cal_file_for(grism)
    config = load_grism_config(path)
    exposure = WFSSExposure.open(path)
    row = demo.sources()[0]
    x_col, y_col = ("x0_wfss", "y0_wfss") if grism == "GRISMR" else ("x0_grismc",
                                                                      "y0_grismc")
    x0, y0 = float(row[x_col]), float(row[y_col])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from_path = box_extract(path, config, 1, x0, y0)
        from_exposure = box_extract(exposure, config, 1, x0, y0)
        from_trace = box_extract(exposure, exposure.trace((x0, y0), 1))
    _same_extraction(from_path, from_exposure)
    _same_extraction(from_path, from_trace)
    np.testing.assert_array_equal(flux_calibrate(from_path).flux,
                                  flux_calibrate(from_exposure).flux)
    trace = GrismTrace(config, 1, x0, y0)
    profile = np.ones(exposure.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = optimal_extract(path, trace, profile)
        b = optimal_extract(exposure, trace, profile)
    np.testing.assert_array_equal(a.rate, b.rate)


def test_extract_field_opens_the_exposure_once(demo, monkeypatch):
    """Given a path, extract_field opens the file once for all its sources, orders and
    methods (and reads no data model); given an exposure, not at all."""
    from wfss_helpers.field import detect_direct_sources, extract_field, model_field

    path = demo.wfss_cal
    exposure = WFSSExposure.open(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        field = model_field(detect_direct_sources(demo.direct_cal), exposure,
                            exposure.config)
    counter = OpenCounter(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sky of the file is not subtracted
        from_path = extract_field(field, path, grism="GRISMR")
    assert len(from_path.extractions) > 20  # many sources, both methods
    assert counter.of(path) == (1, 0)
    counter.fits.clear()
    counter.models.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from_exposure = extract_field(field, exposure, grism="GRISMR")
    assert counter.of(path) == (0, 0)
    assert len(from_exposure.spectra) == len(from_path.spectra)
    for a, b in zip(from_path.spectra, from_exposure.spectra):
        np.testing.assert_array_equal(a.spectrum.flux, b.spectrum.flux)
