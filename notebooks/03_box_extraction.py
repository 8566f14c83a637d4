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
# - measure and subtract the **dispersed sky**, which changes along the dispersion, with
#   sigma clipping, and see why the rows next to the trace are not empty sky;
# - give every pixel of the box a **wavelength**, with grismconf and with the pipeline's
#   gWCS;
# - collapse the box into a 1D spectrum in DN/s, per column and per wavelength, with
#   uncertainties from the `ERR` array and bad pixels masked;
# - convert it to $F_\lambda$ in erg/s/cm²/Å with the **sensitivity curve** and the
#   **per-pixel dispersion** $d\lambda$;
# - correct for the light the aperture misses (the PSF wings) with an **aperture
#   correction** measured on the direct image;
# - recognise the edge effects at the ends of the filter band.

# %%
import matplotlib.pyplot as plt
import numpy as np
from astropy import units as u
from stdatamodels.jwst import datamodels

from wfss_helpers.background import dispersed_sky_profile, scale_background_reference, subtract_background
from wfss_helpers.extraction import aperture_weights, box_extract, wavelength_map
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

# %% [markdown]
# ## The dispersed sky
#
# The sky in a WFSS exposure is itself dispersed light. Every position of the field sends
# the sky's spectrum through the grism, so a pixel receives, at each wavelength, the sky
# from the position `DISPX` pixels before it. Towards the right edge of a GRISMR exposure
# the blue part of that spectrum would have to come from beyond the field of view, so it
# is missing and the sky **falls off**. Across the dispersion (along a column) it hardly
# changes. So it is measured column by column: a column crosses only a few sources, and
# a sigma-clipped median (`astropy.stats.sigma_clip`) ignores them:

# %%
from astropy.stats import sigma_clip

column_sky = np.ma.median(sigma_clip(wfss.data[:, 1500], sigma=3.0))  # one column
sky = dispersed_sky_profile(wfss.data, dispersion_axis="x", dq=wfss.dq)  # every column
print(f"sky in column 1500: {column_sky:.4f} (numpy), {sky.profile[1500]:.4f} (helper)")
assert abs(column_sky - sky.profile[1500]) < 1e-5

fig, ax = plt.subplots(figsize=(9, 3))
ax.plot(sky.profile, lw=0.8, label="sigma-clipped median of each column")
ax.axvspan(bbox.x_min, bbox.x_max, color="C1", alpha=0.15, label="the source's box")
ax.set_xlabel("x (detector column)")
ax.set_ylabel("sky [DN/s per pixel]")
ax.legend(fontsize="small")
plt.show()

# %% [markdown]
# The jwst pipeline removes the same sky differently: its `BackgroundStep` scales a
# **WFSS background reference file** (the sky's normalised shape, reference type `bkg`)
# to the exposure. In demo mode the demo instrument has one; both estimates agree:

# %%
if data.demo is not None:
    scaled = scale_background_reference(wfss.data, data.demo.reference_files["bkg"], dq=wfss.dq)
    inside = bbox.slices
    print(f"reference scaled by {scaled.scale:.4f}; largest difference from the column "
          f"profile in the box: {np.max(np.abs(scaled.image - sky.image)[inside]):.4f} DN/s")
    from wfss_helpers.demo.scene import sky_image

    true_sky = sky_image("grismr")
    error = np.max(np.abs(sky.image - true_sky)[inside])
    print(f"column profile vs the injected sky in the box: largest difference {error:.4f} DN/s")
    assert error < 0.01

# %% [markdown]
# Subtract it from the whole exposure; what remains is the light of the sources.

# %%
sky_subtracted = subtract_background(wfss.data, sky, err=wfss.err, dq=wfss.dq)

# %% [markdown]
# ## Extraction
#
# `box_extract` sums, column by column, the pixels within `half_height` rows of the trace
# centre. Its `background` argument is the level still to subtract: here `0.0`, since the
# sky is gone (the next section says why not to measure it again in the box).

# %%
extraction = box_extract(sky_subtracted, config, 1, x0, y0, half_height=4.0, box_half_height=15.0, background=0.0)
fig, ax = plt.subplots(figsize=(10, 3))
plot_cutout(sky_subtracted["data"][bbox.slices], bbox, extraction=extraction, ax=ax, title="Bounding box, trace centre and aperture")
plt.show()

# %% [markdown]
# ## What is left in the box: the source's own wings
#
# Without `background`, `box_extract` measures a level in the box outside the aperture,
# with the same sigma clipping, and subtracts it. After the sky is gone that level is not
# zero: the PSF of NIRCam has **wings** that reach well past 4 rows, so the "background"
# rows hold some of the source's own light. Subtracting it removes source flux:

# %%
local = box_extract(sky_subtracted, config, 1, x0, y0, half_height=4.0, box_half_height=15.0)
fig, ax = plt.subplots(figsize=(7, 3.5))
plot_background_histogram(local.background, ax=ax)
plt.show()
bkg = local.background
print(f"level left in the box: {bkg.median:.4f} ± {bkg.median_error:.4f} DN/s per pixel ({bkg.n_pixels} pixels)")
loss = 1 - np.nanmedian(local.rate / extraction.rate)
print(f"subtracting it removes {100 * loss:.1f}% of the source's count rate")

# %% [markdown]
# The seed notebook takes the median of the **whole** box, source included, as its
# background. Clipping removes the brightest source pixels, but not the faint wings, and
# the sky is not flat along the box. Measured here on the exposure before the sky was
# removed:

# %%
seed_style = box_extract(wfss, config, 1, x0, y0, half_height=None, box_half_height=15.0)
print(f"median of the whole box:              {seed_style.background.median:.4f} DN/s/pixel")
print(f"the sky along the box:                {sky.profile[bbox.x_min:bbox.x_max + 1].min():.4f}"
      f" to {sky.profile[bbox.x_min:bbox.x_max + 1].max():.4f} DN/s/pixel")

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
# ## Aperture correction
#
# The aperture holds only part of the source's light: the rest is in the PSF wings (and,
# for an extended source, its outskirts). The fraction it holds is the fraction of the
# source's **profile across the dispersion** within ±4 rows. The direct image shows the
# same source through the same filter and PSF, so its profile along y (the image summed
# over x around the source) gives that fraction, with no model of the PSF:

# %%
direct = datamodels.open(data.direct_cal)
x_direct, y_direct = data.source_position
radius = 40  # rows and columns around the source: the wings reach ~30 px
ys = slice(int(round(y_direct)) - radius, int(round(y_direct)) + radius + 1)
xs = slice(int(round(x_direct)) - radius, int(round(x_direct)) + radius + 1)
stamp = direct.data[ys, xs]
stamp = stamp - np.ma.median(sigma_clip(stamp, sigma=3.0))  # the direct image's sky
profile = np.nansum(stamp, axis=1)  # summed over x: the profile along y
rows = np.arange(ys.start, ys.stop)
inside = aperture_weights(rows, np.array([y_direct]), 4.0)[:, 0]
aperture_fraction = np.sum(inside * profile) / np.sum(profile)
print(f"fraction of the light within +-4 rows: {aperture_fraction:.4f}")
if data.demo is not None:
    expected = data.demo.source(1)["aperture_fraction_grismr"]
    print(f"the demo truth (PSF and source size):  {expected:.4f}")
    assert abs(aperture_fraction - expected) < 0.01
corrected = spectrum / aperture_fraction

# %%
fig, ax = plt.subplots(figsize=(10, 4))
plot_spectrum(spectrum, truth=truth, ax=ax, xlim=band, label="box extraction (+-4 px)")
ax.plot(corrected.spectral_axis.to_value(u.micron), corrected.flux.value, lw=0.7, label="aperture-corrected")
ax.legend(fontsize="small")
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
    ratio = np.median(corrected.flux.value[interior] / flux_true[interior])
    print(f"aperture-corrected / injected continuum (median over {interior.sum()} columns): {ratio:.4f}")
    assert abs(ratio - 1) < 0.02

    x_true, _ = data.demo.true_trace(1, 1, 3.40 * u.micron)
    print(f"line centre: {line.center:.3f}, injected at column {float(x_true):.3f}: off by {line.center - float(x_true):+.3f} px")
    assert abs(line.center - float(x_true)) < 0.3

# %% [markdown]
# Without the aperture correction the continuum would be about 12% low; with a local
# background measured next to the trace, a further ~2% low. Neither is visible by eye in
# a single spectrum: the truth is what shows them.
#
# ## Summary
#
# - Work only inside the trace's bounding box.
# - The WFSS sky is dispersed light that changes along the dispersion: measure it per
#   column (or scale the background reference, as the pipeline does) and subtract it.
# - The rows next to the trace hold the source's own PSF wings; an aperture correction
#   measured on the direct image recovers the light the aperture misses.
# - A column's wavelength comes from `INVDISPX` and `DISPL`; its width in wavelength,
#   $d\lambda$, from their derivatives.
# - $F_\lambda = \text{rate} / (S\,d\lambda)$, trusted where $S$ is not tiny.
