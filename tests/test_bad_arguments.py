"""Bad arguments to the public helpers: each gets a clear error raised by wfss_helpers itself.

Every case below is a plausible user mistake. The test checks the exception type, that its
message says what is wrong (a fragment of it), and that it was raised from the package's
own code, not from deep inside numpy, astropy, grismconf or the jwst pipeline.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord

import wfss_helpers
from wfss_helpers import extraction as ex
from wfss_helpers import geometry as trace
from wfss_helpers import plotting
from wfss_helpers.extraction import flux_calibration as fc
from wfss_helpers.extraction import lines
from wfss_helpers.geometry import positions as sp
from wfss_helpers.checks.arguments import pixel_position
from wfss_helpers.data_sources.crds import configure_offline_crds, configure_online_crds
from wfss_helpers.data_sources.mast import download_mast_file, mast_product_url, verified_copy
from wfss_helpers.checks.files import InvalidInputFileError, check_processing, is_wfss
from wfss_helpers.data_sources.pipeline import calibrate_imaging, calibrate_wfss, step_overrides
from wfss_helpers.tutorial_data import data_mode

PACKAGE = Path(wfss_helpers.__file__).parent


@pytest.fixture(scope="module")
def config(demo):
    return trace.load_grism_config(demo.grismconf_file)


@pytest.fixture(scope="module")
def image():
    return {"data": np.random.default_rng(5).normal(0.8, 0.02, (2048, 2048))}


@pytest.fixture(scope="module")
def extraction(config, image):
    return ex.box_extract(image, config, 1, 1500.0, 1000.0)


@pytest.fixture(scope="module")
def direct_model(demo):
    from stdatamodels.jwst import datamodels

    with datamodels.open(demo.direct_rate) as model:
        yield model


def _other_filter(path):
    from astropy.io import fits

    return "F444W" if fits.getheader(path)["FILTER"] != "F444W" else "F356W"


@pytest.fixture(scope="module")
def mismatched(demo, tmp_path_factory):
    """Files and configurations that disagree with the demo exposures' FILTER/PUPIL."""
    import shutil

    from astropy.io import fits
    from test_trace import GRISMC_LIKE, write_synthetic_conf

    directory = tmp_path_factory.mktemp("mismatched")
    other = _other_filter(demo.wfss_cal)
    own = fits.getheader(demo.wfss_cal)["FILTER"]
    files = {}
    for name, keywords in (("edited_cal", {}), ("edited_cal_no_specwcs", {"R_SPCWCS": "N/A"})):
        files[name] = directory / f"{name}.fits"
        shutil.copy(demo.wfss_cal, files[name])
        with fits.open(files[name], mode="update") as hdul:
            hdul[0].header["FILTER"] = other
            hdul[0].header.update(keywords)
    files["photom"] = directory / "photom_other_filter.fits"
    with fits.open(demo.reference_files["photom_imaging"]) as hdul:
        hdul["PHOTOM"].data["filter"] = other
        hdul.writeto(files["photom"])
    files["flat"] = directory / "flat_other_filter.fits"
    shutil.copy(demo.reference_files["flat"], files["flat"])
    with fits.open(files["flat"], mode="update") as hdul:
        hdul[0].header["FILTER"] = other
    rows = [[0.0, 0.0, 0.0], [1000.0, 0.0, 0.0]]
    grismr = {"DISPX": rows, "DISPY": [[-22.0], [0.0]], "DISPL": [[3.0], [1.0]]}
    files["other_filter_conf"] = trace.load_grism_config(
        write_synthetic_conf(directory, f"SYNTH_{other}_modA_R.conf", grismr)
    )
    files["grismc_conf"] = trace.load_grism_config(
        write_synthetic_conf(directory, f"SYNTH_{own}_modA_C.conf", GRISMC_LIKE)
    )
    return files


@pytest.fixture
def scratch(tmp_path):
    (tmp_path / "a_file.txt").write_text("not a directory")
    return tmp_path


X0, Y0 = 1500.0, 1000.0

