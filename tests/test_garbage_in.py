"""Garbage in, a clear word out (issue 19).

Each test gives an extraction data that are wrong in a way that used to return a
plausible number without a word, and checks that it now gets a ValueError saying what
is wrong and how to fix it, or a warning (naming the caller's line) and flags. The
injected spectra are painted here with numpy (a Gaussian trace along a straight
line), not with the package's own rendering; the demo data are used, with their truth
table, to check that isolated sources do not warn.

1. ``optimal_extract``: negated data (or the sky over-subtracted) warn, with the ratio
   of negative to positive light; an all-NaN or all-DO_NOT_USE window, or one whose
   profile core is unusable in every entry, is refused.
2. ``box_extract``: a bright neighbour across the dispersion that is not given in
   ``neighbours=`` is found in the data, its entries flagged, and warned about.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from test_trace import write_synthetic_conf

from wfss_helpers.extraction.box import box_extract
from wfss_helpers.extraction.optimal import optimal_extract
from wfss_helpers.geometry.configuration import load_grism_config
from wfss_helpers.geometry.trace import GrismTrace

#: A straight order along the rows: x0-100..x0+900, at the source's row.
STRAIGHT = {"DISPX": [[-100.0], [1000.0]], "DISPY": [[0.0], [0.0]],
            "DISPL": [[3.0], [1.0]]}
SHAPE = (2048, 2048)
X0, Y0, SIGMA, NOISE = 600.0, 1000.3, 1.2, 0.05


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The straight configuration and the trace of a source on it."""
    directory = tmp_path_factory.mktemp("straight_conf")
    config = load_grism_config(write_synthetic_conf(directory, "S.conf", STRAIGHT))
    return config, GrismTrace(config, "+1", X0, Y0)


def painted_trace(y, sigma=SIGMA, x0=X0):
    """A Gaussian trace along row ``y`` over the order's columns, each column summing
    to 1 (numpy only)."""
    rows = np.arange(SHAPE[0])[:, None]
    cols = np.arange(SHAPE[1])[None, :]
    along = (cols >= x0 - 100) & (cols <= x0 + 900)
    image = np.exp(-0.5 * ((rows - y) / sigma) ** 2) * along
    return image / np.where(along, image.sum(axis=0, keepdims=True), 1.0)


@pytest.fixture(scope="module")
def exposure():
    """A source of 5 DN/s per column on noise of 0.05 DN/s per pixel, its profile."""
    profile = painted_trace(Y0)
    rng = np.random.default_rng(19)
    data = 5.0 * profile + rng.normal(0.0, NOISE, SHAPE)
    return {"data": data, "err": np.full(SHAPE, NOISE)}, profile


def _recorded(call):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        result = call()
    return result, record


# --- 1. optimal_extract ---------------------------------------------------------------


def test_optimal_extract_of_good_data_is_right_and_silent(straight, exposure):
    arrays, profile = exposure
    result, record = _recorded(lambda: optimal_extract(arrays, straight[1], profile))
    assert np.nanmedian(result.rate.value) == pytest.approx(5.0, rel=0.01)
    assert not [str(w.message) for w in record]


def test_negated_data_warn_with_the_ratio(straight, exposure):
    arrays, profile = exposure
    negated = dict(arrays, data=-arrays["data"])
    result, record = _recorded(lambda: optimal_extract(negated, straight[1], profile))
    # The number itself is still -1.00 times the truth: the warning says why.
    assert np.nanmedian(result.rate.value) == pytest.approx(-5.0, rel=0.01)
    found = [w for w in record if "mostly negative where the profile" in str(w.message)]
    assert len(found) == 1
    message = str(found[0].message)
    assert found[0].filename == __file__  # at the caller's line
    ratio = float(message.split("(ratio ")[1].split(",")[0])
    assert ratio > 100
    assert "negated" in message and "over-subtracted" in message
    assert "subtract_background" in message


def test_over_subtracted_sky_warns(straight, exposure):
    arrays, profile = exposure
    # Only the window's sky over-subtracted (the exposure's median stays about 0).
    data = arrays["data"].copy()
    data[985:1016] -= 1.5
    with pytest.warns(UserWarning, match=r"mostly negative.*\(ratio [0-9.]+"):
        optimal_extract(dict(arrays, data=data), straight[1], profile)


@pytest.mark.parametrize("spoil, count", [
    ("nan", "25025 are NaN"), ("do_not_use", "25025 are flagged DO_NOT_USE"),
])
def test_an_unusable_window_is_refused(straight, exposure, spoil, count):
    arrays, profile = exposure
    data, dq = arrays["data"], np.zeros(SHAPE, np.uint32)
    if spoil == "nan":
        data = np.full(SHAPE, np.nan)
    else:
        dq[:] = 1
    bad = {"data": data, "err": arrays["err"], "dq": dq}
    with pytest.raises(ValueError, match="pixels of the window of .* unusable") as info:
        optimal_extract(bad, straight[1], profile)
    message = str(info.value)
    assert count in message and "Check that this is the right exposure" in message


