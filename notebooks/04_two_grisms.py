# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 4. Two grisms: the same source dispersed along rows and along columns
#
# **Authors:** The wfss-helpers contributors
#
# **Date:** 2026-11-25
#
# NIRCam has two long-wavelength grisms. **GRISMR** disperses along the detector rows
# (+x in module A, -x in module B), **GRISMC** along the columns (+y). Programs usually
# observe a field with both. This notebook extracts the showcased source from each and
# shows why observers take the trouble.
#
# ## Learning goals
#
# - tell the dispersion axis and direction of an exposure from its configuration: with
#   grismconf's `DISPX`/`DISPY` and `INVDISPY` first, then with `GrismTrace`;
# - extract and flux-calibrate a GRISMC spectrum, whose "columns" are detector rows: the
#   sky per row, the box summed across columns (`axis=1`), $d\lambda$ per row;
# - check that the two grisms give the same spectrum, after the sky and the aperture
#   correction are handled along the right axis;
# - see a neighbour contaminate a spectrum in one grism and not in the other.
#
# **Prerequisites:** notebooks 1-3 of this tutorial (the trace parameter $t$, the box
# extraction, the flux calibration); numpy indexing and the `axis` argument of its
# reductions; `astropy.units`.
#
# **Time to learn:** 25 minutes.
#
# **Keywords:** NIRCam, WFSS, GRISMR, GRISMC, grismconf, INVDISPY, dispersion axis, box
# extraction, aperture correction, contamination.
#
# In real-data mode (`WFSS_TUTORIAL_DATA=real`) only the seed notebook's GRISMR exposure
# is at hand (`data.grismc_cal` is None), and the notebook runs its GRISMR half; the
# demo dataset has both grisms.

# %%
import importlib.metadata
import sys

import matplotlib.pyplot as plt
import numpy as np
from astropy import units as u
from astropy.stats import sigma_clip
from stdatamodels.jwst import datamodels

from wfss_helpers.exposure import DirectImage, WFSSExposure
from wfss_helpers.extraction import (
    aperture_fraction_from_image,
    box_extract,
    dispersed_sky_profile,
    flux_calibrate,
    subtract_background,
)
from wfss_helpers.geometry import direct_to_wfss
from wfss_helpers.plotting import image_norm, plot_cutout, use_tutorial_style
from wfss_helpers.tutorial_data import get_tutorial_data

use_tutorial_style()

# %% [markdown]
# Versions used to run this notebook:

# %%
print(f"python {sys.version.split()[0]}")
packages = ("numpy", "astropy", "jwst", "stdatamodels", "grismconf", "wfss-helpers")
for package in packages:
    print(f"{package} {importlib.metadata.version(package)}")

# %% [markdown]
# The data: the direct image and the WFSS exposures, all calibrated as in notebook 2.
# `data.source_position` is the showcased source in the direct image (pixels). For the
# helpers each file is opened once, as a `DirectImage` or a `WFSSExposure` (notebook 3),
# which also holds the exposure's grism configuration.

# %%
data = get_tutorial_data()
exposures = {"GRISMR": data.wfss_cal}
if data.grismc_cal is not None:
    exposures["GRISMC"] = data.grismc_cal
print(f"data: {data.mode}; exposures: {', '.join(exposures)}")
direct = DirectImage.open(data.direct_cal)
models = {grism: datamodels.open(path) for grism, path in exposures.items()}
wfss = {grism: WFSSExposure.open(path) for grism, path in exposures.items()}
configs = {grism: exposure.config for grism, exposure in wfss.items()}
x_direct, y_direct = data.source_position

# %% [markdown]
# ## Which way does each grism disperse?
#
# Nothing in a grismconf configuration says "rows" or "columns". The trace is
# $(x_0 + \mathrm{DISPX}(t),\ y_0 + \mathrm{DISPY}(t))$ for $t = 0 \dots 1$, and the
# dispersion axis is simply the one along which it moves most. Ask grismconf directly,
# at the source's position in each exposure (`direct_to_wfss` maps the direct-image
# pixel through the sky to each WFSS exposure, notebook 2):

