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
# # 3. Box extraction: from a WFSS exposure to a flux-calibrated spectrum
#
# With the trace known (notebook 1) and the files calibrated (notebook 2), a box
# extraction is a handful of array operations. Each has a choice behind it that changes
# the result; this notebook makes them visible.
#
# ## Learning goals
#
# - cut out the **bounding box** of a trace from $t = 0$ and $t = 1$;
# - estimate the **background** with sigma clipping, and see why source pixels must be
#   kept out of it;
# - give every pixel of the box a **wavelength**, with grismconf and with the pipeline's
#   gWCS;
# - collapse the box into a 1D spectrum in DN/s, per column and per wavelength, with
#   uncertainties from the `ERR` array and bad pixels masked;
# - convert it to $F_\lambda$ in erg/s/cm²/Å with the **sensitivity curve** and the
#   **per-pixel dispersion** $d\lambda$;
# - recognise the edge effects at the ends of the filter band.

# %%
import matplotlib.pyplot as plt
import numpy as np
from astropy import units as u
from stdatamodels.jwst import datamodels

from wfss_helpers.extraction import box_extract, wavelength_map
from wfss_helpers.flux_calibration import flux_calibrate, sensitivity_curve
from wfss_helpers.lines import fit_emission_line
from wfss_helpers.plotting import plot_background_histogram, plot_cutout, plot_spectrum
from wfss_helpers.source_positions import direct_to_wfss
from wfss_helpers.trace import gwcs_column_wavelengths, load_grism_config, trace_bounding_box, trace_wavelength
from wfss_helpers.tutorial_data import get_tutorial_data

data = get_tutorial_data()
wfss = datamodels.open(data.wfss_cal)
config = load_grism_config(data.wfss_cal)
x0, y0 = direct_to_wfss(data.direct_cal, wfss, *data.source_position)
print(f"data: {data.mode}; source at WFSS (x0, y0) = ({x0:.2f}, {y0:.2f})")

# %% [markdown]
# ## The bounding box
#
# The order +1 trace runs from $t = 0$ to $t = 1$. The box spans those columns and the
# rows of the trace over that range, plus a margin of `box_half_height` rows above and
# below for the background.
#
# The seed notebook computes `INVDISPX` for *every* pixel of the 2048 × 2048 frame and
# then cuts the box out. Computing only inside the box is tens of times faster
# (see `benchmarks/`), and avoids a failure of grismconf's interpolated inverse for
# sources near the left edge, whose frame-wide offsets leave its interpolation range.

# %%
bbox = trace_bounding_box(config, 1, x0, y0, half_height=15, detector_shape=wfss.data.shape)
print(bbox, "shape:", bbox.shape)
cutout = wfss.data[bbox.slices]

# %% [markdown]
# ## Extraction
#
# `box_extract` does the rest in one call; we look at each of its products in turn. It
# sums, column by column, the pixels within `half_height` rows of the trace centre, after
# subtracting a background measured in the box outside that aperture.

# %%
extraction = box_extract(wfss, config, 1, x0, y0, half_height=4.0, box_half_height=15.0)
fig, ax = plt.subplots(figsize=(10, 3))
plot_cutout(cutout, bbox, extraction=extraction, ax=ax, title="Bounding box, trace centre and aperture")
plt.show()

# %% [markdown]
# ## Background
#
# The sky in a WFSS exposure is itself dispersed light; over a box a few tens of pixels
# tall it is nearly flat, so one level is subtracted. Its estimate is the **sigma-clipped
# median** (`astropy.stats.sigma_clip`), robust to cosmic rays, hot pixels and
# faint neighbours.

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
plot_background_histogram(extraction.background, ax=ax)
plt.show()
bkg = extraction.background
print(f"background = {bkg.median:.4f} ± {bkg.median_error:.4f} DN/s per pixel (std {bkg.std:.4f}, {bkg.n_pixels} pixels)")

# %% [markdown]
# The seed notebook takes the median of the **whole** box, source included. Clipping
# removes the brightest source pixels, but not the faint wings, which pull the median up.
# Measured here:

# %%
seed_style = box_extract(wfss, config, 1, x0, y0, half_height=None, box_half_height=15.0)
print(f"median of the whole box:           {seed_style.background.median:.4f} DN/s/pixel")
print(f"median outside the aperture:       {bkg.median:.4f} DN/s/pixel")
bias = (seed_style.background.median - bkg.median) * 2 * 4.0
print(f"bias on an 8-row aperture's sum:   {bias:.4f} DN/s per column")