# (id, function of the fixtures, exception, message fragment)
CASES = [
    # --- positions
    ("NaN position", lambda f: trace.dispersed_position(f["config"], 1, np.nan, Y0, 0.5), ValueError, "must be finite 0-based pixel positions"),
    ("inf position", lambda f: trace.trace_bounding_box(f["config"], 1, X0, np.inf, 10), ValueError, "must be finite"),
    ("position as text", lambda f: trace.trace_wavelength(f["config"], 1, "1500", Y0, 0.5), TypeError, "x0 must be a number of pixels"),
    ("position in arcsec", lambda f: trace.wavelength_to_pixel(f["config"], 1, 3.0 * u.arcsec, Y0, 3.5), ValueError, "positions are detector pixels"),
    ("two sources at once", lambda f: ex.box_extract(f["image"], f["config"], 1, [X0, 900.0], [Y0, 800.0]), ValueError, "one source at a time"),
    ("x and y of different lengths", lambda f: sp.direct_to_sky(f["demo"].direct_cal, [1.0, 2.0, 3.0], [1.0, 2.0]), ValueError, "different shapes"),
    ("NaN direct-image position", lambda f: sp.direct_to_wfss(f["demo"].direct_cal, f["demo"].wfss_cal, np.nan, 5.0), ValueError, "not finite"),
    # --- wavelengths, t, orders
    ("wavelength in kg", lambda f: trace.t_from_wavelength(f["config"], 1, X0, Y0, 3.5 * u.kg), ValueError, "which is not a wavelength"),
    ("wavelength as text", lambda f: fc.sensitivity_curve(f["config"], 1, "3.5 micron"), TypeError, "must be a number (micron) or a Quantity"),
    ("NaN wavelength", lambda f: trace.wavelength_to_pixel(f["config"], 1, X0, Y0, [3.5, np.nan]), ValueError, "NaN or infinite"),
    ("t with a unit", lambda f: trace.dispersed_position(f["config"], 1, X0, Y0, 3.5 * u.micron), ValueError, "trace parameter is dimensionless"),
    ("NaN t", lambda f: trace.angstrom_per_pixel(f["config"], 1, X0, Y0, [0.5, np.nan]), ValueError, "NaN or infinite"),
    ("order 0", lambda f: trace.trace_wavelength(f["config"], 0, X0, Y0, 0.5), ValueError, "not in this grism configuration"),
    ("order 'A'", lambda f: trace.trace_wavelength(f["config"], "A", X0, Y0, 0.5), ValueError, "not in this grism configuration"),
    ("config is a path", lambda f: trace.dispersed_position(str(f["demo"].grismconf_file), 1, X0, Y0, 0.5), TypeError, "load_grism_config"),
    ("config is None", lambda f: ex.box_extract(f["image"], None, 1, X0, Y0), TypeError, "Expected a grismconf.Config"),
    ("load_grism_config(None)", lambda f: trace.load_grism_config(None), TypeError, "takes the path of a processed WFSS file"),
    ("gWCS order 'A'", lambda f: trace.gwcs_column_wavelengths(f["demo"].wfss_cal, "A", X0, Y0, [900.0]), ValueError, "order must be an integer"),
    ("gWCS of the direct image", lambda f: trace.gwcs_column_wavelengths(f["demo"].direct_cal, 1, X0, Y0, [900.0]), InvalidInputFileError, "not a WFSS exposure"),
    # --- boxes and apertures
    ("negative half_height (box)", lambda f: trace.trace_bounding_box(f["config"], 1, X0, Y0, -5), ValueError, "half_height must be a finite number >= 0"),
    ("reversed t_range", lambda f: trace.trace_bounding_box(f["config"], 1, X0, Y0, 10, t_range=(1, 0)), ValueError, "t_min < t_max"),
    ("t_range not a pair", lambda f: ex.box_extract(f["image"], f["config"], 1, X0, Y0, t_range=0.5), TypeError, "t_range must be a pair"),
    ("detector_shape not a pair", lambda f: trace.trace_bounding_box(f["config"], 1, X0, Y0, 10, detector_shape=2048), TypeError, "detector_shape must be (ny, nx)"),
    ("inverted BoundingBox", lambda f: trace.BoundingBox(10, 5, 0, 3), ValueError, "limits are inverted"),
    ("zero half_height", lambda f: ex.box_extract(f["image"], f["config"], 1, X0, Y0, half_height=0), ValueError, "half_height must be a finite number > 0"),
    ("NaN half_height", lambda f: ex.box_extract(f["image"], f["config"], 1, X0, Y0, half_height=np.nan), ValueError, "half_height must be a finite number > 0"),
    ("half_height as text", lambda f: ex.box_extract(f["image"], f["config"], 1, X0, Y0, half_height="4"), TypeError, "half_height must be a number"),
    ("negative box_half_height", lambda f: ex.box_extract(f["image"], f["config"], 1, X0, Y0, half_height=None, box_half_height=-5), ValueError, "box_half_height must be"),
    ("zero sigma", lambda f: ex.box_extract(f["image"], f["config"], 1, X0, Y0, sigma=0), ValueError, "sigma must be a finite number > 0"),
    ("NaN background", lambda f: ex.box_extract(f["image"], f["config"], 1, X0, Y0, background=np.nan), ValueError, "background must be one finite level"),
    ("background 'auto'", lambda f: ex.box_extract(f["image"], f["config"], 1, X0, Y0, background="auto"), ValueError, "background must be one finite level"),
    ("background in Jy", lambda f: ex.box_extract(f["image"], f["config"], 1, X0, Y0, background=1 * u.Jy), ValueError, "give it in DN/s"),
    ("aperture half_height 0", lambda f: ex.aperture_weights(np.arange(5), [2.0], 0), ValueError, "half_height must be"),
    ("negative sigma for clipping", lambda f: ex.estimate_background(np.ones(100), sigma=-3), ValueError, "sigma must be"),
    ("wavelength_map without a box", lambda f: ex.wavelength_map(f["config"], 1, X0, Y0, (slice(0, 5), slice(0, 5))), TypeError, "bbox must be a BoundingBox"),
    # --- arrays and files given to the extraction
    ("err of another shape", lambda f: ex.box_extract({"data": f["image"]["data"], "err": np.ones((100, 100))}, f["config"], 1, X0, Y0), ValueError, "err has shape (100, 100) but data has shape (2048, 2048)"),
    ("1-D data", lambda f: ex.box_extract({"data": np.ones(2048)}, f["config"], 1, X0, Y0), ValueError, "must be a 2-D image"),
    ("dict without 'data'", lambda f: ex.box_extract({"sci": f["image"]["data"]}, f["config"], 1, X0, Y0), ValueError, "needs a 'data' array"),
    ("a bare array", lambda f: ex.box_extract(f["image"]["data"], f["config"], 1, X0, Y0), TypeError, "for bare arrays, the extraction takes a dict"),
    ("direct image instead of WFSS", lambda f: ex.box_extract(f["demo"].direct_cal, f["config"], 1, X0, Y0), InvalidInputFileError, "not a WFSS exposure (EXP_TYPE = NRC_IMAGE)"),
    ("bad_pixel_mask shapes", lambda f: ex.bad_pixel_mask(np.ones((4, 4)), err=np.ones((3, 3))), ValueError, "err has shape"),
    ("exposures swapped", lambda f: sp.direct_to_wfss(f["demo"].wfss_cal, f["demo"].direct_cal, 100.0, 100.0), InvalidInputFileError, "is a WFSS exposure"),
    ("coord not a SkyCoord", lambda f: sp.sky_to_wfss(f["demo"].wfss_cal, (53.1, -27.8)), TypeError, "coord must be an astropy SkyCoord"),
    ("sky position far off", lambda f: sp.sky_to_wfss(f["demo"].wfss_cal, SkyCoord(10 * u.deg, 10 * u.deg)), ValueError, "fall outside the field"),
    # --- flux calibration, line fits, plots
    ("flux_calibrate(None)", lambda f: fc.flux_calibrate(None, f["config"]), TypeError, "Expected a BoxExtraction"),
    ("flux_calibrate swapped", lambda f: fc.flux_calibrate(f["config"], f["extraction"]), TypeError, "arguments are swapped"),
    ("wavelength without unit (photom)", lambda f: fc.sensitivity_from_relresponse(np.array([3.0, 3.5]), [1.0, 1.0], 0.5, 1e-13), ValueError, "length unit"),
    ("relresponse of another length", lambda f: fc.sensitivity_from_relresponse([3.0, 3.5] * u.micron, [1.0], 0.5, 1e-13), ValueError, "must match"),
    ("zero pixel area", lambda f: fc.sensitivity_from_relresponse([3.0, 3.5] * u.micron, [1.0, 1.0], 0.5, 0.0), ValueError, "pixel_area_sr must be"),
    ("sensitivity without unit", lambda f: fc.relresponse_from_sensitivity([3.0, 3.5] * u.micron, np.ones(2), 0.5, 1e-13), ValueError, "sensitivity must be a Quantity"),
    ("line fit, y of another length", lambda f: lines.fit_emission_line(np.arange(50.0), np.ones(40), 25.0), ValueError, "x has shape (50,) but y has shape (40,)"),
    ("line window in the wrong units", lambda f: lines.fit_emission_line(np.linspace(3.0, 4.0, 200), np.ones(200), 3.4), ValueError, "it is in the units of x"),
    ("line guess as text", lambda f: lines.fit_emission_line(np.arange(50.0), np.ones(50), "the line"), TypeError, "guess must be a number"),
    ("plot a BoxExtraction as a spectrum", lambda f: plotting.plot_spectrum(f["extraction"]), TypeError, "flux_calibrate(extraction, config) first"),
    ("plot the whole frame as a cutout", lambda f: plotting.plot_cutout(f["image"]["data"], f["extraction"].bbox), ValueError, "not the whole image"),
    ("plot an all-NaN cutout", lambda f: plotting.image_norm(np.full((3, 3), np.nan)), ValueError, "no finite pixels"),
    ("histogram of a float", lambda f: plotting.plot_background_histogram(0.8), TypeError, "Expected a BackgroundEstimate"),
    # --- files, pipeline, CRDS, data access
    ("calibrating a _cal file again", lambda f: calibrate_imaging(f["demo"].direct_cal), InvalidInputFileError, "already been through the jwst FlatFieldStep"),
    ("calibrate a direct model as WFSS", lambda f: calibrate_wfss(f["direct_model"]), InvalidInputFileError, "not a WFSS exposure"),
    ("calibrate an array", lambda f: calibrate_imaging(np.ones((5, 5))), TypeError, "Expected the path of a _rate.fits file"),
    ("nested reference files", lambda f: calibrate_imaging(f["demo"].direct_rate, f["nested_refs"]), ValueError, "pass one of them: reference_files['imaging']"),
    ("WFSS without specwcs", lambda f: calibrate_wfss(f["demo"].wfss_rate, f["nested_refs"]["imaging"]), ValueError, "lacks 'specwcs'"),
    ("missing reference file", lambda f: calibrate_imaging(f["demo"].direct_rate, {**f["nested_refs"]["imaging"], "flat": "/nonexistent/flat.fits"}), FileNotFoundError, "flat reference file /nonexistent/flat.fits does not exist"),
    ("output is a directory", lambda f: calibrate_imaging(f["demo"].direct_rate, f["nested_refs"]["imaging"], output=f["scratch"]), IsADirectoryError, "is a directory; give a file name"),
    ("output under a file", lambda f: calibrate_imaging(f["demo"].direct_rate, f["nested_refs"]["imaging"], output=f["scratch"] / "a_file.txt" / "x.fits"), NotADirectoryError, "is a file"),
    ("step_overrides of a name", lambda f: step_overrides("AssignWcsStep", {}), TypeError, "must be a jwst Step class"),
    ("a directory as a FITS file", lambda f: check_processing(f["scratch"]), IsADirectoryError, "is a directory"),
    ("unknown step name", lambda f: check_processing(f["demo"].wfss_cal, steps=("assignwcs",)), ValueError, "Unknown step"),
    ("is_wfss of a path", lambda f: is_wfss(str(f["demo"].wfss_cal)), TypeError, "takes a FITS header"),
    ("data mode 1", lambda f: data_mode(1), TypeError, "must be 'demo' or 'real'"),
    ("CRDS server without scheme", lambda f: configure_online_crds(f["scratch"] / "c", server_url="jwst-crds.stsci.edu"), ValueError, "must be an http(s) URL"),
    ("online CRDS in the demo cache", lambda f: configure_online_crds(f["demo"].crds_path, server_url="http://127.0.0.1:9"), FileExistsError, "offline CRDS cache of the demo data"),
    ("offline CRDS cache on a file", lambda f: configure_offline_crds(f["scratch"] / "a_file.txt"), NotADirectoryError, "is a file"),
    ("download: negative retries", lambda f: download_mast_file("x_rate.fits", f["scratch"], retries=-1), ValueError, "retries must be an integer >= 0"),
    ("download: empty name", lambda f: mast_product_url(""), ValueError, "not a MAST product file name"),
    ("verified_copy(None)", lambda f: verified_copy(None), TypeError, "Expected a file path"),
    ("pixel_position of None", lambda f: pixel_position(None, 1.0), TypeError, "x0 must be a number of pixels"),
    # --- the dispersion axis, and inverses that must be unique
    ("a column of a GRISMC trace", lambda f: trace.column_to_wavelength(f["mismatched"]["grismc_conf"], 1, X0, Y0, 980.0), ValueError, "disperses along y (detector columns, as GRISMC does)"),
    ("t_from_column on GRISMC", lambda f: trace.t_from_column(f["mismatched"]["grismc_conf"], 1, X0, Y0, 980.0), ValueError, "t_from_column takes detector columns"),
    ("inverting the cross-dispersion offset", lambda f: trace.invert_dispersion(lambda t: f["mismatched"]["grismc_conf"].DISPX("+1", X0, Y0, t), lambda t: f["mismatched"]["grismc_conf"].DDISPX("+1", X0, Y0, t), [-44.5]), trace.NonMonotonicDispersionError, "narrow t_range to one side of the turning point"),
    ("no root at all", lambda f: trace.invert_dispersion(lambda t: (t - 1.5) ** 2, lambda t: 2 * (t - 1.5), [-1.0]), ValueError, "did not converge"),
    (".column of a GRISMC extraction", lambda f: ex.box_extract(f["image"], f["mismatched"]["grismc_conf"], 1, X0, Y0).column, AttributeError, "its entries are detector rows, so it has no .column"),
    ("a GrismTrace and a position", lambda f: ex.box_extract(f["image"], trace.GrismTrace(f["config"], 1, X0, Y0), 1, X0, Y0), TypeError, "Pass either a GrismTrace alone"),
    ("config without the position", lambda f: ex.box_extract(f["image"], f["config"], 1), TypeError, "give the order and the source position too"),
    ("wavelength_map(trace) without a box", lambda f: ex.wavelength_map(trace.GrismTrace(f["config"], 1, X0, Y0)), TypeError, "bbox must be a BoundingBox"),
    ("plot_cutout(trace=config)", lambda f: plotting.plot_cutout(f["image"]["data"][f["extraction"].bbox.slices], f["extraction"].bbox, trace=f["config"]), TypeError, "trace must be a GrismTrace"),
    # --- apertures, neighbours, contamination and centring (issue 11, point 4)
    ("aperture of 1e-6 px", lambda f: ex.box_extract(f["image"], f["config"], 1, X0, Y0, half_height=1e-6), ValueError, "below the minimum of 1 px"),
    ("aperture of 0.5 px", lambda f: ex.box_extract(f["image"], f["config"], 1, X0, Y0, half_height=0.5), ValueError, "half_height=0.5 px is below the minimum of 1 px"),
    ("whole box of 0.5 px", lambda f: ex.box_extract(f["image"], f["config"], 1, X0, Y0, half_height=None, box_half_height=0.5), ValueError, "box_half_height=0.5 px is below the minimum"),
    ("box taller than the detector", lambda f: ex.box_extract(f["image"], f["config"], 1, X0, Y0, box_half_height=5000), ValueError, "taller than the detector (2048 rows)"),
    ("GRISMC box wider than the detector", lambda f: ex.box_extract(f["image"], f["mismatched"]["grismc_conf"], 1, X0, Y0, box_half_height=1100), ValueError, "taller than the detector (2048 columns)"),
    ("neighbours as text", lambda f: ex.box_extract(f["image"], f["config"], 1, X0, Y0, neighbours="sources.cat"), TypeError, "neighbours must be the positions of other sources"),
    ("neighbours table without x0/y0", lambda f: ex.box_extract(f["image"], f["config"], 1, X0, Y0, neighbours=f["demo"].sources()), ValueError, "neighbours is a table without x0 and y0 columns"),
    ("neighbours as a flat list", lambda f: ex.box_extract(f["image"], f["config"], 1, X0, Y0, neighbours=[900.0, 800.0, 700.0]), ValueError, "give one (x0, y0) pair per neighbour"),
    ("neighbours with a NaN", lambda f: ex.box_extract(f["image"], f["config"], 1, X0, Y0, neighbours=[(900.0, np.nan)]), ValueError, "not finite"),
    ("neighbours in arcsec", lambda f: ex.box_extract(f["image"], f["config"], 1, X0, Y0, neighbours=[(1.0, 2.0)] * u.arcsec), ValueError, "positions are detector pixels"),
    ("negative contamination margin", lambda f: ex.box_extract(f["image"], f["config"], 1, X0, Y0, contamination_margin=-1), ValueError, "contamination_margin must be a finite number >= 0"),
    ("zero centring tolerance", lambda f: ex.box_extract(f["image"], f["config"], 1, X0, Y0, centring_tolerance=0), ValueError, "centring_tolerance must be a finite number > 0"),
    # --- exposures and the configurations or reference files used with them
    ("FILTER edited in a _cal file", lambda f: trace.load_grism_config(f["mismatched"]["edited_cal"]), trace.ExposureMismatchError, "but its trace was built from the specwcs reference file"),
    ("photom lacks the FILTER", lambda f: trace.load_grism_config(f["mismatched"]["edited_cal_no_specwcs"]), trace.ExposureMismatchError, "has no row for that"),
    ("configuration of another filter", lambda f: ex.box_extract(f["demo"].wfss_cal, f["mismatched"]["other_filter_conf"], 1, X0, Y0), trace.ExposureMismatchError, "their FILTER differ"),
    ("configuration of the other grism", lambda f: ex.box_extract(f["demo"].wfss_cal, f["mismatched"]["grismc_conf"], 1, X0, Y0), trace.ExposureMismatchError, "their PUPIL differ"),
    ("calibrating with another filter's configuration", lambda f: fc.flux_calibrate(f["extraction"], f["mismatched"]["other_filter_conf"]), trace.ExposureMismatchError, "the grism configuration"),
    ("imaging photom of another filter", lambda f: calibrate_imaging(f["demo"].direct_rate, {**f["nested_refs"]["imaging"], "photom": f["mismatched"]["photom"]}), trace.ExposureMismatchError, "PhotomStep would leave the data uncalibrated"),
    ("flat of another filter", lambda f: calibrate_imaging(f["demo"].direct_rate, {**f["nested_refs"]["imaging"], "flat": f["mismatched"]["flat"]}), trace.ExposureMismatchError, "The flat reference file flat_other_filter.fits is for FILTER="),
]


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_bad_argument_gets_a_clear_error(case, demo, config, image, extraction, scratch, direct_model, mismatched):
    _, call, exception, fragment = case
    fixtures = {
        "demo": demo,
        "config": config,
        "image": image,
        "extraction": extraction,
        "scratch": scratch,
        "direct_model": direct_model,
        "mismatched": mismatched,
        "nested_refs": {
            "imaging": {k: demo.reference_files[v] for k, v in (("distortion", "distortion"), ("flat", "flat"), ("photom", "photom_imaging"))},
            "wfss": {},
        },
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exception) as info:
            call(fixtures)
    assert fragment in str(info.value), f"message {str(info.value)!r} lacks {fragment!r}"
    origin = Path(info.traceback[-1].path)
    assert PACKAGE in origin.parents, f"raised from {origin}, not from wfss_helpers"
    # A refused call leaves nothing behind (no output, no directory, no partial file).
    assert sorted(p.name for p in scratch.iterdir()) == ["a_file.txt"]


