"""No silently wrong numbers (issue 11, point 4).

Each test reproduces a user's mistake that used to give a wrong number without a word,
and checks that it now gets an error raised by wfss_helpers, a warning, or a flag on
the columns concerned, and, where numbers are involved, checks them against the truth:

1. overlapping orders of one source, and neighbours' traces in the aperture: flagged;
2. a trace that is not where it is predicted (a source position off by 3 px, or a
   pointing off by 2"): warned about, with the measured offset;
3. apertures below 1 px and boxes taller than the detector: refused;
4. an ERR array that is zero in the box: uncertainties from the data, with a warning;
5. a box where every pixel is NaN or flagged: an error that says so;
6. a ``.conf`` whose sensitivity file is missing or damaged: an error naming it.
"""

from __future__ import annotations

import re
import shutil
import warnings

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.table import Table
from test_real_configurations import paint_spectrum

from wfss_helpers.extraction.background import dispersed_sky_profile, subtract_background
from wfss_helpers.demo import instrument as inst
from wfss_helpers.extraction.results import ExtractionFlag
from wfss_helpers.extraction.box import box_extract
from wfss_helpers.checks.files import InvalidInputFileError
from wfss_helpers.extraction.flux_calibration import flux_calibrate
from wfss_helpers.extraction import sensitivity_curve
from wfss_helpers.geometry.positions import direct_to_sky, sky_to_wfss
from wfss_helpers.geometry.configuration import load_grism_config

POSITIONS = {"GRISMR": ("x0_wfss", "y0_wfss"), "GRISMC": ("x0_grismc", "y0_grismc")}
HALF_HEIGHT, MARGIN = 4.0, 2.0


# --- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exposures(demo):
    """Per grism: the configuration and the sky-subtracted exposure, as the notebooks
    make them (``subtract_background`` after ``dispersed_sky_profile``)."""
    from stdatamodels.jwst import datamodels

    out = {}
    for grism, axis in (("GRISMR", "x"), ("GRISMC", "y")):
        path = demo.cal_file_for(grism)
        with datamodels.open(path) as model:
            sky = dispersed_sky_profile(model.data, dispersion_axis=axis, dq=model.dq)
            clean = subtract_background(model.data, sky, err=model.err, dq=model.dq)
        out[grism] = (load_grism_config(path), clean)
    return out


@pytest.fixture(scope="module")
def catalogue(demo):
    """Every demo source, as a table with x0/y0 columns per grism."""
    sources = demo.sources()
    return {
        grism: Table({"x0": sources[xc], "y0": sources[yc]})
        for grism, (xc, yc) in POSITIONS.items()
    }


def _message(record, fragment):
    """The one warning of ``record`` whose message contains ``fragment``."""
    found = [str(w.message) for w in record if fragment in str(w.message)]
    assert len(found) == 1, found
    return found[0]


def _position(demo, source_id, grism="GRISMR"):
    row = demo.source(source_id)
    xc, yc = POSITIONS[grism]
    return float(row[xc]), float(row[yc])


def _to_truth(demo, extraction, source_id, grism="GRISMR"):
    """F_lambda / truth per entry (aperture corrected, sorted by wavelength), the
    Spectrum, and the band interior away from the emission line."""
    spectrum = flux_calibrate(extraction)
    wave = spectrum.spectral_axis.to_value(u.micron)
    true_wave, true_flam = demo.true_spectrum(source_id)
    fraction = demo.source(source_id)[f"aperture_fraction_{grism.lower()}"]
    ratio = spectrum.flux.value / fraction / np.interp(wave, true_wave, true_flam)
    interior = (wave > 3.2) & (wave < 3.9) & (np.abs(wave - 3.4) > 0.02)
    return ratio, spectrum, interior & ~spectrum.mask