# %%
t = np.linspace(0.0, 1.0, 65)
for grism, config in configs.items():
    x0, y0 = direct_to_wfss(direct, wfss[grism], x_direct, y_direct)
    dx = config.DISPX("+1", x0, y0, t)
    dy = config.DISPY("+1", x0, y0, t)
    print(
        f"{grism}: over t = 0..1 the order +1 trace moves {np.ptp(dx):7.1f} px in x "
        f"and {np.ptp(dy):7.1f} px in y"
    )

# %% [markdown]
# GRISMR's trace runs a thousand pixels along x and less than a pixel or two along y
# (the bow); GRISMC's the other way round. `GrismTrace(config, order, x0, y0)` packages
# this: it stores a configuration, an order and a source position, finds the
# **dispersion axis** and the direction from the spans above, and its methods speak of
# the "pixel" *along* the dispersion: the column for GRISMR, the row for GRISMC. An
# exposure's `.trace((x0, y0), order=1)` makes one with its configuration. The cell
# below needs the imports and the data cell only.

# %%
traces = {}
for grism, config in configs.items():
    x0, y0 = direct_to_wfss(direct, wfss[grism], x_direct, y_direct)
    trace = wfss[grism].trace((x0, y0), order=1)
    dx, dy = config.DISPX("+1", x0, y0, t), config.DISPY("+1", x0, y0, t)
    assert trace.dispersion_axis == ("x" if np.ptp(dx) > np.ptp(dy) else "y")
    traces[grism] = trace
    (x_start, x_end), (y_start, y_end) = trace.position([0.0, 1.0])
    print(
        f"{grism}: source at ({x0:.1f}, {y0:.1f}); disperses along "
        f"{trace.dispersion_axis} (direction {trace.direction:+d}); order +1 from "
        f"({x_start:.0f}, {y_start:.0f}) to ({x_end:.0f}, {y_end:.0f})"
    )
    if data.demo is not None:
        # Where the demo instrument put 3.5 micron, independently of grismconf.
        x_true, y_true = data.demo.true_trace(1, 1, 3.5, grism)
        x_35, y_35 = trace.position_at_wavelength(3.5)
        offset = (x_35 - x_true, y_35 - y_true)
        print(f"        3.5 micron vs truth: ({offset[0]:+.4f}, {offset[1]:+.4f}) px")
        assert np.hypot(*offset) < 0.05

# %% [markdown]
# ## From a row to a wavelength: the inverse along the dispersion
#
# To extract, we go the other way: from a pixel *along the dispersion* to $t$, then to
# the wavelength. In GRISMR that pixel is a column and the inverse is `INVDISPX` of the
# column offset; in GRISMC it is a **row**, and the inverse is `INVDISPY` of the row
# offset $y - y_0$. Then `DISPL(t)` gives the wavelength, and the width of that pixel in
# wavelength is $d\lambda = |\mathrm{DDISPL}(t) / \mathrm{DDISPY}(t)|$ (per row; with
# `DDISPX` per column for GRISMR), times $10^4$ to go from µm to Å. Here, 300 pixels
# blueward of the source:

# %%
for grism, trace in traces.items():
    config, x0, y0 = trace.config, trace.x0, trace.y0
    if trace.dispersion_axis == "y":  # GRISMC: a row is a position along the dispersion
        pixel = y0 - 300.0
        t_raw = config.INVDISPY("+1", x0, y0, pixel - y0)
        dpixel_dt = config.DDISPY("+1", x0, y0, t_raw)
    else:  # GRISMR: a column is
        pixel = x0 - 300.0
        t_raw = config.INVDISPX("+1", x0, y0, pixel - x0)
        dpixel_dt = config.DDISPX("+1", x0, y0, t_raw)
    wavelength_raw = config.DISPL("+1", x0, y0, t_raw)  # micron
    # micron per pixel, times 1e4: Å per pixel
    dlambda_raw = abs(config.DDISPL("+1", x0, y0, t_raw) / dpixel_dt) * 1e4
    print(
        f"{grism}: {'row' if trace.dispersion_axis == 'y' else 'column'} {pixel:.1f}: "
        f"t = {float(t_raw):.6f}, {float(wavelength_raw):.5f} micron, "
        f"{float(dlambda_raw):.3f} Å/pixel"
    )

    # The same with the helper: GrismTrace knows which inverse to take.
    t_helper = trace.t_from_pixel(pixel)
    print(f"        GrismTrace.t_from_pixel - INVDISP: {float(t_helper - t_raw):+.2e}")
    assert abs(t_helper - t_raw) < 1e-6
    assert abs(trace.wavelength(t_helper).to_value(u.micron) - wavelength_raw) < 1e-5
    assert abs(trace.angstrom_per_pixel(t_helper).value - dlambda_raw) < 1e-3

