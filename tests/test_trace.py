"""Trace geometry: round trips across the detector, against the demo instrument's truth."""

from __future__ import annotations

import numpy as np
import pytest
from astropy import units as u
from hypothesis import given, settings
from hypothesis import strategies as st

from wfss_helpers.demo import instrument as inst
from wfss_helpers.trace import (
    BoundingBox,
    angstrom_per_pixel,
    column_to_wavelength,
    dispersed_position,
    gwcs_column_wavelengths,
    load_grism_config,
    order_name,
    t_from_column,
    t_from_wavelength,
    trace_bounding_box,
    trace_wavelength,
    wavelength_to_pixel,
)


@pytest.fixture(scope="module", params=["processed_file", "conf_file"])
def config(request, demo):
    path = demo.wfss_cal if request.param == "processed_file" else demo.grismconf_file
    return load_grism_config(path)


positions = st.floats(0.0, 2047.0)
t_values = st.floats(-0.2, 1.2)
orders = st.sampled_from(inst.ORDERS)


@settings(max_examples=150, deadline=None)
@given(x0=positions, y0=positions, t=t_values, order=orders)
def test_wavelength_round_trip(config, x0, y0, t, order):
    lam = trace_wavelength(config, order, x0, y0, t)
    # Against the demo instrument's analytic inverse (independent of grismconf).
    assert inst.true_t_from_wavelength(order, x0, y0, lam.value) == pytest.approx(t, abs=1e-9)
    assert t_from_wavelength(config, order, x0, y0, lam) == pytest.approx(t, abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(x0=positions, y0=positions, t=t_values, order=orders)
def test_column_round_trip(config, x0, y0, t, order):
    x, _ = dispersed_position(config, order, x0, y0, t)
    assert t_from_column(config, order, x0, y0, x) == pytest.approx(t, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(x0=positions, y0=positions, lam=st.floats(3.06, 4.05), order=orders)
def test_wavelength_pixel_wavelength(config, x0, y0, lam, order):
    x, y = wavelength_to_pixel(config, order, x0, y0, lam * u.micron)
    coeffs = inst.dispersion_coefficients(order)
    t_true = inst.true_t_from_wavelength(order, x0, y0, lam)
    assert x == pytest.approx(x0 + inst.evaluate_dispersion(coeffs["DISPX"], x0, y0, t_true), abs=1e-6)
    assert y == pytest.approx(y0 + inst.evaluate_dispersion(coeffs["DISPY"], x0, y0, t_true), abs=1e-6)
    back = column_to_wavelength(config, order, x0, y0, x)
    assert back.to_value(u.micron) == pytest.approx(lam, abs=1e-10)


def test_dispersion_matches_finite_differences(config):
    x0, y0, t = 800.0, 1500.0, np.linspace(0.05, 0.95, 7)
    for order in inst.ORDERS:
        coeffs = inst.dispersion_coefficients(order)
        h = 1e-6
        dlam = inst.evaluate_dispersion(coeffs["DISPL"], x0, y0, t + h) - inst.evaluate_dispersion(coeffs["DISPL"], x0, y0, t - h)
        dx = inst.evaluate_dispersion(coeffs["DISPX"], x0, y0, t + h) - inst.evaluate_dispersion(coeffs["DISPX"], x0, y0, t - h)
        expected = np.abs(dlam / dx) * 1e4
        np.testing.assert_allclose(angstrom_per_pixel(config, order, x0, y0, t).to_value(u.AA / u.pix), expected, rtol=1e-6)


def test_order_names(config):
    assert order_name(config, 1) == "+1"
    assert order_name(config, "+2") == "+2"
    assert order_name(config, "2") == "+2"
    with pytest.raises(ValueError, match="Order 3 is not in this grism configuration; it has orders \\+1, \\+2"):
        order_name(config, 3)


def test_bounding_box_contains_the_trace(config):
    x0, y0 = 1500.0, 400.0
    box = trace_bounding_box(config, 1, x0, y0, half_height=10)
    x, y = dispersed_position(config, 1, x0, y0, np.linspace(0, 1, 1000))
    assert box.x_min <= x.min() + 0.5 and x.max() - 0.5 <= box.x_max
    assert box.y_min <= y.min() - 10 + 0.5 and y.max() + 10 - 0.5 <= box.y_max
    assert not box.clipped
    assert box.shape == (box.y_max - box.y_min + 1, box.x_max - box.x_min + 1)


def test_bounding_box_near_edges(config):
    clipped = trace_bounding_box(config, 1, 300.0, 1000.0, half_height=10)
    assert clipped.clipped and clipped.x_min == 0
    assert isinstance(clipped, BoundingBox)
    with pytest.raises(ValueError, match="falls entirely off"):
        trace_bounding_box(config, 1, 1000.0, 2200.0, half_height=10)


def test_gwcs_wavelengths_agree_with_grismconf(demo):
    config = load_grism_config(demo.wfss_cal)
    row = demo.source(1)
    x0, y0 = row["x0_wfss"], row["y0_wfss"]
    columns = np.arange(700, 1600, 37.0)
    ours = column_to_wavelength(config, 1, x0, y0, columns)
    theirs = gwcs_column_wavelengths(demo.wfss_cal, 1, x0, y0, columns)
    # The gWCS interpolates its inverse over 40 samples of t: agreement to ~0.05 Å.
    np.testing.assert_allclose(theirs.to_value(u.AA), ours.to_value(u.AA), atol=0.05)