def _true_cross_position(demo, source_id, pixels, grism="GRISMR", order=1):
    """Where the demo instrument put a trace across the dispersion, at ``pixels`` along
    it: its own polynomials, independent of grismconf and of the helpers."""
    x0, y0 = _position(demo, source_id, grism)
    t = np.linspace(0.0, 1.0, 20001)
    dx, dy, _ = inst.trace_offsets(order, x0, y0, t, grism)
    along, across = (x0 + dx, y0 + dy) if grism == "GRISMR" else (y0 + dy, x0 + dx)
    sort = np.argsort(along)
    reached = (pixels >= along.min() - 0.5) & (pixels <= along.max() + 0.5)
    return np.interp(pixels, along[sort], across[sort]), reached


# --- 1. overlapping orders ------------------------------------------------------------

#: Two orders along the same line that overlap: +1 spans x0-100..x0+900, +2
#: x0+500..x0+1500 and climbs across +1's trace (a synthetic, NIRCam-like .conf).
TWO_ORDERS = {
    "+1": {"DISPX": [[-100.0], [1000.0]], "DISPY": [[-2.0], [1.0]],
           "DISPL": [[3.0], [1.0]]},
    "+2": {"DISPX": [[500.0], [1000.0]], "DISPY": [[-10.0], [20.0]],
           "DISPL": [[3.0], [0.5]]},
}
SENSITIVITY = {"+1": (1e17, 3.5, 0.4), "+2": (5e15, 3.25, 0.3)}  # peak, centre, width


def write_two_order_conf(directory):
    """A grismconf ``.conf`` with orders +1 and +2, and their sensitivity tables."""
    lines = ["INSTRUMENT NIRCAM", "FILTER F356W", "NAXIS 2048 2048", ""]
    wave = np.linspace(2.0, 5.0, 601)
    for order, polynomials in TWO_ORDERS.items():
        lines.append(f"BEAM_{order}")
        for key, rows in polynomials.items():
            for k, row in enumerate(rows):
                lines.append(f"{key}_{order}_{k} " + " ".join(f"{v:.10e}" for v in row))
        name = f"TWO_ORDERS_{order}_sensitivity.fits"
        lines.append(f"SENSITIVITY_{order} {name}")
        peak, centre, width = SENSITIVITY[order]
        sens = peak * np.exp(-0.5 * ((wave - centre) / width) ** 2)
        columns = [
            fits.Column(name="WAVELENGTH", format="D", array=wave),
            fits.Column(name="SENSITIVITY", format="D", array=sens),
        ]
        fits.BinTableHDU.from_columns(columns).writeto(directory / name)
    path = directory / "SYNTH_TWO_ORDERS_F356W_R.conf"
    path.write_text("\n".join(lines) + "\n")
    return path


def _flambda(w):
    return 2e-18 * (np.asarray(w) / 3.5) ** -1


@pytest.fixture(scope="module")
def two_orders(tmp_path_factory):
    """The configuration, and a noisy exposure of one source painted in both orders
    with grismconf's own DISPX/DISPY/DISPL and SENS (not the helpers)."""
    config = load_grism_config(write_two_order_conf(tmp_path_factory.mktemp("two")))
    x0, y0 = 400.0, 1000.0
    image = paint_spectrum(config, "+1", x0, y0, _flambda)
    image = paint_spectrum(config, "+2", x0, y0, _flambda, image=image)
    sigma = 0.002
    image += sigma * np.random.default_rng(11).standard_normal(image.shape)
    return config, {"data": image, "err": np.full(image.shape, sigma)}, (x0, y0)


def _expected_overlap(config, x0, y0, order, other, pixels):
    """Columns on which ``other`` falls in the aperture of ``order``, from grismconf's
    DISPY and the linear DISPX coefficients above (t = (x - x0 - a) / b)."""
    def trace_y(name):
        a, b = TWO_ORDERS[name]["DISPX"][0][0], TWO_ORDERS[name]["DISPX"][1][0]
        t = (pixels - x0 - a) / b
        dy = np.asarray(config.DISPY(name, x0, y0, t)) * np.ones_like(t)
        return y0 + dy, (t >= -0.5 / b) & (t <= 1 + 0.5 / b)

    own, _ = trace_y(order)
    theirs, reached = trace_y(other)
    return reached & (np.abs(theirs - own) <= HALF_HEIGHT + MARGIN)


