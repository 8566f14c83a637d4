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
# **Authors:** The wfss-helpers contributors
#
# **Date:** 2026-11-25
#
# With the trace known (notebook 1) and the files calibrated (notebook 2), a box
# extraction is a handful of array operations. Each has a choice behind it that changes
# the result; this notebook makes them visible. Every step is shown twice: first the raw
# call (grismconf, numpy, astropy) with the reason for it, then the `wfss_helpers`
# function that packages it, with a check that both give the same numbers. After this
# notebook you can write the extraction without our module.
#
# The steps follow the STScI notebook "WFSS Box Extraction Example" (JWST program
# 01076), which we call the *seed notebook*.

# %% [markdown]
# ## Versions used

# %%
import sys
from importlib.metadata import version

print(f"python        {sys.version.split()[0]}")
packages = ("numpy", "astropy", "jwst", "stdatamodels", "grismconf", "wfss_helpers")
for package in packages:
    print(f"{package:<13} {version(package)}")

# %% [markdown]
# ## Learning goals
#
# - cut out the **bounding box** of a trace from `DISPX`/`DISPY` at $t = 0$ and $t = 1$;
# - measure and subtract the **dispersed sky**, which changes along the dispersion, with
#   `astropy.stats.sigma_clip`, and see why the rows next to the trace are not empty
#   sky;
# - give every pixel of the box a **wavelength** with `INVDISPX` and `DISPL`, and
#   compare with the pipeline's gWCS;
# - collapse the box into a 1D spectrum in DN/s with fractional aperture weights, with
#   uncertainties from the `ERR` array and bad pixels masked;
# - convert it to $F_\lambda$ in erg/s/cm²/Å with the **sensitivity** $S$ (grismconf's
#   `SENS`) and the **per-pixel dispersion** $d\lambda$ from `DDISPL`/`DDISPX`;
# - correct for the light the aperture misses (the PSF wings) with an **aperture
#   correction** measured on the direct image;
# - recognise the edge effects at the ends of the filter band, and why an emission line
#   comes out lower and broader than it is (**footprint broadening**).
#
# ## Prerequisites
#
# - Notebook 1 (the trace parameter $t$, `DISPX`/`DISPY`/`DISPL` and their inverses) and
#   notebook 2 (the calibrated `_cal.fits` files and the source position on the WFSS
#   exposure).
# - Python and numpy: slicing 2-D arrays, boolean masks, broadcasting; astropy units and
#   `astropy.stats.sigma_clip`; matplotlib basics.
#
# ## Time to learn
#
# About 45 minutes (15 more for the exercises).
#
# ## Keywords
#
# NIRCam, WFSS, slitless spectroscopy, GRISMR, box extraction, grismconf, dispersed sky,
# sigma clipping, sensitivity, flux calibration, aperture correction, emission line.

# %% [markdown]
# ## Imports and data
#
# `get_tutorial_data()` returns the files this notebook works on: the embedded demo data
# by default, the real program-01076 files with `WFSS_TUTORIAL_DATA=real`. The first
# time it calibrates them with the jwst pipeline (as notebook 2 shows); only the
# pipeline's warnings are shown then, not its progress messages.

# %%
import logging

import matplotlib.pyplot as plt
import numpy as np
from astropy import units as u
from astropy.modeling import fitting, models
from astropy.stats import sigma_clip
from stdatamodels.jwst import datamodels
from stdatamodels.jwst.datamodels import dqflags

from wfss_helpers.exposure import DirectImage, WFSSExposure
from wfss_helpers.extraction import (
    aperture_fraction_from_image,
    box_extract,
    dispersed_sky_profile,
    fit_emission_line,
    flux_calibrate,
    scale_background_reference,
    sensitivity_curve,
    subtract_background,
    wavelength_map,
)
from wfss_helpers.geometry import (
    direct_to_wfss,
    gwcs_column_wavelengths,
    trace_bounding_box,
    trace_wavelength,
)
from wfss_helpers.plotting import (
    image_norm,
    plot_background_histogram,
    plot_spectrum,
    use_tutorial_style,
)
from wfss_helpers.tutorial_data import get_tutorial_data

use_tutorial_style()

# Only warnings from the pipeline (if the files must be calibrated first).
for name in ("stpipe", "jwst"):
    logging.getLogger(name).setLevel(logging.WARNING)

data = get_tutorial_data()
wfss = datamodels.open(data.wfss_cal)  # the flat-fielded GRISMR exposure, DN/s
order = "+1"  # grismconf's name of the first order

# %% [markdown]
# The raw calls below work on `wfss`, the data model that `datamodels.open` returns. The
# helpers take the exposure as a `WFSSExposure` (from `wfss_helpers.exposure`), opened
# and checked once (a WFSS exposure, with a warning if it is not flat-fielded). It holds
# the `SCI`, `ERR` and `DQ` arrays (`.data`, `.err`, `.dq`, read from the file when
# first used), the filter, grism and module, the gWCS (`.wcs`), the grism configuration
# (`.config`, loaded with `load_grism_config` of notebook 1 when first used) and the
# dispersion axis, and it gives the trace of any source on it:
# `.trace((x0, y0), order=1)` is a `GrismTrace`. Every helper that takes a file name or
# a data model takes it too, and then neither re-opens the file nor checks it again.
# `DirectImage` is the same for the direct image.

# %%
grismr = WFSSExposure.open(data.wfss_cal)  # opened and checked once
direct_image = DirectImage.open(data.direct_cal)
print(f"{grismr}: disperses along {grismr.dispersion_axis}")
config = grismr.config  # grismconf.Config from its reference files
x0, y0 = direct_to_wfss(direct_image, grismr, *data.source_position)
print(f"data: {data.mode}; source at WFSS (x0, y0) = ({x0:.2f}, {y0:.2f})")
print(f"orders in the configuration: {config.orders}")

# %% [markdown]
# `x0, y0` is where the source would be on the WFSS exposure without the grism (notebook
# 2). Everything below is a function of it and of `config`. The steps build on each
# other: each raw cell says which earlier results it uses, so that you can copy it
# together with those.
#
# ## The bounding box
#
# ### The raw calls
#
# The order +1 trace runs from $t = 0$ to $t = 1$. `config.DISPX(order, x0, y0, t)` and
# `config.DISPY(order, x0, y0, t)` give the trace's offsets from the source at those
# values of $t$; the box spans those columns, and the rows of the trace plus a margin of
# `box_half_height` rows above and below for the background. A pixel index is the
# nearest integer, `floor(value + 0.5)` (pixel $i$ covers $i - 0.5$ to $i + 0.5$).

# %%
box_half_height = 15  # rows above and below the trace: the aperture and background
t_ends = np.array([0.0, 1.0])
dx = config.DISPX(order, x0, y0, t_ends)
dy = config.DISPY(order, x0, y0, t_ends)
print(f"t = 0, 1:  dx = {dx[0]:.2f}, {dx[1]:.2f}   dy = {dy[0]:.2f}, {dy[1]:.2f}")
x_lo = int(np.floor(x0 + dx.min() + 0.5))
x_hi = int(np.floor(x0 + dx.max() + 0.5))
y_lo = int(np.floor(y0 + dy.min() - box_half_height + 0.5))
y_hi = int(np.floor(y0 + dy.max() + box_half_height + 0.5))
print(f"columns {x_lo}..{x_hi}, rows {y_lo}..{y_hi}")

# %% [markdown]
# ### The helper
#
# `trace_bounding_box` does the same, clips the box to the detector (and says so), and
# takes the rows from the trace sampled at 201 values of $t$ rather than only its ends:
# a NIRCam trace **bows** by a few pixels across the dispersion (notebook 1), and a
# trace whose highest or lowest point lies between its ends would leave the box built
# from the ends alone. For this source the bow is monotonic, so both boxes agree:

# %%
bbox = trace_bounding_box(
    config, order, x0, y0, half_height=box_half_height, detector_shape=wfss.data.shape
)
print(bbox, "shape (rows, columns):", bbox.shape)
raw_box = (x_lo, x_hi, y_lo, y_hi)
helper_box = (bbox.x_min, bbox.x_max, bbox.y_min, bbox.y_max)
print("difference (helper - raw) in x_min, x_max, y_min, y_max:",
      np.subtract(helper_box, raw_box))
assert (bbox.x_min, bbox.x_max) == (x_lo, x_hi)
assert bbox.y_min <= y_lo and bbox.y_max >= y_hi  # the bow can only widen the box

t_dense = np.linspace(0.0, 1.0, 201)
dy_dense = config.DISPY(order, x0, y0, t_dense)
print(f"rows the bow adds beyond the ends: {dy.min() - dy_dense.min():.2f} below, "
      f"{dy_dense.max() - dy.max():.2f} above")

# %% [markdown]
# The seed notebook computes `INVDISPX` for *every* pixel of the 2048 × 2048 frame and
# then cuts the box out. Computing only inside the box is tens of times faster
# (see `benchmarks/`), and avoids a failure of grismconf's interpolated inverse for
# sources near the left edge, whose frame-wide offsets leave its interpolation range.
#
# ### The cutout
#
# The box is a plain numpy slice; the upper limits are inclusive, hence the `+ 1`.
# `bbox.slices` is the same pair of slices:

# %%
cutout = wfss.data[y_lo:y_hi + 1, x_lo:x_hi + 1]
print(f"cutout: {cutout.shape[0]} rows x {cutout.shape[1]} columns")
assert np.array_equal(cutout, wfss.data[bbox.slices], equal_nan=True)
print("numpy slice and wfss.data[bbox.slices]: identical (difference 0)")

# %% [markdown]
# ## The dispersed sky
#
# The sky in a WFSS exposure is itself dispersed light. Every position of the field
# sends the sky's spectrum through the grism, so a pixel receives, at each wavelength,
# the sky from the position `DISPX` pixels before it. Towards the right edge of a GRISMR
# exposure the blue part of that spectrum would have to come from beyond the field of
# view, so it is missing and the sky **falls off**. Across the dispersion (along a
# column) it hardly changes. So it is measured column by column: a column crosses only
# a few sources, and a sigma-clipped median (`astropy.stats.sigma_clip`) ignores them.
#
# ### The raw calls
#
# Bad pixels (not finite, or flagged `DO_NOT_USE` in the `DQ` array) are masked first.
# For one column, then for every column at once (`axis=0`: along each column):

# %%
do_not_use = dqflags.pixel["DO_NOT_USE"]  # DQ bit 0 (value 1)
bad = ~np.isfinite(wfss.data) | ((wfss.dq & do_not_use) > 0)
good_pixels = np.ma.masked_array(wfss.data, mask=bad)

column_sky = np.ma.median(sigma_clip(good_pixels[:, 1500], sigma=3.0))  # one column
clipped = sigma_clip(good_pixels, sigma=3.0, maxiters=10, axis=0)  # every column
sky_per_column = np.ma.median(clipped, axis=0).filled(np.nan)
print(f"sky in column 1500: {column_sky:.4f} DN/s per pixel")

# %% [markdown]
# ### The helper
#
# `dispersed_sky_profile` runs exactly this (and, with `dispersion_axis="y"`, the same
# per row for GRISMC, notebook 4); its `.image` is the profile spread over the frame.

# %%
sky = dispersed_sky_profile(wfss.data, dispersion_axis="x", dq=wfss.dq)
sky_difference = np.nanmax(np.abs(sky.profile - sky_per_column))
print(f"column 1500: {column_sky:.4f} (numpy), {sky.profile[1500]:.4f} (helper)")
print(f"largest difference over all columns: {sky_difference:.1e} DN/s")
assert sky_difference < 1e-5

# %% mystnb={"image": {"alt": "The sigma-clipped sky level of every detector column of the GRISMR exposure, in DN/s per pixel: roughly flat over most of the detector, then falling off towards the right edge; the columns of the showcased source's bounding box are shaded."}}
fig, ax = plt.subplots(figsize=(9, 3))
ax.plot(sky.profile, lw=0.8, label="sigma-clipped median of each column")
ax.axvspan(bbox.x_min, bbox.x_max, color="C1", alpha=0.15, label="the source's box")
ax.set_xlabel("x (detector column) [pix]")
ax.set_ylabel("sky [DN/s per pixel]")
ax.set_title("The dispersed sky along the dispersion (GRISMR)")
ax.legend()
plt.show()

# %% [markdown]
# The jwst pipeline removes the same sky differently: its `BackgroundStep` scales a
# **WFSS background reference file** (the sky's normalised shape, reference type `bkg`)
# to the exposure. In demo mode the demo instrument has one; both estimates agree:

# %%
if data.demo is not None:
    from wfss_helpers.demo.scene import sky_image

    scaled = scale_background_reference(
        wfss.data, data.demo.reference_files["bkg"], dq=wfss.dq
    )
    in_box = bbox.slices
    largest = np.max(np.abs(scaled.image - sky.image)[in_box])
    print(f"reference scaled by {scaled.scale:.4f}; largest difference from the column "
          f"profile in the box: {largest:.4f} DN/s")
    true_sky = sky_image("grismr")
    error = np.max(np.abs(sky.image - true_sky)[in_box])
    print(f"column profile vs the injected sky in the box: largest difference "
          f"{error:.4f} DN/s")
    assert error < 0.01

# %% [markdown]
# Subtract it from the whole exposure; what remains is the light of the sources. In
# numpy, broadcasting puts each column's level under every row of that column;
# `subtract_background` does the same and returns the `data`/`err`/`dq` dict that
# `box_extract` takes:

# %%
sky_subtracted_data = wfss.data - sky_per_column[np.newaxis, :]  # raw
sky_subtracted = subtract_background(wfss.data, sky, err=wfss.err, dq=wfss.dq)  # helper
print("largest difference:",
      f"{np.nanmax(np.abs(sky_subtracted['data'] - sky_subtracted_data)):.1e} DN/s")

# %% [markdown]
# ## Extraction: the sum over the aperture
#
# ### The raw calls
#
# The aperture follows the trace: in each column it spans `half_height` rows on either
# side of the trace centre. The centre of column $x$ comes from the inverse of `DISPX`:
# $t = \mathrm{INVDISPX}(x - x_0)$, then the row is $y_0 + \mathrm{DISPY}(t)$.
#
# The aperture edges fall inside pixels, so each pixel gets a **weight**, the fraction
# of it between the edges: pixel row $r$ covers $r - 0.5$ to $r + 0.5$, and its overlap
# with $[y_c - h, y_c + h]$ is `min(r + 0.5, yc + h) - max(r - 0.5, yc - h)`, clipped to
# 0..1. The spectrum is the weighted sum of each column. A column whose aperture holds a
# bad pixel cannot be summed without bias: it is masked (NaN) rather than summed short.
# The uncertainty adds the `ERR` of the summed pixels in quadrature, $\sqrt{\sum w^2
# \sigma^2}$. (This cell uses the box limits `x_lo` ... `y_hi`, the bad-pixel mask
# `bad` and `sky_subtracted_data` from the cells above.)

# %%
half_height = 4.0  # aperture half-height, rows
columns = np.arange(x_lo, x_hi + 1)
rows = np.arange(y_lo, y_hi + 1)
t_column = config.INVDISPX(order, x0, y0, columns - x0)  # t of each column
trace_row = y0 + config.DISPY(order, x0, y0, t_column)  # trace centre of each column

