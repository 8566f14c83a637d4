"""Bad input and faults: every case gets a clear error (what is wrong, how to fix it) or a
documented masked value, and nothing a user had is overwritten."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits

from wfss_helpers.data_sources.crds import configure_offline_crds, configure_online_crds
from wfss_helpers.extraction.box import box_extract
from wfss_helpers.checks.files import InvalidInputFileError, check_fits_file
from wfss_helpers.extraction.flux_calibration import flux_calibrate
from wfss_helpers.data_sources.pipeline import CRDSUnavailableError, calibrate_imaging, calibrate_wfss
from wfss_helpers.geometry.positions import direct_to_sky, direct_to_wfss
from wfss_helpers.geometry import (
    dispersed_position,
    trace_bounding_box,
    wavelength_to_pixel,
)
from wfss_helpers.geometry.configuration import load_grism_config


@pytest.fixture(scope="module")
def config(demo):
    return load_grism_config(demo.grismconf_file)


@pytest.fixture
def not_fits(tmp_path):
    path = tmp_path / "notes.fits"
    path.write_text("These are my observing notes, not a FITS file.\n")
    return path


@pytest.fixture
def truncated(demo, tmp_path):
    path = tmp_path / "truncated_cal.fits"
    data = demo.wfss_cal.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return path


# --- files that are not what the helper needs ---------------------------------------------


def test_rate_file_without_gwcs(demo):
    with pytest.raises(ValueError, match="has no gWCS: run the jwst AssignWcsStep"):
        direct_to_sky(demo.direct_rate, 100.0, 100.0)
    with pytest.raises(InvalidInputFileError, match="not been through the jwst AssignWcsStep.*calibrate_wfss"):
        load_grism_config(demo.wfss_rate)


def test_wfss_file_without_photom(demo, tmp_path):
    path = tmp_path / "no_photom_cal.fits"
    with fits.open(demo.wfss_cal) as hdul:
        for key in ("S_PHOTOM", "R_PHOTOM"):
            del hdul[0].header[key]
        hdul.writeto(path)
    with pytest.raises(InvalidInputFileError, match="not been through the jwst PhotomStep.*calibrate_wfss"):
        load_grism_config(path)


def test_sensitivity_file_missing(demo, tmp_path):
    path = tmp_path / "moved_cal.fits"
    with fits.open(demo.wfss_cal) as hdul:
        hdul[0].header["R_PHOTOM"] = "crds://jwst_nircam_photom_9999.fits"
        hdul.writeto(path)
    with pytest.raises(FileNotFoundError, match="jwst_nircam_photom_9999.fits.*not on this machine"):
        load_grism_config(path)


def test_wrong_exposure_type(demo, tmp_path):
    with pytest.raises(InvalidInputFileError, match="not a WFSS exposure \\(EXP_TYPE = NRC_IMAGE\\)"):
        load_grism_config(demo.direct_cal)
    with pytest.raises(InvalidInputFileError, match="not a WFSS exposure"):
        calibrate_wfss(demo.direct_rate, output=tmp_path / "x.fits")
    with pytest.raises(InvalidInputFileError, match="is a WFSS exposure .*give the direct"):
        calibrate_imaging(demo.wfss_rate, output=tmp_path / "y.fits")
    assert not list(tmp_path.iterdir())


def test_file_that_is_not_fits(not_fits):
    with pytest.raises(InvalidInputFileError, match="notes.fits is not a FITS file"):
        check_fits_file(not_fits)
    with pytest.raises(InvalidInputFileError, match="neither a FITS file nor a grismconf configuration"):
        load_grism_config(not_fits)
    with pytest.raises(InvalidInputFileError, match="is not a FITS file"):
        direct_to_sky(not_fits, 1.0, 1.0)
    with pytest.raises(FileNotFoundError, match="No file at"):
        check_fits_file(not_fits.parent / "missing.fits")


def test_truncated_fits_file(truncated):
    with pytest.raises(InvalidInputFileError, match="truncated or corrupt.*Download or generate it again"):
        check_fits_file(truncated)
    with pytest.raises(InvalidInputFileError, match="truncated or corrupt"):
        load_grism_config(truncated)
    with pytest.raises(InvalidInputFileError, match="truncated or corrupt"):
        box_extract(truncated, None, 1, 1000.0, 1000.0)


# --- positions --------------------------------------------------------------------------


def test_source_off_the_direct_image(demo):
    with pytest.raises(ValueError, match="lie off the 2048x2048 direct image.*1-based: subtract 1"):
        direct_to_wfss(demo.direct_cal, demo.wfss_cal, -50.0, 100.0)
    with pytest.raises(ValueError, match="lie off"):
        direct_to_wfss(demo.direct_cal, demo.wfss_cal, np.array([10.0, 3000.0]), np.array([10.0, 5.0]))


def test_trace_past_the_detector_edge_extracts_what_is_on_it(config):
    data = np.random.default_rng(1).normal(0.8, 0.02, (2048, 2048))
    with pytest.warns(UserWarning, match="runs past the detector edge; extracting the part on the detector"):
        ext = box_extract({"data": data}, config, 1, 300.0, 1000.0, half_height=4.0)
    assert ext.column[0] == 0 and ext.bbox.clipped
    assert np.all(np.isfinite(ext.rate[~ext.mask]))
    # A trace whose aperture leaves the detector at the top is masked, not summed short
    # (the order +1 trace runs about 22 rows below its source).
    y_top = 2045.5 - float(dispersed_position(config, 1, 1500.0, 2045.5, 0.5)[1] - 2045.5)
    with pytest.warns(UserWarning, match="past the detector edge"):
        top = box_extract({"data": data}, config, 1, 1500.0, y_top, half_height=4.0)
    assert top.mask.all()
    with pytest.raises(ValueError, match="falls entirely off the 2048x2048 detector"):
        box_extract({"data": data}, config, 1, 1500.0, 2300.0)


# --- pixels -----------------------------------------------------------------------------


def test_all_nan_box(config):
    # Every pixel NaN: the error says so (it used to ask for a taller box), whether
    # the background is estimated or given.
    data = np.full((2048, 2048), np.nan)
    refused = (
        "Every one of the .* pixels of the box .* is unusable .*NaN or infinite in SCI"
        ".*taller box would not help"
    )
    for background in (None, 0.0):
        with pytest.raises(ValueError, match=refused):
            box_extract({"data": data}, config, 1, 1500.0, 1000.0, background=background)


def test_nan_aperture_is_masked(config):
    # The aperture all NaN, the background rows fine: every entry masked, not summed.
    data = np.random.default_rng(4).normal(0.0, 0.02, (2048, 2048))
    probe = box_extract({"data": data}, config, 1, 1500.0, 1000.0, background=0.0)
    rows = np.arange(2048)[:, None]
    columns = np.arange(probe.bbox.x_min, probe.bbox.x_max + 1)
    near = np.abs(rows - probe.trace_y[None, :]) < 4.5
    data[:, columns] = np.where(near, np.nan, data[:, columns])
    with pytest.warns(UserWarning, match="No trace of order"):
        ext = box_extract({"data": data}, config, 1, 1500.0, 1000.0)
    assert ext.mask.all() and np.all(np.isnan(ext.rate))


def test_box_too_small_for_sigma_clipping(config):
    data = np.random.default_rng(2).normal(0.8, 0.02, (2048, 2048))
    with pytest.raises(ValueError, match="leaves no background rows"):
        box_extract({"data": data}, config, 1, 1500.0, 1000.0, half_height=4.0, box_half_height=4.5)


def test_tiny_sensitivity_is_masked_never_infinite(config):
    data = np.random.default_rng(3).normal(0.8, 0.02, (2048, 2048))
    ext = box_extract({"data": data}, config, 1, 1500.0, 1000.0, t_range=(-0.1, 1.1))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no divide-by-zero warnings either
        spectrum = flux_calibrate(ext, config)
    assert not np.any(np.isinf(spectrum.flux.value))
    assert spectrum.mask[:5].all() and spectrum.mask[-5:].all()
    assert np.all(np.isnan(spectrum.flux.value[spectrum.mask]))


# --- configuration ----------------------------------------------------------------------


def test_order_and_wavelength_outside_the_configuration(config):
    with pytest.raises(ValueError, match="Order 3 is not in this grism configuration; it has orders \\+1, \\+2"):
        trace_bounding_box(config, 3, 1000.0, 1000.0, 10)
    with pytest.raises(ValueError, match=r"outside order \+1's range 3\.0.*-4\.0.* micron"):
        wavelength_to_pixel(config, 1, 1000.0, 1000.0, [3.5, 5.0] * u.micron)


def test_crds_unreachable_in_real_data_mode(demo, tmp_path, monkeypatch):
    monkeypatch.setenv("CRDS_PATH", "unused")
    # A closed port on this machine: the connection is refused at once.
    configure_online_crds(tmp_path / "empty_cache", server_url="http://127.0.0.1:9")
    try:
        with pytest.raises(CRDSUnavailableError, match="CRDS_SERVER_URL = http://127.0.0.1:9, CRDS_PATH = .*empty_cache"):
            calibrate_imaging(demo.direct_rate)
    finally:
        configure_offline_crds(demo.crds_path)


# --- outputs ----------------------------------------------------------------------------


def test_existing_output_is_never_overwritten(demo, tmp_path):
    target = tmp_path / "my_cal.fits"
    target.write_bytes(b"my precious reduction")
    refs = demo.reference_files
    with pytest.raises(FileExistsError, match="already exists; pass overwrite=True"):
        calibrate_imaging(demo.direct_rate, {"distortion": refs["distortion"], "flat": refs["flat"], "photom": refs["photom_imaging"]}, output=target)
    assert target.read_bytes() == b"my precious reduction"
