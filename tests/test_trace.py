"""Trace geometry: round trips across the detector, against the demo instrument's truth,
and the dispersion axis of row- and column-dispersing configurations (GrismTrace)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy import units as u
from hypothesis import given, settings
from hypothesis import strategies as st

from wfss_helpers.demo import instrument as inst
from wfss_helpers.geometry.trace import BoundingBox, GrismTrace
from wfss_helpers.geometry.inverse import (
    NonMonotonicDispersionError,
    invert_dispersion,
)
from wfss_helpers.geometry import (
    angstrom_per_pixel,
    column_to_wavelength,
    dispersed_position,
    gwcs_column_wavelengths,
    t_from_column,
    t_from_wavelength,
    trace_bounding_box,
    trace_wavelength,
    wavelength_to_pixel,
)
from wfss_helpers.geometry.configuration import (
    configuration_origin,
    load_grism_config,
    order_name,
)

#: A column-dispersing order like NIRCam's GRISMC + F444W, module A (V9): DISPY linear
#: in t, DISPX the cross-dispersion offset, which turns back at t ~ 0.42.
GRISMC_LIKE = {
    "DISPX": [[-44.04, -4.5e-4, 0.0], [-4.224, 0.0111, 0.0], [5.051, -0.01377, 0.0]],
    "DISPY": [[-166.33], [1364.54]],
    "DISPL": [[3.824, -5.7e-6, 0.0], [1.3237, -6.6e-7, 0.0], [0.00189, 2.3e-6, 0.0]],
}
#: A row-dispersing order toward -x, like NIRCam's GRISMR in module B.
GRISMR_B_LIKE = {
    "DISPX": [[156.37], [-1344.62]],
    "DISPY": [
        [-6.31, -0.0049, -0.0018],
        [-11.4, 0.0288, -0.0021],
        [5.02, -0.0329, 0.0139],
    ],
    "DISPL": [[3.817, -6.3e-6, 0.0], [1.3308, -1.1e-5, 0.0], [0.0154, 7e-7, 0.0]],
}


def write_synthetic_conf(directory, name, polynomials, *, filter_line=None, peak=1e17):
    """A one-order (+1) grismconf ``.conf`` file and its sensitivity table.

    Parameters
    ----------
    directory : pathlib.Path
    name : str
        File name of the ``.conf``.
    polynomials : dict
        ``DISPX``, ``DISPY``, ``DISPL``: rows of coefficients, one per power of t.
    filter_line : str, optional
        A ``FILTER`` keyword to write (e.g. ``"F444W"``).
    peak : float, optional
        Sensitivity at its peak (DN/s per erg/s/cm2/A).

    Returns
    -------
    pathlib.Path
    """
    from astropy.io import fits

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lines = ["NAXIS 2048 2048"] + ([f"FILTER {filter_line}"] if filter_line else [])
    lines += ["", "BEAM_+1"]
    for key, rows in polynomials.items():
        for k, row in enumerate(rows):
            lines.append(f"{key}_+1_{k} " + " ".join(f"{v:.10e}" for v in row))
    sens_name = name.replace(".conf", "_sens.fits")
    lines.append(f"SENSITIVITY_+1 {sens_name}")
    (directory / name).write_text("\n".join(lines) + "\n")
    wave = np.linspace(2.0, 6.0, 801)
    sens = peak * np.exp(-0.5 * ((wave - 4.3) / 0.45) ** 2)
    columns = [
        fits.Column(name="WAVELENGTH", format="D", array=wave),
        fits.Column(name="SENSITIVITY", format="D", array=sens),
    ]
    table = fits.BinTableHDU.from_columns(columns)
    table.writeto(directory / sens_name, overwrite=True)
    return directory / name


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
@given(x0=positions, y0=positions, fraction=st.floats(0.0, 1.0), order=orders)
def test_wavelength_pixel_wavelength(config, x0, y0, fraction, order):
    lo, hi = GrismTrace(config, order, x0, y0).wavelength_range.to_value(u.micron)
    lam = float(np.clip(lo + fraction * (hi - lo), lo, hi))  # anywhere in this order
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


def test_gwcs_wavelengths_agree_on_a_column_dispersing_exposure(demo):
    found = sorted(Path(demo.directory).glob("*grismc*_cal.fits"))
    if not found:
        pytest.skip("This demo dataset has no GRISMC exposure.")
    config = load_grism_config(found[0])
    x0, y0 = 1000.0, 700.0
    tr = GrismTrace(config, 1, x0, y0)
    assert tr.dispersion_axis == "y"
    x, y = tr.position(np.linspace(0.05, 0.95, 19))
    theirs = gwcs_column_wavelengths(found[0], 1, x0, y0, x, y)
    ours = tr.wavelength_at_pixel(y).to_value(u.AA)
    np.testing.assert_allclose(theirs.to_value(u.AA), ours, atol=0.05)
    with pytest.raises(ValueError, match="disperses along y.*Give the rows too"):
        gwcs_column_wavelengths(found[0], 1, x0, y0, x)


# --- GrismTrace: the dispersion axis and direction, exact unique inverses -----------


def test_grism_trace_of_the_demo_matches_the_functions(config):
    x0, y0 = 800.0, 1500.0
    tr = GrismTrace(config, 1, x0, y0)
    assert tr.order == "+1" and tr.dispersion_axis == "x" and tr.cross_axis == "y"
    t = np.linspace(0, 1, 11)
    position = dispersed_position(config, 1, x0, y0, t)
    np.testing.assert_array_equal(tr.position(t), position)
    np.testing.assert_array_equal(tr.pixel(t), position[0])
    columns = tr.pixel(t)
    expected = t_from_column(config, 1, x0, y0, columns)
    np.testing.assert_allclose(tr.t_from_pixel(columns), expected)
    assert tr.wavelength_range[0] < tr.wavelength_range[1]
    box = tr.bounding_box(10)
    assert box == trace_bounding_box(config, 1, x0, y0, 10)
    assert GrismTrace(config, "+1", x0 * u.pix, y0) == tr  # frozen, comparable


def test_column_dispersing_order(grismc_config):
    x0, y0 = 1024.0, 1024.0
    tr = GrismTrace(grismc_config, 1, x0, y0)
    assert (tr.dispersion_axis, tr.direction, tr.cross_axis) == ("y", 1, "x")
    t = np.linspace(0, 1, 51)
    rows = tr.pixel(t)
    np.testing.assert_allclose(rows, y0 + grismc_config.DISPY("+1", x0, y0, t))
    np.testing.assert_allclose(tr.t_from_pixel(rows), t, atol=1e-10)
    columns = x0 + grismc_config.DISPX("+1", x0, y0, t)
    np.testing.assert_allclose(tr.cross_position(t), columns)
    # Dispersion per row: |dDISPL/dt| / |dDISPY/dt| (~9.8 A/px), not per column.
    dl = grismc_config.DDISPL("+1", x0, y0, t)
    dy = grismc_config.DDISPY("+1", x0, y0, t)
    angstrom = tr.angstrom_per_pixel(t).to_value(u.AA / u.pix)
    np.testing.assert_allclose(angstrom, np.abs(dl / dy) * 1e4)
    assert 9 < np.median(tr.angstrom_per_pixel(t).value) < 11


@settings(max_examples=100, deadline=None)
@given(x0=positions, y0=positions, fraction=st.floats(0.0, 1.0))
def test_column_dispersing_round_trip(grismc_config, x0, y0, fraction):
    tr = GrismTrace(grismc_config, 1, x0, y0)
    lo, hi = tr.wavelength_range.to_value(u.micron)
    lam = float(np.clip(lo + fraction * (hi - lo), lo, hi))
    row = tr.pixel_at_wavelength(lam)
    x, y = tr.position_at_wavelength(lam * u.micron)
    assert y == pytest.approx(row, abs=1e-12)
    back = tr.wavelength_at_pixel(row).to_value(u.micron)
    assert back == pytest.approx(lam, abs=1e-10)
    assert tr.centre_at_pixel(row) == pytest.approx(x, abs=1e-9)


def test_columns_of_a_column_dispersing_order_are_refused(grismc_config):
    # DISPX turns back within t = 0..1 here: the old helpers returned the wrong root.
    with pytest.raises(ValueError, match="disperses along y .*GrismTrace"):
        column_to_wavelength(grismc_config, 1, 1024.0, 1024.0, 980.0)
    with pytest.raises(ValueError, match="t_from_column takes detector columns"):
        t_from_column(grismc_config, 1, 1024.0, 1024.0, 980.0)


def test_row_dispersing_toward_minus_x(grismr_b_config):
    tr = GrismTrace(grismr_b_config, 1, 1500.0, 1000.0)
    assert (tr.dispersion_axis, tr.direction) == ("x", -1)
    lam = np.linspace(*tr.wavelength_range.value, 9)
    columns = tr.pixel_at_wavelength(lam)
    assert np.all(np.diff(columns) < 0)  # redder is further toward -x
    back = column_to_wavelength(grismr_b_config, 1, 1500.0, 1000.0, columns)
    np.testing.assert_allclose(back.value, lam, atol=1e-10)
    box = tr.bounding_box(10)
    assert box.x_min == int(np.floor(columns.min() + 0.5))
    assert box.x_max == int(np.floor(columns.max() + 0.5))


def test_inverse_of_a_polynomial_that_turns_back(grismc_config):
    tr = GrismTrace(grismc_config, 1, 1024.0, 1024.0)

    def dispx(t):
        return grismc_config.DISPX("+1", 1024.0, 1024.0, t)

    def ddispx(t):
        return grismc_config.DDISPX("+1", 1024.0, 1024.0, t) * np.ones_like(t)

    target = dispx(np.array([0.1, 0.9]))
    message = r"turns back near t = 0\.[34].*narrow t_range"
    with pytest.raises(NonMonotonicDispersionError, match=message):
        invert_dispersion(dispx, ddispx, target)
    # On one side of the turning point the inverse is unique, and exact.
    one_side = invert_dispersion(dispx, ddispx, target[1:], t_range=(0.5, 1.0))
    np.testing.assert_allclose(one_side, [0.9], atol=1e-10)
    # Along the dispersion (DISPY) the trace picks the right polynomial by itself.
    assert tr.t_from_pixel(tr.pixel(0.9)) == pytest.approx(0.9, abs=1e-10)


def test_inverse_checks_beyond_the_range():
    # f(t) = (t - 1.5)**2 is monotonic over 0..1 but turns back at t = 1.5.
    def f(t):
        return (t - 1.5) ** 2

    def df(t):
        return 2 * (t - 1.5)

    roots = invert_dispersion(f, df, [f(0.2), f(1.2)])
    np.testing.assert_allclose(roots, [0.2, 1.2], atol=1e-10)
    with pytest.raises(ValueError, match="did not converge|turns back"):
        invert_dispersion(f, df, [-0.5])  # below the minimum: no root at all
    with pytest.raises(NonMonotonicDispersionError, match="turns back"):
        invert_dispersion(f, df, [f(1.7)], t_guess=1.7)  # past the turning point


def test_column_dispersing_box_and_wavelength_map(grismc_config):
    tr = GrismTrace(grismc_config, 1, 1024.0, 500.0)
    box = tr.bounding_box(12)
    assert not box.clipped
    x, y = tr.position(np.linspace(0, 1, 1000))
    # The margin goes across the dispersion: columns; the rows span the trace.
    assert box.x_min <= x.min() - 12 + 0.5 and x.max() + 12 - 0.5 <= box.x_max
    assert box.y_min == int(np.floor(y.min() + 0.5))
    assert box.y_max == int(np.floor(y.max() + 0.5))
    assert box.shape[0] > 1000 > box.shape[1]
    wmap = tr.wavelength_map(box)
    assert wmap.shape == box.shape
    np.testing.assert_array_equal(wmap[:, 0], wmap[:, -1])  # depends on the row only
    assert np.all(np.diff(wmap[:, 0].value) > 0)
    near_edge = trace_bounding_box(grismc_config, 1, 30.0, 1900.0, 15)
    assert near_edge.clipped and near_edge.x_min == 0 and near_edge.y_max == 2047


def test_configuration_origin(grismc_config, grismr_b_config, config, demo):
    assert configuration_origin(grismc_config).describe() == "F444W/GRISMC"
    trace_b = GrismTrace(grismr_b_config, 1, 5.0, 5.0)
    assert configuration_origin(trace_b).pupil == "GRISMR"
    origin = configuration_origin(load_grism_config(demo.wfss_cal))
    assert origin.filter and origin.pupil and origin.source.endswith(demo.wfss_cal.name)