top = np.minimum(rows[:, None] + 0.5, trace_row[None, :] + half_height)
bottom = np.maximum(rows[:, None] - 0.5, trace_row[None, :] - half_height)
weights = np.clip(top - bottom, 0.0, 1.0)  # (rows, columns), fraction in the aperture

sci_cut = sky_subtracted_data[y_lo:y_hi + 1, x_lo:x_hi + 1]
err_cut = wfss.err[y_lo:y_hi + 1, x_lo:x_hi + 1]
bad_cut = bad[y_lo:y_hi + 1, x_lo:x_hi + 1]
column_is_bad = np.any(bad_cut & (weights > 0), axis=0)
rate_raw = np.sum(weights * np.where(bad_cut, 0.0, sci_cut), axis=0)
variance = np.sum(weights**2 * np.where(bad_cut, 0.0, err_cut) ** 2, axis=0)
rate_err_raw = np.sqrt(variance)
rate_raw[column_is_bad] = np.nan
rate_err_raw[column_is_bad] = np.nan
print(f"{columns.size} columns, {column_is_bad.sum()} masked; weights per column "
      f"{weights.sum(axis=0).min():.2f} rows (= 2 x half_height)")

# %% [markdown]
# The cutout, with the trace centre and the aperture (an asinh stretch shows the bright
# trace and its faint wings at once; `plot_cutout` in `wfss_helpers.plotting` draws the
# same from an extraction):

# %% mystnb={"image": {"alt": "The bounding-box cutout of the showcased source in the sky-subtracted GRISMR exposure, asinh stretch, colour bar in DN/s: a horizontal spectral trace about 900 columns long, brightest along its centre, with faint wings above and below and a bright emission-line knot near column 980; the trace centre is a cyan line and the plus and minus 4 row aperture white dashed lines."}}
fig, ax = plt.subplots(figsize=(10, 3.2))
box_extent = (x_lo - 0.5, x_hi + 0.5, y_lo - 0.5, y_hi + 0.5)  # pixel edges
shown = ax.imshow(
    sci_cut, origin="lower", extent=box_extent, aspect="auto", cmap="magma",
    norm=image_norm(sci_cut, percentile=100, asinh_a=0.1),  # asinh: faint wings too
)
fig.colorbar(shown, ax=ax, label="count rate [DN/s]", pad=0.01)
ax.plot(columns, trace_row, color="cyan", lw=0.8, label="trace centre")
for sign in (-1, 1):
    ax.plot(columns, trace_row + sign * half_height, color="white", lw=0.8, ls="--",
            label="aperture (±4 rows)" if sign > 0 else None)
ax.set_xlabel("x (detector column) [pix]; wavelength increases to the right")
ax.set_ylabel("y (detector row) [pix]")
ax.set_title("Bounding box, trace centre and aperture (sky subtracted)")
ax.legend(loc="upper right", labelcolor="white")
plt.show()

# %% [markdown]
# ### The helper
#
# `box_extract` does all of this. Its `background` argument is the level still to
# subtract: here `0.0`, since the sky is gone (the next section says why not to measure
# it again in the box). It inverts `DISPX` by Newton's method to machine precision
# rather than with grismconf's `INVDISPX`, so their $t$ may differ in the last digits:

# %%
extraction = box_extract(
    sky_subtracted, config, order, x0, y0,
    half_height=half_height, box_half_height=box_half_height, background=0.0,
)
assert np.array_equal(extraction.column, columns)
assert np.array_equal(extraction.mask, column_is_bad)
usable = ~extraction.mask
rate_difference = np.max(np.abs(extraction.rate.value - rate_raw)[usable])
err_difference = np.max(np.abs(extraction.rate_err.value - rate_err_raw)[usable])
print(f"t:        largest difference {np.max(np.abs(extraction.t - t_column)):.1e}")
trace_difference = np.max(np.abs(extraction.trace_y - trace_row))
print(f"trace:    largest difference {trace_difference:.1e} rows")
print(f"rate:     largest difference {rate_difference:.1e} DN/s "
      f"(typical rate {np.nanmedian(rate_raw):.1f} DN/s)")
print(f"rate_err: largest difference {err_difference:.1e} DN/s")
assert rate_difference < 1e-4 and err_difference < 1e-4

# %% [markdown]
# ## What is left in the box: the source's own wings
#
# Without `background`, `box_extract` measures a level in the box outside the
# aperture, with the same sigma clipping, and subtracts it. After the sky is gone that
# level is not zero: the PSF of NIRCam has **wings** that reach well past 4 rows, so
# the "background" rows hold some of the source's own light. Subtracting it removes
# source flux:

# %% mystnb={"image": {"alt": "Histogram of the pixel values in the bounding box outside the aperture after the sky was subtracted, in DN/s, with the sigma-clipped median marked: it sits slightly above zero because of the source's PSF wings."}}
local = box_extract(
    sky_subtracted, config, order, x0, y0,
    half_height=half_height, box_half_height=box_half_height,
)
fig, ax = plt.subplots(figsize=(7, 3.5))
plot_background_histogram(local.background, ax=ax)
ax.set_title("Pixels in the box outside the aperture (sky subtracted)")
plt.show()
local_level = local.background
print(f"level left in the box: {local_level.median:.4f} ± "
      f"{local_level.median_error:.4f} DN/s per pixel ({local_level.n_pixels} pixels)")
loss = 1 - np.nanmedian(local.rate / extraction.rate)
print(f"subtracting it removes {100 * loss:.1f}% of the source's count rate")

# %% [markdown]
# The seed notebook takes the median of the **whole** box, source included, as its
# background. Clipping removes the brightest source pixels, but not the faint wings, and
# the sky is not flat along the box. Measured here on the exposure before the sky was
# removed (`half_height=None` sums the whole box, as the seed notebook does):

# %%
seed_style = box_extract(
    grismr, config, order, x0, y0, half_height=None, box_half_height=box_half_height
)
sky_along_box = sky.profile[bbox.x_min:bbox.x_max + 1]
print(f"median of the whole box: {seed_style.background.median:.4f} DN/s per pixel")
print(f"the sky along the box:   {sky_along_box.min():.4f} to "
      f"{sky_along_box.max():.4f} DN/s per pixel")

# %% [markdown]
# ## A wavelength for every pixel
#
# ### The raw calls
#
# For a row-dispersing grism the wavelength of a pixel depends only on its column:
# $t = \mathrm{INVDISPX}(x - x_0)$ (computed in the extraction cell as `t_column`), then
# $\lambda = \mathrm{DISPL}(t)$, in µm:

# %%
wavelength_raw = config.DISPL(order, x0, y0, t_column)  # micron, one per column
print(f"columns {columns[0]}..{columns[-1]}: {wavelength_raw[0]:.4f} to "
      f"{wavelength_raw[-1]:.4f} micron")

# %% [markdown]
# ### The helper
#
# The extraction carries the same numbers as `extraction.wavelength` (a Quantity), and
# `wavelength_map` spreads them over the box:

# %%
wavelength_difference = np.max(np.abs(extraction.wavelength.to_value(u.micron)
                                       - wavelength_raw))
print(f"largest difference: {wavelength_difference * 1e4:.1e} Å")
assert wavelength_difference < 1e-7  # micron

# %% mystnb={"image": {"alt": "The wavelength of every pixel of the bounding box, colour-coded from about 3.1 micron on the left to about 4.0 micron on the right; it changes only along the columns."}}
wave_map = wavelength_map(config, order, x0, y0, bbox)
fig, ax = plt.subplots(figsize=(10, 2.5))
extent = (bbox.x_min - 0.5, bbox.x_max + 0.5, bbox.y_min - 0.5, bbox.y_max + 0.5)
image = ax.imshow(
    wave_map.to_value(u.micron), origin="lower", extent=extent, aspect="auto",
    cmap="viridis",
)
fig.colorbar(image, ax=ax, label="wavelength [µm]", pad=0.01)
ax.set_xlabel("x (detector column) [pix]")
ax.set_ylabel("y (detector row) [pix]")
ax.set_title("Wavelength map of the box (order +1)")
plt.show()