if data.demo is not None:
    from wfss_helpers.demo.scene import sky_image

    true_sky = sky_image("wfss")[bbox.slices].mean()
    print(f"true mean sky level in the box:    {true_sky:.4f} DN/s/pixel")
    assert abs(bkg.median - true_sky) < 3 * bkg.median_error + 0.002

# %% [markdown]
# ## A wavelength for every pixel
#
# For a row-dispersing grism the wavelength of a pixel depends only on its column:
# $t = \mathrm{INVDISPX}(x - x_0)$, $\lambda = \mathrm{DISPL}(t)$. The pipeline's gWCS
# gives the same from its `grism_detector → detector` transform (which additionally
# applies the barycentric velocity correction, `VELOSYS`):

# %%
wave_map = wavelength_map(config, 1, x0, y0, bbox)
fig, ax = plt.subplots(figsize=(10, 2.5))
extent = (bbox.x_min - 0.5, bbox.x_max + 0.5, bbox.y_min - 0.5, bbox.y_max + 0.5)
image = ax.imshow(wave_map.to_value(u.micron), origin="lower", extent=extent, aspect="auto")
fig.colorbar(image, ax=ax, label="wavelength [micron]")
ax.set_xlabel("x (detector column)")
ax.set_ylabel("y")
plt.show()

from_gwcs = gwcs_column_wavelengths(wfss, 1, x0, y0, extraction.column)
interior = (extraction.t > 0.02) & (extraction.t < 0.98)
print(f"grismconf vs gWCS, largest difference: {np.max(np.abs(from_gwcs - extraction.wavelength)[interior]).to(u.AA):.4f}")

# %% [markdown]
# ## The 1D spectrum in DN/s
#
# Per column, the sum over the aperture; its uncertainty adds the `ERR` of the summed
# pixels in quadrature, plus the background's. Columns whose aperture holds a bad pixel
# (NaN or `DO_NOT_USE` in `DQ`) are masked rather than summed short.

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5), constrained_layout=True)
left.step(extraction.column, extraction.rate, where="mid", lw=0.7)
left.set_xlabel("x (detector column)")
left.set_ylabel("count rate [DN/s]")
right.step(extraction.wavelength, extraction.rate, where="mid", lw=0.7)
right.set_xlabel("wavelength [micron]")
for column in extraction.column[extraction.mask]:
    left.axvline(column, color="C3", alpha=0.3, lw=0.8)
left.set_title(f"{extraction.mask.sum()} masked columns (red)")
plt.show()
print(f"median S/N per column: {np.nanmedian(extraction.rate / extraction.rate_err):.1f}")

# %% [markdown]
# ## Sensitivity and the conversion to $F_\lambda$
#
# A column that spans $d\lambda$ Å of the spectrum of a source of flux density $F_\lambda$
# collects $F_\lambda \, S(\lambda) \, d\lambda$ DN/s, where $S$ is the sensitivity curve
# built from the photom reference file. So
#
# $$F_\lambda = \frac{\text{rate}}{S(\lambda)\, d\lambda},$$
#
# with $d\lambda = |d\lambda/dx|$, from the derivatives of `DISPL` and `DISPX`, for each
# column. Here is the inverse sensitivity $1/S$, which multiplies the count rate:

# %%
band = trace_wavelength(config, 1, x0, y0, [0.0, 1.0])  # the order's ends, t = 0 and 1
print(f"order +1 runs from {band[0]:.3f} to {band[1]:.3f}")
wave_grid = np.linspace(band[0] - 0.1 * u.micron, band[1] + 0.1 * u.micron, 600)
sensitivity = sensitivity_curve(config, 1, wave_grid)
fig, ax = plt.subplots(figsize=(7, 3.5))
with np.errstate(divide="ignore"):
    ax.semilogy(wave_grid, 1 / sensitivity.value)
ax.set_xlabel("wavelength [micron]")
ax.set_ylabel("1/S  [erg/s/cm²/Å per DN/s/Å]")
ax.set_ylim(1 / sensitivity.value.max() / 2, 1 / sensitivity.value.max() * 1e3)
plt.show()

# %%
spectrum = flux_calibrate(extraction, config)
truth = None
if data.demo is not None:
    wave_true, flam_true = data.demo.true_spectrum(1)
    truth = (wave_true * u.micron, flam_true * u.Unit("erg s-1 cm-2 Angstrom-1"))