def test_unflattened_wfss_rate_extracts_with_a_warning(demo, config):
    row = demo.source(1)
    with pytest.warns(UserWarning, match="has not been flat-fielded.*calibrate_wfss"):
        ext = ex.box_extract(demo.wfss_rate, config, 1, row["x0_wfss"], row["y0_wfss"])
    assert np.isfinite(ext.rate[~ext.mask]).all()


def test_wcs_reference_files_demo_and_missing(demo):
    from stdatamodels.jwst import datamodels

    from wfss_helpers.data_sources.pipeline import wcs_reference_files

    with datamodels.open(demo.wfss_cal) as model:
        files = wcs_reference_files(model)
        assert files == {
            "distortion": str(demo.reference_files["distortion"].resolve()),
            "filteroffset": None,
            "specwcs": str(demo.reference_files["specwcs"].resolve()),
        }
        model.meta.ref_file.distortion.name = "crds://jwst_nircam_distortion_0000.asdf"
        with pytest.raises(FileNotFoundError, match="distortion reference file 'crds://jwst_nircam_distortion_0000.asdf'.*not on this"):
            wcs_reference_files(model)


def test_plot_limits_in_the_wrong_unit_warn(config, extraction):
    import matplotlib

    matplotlib.use("Agg")
    spectrum = fc.flux_calibrate(extraction, config)
    with pytest.warns(UserWarning, match="does not overlap the spectrum.*taken in micron"):
        plotting.plot_spectrum(spectrum, xlim=(34000, 35000))
    ax = plotting.plot_spectrum(spectrum, xlim=(34000 * u.AA, 35000 * u.AA))  # a Quantity is converted
    assert ax.get_xlim() == pytest.approx((3.4, 3.5))