def test_overlapping_orders_of_one_source_are_flagged(two_orders):
    """Order +2 extracted where order +1 of the same source falls: before, 20-40x the
    truth without a word; now those columns, and exactly those, are flagged."""
    config, exposure, (x0, y0) = two_orders
    contaminated = r"columns of order \+2 .* are contaminated"
    with pytest.warns(UserWarning, match=contaminated) as rec:
        ext = box_extract(
            exposure, config, 2, x0, y0, half_height=HALF_HEIGHT, background=0.0
        )
    assert len([w for w in rec if "contaminated" in str(w.message)]) == 1  # once
    assert "order +1 of this source on" in _message(rec, "contaminated")
    expected = _expected_overlap(config, x0, y0, "+2", "+1", ext.pixel)
    assert 200 < expected.sum() < 400  # part of the overlap, not all of it
    np.testing.assert_array_equal(ext.other_order_contaminated, expected)
    np.testing.assert_array_equal(ext.contaminated, expected)
    assert not ext.neighbour_contaminated.any()
    np.testing.assert_array_equal(
        (ext.flags & ExtractionFlag.OTHER_ORDER) != 0, expected
    )
    assert ext.contaminants == ("order +1 of this source",)
    # The numbers: the flagged columns are far off, the others right.
    spectrum = flux_calibrate(ext)
    wave = spectrum.spectral_axis.to_value(u.micron)
    sens = config.SENS["+2"](wave)
    usable = (sens > 0.3 * SENSITIVITY["+2"][0]) & ~spectrum.mask
    ratio = spectrum.flux.value / _flambda(wave)
    flagged = spectrum.meta["contaminated"]
    np.testing.assert_array_equal(flagged, expected[np.argsort(ext.wavelength)])
    assert np.median(ratio[usable & flagged]) > 10
    assert np.median(ratio[usable & ~flagged]) == pytest.approx(1.0, abs=0.02)
    assert ext.centring_offset == pytest.approx(0.0, abs=0.1)  # +1 not taken for +2
    # Order +1: the same columns, where the faint +2 falls in its aperture.
    with pytest.warns(UserWarning, match=r"order \+2 of this source on"):
        first = box_extract(
            exposure, config, 1, x0, y0, half_height=HALF_HEIGHT, background=0.0
        )
    expected_first = _expected_overlap(config, x0, y0, "+1", "+2", first.pixel)
    np.testing.assert_array_equal(first.other_order_contaminated, expected_first)
    np.testing.assert_array_equal(
        first.pixel[first.contaminated], ext.pixel[ext.contaminated]
    )


@pytest.mark.parametrize("victim, neighbour", [(2, 3), (3, 2), (4, 5), (5, 4)])
def test_neighbour_traces_in_the_aperture_are_flagged(
    demo, exposures, catalogue, victim, neighbour
):
    """The demo's blended pairs in GRISMR: with the catalogue given, the columns where
    the neighbour's (true) trace is in the aperture are flagged, and only those; they
    are the ones whose F_lambda is too high."""
    assert neighbour in demo.blended_with(victim, "GRISMR")
    config, clean = exposures["GRISMR"]
    x0, y0 = _position(demo, victim)
    with pytest.warns(UserWarning, match="are contaminated") as rec:
        ext = box_extract(
            clean, config, 1, x0, y0, half_height=HALF_HEIGHT, box_half_height=15.0,
            background=0.0, neighbours=catalogue["GRISMR"],
        )
    nx, ny = _position(demo, neighbour)
    who = f"order +1 of the neighbour at ({nx:.1f}, {ny:.1f})"
    assert who in _message(rec, "contaminated")
    assert ext.contaminants == (who,)
    their_y, reached = _true_cross_position(demo, neighbour, ext.pixel)
    distance = np.where(reached, np.abs(their_y - ext.trace_centre), np.inf)
    flagged = ext.neighbour_contaminated
    assert flagged.sum() > 500
    assert np.all(flagged[distance <= HALF_HEIGHT])  # in the aperture: flagged
    assert np.all(flagged[distance <= HALF_HEIGHT + MARGIN - 0.1])
    assert np.all(distance[flagged] <= HALF_HEIGHT + MARGIN + 0.1)  # and only there
    assert not ext.other_order_contaminated.any()
    ratio, spectrum, interior = _to_truth(demo, ext, victim)
    contaminated = spectrum.meta["contaminated"]
    assert np.median(ratio[interior & contaminated]) > 1.1
    assert np.median(ratio[interior & ~contaminated]) == pytest.approx(1.0, abs=0.02)
    # The centroid leaves the flagged columns out: the neighbour does not pull it.
    assert abs(ext.centring_offset) < 0.1