# %% [markdown]
# grismconf's `INVDISPX`/`INVDISPY` are exact only for polynomials it can invert
# analytically (linear in $t$, as here) and interpolate otherwise; `t_from_pixel`
# refines the inverse by Newton's method whatever the polynomial, and checks that it is
# unique over the order. The two grisms' dispersions are nearly the same (about
# 9.7 Å per pixel), so a spectrum covers about as many rows in GRISMC as columns in
# GRISMR.
#
# ## The sky, along each grism's axis
#
# The dispersed sky changes along the dispersion and hardly across it, so it is measured
# per **column** in GRISMR (a sigma-clipped median down each column, `axis=0`) and per
# **row** in GRISMC (along each row, `axis=1`). Pixels that are not finite, or flagged
# `DO_NOT_USE` (bit 1 of DQ), are left out:

# %%
sky_raw = {}
for grism, trace in traces.items():
    model = models[grism]
    image = np.asarray(model.data, dtype=float)
    good = np.isfinite(image) & ((model.dq & 1) == 0)
    across = 0 if trace.dispersion_axis == "x" else 1  # GRISMR: down columns; C: rows
    masked = np.ma.masked_array(image, mask=~good)
    clipped = sigma_clip(masked, sigma=3.0, maxiters=10, axis=across)
    sky_raw[grism] = np.ma.median(clipped, axis=across).filled(np.nan)
    print(f"{grism}: sky from {np.nanmin(sky_raw[grism]):.4f} to "
          f"{np.nanmax(sky_raw[grism]):.4f} DN/s along the dispersion")

# %% [markdown]
# `dispersed_sky_profile(data, dispersion_axis=...)` does the same;
# `subtract_background` subtracts it and keeps the ERR and DQ arrays with the result, as
# the dictionary that `box_extract` takes:

# %%
cleaned = {}
for grism, trace in traces.items():
    model = models[grism]
    sky = dispersed_sky_profile(
        model.data, dispersion_axis=trace.dispersion_axis, dq=model.dq
    )
    difference = np.nanmax(np.abs(sky.profile - sky_raw[grism]))
    print(f"{grism}: helper - numpy sky: {difference:.1e} DN/s")
    assert difference < 1e-9
    cleaned[grism] = subtract_background(model.data, sky, err=model.err, dq=model.dq)

# %% [markdown]
# ## The box, summed across the dispersion
#
# The box extraction of notebook 3 sums, at each pixel along the dispersion, the pixels
# within ±4 of the trace centre *across* it, with fractional weights for the pixels cut
# by the aperture's edges. In GRISMR a column is summed over rows (`axis=0` of the
# cutout); in GRISMC a **row is summed over columns** (`axis=1`). Then
# $F_\lambda = \mathrm{rate} / (S(\lambda)\, d\lambda)$ with the sensitivity
# `config.SENS["+1"]` of each grism:

# %%
half_height = 4.0  # pixels across the dispersion
rate_raw, flam_raw = {}, {}
for grism, trace in traces.items():
    config = trace.config
    box = trace.bounding_box(15.0, detector_shape=cleaned[grism]["data"].shape)
    cutout = cleaned[grism]["data"][box.slices]  # rows, columns
    along = box.pixels(trace.dispersion_axis)  # columns (GRISMR) or rows (GRISMC)
    across = box.pixels(trace.cross_axis)
    t_along = trace.t_from_pixel(along)
    centre = trace.cross_position(t_along)
    low, high = centre - half_height, centre + half_height
    # (across, along): the overlap of each pixel with the aperture, 0 to 1
    pixel_low, pixel_high = across[:, None] - 0.5, across[:, None] + 0.5
    overlap = np.minimum(pixel_high, high) - np.maximum(pixel_low, low)
    weights = np.clip(overlap, 0.0, 1.0)
    if trace.dispersion_axis == "x":  # GRISMR: sum each column over rows
        rate_raw[grism] = np.nansum(weights * cutout, axis=0)
    else:  # GRISMC: sum each row over columns
        rate_raw[grism] = np.nansum(weights.T * cutout, axis=1)
    wavelength = config.DISPL("+1", trace.x0, trace.y0, t_along)  # micron
    dlambda = trace.angstrom_per_pixel(t_along).value  # Å
    flam_raw[grism] = rate_raw[grism] / (config.SENS["+1"](wavelength) * dlambda)
    what = "rows" if trace.dispersion_axis == "y" else "columns"
    print(f"{grism}: {along.size} {what}, cutout {cutout.shape} (rows, columns)")

# %% [markdown]
# `box_extract(data, trace, ...)` does this (and more: the ERR, the DQ, the background
# left in the box) along whichever axis the trace disperses; `flux_calibrate` divides by
# the sensitivity and $d\lambda$ and sorts the spectrum by wavelength. The cell needs
# the imports, the data, the traces and the sky cells. We compare where the extraction
# has no bad pixel in its aperture (it masks those entries instead of summing them
# short):

# %%
extractions, spectra = {}, {}
for grism, trace in traces.items():
    extraction = box_extract(
        cleaned[grism], trace, half_height=half_height, box_half_height=15.0,
        background=0.0,
    )
    extractions[grism] = extraction
    spectra[grism] = flux_calibrate(extraction)
    usable = ~extraction.mask
    rate_difference = np.max(
        np.abs(extraction.rate.value[usable] - rate_raw[grism][usable])
    )
    by_wavelength = np.argsort(extraction.wavelength)  # the order of the spectrum
    flam = spectra[grism].flux.value
    ratio = flam / flam_raw[grism][by_wavelength]
    ratio = ratio[~spectra[grism].mask]
    print(
        f"{grism}: {extraction.pixel.size} pixels along "
        f"{extraction.dispersion_axis}; helper - numpy rate: {rate_difference:.1e} "
        f"DN/s, F_lambda ratio - 1: {np.max(np.abs(ratio - 1)):.1e}"
    )
    assert rate_difference < 1e-9
    assert np.max(np.abs(ratio - 1)) < 1e-9

# %% [markdown]
# The cutouts, both drawn with the wavelength increasing to the right (the GRISMC one is
# transposed, so that its rows run along the horizontal axis):

# %% mystnb={"image": {"alt": "GRISMR and GRISMC cutouts: one horizontal trace each"}}
fig, axes = plt.subplots(len(extractions), 1, figsize=(9, 2.6 * len(extractions)))
for ax, (grism, extraction) in zip(np.atleast_1d(axes), extractions.items()):
    cutout = cleaned[grism]["data"][extraction.bbox.slices]
    plot_cutout(cutout, extraction.bbox, extraction=extraction, ax=ax)
    # A stretch that keeps the trace's core below the top of the scale:
    ax.images[0].set_norm(image_norm(cutout, percentile=99.98, asinh_a=0.5))
    fig.colorbar(ax.images[0], ax=ax, label="count rate [DN/s]", pad=0.01)
    if extraction.dispersion_axis == "x":
        ax.set_xlabel("x (detector column, dispersion axis) [pix]")
        ax.set_ylabel("y (row) [pix]")
        ax.set_title("GRISMR: dispersed along the rows")
    else:
        ax.set_xlabel("y (detector row, dispersion axis) [pix]")
        ax.set_ylabel("x (column) [pix]")
        ax.set_title("GRISMC: dispersed along the columns (cutout transposed)")
plt.show()

# %% [markdown]
# ## Aperture correction along the right axis
#
# The aperture spans ±4 pixels *across* the dispersion: rows for GRISMR, columns for
# GRISMC. So the fraction of light it holds comes from the source's profile along y for
# GRISMR and along x for GRISMC, both read off the direct image, as in notebook 3:
# `aperture_fraction_from_image` does that numpy (the sky-subtracted stamp summed along
# the dispersion, the aperture's fractional weights) for either axis.

