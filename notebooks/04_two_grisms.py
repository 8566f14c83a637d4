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
# NIRCam has two long-wavelength grisms. **GRISMR** disperses along the detector rows
# (+x in module A, -x in module B), **GRISMC** along the columns (+y). Programs usually
# observe a field with both. This notebook extracts the showcased source from each and
# shows why observers take the trouble.
#
# ## Learning goals
#
# - tell the dispersion axis and direction of an exposure from its configuration, with
#   `GrismTrace`;
# - extract and flux-calibrate a GRISMC spectrum, whose "columns" are detector rows;
# - check that the two grisms give the same spectrum, after the sky and the aperture
#   correction are handled along the right axis;
# - see a neighbour contaminate a spectrum in one grism and not in the other.
#
# **Prerequisites:** notebooks 1-3. **Time:** about 15 minutes.
#
# In real-data mode (`WFSS_TUTORIAL_DATA=real`) only the seed notebook's GRISMR exposure is
# at hand, and the notebook runs its GRISMR half; the demo dataset has both grisms.

# %%
import matplotlib.pyplot as plt
import numpy as np
from astropy import units as u
from astropy.stats import sigma_clip
from stdatamodels.jwst import datamodels

from wfss_helpers.background import dispersed_sky_profile, subtract_background
from wfss_helpers.extraction import aperture_weights, box_extract
from wfss_helpers.flux_calibration import flux_calibrate
from wfss_helpers.plotting import plot_cutout
from wfss_helpers.source_positions import direct_to_wfss
from wfss_helpers.trace import GrismTrace, load_grism_config
from wfss_helpers.tutorial_data import get_tutorial_data

data = get_tutorial_data()
exposures = {"GRISMR": data.wfss_cal}
if data.grismc_cal is not None:
    exposures["GRISMC"] = data.grismc_cal
print(f"data: {data.mode}; exposures: {', '.join(exposures)}")
direct = datamodels.open(data.direct_cal)
x_direct, y_direct = data.source_position

# %% [markdown]
# ## One trace object per exposure
#
# `GrismTrace(config, order, x0, y0)` bundles a configuration, an order and a source
# position. It finds the **dispersion axis** as the one along which the trace moves most
# over $t = 0 \dots 1$, and the direction. Its methods speak of the "pixel" *along* the
# dispersion: the column for GRISMR, the row for GRISMC.

# %%
traces, models = {}, {}
for grism, path in exposures.items():
    models[grism] = datamodels.open(path)
    config = load_grism_config(path)
    x0, y0 = direct_to_wfss(direct, models[grism], x_direct, y_direct)
    traces[grism] = GrismTrace(config, 1, x0, y0)
    trace = traces[grism]
    start, end = trace.position(0.0), trace.position(1.0)
    print(
        f"{grism}: source at ({x0:.1f}, {y0:.1f}); disperses along {trace.dispersion_axis} "
        f"(direction {trace.direction:+d}); order +1 from ({start[0]:.0f}, {start[1]:.0f}) "
        f"to ({end[0]:.0f}, {end[1]:.0f})"
    )

# %% [markdown]
# ## The sky and the extraction, along each grism's axis
#
# The dispersed sky changes along the dispersion and hardly across it, so it is measured
# per column in GRISMR and **per row** in GRISMC. The rest is as in notebook 3.

# %%
extractions, spectra = {}, {}
for grism, trace in traces.items():
    model = models[grism]
    sky = dispersed_sky_profile(model.data, dispersion_axis=trace.dispersion_axis, dq=model.dq)
    clean = subtract_background(model.data, sky, err=model.err, dq=model.dq)
    extraction = box_extract(clean, trace, half_height=4.0, box_half_height=15.0, background=0.0)
    extractions[grism] = (extraction, clean)
    spectra[grism] = flux_calibrate(extraction)
    print(f"{grism}: {extraction.pixel.size} pixels along the dispersion, axis {extraction.dispersion_axis}")

# %% [markdown]
# The cutouts, both drawn with the wavelength increasing to the right (the GRISMC one is
# transposed, as its title says):

# %%
fig, axes = plt.subplots(len(traces), 1, figsize=(10, 2.8 * len(traces)), constrained_layout=True)
for ax, (grism, (extraction, clean)) in zip(np.atleast_1d(axes), extractions.items()):
    box = extraction.bbox
    plot_cutout(clean["data"][box.slices], box, extraction=extraction, ax=ax, title=f"{grism}")
plt.show()

# %% [markdown]
# ## Aperture correction along the right axis
#
# The aperture spans ±4 pixels *across* the dispersion: rows for GRISMR, columns for
# GRISMC. So the fraction of light it holds comes from the source's profile along y for
# GRISMR and along x for GRISMC, both read off the direct image:

# %%
def aperture_fraction(direct_data, x, y, cross_axis, half_height=4.0, radius=40):
    """Fraction of a source's light within +-half_height pixels along `cross_axis`."""
    ys = slice(int(round(y)) - radius, int(round(y)) + radius + 1)
    xs = slice(int(round(x)) - radius, int(round(x)) + radius + 1)
    stamp = direct_data[ys, xs]
    stamp = stamp - np.ma.median(sigma_clip(stamp, sigma=3.0))
    if cross_axis == "y":
        profile, centre, start = np.nansum(stamp, axis=1), y, ys.start
    else:
        profile, centre, start = np.nansum(stamp, axis=0), x, xs.start
    pixels = np.arange(start, start + profile.size)
    inside = aperture_weights(pixels, np.array([centre]), half_height)[:, 0]
    return np.sum(inside * profile) / np.sum(profile)