# %% [markdown]
# ### The pipeline's gWCS
#
# The pipeline's gWCS gives the same from its `grism_detector → detector` transform,
# which maps a dispersed pixel and the source position to $(x_0, y_0, \lambda,
# \text{order})$; it additionally applies the barycentric velocity correction
# (`VELOSYS`), and it pins $t$ to $[0, 1]$. `gwcs_column_wavelengths` wraps the call:

# %%
to_detector = wfss.meta.wcs.get_transform("grism_detector", "detector")
_, _, wavelength_gwcs, _ = to_detector(
    columns.astype(float), np.full(columns.shape, y0), x0, y0, 1
)
from_gwcs = gwcs_column_wavelengths(grismr, 1, x0, y0, columns)
interior = (t_column > 0.02) & (t_column < 0.98)
print("gWCS raw vs gwcs_column_wavelengths: largest difference "
      f"{np.max(np.abs(from_gwcs.to_value(u.micron) - wavelength_gwcs)):.1e} micron")
gwcs_vs_grismconf = np.max(np.abs(wavelength_gwcs - wavelength_raw)[interior])
print(f"gWCS vs grismconf: largest difference {gwcs_vs_grismconf * 1e4:.4f} Å")

# %% [markdown]
# ## The 1D spectrum in DN/s
#
# Per column, the sum over the aperture; the red lines mark the columns masked because
# their aperture holds a bad pixel.

# %% mystnb={"image": {"alt": "Two panels of the extracted count-rate spectrum in DN/s: left against detector column with masked columns marked by thin red lines, right against wavelength in micron; the continuum rises and falls with the filter's throughput and an emission line stands out near 3.4 micron."}}
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5))
left.step(extraction.column, extraction.rate, where="mid", lw=0.7)
for column in extraction.column[extraction.mask]:
    left.axvline(column, color="C3", alpha=0.3, lw=0.8)
left.set_xlabel("x (detector column) [pix]")
left.set_ylabel("count rate [DN/s]")
left.set_title(f"Per column ({extraction.mask.sum()} masked columns in red)")
right.step(extraction.wavelength, extraction.rate, where="mid", lw=0.7)
right.set_xlabel("wavelength [µm]")
right.set_ylabel("count rate [DN/s]")
right.set_title("Per wavelength")
plt.show()
signal_to_noise = np.nanmedian(extraction.rate / extraction.rate_err)
print(f"median S/N per column: {signal_to_noise:.1f}")

# %% [markdown]
# ## The width of a column in wavelength, $d\lambda$
#
# A column does not collect light at one wavelength but over a band $d\lambda$, the
# dispersion $|d\lambda/dx|$ at that column. By the chain rule,
# $d\lambda/dx = (d\lambda/dt)/(dx/dt)$, and grismconf has both derivatives
# analytically: `DDISPL` ($d\lambda/dt$, in µm) and `DDISPX` ($dx/dt$, in pixels).
#
# ### The raw calls
#
# Their ratio is in **µm per pixel**; $F_\lambda$ is per Å, so it is multiplied by
# $10^4$, the number of Å in a µm. (The seed notebook's comment says this 10000 "comes
# from ~10 Å per pixel": it does not. It is the unit conversion, and would be the same
# for any dispersion; that NIRCam's dispersion happens to be about 10 Å per pixel is a
# coincidence that makes the slip easy to believe. The dispersion is the ratio itself,
# which varies along the trace.) Like the wavelength, it uses `t_column`.

# %%
microns_per_pixel = np.abs(
    config.DDISPL(order, x0, y0, t_column) / config.DDISPX(order, x0, y0, t_column)
)
dlambda_raw = microns_per_pixel * 1e4  # 1 micron = 10^4 Å: now Å per pixel
print(f"dλ from {dlambda_raw.min():.3f} to {dlambda_raw.max():.3f} Å per pixel "
      "along the trace")

# %% [markdown]
# ### The helper
#
# The extraction carries it as `extraction.dispersion`, the Å that each column spans
# (`angstrom_per_pixel` in `wfss_helpers.geometry` gives it in Å/pix for any $t$):

# %%
dlambda_difference = np.max(np.abs(extraction.dispersion.to_value(u.AA) - dlambda_raw))
print(f"largest difference: {dlambda_difference:.1e} Å per pixel")
assert dlambda_difference < 1e-8

# %% [markdown]
# ## The sensitivity $S$
#
# A column that spans $d\lambda$ Å of the spectrum of a source of flux density
# $F_\lambda$ collects
#
# $$\text{rate} = F_\lambda \, S(\lambda) \, d\lambda \quad \text{DN/s},$$
#
# where $S$ is the **sensitivity**: the count rate per Å of spectrum that a source of
# $F_\lambda = 1$ erg/s/cm²/Å produces, in DN/s/Å per erg/s/cm²/Å (usually written
# "DN/s per erg/s/cm²/Å"). This is what grismconf calls `SENS`: `config.SENS["+1"]` is
# a function of wavelength in µm that returns $S$, built from the photom reference file
# (notebook 2). Its reciprocal $1/S$, in erg/s/cm²/Å per DN/s/Å, is the **inverse
# sensitivity**: the factor that *multiplies* a count rate to give a flux density. Both
# words are in use, so check which one a file or a paper means: $S$ is large (about
# $10^{17}$ here) and divides the rate, $1/S$ is tiny and multiplies it.
#
# ### The raw call, then the helper
#
# (`wavelength_raw` comes from the wavelength section.)

# %%
sensitivity_raw = config.SENS[order](wavelength_raw)  # S at each column's wavelength
sensitivity = sensitivity_curve(config, order, extraction.wavelength)  # Quantity
print(f"S peaks at {sensitivity_raw.max():.3e} DN/s/Å per erg/s/cm²/Å "
      f"(astropy simplifies the unit to {sensitivity.unit})")
sensitivity_difference = np.max(np.abs(sensitivity.value - sensitivity_raw))
print(f"largest difference: {sensitivity_difference / sensitivity_raw.max():.1e} "
      "of the peak")
assert sensitivity_difference < 1e-10 * sensitivity_raw.max()

# %% mystnb={"image": {"alt": "Two panels: left, the order +1 sensitivity S in DN/s per erg/s/cm2/Angstrom against wavelength, a plateau near 1e17 with steep edges at the ends of the F356W band; right, the inverse sensitivity 1/S on a logarithmic axis, lowest in the middle of the band and rising by orders of magnitude at its edges."}}
band = trace_wavelength(config, order, x0, y0, [0.0, 1.0])  # the order's ends
print(f"order +1 runs from {band[0]:.3f} to {band[1]:.3f}")
wave_grid = np.linspace(band[0] - 0.1 * u.micron, band[1] + 0.1 * u.micron, 600)
sensitivity_grid = sensitivity_curve(config, order, wave_grid)
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5))
left.plot(wave_grid, sensitivity_grid.value / 1e17)
left.set_xlabel("wavelength [µm]")
left.set_ylabel(
    "S [10$^{17}$ DN s$^{-1}$ Å$^{-1}$ per erg s$^{-1}$ cm$^{-2}$ Å$^{-1}$]"
)
left.set_title("Sensitivity S (grismconf's SENS)")
with np.errstate(divide="ignore"):
    right.semilogy(wave_grid, 1 / sensitivity_grid.value)