# %%
fractions = {
    grism: aperture_fraction_from_image(
        direct.data, x_direct, y_direct, trace.cross_axis, 4.0
    )
    for grism, trace in traces.items()
}
for grism, fraction in fractions.items():
    print(f"{grism}: the aperture holds {fraction:.4f} of the light")
    if data.demo is not None:
        expected = data.demo.source(1)[f"aperture_fraction_{grism.lower()}"]
        print(f"        demo truth: {expected:.4f}")
        assert abs(fraction - expected) < 0.01
corrected = {grism: spectra[grism] / fractions[grism] for grism in spectra}

# %% [markdown]
# ## The two spectra side by side

# %% mystnb={"image": {"alt": "F-lambda vs wavelength: both grisms on the truth"}}
fig, ax = plt.subplots(figsize=(9, 3.8))
for grism, spectrum in corrected.items():
    wave = spectrum.spectral_axis.to_value(u.micron)
    ax.plot(wave, spectrum.flux.value, lw=0.8, label=grism)
if data.demo is not None:
    wave_true, flam_true = data.demo.true_spectrum(1)
    ax.plot(wave_true, flam_true, color="k", lw=0.8, ls="--", label="injected (truth)")
ax.set_xlim(*traces["GRISMR"].wavelength_range.to_value(u.micron))
ax.set_xlabel("wavelength [µm]")
ax.set_ylabel("$F_\\lambda$ [erg s$^{-1}$ cm$^{-2}$ Å$^{-1}$]")
ax.set_title("Showcased source, aperture-corrected, in each grism")
ax.legend()
plt.show()

# %% [markdown]
# Each grism samples the spectrum on its own wavelength grid (the trace parameters
# differ), so compare them on a common grid in the band interior, away from the line:

# %%
grid = np.linspace(3.30, 3.85, 300)  # micron
on_grid = {
    grism: np.interp(
        grid,
        spectrum.spectral_axis.to_value(u.micron),
        np.where(spectrum.mask, np.nan, spectrum.flux.value),
    )
    for grism, spectrum in corrected.items()
}
away = np.abs(grid - 3.40) > 0.02
if "GRISMC" in on_grid:
    ratio = np.nanmedian(on_grid["GRISMC"][away] / on_grid["GRISMR"][away])
    print(f"GRISMC / GRISMR (median over the interior): {ratio:.4f}")
    assert abs(ratio - 1) < 0.02
if data.demo is not None:
    wave_true, flam_true = data.demo.true_spectrum(1)
    truth = np.interp(grid, wave_true, flam_true)
    for grism, values in on_grid.items():
        to_truth = np.nanmedian(values[away] / truth[away])
        print(f"{grism} / truth: {to_truth:.4f}")
        assert abs(to_truth - 1) < 0.02

# %% [markdown]
# ## Why observers take both: neighbours
#
# In a slitless exposure every source's spectrum is laid over its neighbours'. Two
# sources at nearly the same row overlap in GRISMR; in GRISMC, which disperses along the
# columns, the same two spectra run side by side, dozens of pixels apart. The demo truth
# lists which traces blend in which grism (`DemoDataset.blended_with`); take a source
# that blends in GRISMR only. (Its GRISMR trace also runs off the left edge of the
# detector: `box_extract` warns and extracts the part on the detector.) We also give
# `box_extract` the positions of every source of the field on each exposure, as a
# catalogue would list them (`neighbours=`): it then flags the entries on which another
# source's trace falls. This needs the demo's truth table and its GRISMC exposure.