def test_fit_on_noise_warns_that_there_is_no_line():
    x = np.arange(200.0)
    y = np.random.default_rng(3).normal(1.0, 0.01, x.size)
    with pytest.warns(UserWarning, match="No clear emission line near 100"):
        lines.fit_emission_line(x, y, 100.0, y_err=np.full(x.size, 0.01))


def test_positions_accept_pixel_quantities_and_one_element_arrays(config):
    reference = trace.dispersed_position(config, 1, X0, Y0, 0.5)
    assert trace.dispersed_position(config, 1, X0 * u.pix, Y0 * u.pix, 0.5) == pytest.approx(reference)
    assert trace.dispersed_position(config, 1, np.array([X0]), np.array([Y0]), 0.5) == pytest.approx(reference)


def test_photom_that_did_not_convert_is_refused(demo, mismatched):
    """After PhotomStep the image must be in MJy/sr; S_PHOTOM = COMPLETE alone is not enough
    (jwst only warns when the photom file has no row for the exposure's filter)."""
    from stdatamodels.jwst import datamodels

    from wfss_helpers.data_sources.pipeline import _check_photom_applied

    with datamodels.open(demo.direct_rate) as model:
        model.meta.cal_step.photom = "COMPLETE"
        model.meta.bunit_data = "DN/s"
        model.meta.ref_file.photom.name = str(mismatched["photom"])
        with pytest.raises(trace.ExposureMismatchError, match="BUNIT is still 'DN/s'.*has no row for FILTER=") as info:
            _check_photom_applied(model)
        assert "Nothing was written" in str(info.value)
        model.meta.bunit_data = "MJy/sr"
        _check_photom_applied(model)  # converted: fine


def test_number_of_bad_inputs_tried():
    # Reported in the closing note of the bad-input issue; keep the suite broad.
    assert len(CASES) >= 70
