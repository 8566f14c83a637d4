"""The demo's GRISMR and GRISMC exposures of the same field, extracted by the helpers,
against the injected spectra and against each other."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits

from wfss_helpers.extraction.background import dispersed_sky_profile, subtract_background
from wfss_helpers.extraction.box import box_extract
from wfss_helpers.extraction.flux_calibration import flux_calibrate
from wfss_helpers.geometry.trace import GrismTrace
from wfss_helpers.geometry.configuration import load_grism_config

_COLUMNS = {"GRISMR": ("x0_wfss", "y0_wfss"), "GRISMC": ("x0_grismc", "y0_grismc")}


@pytest.fixture(scope="module")
def exposures(demo):
    out = {}
    for grism in _COLUMNS:
        path = demo.cal_file_for(grism)
        with fits.open(path) as hdul:
            sci, err, dq = (np.array(hdul[name].data) for name in ("SCI", "ERR", "DQ"))
        axis = "x" if grism == "GRISMR" else "y"
        sky = dispersed_sky_profile(sci, dispersion_axis=axis, dq=dq)
        out[grism] = (load_grism_config(path), subtract_background(sci, sky, err=err, dq=dq))
    return out


def _isolated_in_both(demo, limit=5):
    """Sources whose order +1 trace is whole-ish on the detector and blends with nothing."""
    chosen = []
    for row in demo.sources():
        sid = int(row["id"])
        if demo.blended_with(sid, "GRISMR") or demo.blended_with(sid, "GRISMC"):
            continue
        if not all(60 < row[c] < 1988 for cols in _COLUMNS.values() for c in cols):
            continue
        chosen.append(sid)
    return chosen[:limit]


def _continuum_ratio(demo, exposures, sid, grism):
    config, clean = exposures[grism]
    row = demo.source(sid)
    xcol, ycol = _COLUMNS[grism]
    trace = GrismTrace(config, 1, float(row[xcol]), float(row[ycol]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # boxes clipped at an edge
        extraction = box_extract(clean, trace, half_height=4.0, box_half_height=15.0, background=0.0)
    spectrum = flux_calibrate(extraction) / row[f"aperture_fraction_{grism.lower()}"]
    wave = spectrum.spectral_axis.to_value(u.micron)
    flux = np.where(spectrum.mask, np.nan, spectrum.flux.value)
    grid = np.linspace(3.30, 3.85, 200)
    if np.isfinite(row["line_wave"]):
        grid = grid[np.abs(grid - row["line_wave"]) > 0.02]
    wave_true, flam_true = demo.true_spectrum(sid)
    order = np.argsort(wave)
    values = np.interp(grid, wave[order], flux[order], left=np.nan, right=np.nan)
    return values, np.interp(grid, wave_true, flam_true)


def test_isolated_sources_agree_with_truth_and_between_grisms(demo, exposures):
    sources = _isolated_in_both(demo)
    assert 1 in sources and len(sources) >= 3
    lines = []
    for sid in sources:
        r_values, truth = _continuum_ratio(demo, exposures, sid, "GRISMR")
        c_values, _ = _continuum_ratio(demo, exposures, sid, "GRISMC")
        to_truth_r = np.nanmedian(r_values / truth)
        to_truth_c = np.nanmedian(c_values / truth)
        between = np.nanmedian(c_values / r_values)
        lines.append(f"source {sid}: R/truth {to_truth_r:.4f}, C/truth {to_truth_c:.4f}, C/R {between:.4f}")
        assert abs(to_truth_r - 1) < 0.02, lines[-1]
        assert abs(to_truth_c - 1) < 0.02, lines[-1]
        assert abs(between - 1) < 0.02, lines[-1]
    print("\n" + "\n".join(lines))


def test_a_pair_blended_in_one_grism_only(demo, exposures):
    """The box extraction of a GRISMR-blended source is off; its GRISMC one is not."""
    victim = next(
        int(row["id"])
        for row in demo.sources()
        if row["role"].startswith("blend pair")
        and "GRISMR" in row["role"]
        and demo.blended_with(int(row["id"]), "GRISMR")
        and not demo.blended_with(int(row["id"]), "GRISMC")
    )
    r_values, truth = _continuum_ratio(demo, exposures, victim, "GRISMR")
    c_values, _ = _continuum_ratio(demo, exposures, victim, "GRISMC")
    print(f"\nsource {victim}: R/truth {np.nanmedian(r_values / truth):.3f}, C/truth {np.nanmedian(c_values / truth):.3f}")
    assert abs(np.nanmedian(c_values / truth) - 1) < 0.03
    assert abs(np.nanmedian(r_values / truth) - 1) > 0.05