def test_an_unusable_profile_core_is_refused(straight, exposure):
    arrays, profile = exposure
    dq = np.zeros(SHAPE, np.uint32)
    dq[998:1003] = 1  # the 5 rows of the trace's core, all along
    bad = dict(arrays, dq=dq)
    with pytest.raises(ValueError, match=r"No entry of .* can be measured.*5005 are "
                                         r"flagged DO_NOT_USE"):
        optimal_extract(bad, straight[1], profile)


# --- 2. a bright neighbour not given in neighbours= ----------------------------------


def _blended(neighbour_dy, brightness, neighbour_x0=X0 + 40.0):
    """The source (5 DN/s per column, an emission line at column 1000) and a neighbour
    ``brightness`` times brighter, ``neighbour_dy`` px away across the dispersion."""
    cols = np.arange(SHAPE[1])
    line = 20.0 * np.exp(-0.5 * ((cols - 1000.0) / 2.0) ** 2)
    data = painted_trace(Y0) * (5.0 + line)[None, :]
    data += brightness * 5.0 * painted_trace(Y0 + neighbour_dy, x0=neighbour_x0)
    data += np.random.default_rng(7).normal(0.0, NOISE, SHAPE)
    return {"data": data, "err": np.full(SHAPE, NOISE)}


def _continuum_ratio(result):
    usable = (result.pixel > 650) & (result.pixel < 950)
    return float(np.nanmedian(result.rate.value[usable])) / 5.0


def test_isolated_painted_source_gives_no_neighbour_warning(straight):
    result, record = _recorded(
        lambda: box_extract(_blended(0.0, 0.0), straight[1], background=0.0)
    )
    assert _continuum_ratio(result) == pytest.approx(1.0, rel=0.02)
    assert not [str(w.message) for w in record]
    assert not np.any(result.flags & 32)


@pytest.mark.parametrize("dy", [3.0, -3.0, 5.0])
def test_a_bright_unlisted_neighbour_is_found_flagged_and_warned(straight, dy):
    from wfss_helpers.extraction.results import ExtractionFlag

    arrays = _blended(dy, 10.0)
    result, record = _recorded(
        lambda: box_extract(arrays, straight[1], background=0.0)
    )
    assert _continuum_ratio(result) > 2.5  # the neighbour's light is in the rate
    found = [w for w in record if "second source" in str(w.message)]
    assert len(found) == 1, [str(w.message) for w in record]
    message = str(found[0].message)
    assert found[0].filename == __file__
    where = float(message.split("one at ")[1].split(" px")[0])
    assert where == pytest.approx(dy, abs=0.3)
    assert "neighbours=" in message and "notebook 6" in message
    # Not the misleading "check x0, y0" of an off-centre trace instead.
    assert not [w for w in record if "from where it is predicted" in str(w.message)]
    flagged = (result.flags & ExtractionFlag.UNLISTED_NEIGHBOUR) != 0
    # The neighbour's trace covers columns 540..1540, the box 500..1500.
    covered = (result.pixel >= X0 - 60) & ~result.mask
    assert flagged[covered].mean() > 0.95
    # Before it starts, at most a 3-sigma fluke of the noise.
    assert flagged[result.pixel < X0 - 62].sum() <= 1
    assert np.all(result.contaminated[flagged])


def test_a_listed_neighbour_is_not_reported_again(straight):
    arrays = _blended(3.0, 10.0)
    result, record = _recorded(lambda: box_extract(
        arrays, straight[1], background=0.0, neighbours=[(X0 + 40.0, Y0 + 3.0)]
    ))
    assert not [w for w in record if "second source" in str(w.message)]
    assert result.neighbour_contaminated.sum() > 900


POSITIONS = {"GRISMR": ("x0_wfss", "y0_wfss"), "GRISMC": ("x0_grismc", "y0_grismc")}


@pytest.mark.parametrize("grism", ["GRISMR", "GRISMC"])
def test_only_the_demo_blends_warn_of_a_second_source(demo, grism):
    from stdatamodels.jwst import datamodels

    from wfss_helpers.extraction.background import (
        dispersed_sky_profile,
        subtract_background,
    )

    path = demo.cal_file_for(grism)
    axis = "x" if grism == "GRISMR" else "y"
    with datamodels.open(path) as model:
        sky = dispersed_sky_profile(model.data, dispersion_axis=axis, dq=model.dq)
        clean = subtract_background(model.data, sky, err=model.err, dq=model.dq)
    config = load_grism_config(path)
    xc, yc = POSITIONS[grism]
    warned, isolated_checked = [], 0
    for row in demo.sources():
        x0, y0 = float(row[xc]), float(row[yc])
        try:
            _, record = _recorded(lambda: box_extract(clean, config, 1, x0, y0))
        except ValueError:
            continue  # a trace off the detector: refused, nothing to check
        blended = bool(demo.blended_with(int(row["id"]), grism))
        isolated_checked += not blended
        if any("second source" in str(w.message) for w in record):
            warned.append((int(row["id"]), blended))
    assert warned, "the demo's blends are not seen at all"
    assert isolated_checked > 10
    assert [source for source, blended in warned if not blended] == []