# %% mystnb={"image": {"alt": "Source 2: GRISMR about 20% high, GRISMC on the truth"}}
if data.demo is not None and "GRISMC" in traces:
    sources = data.demo.sources()
    victim = next(
        int(row["id"])
        for row in sources
        if data.demo.blended_with(int(row["id"]), "GRISMR")
        and not data.demo.blended_with(int(row["id"]), "GRISMC")
        and row["role"].startswith("blend pair")
    )
    neighbour = data.demo.blended_with(victim, "GRISMR")[0]
    print(f"source {victim} blends with {neighbour} in GRISMR, with nothing in GRISMC")
    row = data.demo.source(victim)
    wave_v, flam_v = data.demo.true_spectrum(victim)
    fig, ax = plt.subplots(figsize=(9, 3.8))
    results, flagged = {}, {}
    for grism, clean in cleaned.items():
        exposure = wfss[grism]
        x0, y0 = direct_to_wfss(direct, exposure, row["x_direct"], row["y_direct"])
        catalogue = [  # every source of the field, on this exposure
            direct_to_wfss(direct, exposure, other["x_direct"], other["y_direct"])
            for other in sources
        ]
        trace = exposure.trace((x0, y0), order=1)
        extraction = box_extract(
            clean, trace, half_height=4.0, box_half_height=15.0, background=0.0,
            neighbours=catalogue,
        )
        fraction = row[f"aperture_fraction_{grism.lower()}"]
        spectrum = flux_calibrate(extraction) / fraction
        wave = spectrum.spectral_axis.to_value(u.micron)
        ax.plot(wave, spectrum.flux.value, lw=0.8, label=grism)
        inside = (wave > 3.3) & (wave < 3.85) & ~spectrum.mask
        true_inside = np.interp(wave[inside], wave_v, flam_v)
        results[grism] = np.median(spectrum.flux.value[inside] / true_inside)
        band = (extraction.wavelength > 3.3 * u.micron)
        band &= extraction.wavelength < 3.85 * u.micron
        flagged[grism] = np.mean(extraction.neighbour_contaminated[band])
    ax.plot(wave_v, flam_v, color="k", lw=0.8, ls="--", label="injected (truth)")
    ax.set_xlim(3.15, 3.95)  # the band interior: the filter edges amplify everything
    ax.set_ylim(0, 2.5 * np.median(flam_v))
    ax.set_xlabel("wavelength [µm]")
    ax.set_ylabel("$F_\\lambda$ [erg s$^{-1}$ cm$^{-2}$ Å$^{-1}$]")
    ax.set_title(f"Source {victim}: contaminated by source {neighbour} in GRISMR only")
    ax.legend()
    plt.show()
    for grism, value in results.items():
        print(
            f"{grism}: extracted / true continuum = {value:.3f}; "
            f"{flagged[grism]:.0%} of the entries flagged NEIGHBOUR (3.30-3.85 µm)"
        )
    assert abs(results["GRISMC"] - 1) < 0.03
    assert abs(results["GRISMR"] - 1) > 0.05
    assert flagged["GRISMR"] > 0.5 and flagged["GRISMC"] == 0

# %% [markdown]
# A box extraction cannot take the neighbour's light out: in GRISMR the spectrum is
# wrong by far more than its error bars. Given the other sources' positions,
# `box_extract` at least says where (the flagged entries, `extraction.contaminated`, and
# its warning); without them, only its check of the trace's centring might notice a
# neighbour pulling the centre (try it without `neighbours=`). The other grism, with
# the neighbour's trace elsewhere, gives the clean spectrum, and the comparison of the
# two shows where one is contaminated. Modelling the neighbours' spectra and
# subtracting them (forward modelling) is the general cure.
#
# ## Exercises
#
# ```{exercise-start}
# :label: nb4-ex-isolated
# ```
# Source 18 of the demo field is a faint, elongated galaxy with no neighbour on its
# trace in either grism. Extract it from both exposures (its direct-image position is
# in `data.demo.source(18)`), correct each spectrum with
# `aperture_fraction_from_image` along that grism's cross axis, and compare the two
# with the truth over 3.30-3.85 µm. Why are the two aperture fractions different, when
# they were nearly equal for the showcased source? (Needs the demo data: real mode
# has no GRISMC exposure and no truth.)
# ```{exercise-end}
# ```

# %% [markdown]
# ```{solution-start} nb4-ex-isolated
# :class: dropdown
# ```