fractions = {g: aperture_fraction(direct.data, x_direct, y_direct, t.cross_axis) for g, t in traces.items()}
for grism, fraction in fractions.items():
    print(f"{grism}: the aperture holds {fraction:.4f} of the light")
    if data.demo is not None:
        expected = data.demo.source(1)[f"aperture_fraction_{grism.lower()}"]
        print(f"        demo truth: {expected:.4f}")
        assert abs(fraction - expected) < 0.01
corrected = {g: spectra[g] / fractions[g] for g in spectra}

# %% [markdown]
# ## The two spectra side by side

# %%
fig, ax = plt.subplots(figsize=(10, 4))
for grism, spectrum in corrected.items():
    ax.plot(spectrum.spectral_axis.to_value(u.micron), spectrum.flux.value, lw=0.7, label=grism)
if data.demo is not None:
    wave_true, flam_true = data.demo.true_spectrum(1)
    ax.plot(wave_true, flam_true, color="k", lw=0.8, ls="--", label="injected (truth)")
band = traces["GRISMR"].wavelength_range.to_value(u.micron)
ax.set_xlim(*band)
ax.set_xlabel("wavelength [µm]")
ax.set_ylabel("$F_\\lambda$ [erg s$^{-1}$ cm$^{-2}$ Å$^{-1}$]")
ax.set_title("Showcased source, aperture-corrected, in both grisms")
ax.legend(fontsize="small")
plt.show()

# %% [markdown]
# Each grism samples the spectrum on its own wavelength grid (the trace parameters
# differ), so compare them on a common grid in the band interior, away from the line:

# %%
grid = np.linspace(3.30, 3.85, 300)
on_grid = {
    g: np.interp(grid, s.spectral_axis.to_value(u.micron), np.where(s.mask, np.nan, s.flux.value))
    for g, s in corrected.items()
}
away = np.abs(grid - 3.40) > 0.02
if "GRISMC" in on_grid:
    ratio = np.nanmedian(on_grid["GRISMC"][away] / on_grid["GRISMR"][away])
    print(f"GRISMC / GRISMR (median over the interior): {ratio:.4f}")
    assert abs(ratio - 1) < 0.02
if data.demo is not None:
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
# detector: `box_extract` warns and extracts the part on the detector.)

# %%
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
    print(f"source {victim} blends with source {neighbour} in GRISMR, with nothing in GRISMC")
    row = data.demo.source(victim)
    wave_v, flam_v = data.demo.true_spectrum(victim)
    fig, ax = plt.subplots(figsize=(10, 4))
    results = {}
    for grism, (_, clean) in extractions.items():
        x0, y0 = direct_to_wfss(direct, models[grism], row["x_direct"], row["y_direct"])
        trace = GrismTrace(traces[grism].config, 1, x0, y0)
        extraction = box_extract(clean, trace, half_height=4.0, box_half_height=15.0, background=0.0)
        spectrum = flux_calibrate(extraction) / row[f"aperture_fraction_{grism.lower()}"]
        wave = spectrum.spectral_axis.to_value(u.micron)
        ax.plot(wave, spectrum.flux.value, lw=0.7, label=grism)
        inside = (wave > 3.3) & (wave < 3.85) & ~spectrum.mask
        results[grism] = np.median(spectrum.flux.value[inside] / np.interp(wave[inside], wave_v, flam_v))
    ax.plot(wave_v, flam_v, color="k", lw=0.8, ls="--", label="injected (truth)")
    ax.set_xlim(3.15, 3.95)  # the band interior: the filter edges amplify everything
    ax.set_ylim(0, 2.5 * np.median(flam_v))
    ax.set_xlabel("wavelength [µm]")
    ax.set_ylabel("$F_\\lambda$ [erg s$^{-1}$ cm$^{-2}$ Å$^{-1}$]")
    ax.set_title(f"Source {victim}: contaminated by source {neighbour} in GRISMR, clean in GRISMC")
    ax.legend(fontsize="small")
    plt.show()
    for grism, value in results.items():
        print(f"{grism}: extracted / true continuum = {value:.3f}")
    assert abs(results["GRISMC"] - 1) < 0.03
    assert abs(results["GRISMR"] - 1) > 0.05

# %% [markdown]
# A box extraction cannot tell the neighbour's light from the source's: in GRISMR the
# spectrum is wrong by far more than its error bars, with nothing in the extraction
# itself to show it. The other grism, with the neighbour's trace elsewhere, gives the
# clean spectrum, and the comparison of the two shows where one is contaminated.
# Modelling the neighbours' spectra and subtracting them (forward modelling) is the
# general cure.
#
# ## Summary
#
# - GRISMR disperses along rows, GRISMC along columns; `GrismTrace` finds which from the
#   configuration, and every step (sky, box, aperture, dispersion) follows that axis.
# - After the sky and the aperture correction along the right axis, the two grisms give
#   the same spectrum, to about 1%.
# - Neighbours contaminate from different directions in the two grisms: taking both
#   lets you pick, or model, the clean one.