right.set_xlabel("wavelength [µm]")
right.set_ylabel("1/S [erg s$^{-1}$ cm$^{-2}$ Å$^{-1}$ per DN s$^{-1}$ Å$^{-1}$]")
right.set_ylim(0.5 / sensitivity_grid.value.max(), 1e3 / sensitivity_grid.value.max())
right.set_title("Inverse sensitivity 1/S (multiplies a rate)")
plt.show()

# %% [markdown]
# ## The conversion to $F_\lambda$
#
# ### The raw call
#
# Solve the equation above for $F_\lambda$, column by column:
#
# $$F_\lambda = \frac{\text{rate}}{S(\lambda)\, d\lambda}.$$
#
# The units: DN/s divided by (DN/s/Å per erg/s/cm²/Å) × Å is erg/s/cm²/Å. The three
# arrays come from the sections above, one value per column.

# %%
flam_raw = rate_raw / (sensitivity_raw * dlambda_raw)  # erg/s/cm²/Å, per column
print(f"median F_λ: {np.nanmedian(flam_raw):.3e} erg/s/cm²/Å")

# %% [markdown]
# ### The helper
#
# `flux_calibrate` does the division, propagates `rate_err` the same way, masks columns
# where $S$ is below 1% of its peak (see "The edges of the band" below) and
# returns a `specutils.Spectrum` sorted by wavelength (for this grism the columns are
# already in wavelength order):

# %%
spectrum = flux_calibrate(extraction, config)
by_wavelength = np.argsort(wavelength_raw)
kept = ~spectrum.mask
flam_sorted = flam_raw[by_wavelength]
flam_difference = np.max(np.abs(spectrum.flux.value[kept] - flam_sorted[kept]))
typical_flam = np.nanmedian(np.abs(spectrum.flux.value))
print(f"largest difference: {flam_difference / typical_flam:.1e} of a typical F_λ "
      f"({typical_flam:.2e} erg/s/cm²/Å); {spectrum.mask.sum()} columns masked")
assert flam_difference < 1e-5 * typical_flam

# %% mystnb={"image": {"alt": "The flux-calibrated spectrum F_lambda of the showcased source against wavelength with its 1-sigma band, and in demo mode the injected spectrum in red: the extraction lies about 12 percent below the truth because the aperture misses the PSF wings, and the emission line near 3.4 micron is lower and broader than injected."}}
truth = None
if data.demo is not None:
    wave_true, flam_true = data.demo.true_spectrum(1)
    truth = (wave_true * u.micron, flam_true * u.Unit("erg s-1 cm-2 Angstrom-1"))
fig, ax = plt.subplots(figsize=(10, 4))
plot_spectrum(spectrum, truth=truth, ax=ax, xlim=band)
ax.set_xlabel("wavelength [µm]")
ax.set_ylabel(r"$F_\lambda$ [erg s$^{-1}$ cm$^{-2}$ Å$^{-1}$]")
ax.set_title("Box extraction (±4 rows), flux calibrated")
plt.show()

# %% [markdown]
# ## Aperture correction
#
# The aperture holds only part of the source's light: the rest is in the PSF wings (and,
# for an extended source, its outskirts). The fraction it holds is the fraction of the
# source's **profile across the dispersion** within ±4 rows. The direct image shows the
# same source through the same filter and PSF, so its profile along y (the image summed
# over x around the source) gives that fraction, with no model of the PSF. The same
# fractional weights as the extraction's apply to it:

# %%
direct = datamodels.open(data.direct_cal)
x_direct, y_direct = data.source_position
radius = 40  # rows and columns around the source: the wings reach ~30 px
ys = slice(int(round(y_direct)) - radius, int(round(y_direct)) + radius + 1)
xs = slice(int(round(x_direct)) - radius, int(round(x_direct)) + radius + 1)
stamp = direct.data[ys, xs]
stamp = stamp - np.ma.median(sigma_clip(stamp[np.isfinite(stamp)], sigma=3.0))
profile = np.nansum(stamp, axis=1)  # summed over x: the profile along y
stamp_rows = np.arange(ys.start, ys.stop)
inside = np.clip(
    np.minimum(stamp_rows + 0.5, y_direct + half_height)
    - np.maximum(stamp_rows - 0.5, y_direct - half_height), 0.0, 1.0,
)
aperture_fraction = np.sum(inside * profile) / np.sum(profile)
print(f"fraction of the light within ±{half_height:g} rows: {aperture_fraction:.4f}")
# The same, packaged: the helper takes the axis the aperture spans ("y" for GRISMR).
packaged = aperture_fraction_from_image(
    direct.data, x_direct, y_direct, "y", half_height
)
print(f"aperture_fraction_from_image gives {packaged:.4f} "
      f"(difference {abs(packaged - aperture_fraction):.1e})")
# (The cell above works in the image's float32, the helper in float64.)
assert abs(packaged - aperture_fraction) < 1e-6
if data.demo is not None:
    expected = data.demo.source(1)["aperture_fraction_grismr"]
    print(f"the demo truth (PSF and source size):  {expected:.4f}")
    assert abs(aperture_fraction - expected) < 0.01
corrected = spectrum / aperture_fraction

# %% mystnb={"image": {"alt": "The flux-calibrated spectrum before and after the aperture correction, with the injected spectrum in demo mode: the corrected continuum lies on the truth."}}
fig, ax = plt.subplots(figsize=(10, 4))
plot_spectrum(spectrum, truth=truth, ax=ax, xlim=band, label="box extraction (±4 px)")
ax.plot(
    corrected.spectral_axis.to_value(u.micron), corrected.flux.value, lw=0.7,
    color="C2", label=f"aperture-corrected (÷ {aperture_fraction:.3f})",
)
ax.set_xlabel("wavelength [µm]")
ax.set_ylabel(r"$F_\lambda$ [erg s$^{-1}$ cm$^{-2}$ Å$^{-1}$]")
ax.set_title("Aperture correction from the direct image")
ax.legend()
plt.show()

# %% [markdown]
# Two caveats on aperture losses. The correction assumes the profile across the
# dispersion is the same at every wavelength; the real NIRCam PSF grows with wavelength
# (its core width is proportional to λ), so a correction measured in the broad F356W
# band is slightly too large at the blue end and too small at the red end (by a few
# percent for ±4 px; larger for smaller apertures). And it corrects the *continuum* and
# the line alike only if both come from the same region of the source: a line emitted
# by a compact nucleus in an extended galaxy needs a smaller correction than the
# galaxy's continuum.
#
# ## The edges of the band
#
# Where the F356W filter cuts off, the sensitivity falls by orders of magnitude within
# a few hundredths of a micron. Dividing by it amplifies the noise (and any error in
# the background or the wavelength scale) enormously, so `flux_calibrate` masks columns
# where $S$ is below 1% of its peak (`config.SENS_data` holds the tabulated curve).
# Trust the spectrum only in the band's interior. The raw division `flam_raw` above has
# no such mask:

# %% mystnb={"image": {"alt": "Two panels of the unmasked F_lambda at the ends of the band, with the columns that flux_calibrate masks shaded: at the blue end (3.07 to 3.15 micron) the points scatter by a factor of two near the edge and settle onto the continuum as the sensitivity rises; at the red end (3.95 to 4.10 micron) the error bars and the scatter grow to several times the continuum as the sensitivity falls below 1 percent of its peak."}}
flam_err_raw = rate_err_raw / (sensitivity_raw * dlambda_raw)
low_sensitivity = sensitivity_raw < 0.01 * config.SENS_data[order][1].max()
edges = {"blue end": (band[0].value, band[0].value + 0.08),
         "red end": (band[1].value - 0.15, band[1].value)}
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5), sharey=True)
for ax, (name, (lo, hi)) in zip(axes, edges.items()):
    ax.errorbar(wavelength_raw, flam_raw, yerr=flam_err_raw, fmt=".", ms=2, lw=0.3,
                label="rate / (S dλ), unmasked")
    ax.fill_between(wavelength_raw, 0, 1, where=low_sensitivity, color="C3", alpha=0.15,
                    transform=ax.get_xaxis_transform(), label="S < 1% of peak: masked")
    ax.axhline(0, color="0.5", lw=0.5)
    ax.set_xlim(lo, hi)
    ax.set_xlabel("wavelength [µm]")
    ax.set_title(f"The {name} of the band, before masking")