def test_neighbours_in_the_other_grism_and_the_showcased_source(
    demo, exposures, catalogue
):
    """GRISMC disperses along y: sources 8 and 9 blend there, and their rows are
    flagged; the isolated showcased source gets no flag and no warning in either
    grism, with the whole catalogue given (itself included)."""
    config, clean = exposures["GRISMC"]
    with pytest.warns(UserWarning, match="rows of order .* are contaminated"):
        ext = box_extract(
            clean, config, 1, *_position(demo, 8, "GRISMC"), background=0.0,
            neighbours=catalogue["GRISMC"],
        )
    their_x, reached = _true_cross_position(demo, 9, ext.pixel, "GRISMC")
    distance = np.where(reached, np.abs(their_x - ext.trace_centre), np.inf)
    assert ext.neighbour_contaminated.sum() > 100
    assert np.all(ext.neighbour_contaminated[distance <= HALF_HEIGHT])
    assert np.all(distance[ext.neighbour_contaminated] <= HALF_HEIGHT + MARGIN + 0.1)
    for grism in ("GRISMR", "GRISMC"):
        config, clean = exposures[grism]
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ext = box_extract(
                clean, config, 1, *_position(demo, 1, grism), half_height=HALF_HEIGHT,
                box_half_height=15.0, background=0.0, neighbours=catalogue[grism],
            )
        assert not ext.contaminated.any() and ext.contaminants == ()


def test_neighbours_as_pairs_and_the_margin(demo, exposures):
    config, clean = exposures["GRISMR"]
    x0, y0 = _position(demo, 4)
    pairs = [_position(demo, 5)]
    with pytest.warns(UserWarning, match="contaminated"):
        as_pairs = box_extract(
            clean, config, 1, x0, y0, background=0.0, neighbours=pairs
        )
    with pytest.warns(UserWarning, match="contaminated"):
        as_array = box_extract(
            clean, config, 1, x0, y0, background=0.0, neighbours=np.array(pairs) * u.pix
        )
    np.testing.assert_array_equal(as_pairs.flags, as_array.flags)
    with pytest.warns(UserWarning, match="contaminated"):
        wider = box_extract(
            clean, config, 1, x0, y0, background=0.0, neighbours=pairs,
            contamination_margin=6.0,
        )
    assert wider.contaminated.sum() >= as_pairs.contaminated.sum()
    assert np.all(wider.contaminated[as_pairs.contaminated])


# --- 2. the trace is not where it is predicted ----------------------------------------