fig, ax = plt.subplots(figsize=(10, 4))
plot_spectrum(spectrum, truth=truth, ax=ax, xlim=band)
plt.show()

# %% [markdown]
# ## The edges of the band
#
# Where the F356W filter cuts off, the sensitivity falls by orders of magnitude within
# a few hundredths of a micron. Dividing by it amplifies the noise (and any error in
# the background or the wavelength scale) enormously, so `flux_calibrate` masks columns
# where $S$ is below 1% of its peak. Trust the spectrum only in the band's interior:

# %%
fig, ax = plt.subplots(figsize=(10, 3.5))
ax.errorbar(
    extraction.wavelength.value, (extraction.rate / (sensitivity_curve(config, 1, extraction.wavelength) * extraction.dispersion)).to_value("erg s-1 cm-2 Angstrom-1"),
    fmt=".", ms=2, lw=0.3, label="unmasked division",
)
typical = np.nanmedian(np.abs(spectrum.flux.value))  # a typical flux in the band
ax.set_ylim(-5 * typical, 5 * typical)
ax.set_xlim(band[0].value, band[0].value + 0.3)
ax.set_xlabel("wavelength [micron]")
ax.set_ylabel("F$_\\lambda$")
ax.set_title("Blue edge of the band, before masking")
plt.show()

# %% [markdown]
# ## A zoom on the emission line
#
# A Gaussian plus linear continuum, fitted in detector columns, gives the line's position
# to a fraction of a pixel; its wavelength follows from the trace.

# %%
guess = 3.40 * u.micron if data.demo is not None else extraction.wavelength[np.nanargmax(extraction.rate)]
column_guess = extraction.column[np.argmin(np.abs(extraction.wavelength - guess))]
line = fit_emission_line(extraction.column, extraction.rate.value, column_guess, y_err=extraction.rate_err.value, half_window=20)
line_wave = np.interp(line.center, extraction.column, extraction.wavelength.value) * u.micron
print(f"line centre: column {line.center:.3f} ± {line.center_err:.3f}  ->  {line_wave:.5f}")

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5), constrained_layout=True)
near = np.abs(extraction.column - line.center) < 25
left.step(extraction.column[near], extraction.rate[near], where="mid", label="extracted")
left.plot(extraction.column[near], line.model(extraction.column[near]), label="Gaussian + line fit")
left.set_xlabel("x (detector column)")
left.set_ylabel("DN/s")
left.legend(fontsize="small")
plot_spectrum(spectrum, truth=truth, ax=right, xlim=(line_wave.value - 0.02, line_wave.value + 0.02))
plt.show()

# %% [markdown]
# ## Check against the truth
#
# The demo source has a continuum $F_\lambda \propto \lambda^{-1}$ and one emission line
# at 3.4000 µm. In the interior of the band (away from the line) the extracted continuum
# must match the injected one to 2%, and the line must sit within 0.3 pixel of where it
# was injected.

# %%
if data.demo is not None:
    wave = spectrum.spectral_axis.to_value(u.micron)
    flux_true = np.interp(wave, wave_true, flam_true)
    interior = (wave > 3.25) & (wave < 3.90) & (np.abs(wave - 3.40) > 0.02) & ~spectrum.mask
    ratio = np.median(spectrum.flux.value[interior] / flux_true[interior])
    print(f"extracted / injected continuum (median over {interior.sum()} columns): {ratio:.4f}")
    assert abs(ratio - 1) < 0.02

    x_true, _ = data.demo.true_trace(1, 1, 3.40 * u.micron)
    print(f"line centre: {line.center:.3f}, injected at column {float(x_true):.3f}: off by {line.center - float(x_true):+.3f} px")
    assert abs(line.center - float(x_true)) < 0.3

# %% [markdown]
# The small excess of the continuum at the red end (above ~3.6 µm) is real: it is the
# source's own order +2 light, which falls in the same rows (notebook 1). A box extraction
# cannot separate it; forward-modelling extractions can.
#
# ## Summary
#
# - Work only inside the trace's bounding box.
# - Measure the background away from the source, with sigma clipping.
# - A column's wavelength comes from `INVDISPX` and `DISPL`; its width in wavelength,
#   $d\lambda$, from their derivatives.
# - $F_\lambda = \text{rate} / (S\,d\lambda)$, trusted where $S$ is not tiny.