axes[0].set_ylim(-3 * typical_flam, 5 * typical_flam)
axes[0].set_ylabel(r"$F_\lambda$ [erg s$^{-1}$ cm$^{-2}$ Å$^{-1}$]")
axes[1].legend(loc="upper left")
plt.show()
print(f"S below 1% of its peak in {low_sensitivity.sum()} columns "
      f"(flux_calibrate masked {spectrum.mask.sum()}, with the bad-pixel columns)")

# %% [markdown]
# ## A zoom on the emission line
#
# A Gaussian plus linear continuum, fitted in detector columns, gives the line's
# position to a fraction of a pixel; its wavelength follows from the trace.

# %% mystnb={"image": {"alt": "Two panels around the emission line: left, the count rate in DN/s against detector column with the Gaussian plus linear fit; right, the flux-calibrated spectrum against wavelength over plus and minus 0.02 micron with, in demo mode, the injected line, which is narrower and taller than the extracted one."}}
if data.demo is not None:
    guess = 3.40 * u.micron
else:
    guess = extraction.wavelength[np.nanargmax(extraction.rate)]
column_guess = extraction.column[np.argmin(np.abs(extraction.wavelength - guess))]
line = fit_emission_line(
    extraction.column, extraction.rate.value, column_guess,
    y_err=extraction.rate_err.value, half_window=20,
)
line_wave = np.interp(line.center, extraction.column, extraction.wavelength.value)
line_wave = line_wave * u.micron
print(f"line centre: column {line.center:.3f} ± {line.center_err:.3f}  ->  "
      f"{line_wave:.5f}; Gaussian sigma {line.sigma:.2f} columns")

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5))
near = np.abs(extraction.column - line.center) < 25
left.step(
    extraction.column[near], extraction.rate[near], where="mid", label="extracted"
)
left.plot(
    extraction.column[near], line.model(extraction.column[near]),
    label="Gaussian + line fit",
)
left.set_xlabel("x (detector column) [pix]")
left.set_ylabel("count rate [DN/s]")
left.set_title("The line in the count-rate spectrum")
left.legend()
zoom = (line_wave.value - 0.02, line_wave.value + 0.02)
plot_spectrum(corrected, truth=truth, ax=right, xlim=zoom, label="aperture-corrected")
in_zoom = np.abs(corrected.spectral_axis.to_value(u.micron) - line_wave.value) < 0.02
right.set_ylim(0.8 * np.nanmin(corrected.flux.value[in_zoom]),
               1.3 * np.nanmax(corrected.flux.value[in_zoom]))
right.set_xlabel("wavelength [µm]")
right.set_ylabel(r"$F_\lambda$ [erg s$^{-1}$ cm$^{-2}$ Å$^{-1}$]")
right.set_title("Flux calibrated, with the truth in demo mode")
plt.show()

# %% [markdown]
# ### Why the line is lower and broader than it is: footprint broadening
#
# A slit spectrograph images the slit; a slitless one images the **source**. Each
# wavelength of the line makes its own image of the source, shifted along the dispersion
# by $d\lambda$ per pixel, so the line profile in the spectrum is the true profile
# **convolved with the source's extent along the dispersion** (its size and the PSF,
# along x for GRISMR). The line's flux is kept, so it comes out broader and lower. An
# extended source shows it more than a point source.
#
# Side by side, the source in the direct image and the line in the spectrum (the
# continuum on either side subtracted), on the same pixel scale: the line is the
# source's image, stretched along x by the line's own width.

# %% mystnb={"image": {"alt": "Two small images on the same pixel scale, 25 by 25 pixels: left, the showcased source in the direct image in MJy/sr, a compact slightly elongated blob; right, the emission line cut out of the sky-subtracted GRISMR exposure with the neighbouring continuum subtracted, in DN/s: the same blob, stretched along x."}}
half_size = 12  # pixels on either side of the centre
line_column = int(round(line.center))
line_row = int(round(np.interp(line.center, columns, trace_row)))
near_rows = slice(line_row - half_size, line_row + half_size + 1)
sides = np.r_[line_column - 30:line_column - 15, line_column + 16:line_column + 31]
continuum_image = np.median(sky_subtracted_data[near_rows][:, sides], axis=1)
line_image = sky_subtracted_data[
    near_rows, line_column - half_size:line_column + half_size + 1
] - continuum_image[:, np.newaxis]
row_d, column_d = int(round(y_direct)), int(round(x_direct))
source_image = direct.data[
    row_d - half_size:row_d + half_size + 1,
    column_d - half_size:column_d + half_size + 1,
]
offsets = (-half_size - 0.5, half_size + 0.5, -half_size - 0.5, half_size + 0.5)
fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.6))
panels = (
    (left, source_image, "surface brightness [MJy/sr]", "The source (direct image)"),
    (right, line_image, "count rate [DN/s]", "The line (continuum removed)"),
)
for ax, picture, label, title in panels:
    shown = ax.imshow(picture, origin="lower", extent=offsets, cmap="magma",
                      norm=image_norm(picture, percentile=100, asinh_a=0.3))
    fig.colorbar(shown, ax=ax, label=label)
    ax.set_xlabel("Δx (along the dispersion) [pix]")
    ax.set_ylabel("Δy [pix]")
    ax.set_title(title)
plt.show()

# %% [markdown]
# The source's extent along the dispersion is measured on the direct image: the profile
# along x (the stamp summed over y), fitted with a Gaussian. If both are roughly
# Gaussian, the widths add in quadrature, $\sigma_\text{obs}^2 \approx
# \sigma_\text{line}^2 + \sigma_\text{source}^2$, which gives an estimate of the line's
# own width (this cell needs the aperture-correction cell above for `stamp`):

# %%
profile_x = np.nansum(stamp, axis=0)  # summed over y: the profile along x
stamp_columns = np.arange(xs.start, xs.stop)
gaussian = models.Gaussian1D(profile_x.max(), x_direct, 1.5)
source_fit = fitting.LevMarLSQFitter()(gaussian, stamp_columns, profile_x)
sigma_source = abs(source_fit.stddev.value)  # columns, source ⊗ PSF core
sigma_line = np.sqrt(max(line.sigma**2 - sigma_source**2, 0.0))
print(f"source along the dispersion (direct image): sigma = {sigma_source:.2f} px")
print(f"line in the spectrum: sigma = {line.sigma:.2f} px -> the line's own width "
      f"~ {sigma_line:.2f} px")

# %% [markdown]
# In demo mode the injected line is known: compare its width (converted from µm to
# columns with the local $d\lambda$) and its peak height above the continuum with the
# extraction's. The extracted peak, $A/(S\,d\lambda)$ divided by the aperture fraction,
# with $A$ the fitted amplitude in DN/s, should be low by about the factor the line is
# broadened by, since the flux is conserved:

# %%
if data.demo is not None:
    source_truth = data.demo.source(1)
    dlambda_line = np.interp(line.center, extraction.column, dlambda_raw)  # Å per px
    sigma_true_aa = source_truth["line_sigma"] * 1e4  # micron -> Å
    sigma_true = sigma_true_aa / dlambda_line  # columns
    peak_true = source_truth["line_flux"] / (np.sqrt(2 * np.pi) * sigma_true_aa)
    sensitivity_line = config.SENS[order](line_wave.to_value(u.micron))
    peak_extracted = line.amplitude / (sensitivity_line * dlambda_line)
    peak_extracted /= aperture_fraction
    width_ratio = line.sigma / sigma_true
    peak_ratio = peak_extracted / peak_true
    print(f"width: extracted {line.sigma:.2f} px, injected {sigma_true:.2f} px "
          f"-> {width_ratio:.2f} x broader")
    print(f"predicted from the direct image: "
          f"{np.hypot(sigma_true, sigma_source):.2f} px")
    print(f"peak above the continuum: extracted {peak_extracted:.2e}, injected "
          f"{peak_true:.2e} erg/s/cm²/Å -> ratio {peak_ratio:.2f}")
    print(f"peak ratio x width ratio = {peak_ratio * width_ratio:.3f} (flux kept: ~1)")
    assert width_ratio > 1.3 and peak_ratio < 0.8
    assert abs(np.hypot(sigma_true, sigma_source) / line.sigma - 1) < 0.05
    assert abs(peak_ratio * width_ratio - 1) < 0.06

# %% [markdown]
# The product of the two ratios falls a few percent short of 1 because a Gaussian
# describes the core of the broadened line but not the part of it spread into the PSF's
# far wings along x.
#
# So a slitless line width is an upper limit on the line's own width unless the source's
# extent is removed, and a line's peak $F_\lambda$ is not its strength: measure a line
# by its **integrated flux** (exercise 3), which footprint broadening does not change.
#
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
    interior = (wave > 3.25) & (wave < 3.90) & (np.abs(wave - 3.40) > 0.02)
    interior &= ~spectrum.mask
    ratio = np.median(corrected.flux.value[interior] / flux_true[interior])
    print(f"aperture-corrected / injected continuum (median over {interior.sum()} "
          f"columns): {ratio:.4f}")
    assert abs(ratio - 1) < 0.02

    x_true, _ = data.demo.true_trace(1, 1, 3.40 * u.micron)
    offset = line.center - float(x_true)
    print(f"line centre: {line.center:.3f}, injected at column {float(x_true):.3f}: "
          f"off by {offset:+.3f} px")
    assert abs(offset) < 0.3

# %% [markdown]
# Without the aperture correction the continuum would be about 12% low; with a local
# background measured next to the trace, a further ~2% low. Neither is visible by eye in
# a single spectrum: the truth is what shows them.
#
# ## Exercises
#
# ```{exercise-start}
# :label: nb3-ex-another-source
# ```
# Extract another isolated demo source: the extended galaxy at direct-image position
# (1840, 1350) (demo source 8; in GRISMR no other trace falls on it). Find its WFSS
# position, subtract the sky (you can reuse `sky_subtracted`), extract it with ±4 rows,
# flux-calibrate, and correct for the aperture from its own direct-image profile. In
# demo mode, compare the continuum away from its emission line at 3.55 µm with the
# truth.
# ```{exercise-end}
# ```

# %% [markdown]
# ```{solution-start} nb3-ex-another-source
# :class: dropdown
# ```

# %%
def fraction_in_aperture(image, x, y, half_height, radius=40):
    """Fraction of a source's light within y ± half_height rows (its direct image)."""
    rows_ = slice(int(round(y)) - radius, int(round(y)) + radius + 1)
    cols_ = slice(int(round(x)) - radius, int(round(x)) + radius + 1)
    box = image[rows_, cols_]
    box = box - np.ma.median(sigma_clip(box[np.isfinite(box)], sigma=3.0))
    along_y = np.nansum(box, axis=1)
    r = np.arange(rows_.start, rows_.stop)
    top_ = np.minimum(r + 0.5, y + half_height)
    bottom_ = np.maximum(r - 0.5, y - half_height)
    w = np.clip(top_ - bottom_, 0.0, 1.0)
    return np.sum(w * along_y) / np.sum(along_y)


other_direct = (1840.0, 1350.0)
other_x0, other_y0 = direct_to_wfss(direct_image, grismr, *other_direct)
other_extraction = box_extract(
    sky_subtracted, config, order, other_x0, other_y0,
    half_height=4.0, box_half_height=15.0, background=0.0,
)
other_fraction = fraction_in_aperture(direct.data, *other_direct, 4.0)
other_spectrum = flux_calibrate(other_extraction, config) / other_fraction
print(f"WFSS position ({other_x0:.2f}, {other_y0:.2f}); aperture fraction "
      f"{other_fraction:.4f}")
if data.demo is not None:
    other_wave = other_spectrum.spectral_axis.to_value(u.micron)
    other_true_wave, other_true_flam = data.demo.true_spectrum(8)
    other_true = np.interp(other_wave, other_true_wave, other_true_flam)
    other_interior = (other_wave > 3.25) & (other_wave < 3.90)
    other_interior &= (np.abs(other_wave - 3.55) > 0.02) & ~other_spectrum.mask
    other_ratio = np.median(other_spectrum.flux.value[other_interior]
                            / other_true[other_interior])
    print(f"aperture fraction, demo truth: "
          f"{data.demo.source(8)['aperture_fraction_grismr']:.4f}")
    print(f"corrected / injected continuum: {other_ratio:.4f}")
    assert abs(other_ratio - 1) < 0.02

# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise-start}
# :label: nb3-ex-aperture
# ```
# Extract the showcased source with aperture half-heights of 2, 4 and 8 rows. For each,
# compute the aperture fraction from the direct image and compare the continuum before
# and after the aperture correction (with the truth in demo mode, otherwise with the
# ±4-row result). What does a small aperture cost, and what does the correction recover?
# ```{exercise-end}
# ```

# %% [markdown]
# ```{solution-start} nb3-ex-aperture
# :class: dropdown
# ```

# %%
def continuum_level(spec):
    """Median F_λ in the band's interior, away from the line."""
    w = spec.spectral_axis.to_value(u.micron)
    keep = (w > 3.25) & (w < 3.90) & (np.abs(w - 3.40) > 0.02) & ~spec.mask
    if data.demo is None:
        return np.median(spec.flux.value[keep])
    return np.median(spec.flux.value[keep] / np.interp(w, wave_true, flam_true)[keep])


reference = 1.0 if data.demo is not None else continuum_level(corrected)
what = "truth" if data.demo is not None else "the ±4-row corrected spectrum"
print(f"continuum relative to {what}:")
print(" h [rows]   fraction   uncorrected   corrected   median S/N")
corrected_levels = []
for h in (2.0, 4.0, 8.0):
    ext_h = box_extract(
        sky_subtracted, config, order, x0, y0,
        half_height=h, box_half_height=15.0, background=0.0,
    )
    fraction_h = fraction_in_aperture(direct.data, x_direct, y_direct, h)
    spec_h = flux_calibrate(ext_h, config)
    raw_level = continuum_level(spec_h) / reference
    corrected_level = continuum_level(spec_h / fraction_h) / reference
    corrected_levels.append(corrected_level)
    snr_h = np.nanmedian(ext_h.rate / ext_h.rate_err)
    print(f"   {h:3.0f}      {fraction_h:.4f}      {raw_level:.4f}      "
          f"{corrected_level:.4f}      {snr_h:5.1f}")
assert np.ptp(corrected_levels) < 0.02  # the correction makes them agree