# %%
if data.demo is not None and "GRISMC" in traces:
    galaxy = data.demo.source(18)
    wave_g, flam_g = data.demo.true_spectrum(18)
    for grism, clean in cleaned.items():
        x0, y0 = direct_to_wfss(
            direct, wfss[grism], galaxy["x_direct"], galaxy["y_direct"]
        )
        trace = wfss[grism].trace((x0, y0), order=1)
        extraction = box_extract(clean, trace, half_height=4.0, background=0.0)
        fraction = aperture_fraction_from_image(
            direct.data, galaxy["x_direct"], galaxy["y_direct"], trace.cross_axis, 4.0
        )
        spectrum = flux_calibrate(extraction) / fraction
        wave = spectrum.spectral_axis.to_value(u.micron)
        inside = (wave > 3.30) & (wave < 3.85) & ~spectrum.mask
        to_truth = np.median(
            spectrum.flux.value[inside] / np.interp(wave[inside], wave_g, flam_g)
        )
        print(f"{grism}: aperture fraction {fraction:.3f}, / truth {to_truth:.3f}")
        assert abs(to_truth - 1) < 0.03
    print(f"sigma_x = {galaxy['sigma_x']:.2f} px, sigma_y = {galaxy['sigma_y']:.2f} px")

# %% [markdown]
# Both grisms give the injected continuum to about 1% once each is divided by its own
# aperture fraction. The galaxy is wider along x than along y, so the ±4 px aperture
# across the GRISMC dispersion (along x) holds less of its light than the one across
# GRISMR's (along y): the correction depends on the grism for any elongated source.
# (The box warns that the GRISMR trace runs off the left edge of the detector: the blue
# end is lost, the interior is not.)
#
# ```{solution-end}
# ```
#
# ```{exercise-start}
# :label: nb4-ex-half-height
# ```
# The GRISMC aperture spans columns. Extract the showcased source from GRISMC with
# `half_height` = 2, 3, 4, 6 and 8 px (and `box_half_height=15`), compute each
# aperture fraction along x with `aperture_fraction_from_image`, and compare the median
# aperture-corrected continuum over 3.30-3.85 µm. What happens to the extracted count
# rate, and to the corrected flux? (In real mode, do it with GRISMR.)
# ```{exercise-end}
# ```

# %% [markdown]
# ```{solution-start} nb4-ex-half-height
# :class: dropdown
# ```

# %%
grism = "GRISMC" if "GRISMC" in traces else "GRISMR"
trace = traces[grism]
continuum = {}
for height in (2.0, 3.0, 4.0, 6.0, 8.0):
    extraction = box_extract(
        cleaned[grism], trace, half_height=height, box_half_height=15.0, background=0.0
    )
    fraction = aperture_fraction_from_image(
        direct.data, x_direct, y_direct, trace.cross_axis, height
    )
    spectrum = flux_calibrate(extraction) / fraction
    wave = spectrum.spectral_axis.to_value(u.micron)
    inside = (wave > 3.30) & (wave < 3.85) & (np.abs(wave - 3.40) > 0.02)
    inside &= ~spectrum.mask
    continuum[height] = np.median(spectrum.flux.value[inside])
    total_rate = np.nansum(extraction.rate.value)
    print(
        f"{grism}, half_height {height:.0f} px: rate {total_rate:8.1f} DN/s, fraction "
        f"{fraction:.3f}, corrected {continuum[height]:.3e} erg/s/cm2/Å"
    )
values = np.array(list(continuum.values()))
spread = values.max() / values.min() - 1
print(f"spread of the corrected continuum: {spread:.2%}")
assert spread < 0.02

# %% [markdown]
# The count rate grows with the aperture (from about 70% to 94% of the light between
# ±2 and ±8 px) but the corrected continuum changes by about 1%: the aperture
# correction measured across the dispersion on the direct image follows the aperture.
# What remains is the small difference between the direct image's PSF and the
# grism's at the narrowest apertures. Wider apertures cost noise (more sky pixels) and
# take in more of the neighbours; narrower ones depend more on the trace's centring.
#
# ```{solution-end}
# ```
#
# ```{exercise-start}
# :label: nb4-ex-pair
# ```
# The contaminated source above has a partner in the blended pair (`neighbour`). Extract
# the partner from both grisms (with the truth's aperture fractions, as above): which
# grism gives its clean spectrum, and is its GRISMR spectrum off by more or by less than
# the first source's? The truth table also lists a GRISMC neighbour for it
# (`data.demo.blended_with(neighbour, "GRISMC")`): how close does that trace come?
# ```{exercise-end}
# ```