def test_trace_where_predicted_gives_no_warning(demo, exposures):
    """The notebooks' call on the showcased source: no warning; the measured centre
    agrees with where the demo instrument put the trace."""
    config, clean = exposures["GRISMR"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ext = box_extract(
            clean, config, 1, *_position(demo, 1), half_height=4.0,
            box_half_height=15.0, background=0.0,
        )
        flux_calibrate(ext, config)
    true_y, _ = _true_cross_position(demo, 1, ext.pixel)
    measured = np.isfinite(ext.centroid)
    assert measured.sum() > 800
    assert abs(ext.centring_offset) < 0.05
    assert abs(np.median(ext.centroid[measured] - true_y[measured])) < 0.05


@pytest.mark.parametrize("grism", ["GRISMR", "GRISMC"])
@pytest.mark.parametrize("shift", [3.0, -3.0])
def test_trace_off_by_3_px_across_warns(demo, exposures, grism, shift):
    config, clean = exposures[grism]
    x0, y0 = _position(demo, 1, grism)
    x0, y0 = (x0, y0 + shift) if grism == "GRISMR" else (x0 + shift, y0)
    sign = "-" if shift > 0 else r"\+"
    warned = rf"lies {sign}3\.0\d px .* from where it is predicted"
    with pytest.warns(UserWarning, match=warned):
        ext = box_extract(clean, config, 1, x0, y0, background=0.0)
    assert ext.centring_offset == pytest.approx(-shift, abs=0.1)
    ratio, _, interior = _to_truth(demo, ext, 1, grism)
    assert np.median(ratio[interior]) < 0.85  # the aperture misses part of the trace


def test_pointing_off_by_2_arcsec_warns(demo, exposures):
    """The source position taken 2" north of the source: before, blank sky came out
    (F/F_true = 0.03) without a word. Now a warning gives the measured offset, which
    is where the trace really is."""
    config, clean = exposures["GRISMR"]
    row = demo.source(1)
    sky = direct_to_sky(demo.direct_cal, row["x_direct"], row["y_direct"])
    north = sky.spherical_offsets_by(0 * u.arcsec, 2 * u.arcsec)
    x0, y0 = sky_to_wfss(demo.wfss_cal, north)
    with pytest.warns(UserWarning, match=r"lies \+10\.\d\d px \(rows\)"):
        ext = box_extract(clean, config, 1, float(x0), float(y0), background=0.0)
    true_y, _ = _true_cross_position(demo, 1, ext.pixel)
    assert ext.centring_offset == pytest.approx(
        np.median(true_y - ext.trace_centre), abs=0.1
    )
    ratio, _, interior = _to_truth(demo, ext, 1)
    assert abs(np.median(ratio[interior])) < 0.1  # blank sky: the warning is needed


def test_trace_outside_the_box_warns_that_none_is_detected(demo, exposures):
    """A position 2" (32 px) off across the dispersion: the trace is not in the box."""
    config, clean = exposures["GRISMR"]
    x0, y0 = _position(demo, 1)
    warned = r"No trace of order \+1 .* was detected within ±15 px"
    with pytest.warns(UserWarning, match=warned):
        ext = box_extract(clean, config, 1, x0, y0 + 32.0, background=0.0)
    assert np.isnan(ext.centring_offset) and np.all(np.isnan(ext.centroid))
    ratio, _, interior = _to_truth(demo, ext, 1)
    assert abs(np.median(ratio[interior])) < 0.02
    # A box tall enough to reach the trace measures the offset instead.
    with pytest.warns(UserWarning, match=r"lies -3[12]\.\d\d px"):
        tall = box_extract(
            clean, config, 1, x0, y0 + 32.0, background=0.0, box_half_height=40.0
        )
    assert tall.centring_offset == pytest.approx(-32.0, abs=0.15)


def test_centroid_is_not_biased_by_wings_or_extended_sources(demo, exposures):
    """Every isolated demo source, point-like or extended (up to 4 px), in either
    grism: the trace is found within 0.1 px of where it was rendered."""
    for grism in ("GRISMR", "GRISMC"):
        config, clean = exposures[grism]
        checked = []
        for row in demo.sources():
            source_id = int(row["id"])
            if demo.blended_with(source_id, grism):
                continue
            x0, y0 = _position(demo, source_id, grism)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # traces that leave the detector
                try:
                    ext = box_extract(clean, config, 1, x0, y0, background=0.0)
                except ValueError:
                    continue  # entirely off the detector
            if np.isfinite(ext.centroid).sum() < 20:
                continue  # too little of it on the detector
            true_cross, reached = _true_cross_position(
                demo, source_id, ext.pixel, grism
            )
            measured = np.isfinite(ext.centroid) & reached
            error = np.median(ext.centroid[measured] - true_cross[measured])
            assert abs(error) < 0.1, (grism, source_id, row["kind"], error)
            offset = ext.centring_offset
            assert abs(offset) < 0.15, (grism, source_id, offset)
            checked.append(row["kind"])
        assert len(checked) >= 12 and checked.count("extended") >= 6, (grism, checked)


# --- 3. apertures ---------------------------------------------------------------------


@pytest.mark.parametrize("half_height", [1e-6, 0.5, 0.99])
def test_aperture_below_1_px_is_refused(demo, exposures, half_height):
    """Before: F/F_true 0.00 at 1e-6 px and 0.21 at 0.5 px (aperture corrected)."""
    config, clean = exposures["GRISMR"]
    position = _position(demo, 1)
    below = r"half_height=.* px is below the minimum of 1 px"
    with pytest.raises(ValueError, match=below):
        box_extract(
            clean, config, 1, *position, half_height=half_height, background=0.0
        )
    with pytest.raises(ValueError, match="box_" + below):
        box_extract(
            clean, config, 1, *_position(demo, 1), half_height=None,
            box_half_height=half_height, background=0.0,
        )


def test_smallest_aperture_is_accepted(demo, exposures):
    config, clean = exposures["GRISMR"]
    ext = box_extract(
        clean, config, 1, *_position(demo, 1), half_height=1.0, background=0.0
    )
    assert np.all(ext.n_pixels == pytest.approx(2.0))


@pytest.mark.parametrize("half_height", [4.0, None])
def test_box_taller_than_the_detector_is_refused(demo, exposures, half_height):
    """Before: box_half_height=5000 with half_height=None summed the whole detector,
    every source in it (F/F_true 1.9 for the showcased source)."""
    config, clean = exposures["GRISMR"]
    refused = r"box 10001 px tall .* taller than the detector \(2048 rows\)"
    with pytest.raises(ValueError, match=refused):
        box_extract(
            clean, config, 1, *_position(demo, 1), half_height=half_height,
            box_half_height=5000.0,
        )


# --- 4. ERR zero everywhere -----------------------------------------------------------


def test_err_zero_everywhere_gets_uncertainties_from_the_scatter(demo, exposures):
    """Before: rate_err was 0 (background given) or ~30x too small (estimated). Now a
    warning, and uncertainties from the background scatter, which describe the real
    scatter of a faint source's spectrum about the truth."""
    config, clean = exposures["GRISMR"]
    zero = {**clean, "err": np.zeros_like(clean["err"])}
    source_id = 11  # faint and isolated: the sky's noise dominates
    x0, y0 = _position(demo, source_id)
    warned = (
        "ERR is zero everywhere in the box: the uncertainties are from the background "
        "scatter only"
    )
    with pytest.warns(UserWarning, match=warned):
        ext = box_extract(zero, config, 1, x0, y0, background=0.0)
    assert ext.rate_err_source == "background scatter"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the trace leaves the detector
        right = box_extract(clean, config, 1, x0, y0, background=0.0)
    assert right.rate_err_source == "ERR"
    lam = ext.wavelength
    fraction = demo.source(source_id)["aperture_fraction_grismr"]
    true_wave, true_flam = demo.true_spectrum(source_id)
    true_rate = (
        np.interp(lam.to_value(u.micron), true_wave, true_flam)
        * sensitivity_curve(config, 1, lam).value * ext.dispersion.value * fraction
    )
    interior = ~ext.mask & (ext.t > 0.15) & (ext.t < 0.85)
    interior &= np.abs(lam.value - 3.4) > 0.03  # away from the emission line
    for extraction in (ext, right):
        z = ((extraction.rate.value - true_rate) / extraction.rate_err.value)[interior]
        spread = 1.4826 * np.median(np.abs(z - np.median(z)))
        assert 0.85 < spread < 1.25, (extraction.rate_err_source, spread)
    # With the background estimated in the box, the same: not 30x too small.
    with pytest.warns(UserWarning, match="ERR is zero everywhere in the box"):
        local = box_extract(zero, config, 1, x0, y0)
    ratio = np.nanmedian(right.rate_err.value / local.rate_err.value)
    assert 0.7 < ratio < 1.3


def test_err_zero_on_a_bright_source_is_smaller_than_err(demo, exposures):
    """As the warning says: the scatter leaves out the source's Poisson noise."""
    config, clean = exposures["GRISMR"]
    zero = {**clean, "err": np.zeros_like(clean["err"])}
    with pytest.warns(UserWarning, match="leave out the source's own Poisson noise"):
        ext = box_extract(zero, config, 1, *_position(demo, 1), background=0.0)
    right = box_extract(clean, config, 1, *_position(demo, 1), background=0.0)
    assert np.all(ext.rate_err.value[~ext.mask] > 0)
    assert np.nanmedian(right.rate_err.value / ext.rate_err.value) > 1.3


def test_no_err_array_warns_too(demo, exposures):
    config, clean = exposures["GRISMR"]
    warned = "No ERR array was given: the uncertainties are from the background scatter"
    with pytest.warns(UserWarning, match=warned):
        ext = box_extract(
            {"data": clean["data"]}, config, 1, *_position(demo, 1), background=0.0
        )
    assert ext.rate_err_source == "background scatter"
    assert np.all(ext.rate_err.value[~ext.mask] > 0)


# --- 5. every pixel of the box unusable -----------------------------------------------


def test_all_nan_sci_says_so(demo, exposures):
    config, clean = exposures["GRISMR"]
    nan = {**clean, "data": np.full_like(clean["data"], np.nan)}
    for background in (None, 0.0):
        refused = (
            r"Every one of the \d+ pixels of the box .* is unusable "
            r"\(\d+ are NaN or infinite in SCI"
        )
        with pytest.raises(ValueError, match=refused) as info:
            box_extract(nan, config, 1, *_position(demo, 1), background=background)
        assert "taller box would not help" in str(info.value)


def test_every_pixel_flagged_says_so(demo, exposures):
    config, clean = exposures["GRISMR"]
    flagged = {**clean, "dq": np.ones(clean["data"].shape, dtype=np.uint32)}
    refused = (
        r"is unusable \(\d+ are NaN or infinite in SCI, \d+ are flagged DO_NOT_USE"
    )
    with pytest.raises(ValueError, match=refused) as info:
        box_extract(flagged, config, 1, *_position(demo, 1))
    total, flagged_count = (
        int(n)
        for n in re.search(
            r"Every one of the (\d+) .*, (\d+) are flagged", str(info.value)
        ).groups()
    )
    assert flagged_count == total


def test_background_pixels_all_flagged_says_why(demo, exposures):
    """The aperture is usable, the rows around it are all flagged: the error counts
    them instead of asking for a taller box only."""
    config, clean = exposures["GRISMR"]
    dq = np.ones(clean["data"].shape, dtype=np.uint32)
    x0, y0 = _position(demo, 1)
    probe = box_extract(clean, config, 1, x0, y0, background=0.0)
    rows = np.arange(probe.bbox.y_min, probe.bbox.y_max + 1)[:, None]
    near = np.abs(rows - probe.trace_y[None, :]) < HALF_HEIGHT + 0.5  # the aperture
    dq[probe.bbox.slices] = np.where(near, 0, 1)
    refused = r"Only 0 usable background pixels .* are flagged DO_NOT_USE in DQ"
    with pytest.raises(ValueError, match=refused):
        box_extract({**clean, "dq": dq}, config, 1, x0, y0)


# --- 6. a .conf whose sensitivity file is missing or damaged --------------------------


@pytest.fixture
def conf_copy(demo, tmp_path):
    """The demo GRISMR .conf and its sensitivity files, copied."""
    source = demo.grismconf_file
    text = source.read_text()
    for line in text.splitlines():
        if line.startswith("SENSITIVITY_"):
            name = line.split()[1]
            shutil.copy(source.parent / name, tmp_path / name)
    shutil.copy(source, tmp_path / source.name)
    return tmp_path / source.name


def _sensitivity_file(conf, order):
    for line in conf.read_text().splitlines():
        if line.startswith(f"SENSITIVITY_{order} "):
            return conf.parent / line.split()[1]
    raise AssertionError(order)


def test_conf_copy_loads(conf_copy):
    assert set(load_grism_config(conf_copy).orders) == {"+1", "+2"}


def test_conf_with_missing_sensitivity_file(conf_copy):
    missing = _sensitivity_file(conf_copy, "+2")
    missing.unlink()
    with pytest.raises(FileNotFoundError) as info:
        load_grism_config(conf_copy)
    message = str(info.value)
    assert f"The sensitivity file {missing.name} of order +2" in message
    assert f"is not in {conf_copy.parent}" in message
    assert conf_copy.name in message


@pytest.mark.parametrize("damage", ["garbage", "truncated", "no table", "text"])
def test_conf_with_unreadable_sensitivity_file(conf_copy, damage):
    target = _sensitivity_file(conf_copy, "+1")
    if damage == "garbage":
        target.write_bytes(np.random.default_rng(0).bytes(5000))
    elif damage == "truncated":
        target.write_bytes(target.read_bytes()[:4000])
    elif damage == "no table":
        fits.PrimaryHDU(np.zeros((3, 3))).writeto(target, overwrite=True)
    else:
        target.write_text("WAVELENGTH SENSITIVITY\n3.0 1e17\n")
    with pytest.raises(InvalidInputFileError) as info:
        load_grism_config(conf_copy)
    message = str(info.value)
    assert f"The sensitivity file {target.name} of order +1" in message
    assert f"in {conf_copy.parent}, cannot be read as a sensitivity table" in message


def test_conf_without_a_sensitivity_line(conf_copy):
    text = conf_copy.read_text()
    conf_copy.write_text(
        "\n".join(
            line for line in text.splitlines() if not line.startswith("SENSITIVITY_+2")
        )
    )
    with pytest.raises(InvalidInputFileError, match=r"has no SENSITIVITY_\+2 line"):
        load_grism_config(conf_copy)


def test_wfss_file_whose_sensitivity_reference_is_garbage(demo, tmp_path):
    path = tmp_path / "copied_cal.fits"
    shutil.copy(demo.wfss_cal, path)
    name = "jwst_nircam_photom_garbage.fits"
    (tmp_path / name).write_bytes(b"\x00" * 2880)
    with fits.open(path, mode="update") as hdul:
        hdul[0].header["R_PHOTOM"] = f"crds://{name}"
    refused = rf"'crds://{name}' named in copied_cal.fits, found at .*{name}, cannot be"
    with pytest.raises(InvalidInputFileError, match=refused):
        load_grism_config(path)


# --- flags and the masked entries -----------------------------------------------------


def test_flags_hold_the_mask(demo, exposures):
    config, clean = exposures["GRISMR"]
    data = clean["data"].copy()
    x0, y0 = _position(demo, 1)
    probe = box_extract(clean, config, 1, x0, y0, background=0.0)
    assert not probe.mask[300]
    data[int(round(probe.trace_y[300])), probe.column[300]] = np.nan
    ext = box_extract({**clean, "data": data}, config, 1, x0, y0, background=0.0)
    assert ext.mask[300] and ext.mask.sum() == probe.mask.sum() + 1
    assert ext.flags[300] == ExtractionFlag.BAD_PIXEL
    np.testing.assert_array_equal(ext.mask, (ext.flags & ExtractionFlag.masking()) != 0)
    spectrum = flux_calibrate(ext)
    order = np.argsort(ext.wavelength)
    np.testing.assert_array_equal(spectrum.meta["flags"], ext.flags[order])
    assert spectrum.meta["centring_offset"] == ext.centring_offset