# %% [markdown]
# A ±2-row aperture holds only about 70% of the light, ±8 rows about 94%. After the
# correction all three agree within about 1%. The choice is about noise: a wider
# aperture adds sky noise, a narrower one relies more on the correction (and on the
# assumption that the profile does not change with wavelength).
#
# ```{solution-end}
# ```
#
# ```{exercise-start}
# :label: nb3-ex-line-flux
# ```
# Measure the integrated flux of the emission line near 3.4 µm in erg/s/cm². Hint: the
# line flux is $\sum (F_\lambda - \text{continuum})\, d\lambda$, and since $F_\lambda =
# \text{rate}/(S\,d\lambda)$, each column contributes (rate − continuum rate)/$S$:
# $d\lambda$ cancels. Take the continuum from the linear part of the line fit
# (`line.model[1]`) and divide by the aperture fraction. In demo mode, compare with the
# injected line flux (`data.demo.source(1)["line_flux"]`). Is it affected by footprint
# broadening?
# ```{exercise-end}
# ```

# %% [markdown]
# ```{solution-start} nb3-ex-line-flux
# :class: dropdown
# ```

# %%
continuum_rate = line.model[1](extraction.column)  # the linear part of the fit, DN/s
window = np.abs(extraction.wavelength - line_wave) < 0.012 * u.micron  # ~ ±5 sigma
excess = (extraction.rate.value - continuum_rate) / sensitivity_raw  # erg/s/cm² per col
line_flux = np.nansum(excess[window]) / aperture_fraction
print(f"integrated line flux: {line_flux:.3e} erg/s/cm² over {window.sum()} columns")
if data.demo is not None:
    injected = data.demo.source(1)["line_flux"]
    print(f"injected: {injected:.3e} erg/s/cm² -> ratio {line_flux / injected:.3f}")
    assert abs(line_flux / injected - 1) < 0.05

# %% [markdown]
# The integrated flux is within a few percent of the truth although the peak is a third
# low: footprint broadening moves the line's light between columns but does not remove
# it, so the window must be wide enough to hold the broadened line.
#
# ```{solution-end}
# ```
#
# ## Your own data
#
# The recipe below goes from your own pair of calibrated files, a direct image and a
# grism exposure (both `_cal.fits`, made from `_rate.fits` files with
# `calibrate_imaging` and `calibrate_wfss` as in notebook 2), and a source position on
# the direct image, to a flux-calibrated, aperture-corrected spectrum written to a file.
# It needs nothing from this notebook: copy the cell, and change the four lines at its
# top (the files, the position, and where to write the result). Here it runs on this
# notebook's files, as a stand-in for yours. It works for GRISMR and GRISMC alike: the
# exposure's `GrismTrace` finds the dispersion axis (notebook 4).

# %%
from pathlib import Path

import numpy as np
from astropy.stats import sigma_clip
from astropy.table import Table

from wfss_helpers.exposure import DirectImage, WFSSExposure
from wfss_helpers.extraction import (
    aperture_fraction_from_image,
    box_extract,
    dispersed_sky_profile,
    flux_calibrate,
    subtract_background,
)
from wfss_helpers.geometry import direct_to_wfss

# --- change these lines for your data ------------------------------------------
my_direct_file = data.direct_cal  # your direct image, _cal.fits
my_grism_file = data.wfss_cal  # your GRISMR or GRISMC exposure, _cal.fits
my_x, my_y = data.source_position  # your source on the direct image, 0-based pixels
my_output = Path(data.work_dir) / "my_spectrum.ecsv"  # where to write the spectrum
# --------------------------------------------------------------------------------
my_half_height = 4.0  # aperture half-height across the dispersion, pixels

my_direct = DirectImage.open(my_direct_file)
my_grism = WFSSExposure.open(my_grism_file)  # opened and checked once
my_x0, my_y0 = direct_to_wfss(my_direct, my_grism, my_x, my_y)
my_trace = my_grism.trace((my_x0, my_y0), order=1)  # order +1

# 1. the dispersed sky, measured across the dispersion, subtracted
my_sky = dispersed_sky_profile(
    my_grism.data, dispersion_axis=my_trace.dispersion_axis, dq=my_grism.dq
)
my_clean = subtract_background(my_grism.data, my_sky, err=my_grism.err, dq=my_grism.dq)
# 2. box extraction along the trace, 3. F_lambda = rate / (S dlambda)
my_extraction = box_extract(
    my_clean, my_trace, half_height=my_half_height,
    box_half_height=my_half_height + 11, background=0.0,
)
my_spectrum = flux_calibrate(my_extraction)
# 4. aperture correction: the direct image's profile across the dispersion
my_fraction = aperture_fraction_from_image(
    my_direct.data, my_x, my_y, my_trace.cross_axis, my_half_height
)
my_corrected = my_spectrum / my_fraction

Table(
    {
        "wavelength": my_corrected.spectral_axis,
        "flux": my_corrected.flux,
        "flux_err": my_corrected.uncertainty.quantity,
        "masked": my_corrected.mask,
    },
    meta={"source_xy_direct": [my_x, my_y], "aperture_fraction": my_fraction},
).write(my_output, overwrite=True)
print(f"{my_trace.dispersion_axis}-dispersed spectrum of the source at ({my_x:.1f}, "
      f"{my_y:.1f}): {np.sum(~my_corrected.mask)} usable points, aperture fraction "
      f"{my_fraction:.3f}; written to {my_output.name}")

# %% [markdown]
# On this notebook's files the recipe reproduces the spectrum built step by step above:

# %%
same = ~my_corrected.mask & ~corrected.mask
recipe_difference = np.max(np.abs(my_corrected.flux.value - corrected.flux.value)[same])
relative = recipe_difference / typical_flam
print(f"largest difference from `corrected`: {relative:.1e} of a typical F_λ")
assert recipe_difference < 1e-3 * typical_flam

# %% [markdown]
# Before trusting a spectrum of your own source, look at its cutout (`plot_cutout`) for
# neighbouring traces that fall into the aperture (contamination; notebook 4 shows one),
# check that the trace centre runs along the trace, and use only the band's interior.
#
# ## Summary
#
# - Work only inside the trace's bounding box: `DISPX`/`DISPY` at $t = 0$ and 1 give its
#   columns and rows (sample the trace in between if it bows), and the cutout is a numpy
#   slice.
# - The WFSS sky is dispersed light that changes along the dispersion: measure it per
#   column with `sigma_clip(..., axis=0)` (or scale the background reference, as the
#   pipeline does) and subtract it.
# - The spectrum is the sum of each column over an aperture that follows the trace
#   ($t = \mathrm{INVDISPX}(x - x_0)$, row $= y_0 + \mathrm{DISPY}(t)$), with fractional
#   weights at its edges and bad pixels masked.
# - A column's wavelength is $\mathrm{DISPL}(t)$; its width in wavelength, $d\lambda$,
#   is $|\mathrm{DDISPL}/\mathrm{DDISPX}|$ in µm per pixel, × $10^4$ for Å (a unit
#   conversion, not the dispersion).
# - $F_\lambda = \text{rate} / (S\,d\lambda)$ with $S$ = grismconf's `SENS`, the
#   sensitivity; $1/S$ is the inverse sensitivity. Trust it where $S$ is not tiny.
# - The rows next to the trace hold the source's own PSF wings; an aperture correction
#   measured on the direct image recovers the light the aperture misses.
# - A slitless line is the source's image dispersed: it is broadened by the source's
#   extent along the dispersion and its peak is lowered, but its integrated flux is
#   kept.
#
# ## What's next
#
# - Notebook 4, `04_two_grisms`: the same source in GRISMR and GRISMC, and a neighbour
#   that contaminates one of them.
# - The pipeline's own WFSS products: the `x1d` files that `calwebb_spec2` writes for
#   every source of a catalogue (the JDox pages "NIRCam Wide Field Slitless
#   Spectroscopy" and "JWST pipeline WFSS" at https://jwst-docs.stsci.edu describe
#   them).
# - For contamination modelling and optimal extraction of many sources: **grizli** and
#   **slitlessutils**.