# %% [markdown]
# ```{solution-start} nb4-ex-pair
# :class: dropdown
# ```

# %%
if data.demo is not None and "GRISMC" in traces:
    partner = data.demo.blended_with(2, "GRISMR")[0]  # 3, the first source's neighbour
    partner_row = data.demo.source(partner)
    wave_p, flam_p = data.demo.true_spectrum(partner)
    partner_results = {}
    for grism, clean in cleaned.items():
        x0, y0 = direct_to_wfss(
            direct, wfss[grism], partner_row["x_direct"], partner_row["y_direct"]
        )
        trace = wfss[grism].trace((x0, y0), order=1)
        extraction = box_extract(clean, trace, half_height=4.0, background=0.0)
        fraction = partner_row[f"aperture_fraction_{grism.lower()}"]
        spectrum = flux_calibrate(extraction) / fraction
        wave = spectrum.spectral_axis.to_value(u.micron)
        inside = (wave > 3.30) & (wave < 3.85) & ~spectrum.mask
        partner_results[grism] = np.median(
            spectrum.flux.value[inside] / np.interp(wave[inside], wave_p, flam_p)
        )
        value = partner_results[grism]
        print(f"source {partner}, {grism}: extracted / true = {value:.3f}")
    for other in data.demo.blended_with(partner, "GRISMC"):
        other_row = data.demo.source(other)
        separation = abs(other_row["x0_grismc"] - partner_row["x0_grismc"])
        print(f"GRISMC neighbour {other}: its trace runs {separation:.1f} columns away")
    print(f"continua: {partner_row['cont_flam']:.2e} (source {partner}), "
          f"{data.demo.source(2)['cont_flam']:.2e} (source 2) erg/s/cm2/Å")
    assert abs(partner_results["GRISMC"] - 1) < 0.03
    assert partner_results["GRISMR"] > 1.3

# %% [markdown]
# GRISMC again gives the clean spectrum; in GRISMR the partner is off by about 60%,
# three times more than the first source, because it is the fainter of the two: the
# same overlap adds a larger fraction of its own flux. Contamination is relative. Its
# GRISMC neighbour runs about 14 columns to the side over part of the band: close
# enough for the truth table (which flags traces within 16 px), but outside the ±4 px
# aperture, so only the neighbour's faint PSF wings reach it.
#
# ```{solution-end}
# ```
#
# ## Summary
#
# - Nothing in a configuration names the axis: the trace moves along x over
#   $t = 0 \dots 1$ in GRISMR and along y in GRISMC.
#   `config.INVDISPY("+1", x0, y0, y - y0)` takes a GRISMC row to $t$; `GrismTrace`
#   finds which inverse to take from the configuration, and every step (sky, box,
#   aperture, dispersion) follows that axis.
# - In GRISMC the sky is measured per row, the box is summed across columns (`axis=1`)
#   and $d\lambda = |\mathrm{DDISPL}/\mathrm{DDISPY}|$ is per row.
# - After the sky and the aperture correction along the right axis, the two grisms give
#   the same spectrum, to about 1%.
# - Neighbours contaminate from different directions in the two grisms: taking both
#   lets you pick, or model, the clean one; a faint source suffers most.
#
# ## What's next
#
# - Notebook 5 runs the jwst pipeline's own WFSS extraction: the steps of
#   `calwebb_spec2` extract every source of a catalogue into an `x1d` file, with its own
#   contamination model; it compares those spectra with the box extraction of notebooks
#   3 and 4;
# - **grizli** and **slitlessutils**, which model every source's dispersed light and
#   fit spectra with the contamination subtracted;
# - the JWST documentation (https://jwst-docs.stsci.edu): the pages "NIRCam Wide Field
#   Slitless Spectroscopy" and "JWST pipeline WFSS".
