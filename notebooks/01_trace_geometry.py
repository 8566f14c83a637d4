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
# # 1. Trace geometry: from a source position to a dispersed trace
#
# **Authors:** The wfss-helpers contributors
#
# **Date:** 2026-11-25
#
# A NIRCam grism disperses the light of **every** source in the field. Where a source's
# spectrum lands on the detector, and which wavelength each pixel of it receives, is
# described by a small set of polynomials: the *grism configuration*. This notebook
# evaluates them with [grismconf](https://github.com/npirzkal/GRISMCONF) directly, one
# call at a time, and then with the `wfss_helpers` function that packages each call, so
# that you can do every step without our module.
#
# **Learning goals.** By the end of this notebook you will be able to
#
# - explain the **t-parametrisation** of a trace and the three functions `DISPX`,
#   `DISPY` and `DISPL` that map `t` to a pixel offset and a wavelength, and call them;
# - invert them (`INVDISPL`, `INVDISPX`, and `INVDISPY` for GRISMC), and know how
#   accurate grismconf's inverses are;
# - find the pixel that receives a given wavelength (and avoid a slip of the seed
#   notebook), and the dispersion in Å per pixel;
# - compute where a source's orders +1 and +2 fall on a WFSS exposure, and draw the
#   trace over the exposure;
# - read the same configuration from a pipeline-processed WFSS file and from a plain
#   grismconf `.conf` file.
#
# **Prerequisites.** This is the first notebook. You need Python and numpy arrays,
# astropy units (`Quantity`), a little Matplotlib, and the idea of slitless
# spectroscopy: a grism in the beam turns every source of a direct image into a short
# spectrum on the detector.
#
# **Time to learn.** 30 minutes.
#
# **Keywords.** JWST, NIRCam, wide field slitless spectroscopy (WFSS), grism, GRISMR,
# GRISMC, grismconf, trace, dispersion, t-parametrisation, spectral order.
#
# The notebook runs on the embedded **demo dataset** (a synthetic NIRCam F356W field,
# with known truth, seen through GRISMR and GRISMC) unless the environment variable
# `WFSS_TUTORIAL_DATA=real` is set, in which case it uses the real GRISMR exposure of
# JWST program 01076 (the data of the STScI notebook "WFSS Box Extraction Example", the
# *seed notebook* that this tutorial follows).

# %% [markdown]
# ## Imports and versions

# %%
import grismconf
import matplotlib.pyplot as plt
import numpy as np
from astropy import units as u
from astropy.io import fits

from wfss_helpers.geometry import (
    GrismTrace,
    angstrom_per_pixel,
    column_to_wavelength,
    direct_to_wfss,
    dispersed_position,
    load_grism_config,
    t_from_column,
    t_from_wavelength,
    trace_wavelength,
    wavelength_to_pixel,
)
from wfss_helpers.plotting import image_norm, use_tutorial_style
from wfss_helpers.tutorial_data import get_tutorial_data

use_tutorial_style()

# %% [markdown]
# Versions used to run this page:

# %%
import sys
import textwrap
from importlib.metadata import version

print(f"python        {sys.version.split()[0]}")
packages = ("numpy", "astropy", "jwst", "stdatamodels", "grismconf", "wfss_helpers")
for package in packages:
    print(f"{package:13s} {version(package)}")

# %% [markdown]
# `get_tutorial_data()` returns the paths of the files we work on: the direct image and
# the WFSS (grism) exposure, both already calibrated (notebook 2 shows how).

# %%
data = get_tutorial_data()
print(f"data: {data.mode}")
print(f"direct image:   {data.direct_cal.name}")
print(f"WFSS exposure:  {data.wfss_cal.name}")

# %% [markdown]
# ## The grism configuration
#
# For a source whose light would land at pixel $(x_0, y_0)$ without the grism, order $m$
# of its spectrum is the curve
#
# $$x = x_0 + \mathrm{DISPX}_m(x_0, y_0, t), \qquad
#   y = y_0 + \mathrm{DISPY}_m(x_0, y_0, t), \qquad
#   \lambda = \mathrm{DISPL}_m(x_0, y_0, t),$$
#
# where $t$ is a free parameter: $t = 0$ and $t = 1$ bracket the order's useful
# wavelength range (Pirzkal & Ryan 2017). Each function is a low-order polynomial in $t$
# whose coefficients are themselves polynomials of $(x_0, y_0)$: the trace's offset,
# tilt, curvature and dispersion change across the field.
#
# grismconf evaluates these polynomials. It reads them either from a WFSS file processed
# by the jwst pipeline (its gWCS holds the same polynomials, from the `specwcs`
# reference file) or from a `.conf` text file. `load_grism_config` calls
# `grismconf.Config(path)` for you; what it adds is finding the sensitivity reference
# file that a processed WFSS file names (grismconf looks for it in the working
# directory, or downloads it from CRDS), and recording the filter and grism the
# configuration is for. What it returns is a plain `grismconf.Config`: every call below
# is grismconf's own.

# %%
config = load_grism_config(data.wfss_cal)
print(type(config))
print("orders:", config.orders)

# %% [markdown]
# The orders are named by strings, `"+1"` and `"+2"`: that is how grismconf's functions
# take them. The helpers also accept the integers `1` and `2`.
#
# The showcased source sits at direct-image pixel `data.source_position`. The direct
# image and the grism exposure are taken at slightly different pointings, so we go
# through the sky to find $(x_0, y_0)$ on the grism exposure (notebook 2 explains this
# step).

# %%
x_direct, y_direct = data.source_position
x0, y0 = direct_to_wfss(data.direct_cal, data.wfss_cal, x_direct, y_direct)
print(f"direct image (x, y) = ({x_direct:.2f}, {y_direct:.2f})")
print(f"WFSS (x0, y0)       = ({x0:.3f}, {y0:.3f})")

# %% [markdown]
# ## Evaluating DISPX, DISPY and DISPL
#
# The raw grismconf calls take the order's name, the source position and `t` (a number
# or an array). `DISPX` and `DISPY` return **offsets** from $(x_0, y_0)$, not positions,
# and `DISPL` returns the wavelength in micron as a plain number. Along order +1, for a
# few values of $t$ (this cell needs `config`, `x0` and `y0` from the cells above):

# %%
t = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
dx_raw = config.DISPX("+1", x0, y0, t)  # offset along x [pix]
dy_raw = config.DISPY("+1", x0, y0, t)  # offset along y [pix]
wave_raw = config.DISPL("+1", x0, y0, t)  # wavelength [micron]
x_raw, y_raw = x0 + dx_raw, y0 + dy_raw  # detector position of the trace centre
print("    t        x         y     wavelength [micron]")
for row in zip(t, x_raw, y_raw, wave_raw):
    print(f"{row[0]:5.2f}  {row[1]:8.2f}  {row[2]:8.2f}  {row[3]:.4f}")

# %% [markdown]
# The spectrum spans about a thousand columns. It does not run through the source's own
# row: the whole trace sits about **22 rows below** $y_0$ (the trace offset of NIRCam's
# module A GRISMR) and bows by a couple of rows along its length. Note also that $x$ at
# $t = 0$ lies almost 900 pixels to the left of $x_0$: in a GRISMR exposure the source's
# own position is not where its spectrum is.
#
# The helpers `dispersed_position` and `trace_wavelength` make the same calls. They add
# $(x_0, y_0)$ to the offsets, check their arguments (an unknown order, a position that
# is not a number, `t` given as a wavelength...) with messages that say what to do, and
# return the wavelength as an astropy `Quantity`. Both routes must agree to rounding:

# %%
x_helper, y_helper = dispersed_position(config, 1, x0, y0, t)
wave_helper = trace_wavelength(config, 1, x0, y0, t)
position_difference = max(np.max(np.abs(x_helper - x_raw)),
                          np.max(np.abs(y_helper - y_raw)))
wave_difference = np.max(np.abs(wave_helper.to_value(u.micron) - wave_raw))
print(f"largest difference, raw vs helper: position {position_difference:.1e} px, "
      f"wavelength {wave_difference:.1e} micron")
assert position_difference < 1e-9 and wave_difference < 1e-12

# %% [markdown]
# Both helpers are shortcuts for a `GrismTrace`, an object that holds one order of one
# source: `GrismTrace(config, 1, x0, y0).position(t)` is `dispersed_position(config, 1,
# x0, y0, t)`. It also finds along which axis the order disperses, which matters for
# GRISMC (below):

# %%
trace_r = GrismTrace(config, 1, x0, y0)
print(f"order {trace_r.order} disperses along {trace_r.dispersion_axis}, "
      f"wavelength range {trace_r.wavelength_range.round(4)}")
assert np.allclose(trace_r.position(t), (x_helper, y_helper), rtol=0, atol=1e-9)

# %% [markdown]
# ## The dispersion in Å per pixel
#
# The wavelength step of one pixel of the spectrum, $d\lambda/dx$, is the ratio of two
# derivatives along the trace: $d\lambda/dt$ over $dx/dt$. grismconf gives both
# analytically, as `DDISPL` and `DDISPX`. They are in micron and pixels, so a factor
# $10^4$ converts micron to Å. (The seed notebook's comment that this "10000 comes from
# ~10 Å per pixel" is wrong: it is the unit conversion, and only a coincidence makes
# NIRCam's dispersion close to 10 Å per pixel.) This number is the $d\lambda$ of the
# flux calibration in notebook 3, where an error in it scales the whole spectrum.

# %%
dispersion_raw = (
    np.abs(config.DDISPL("+1", x0, y0, t) / config.DDISPX("+1", x0, y0, t)) * 1e4
)  # [micron/pix] * 1e4 = [Å/pix]
dispersion_helper = angstrom_per_pixel(config, 1, x0, y0, t)
dispersion_difference = np.max(np.abs(dispersion_helper.to_value(u.AA / u.pix)
                                      - dispersion_raw))
for t_value, value in zip(t, dispersion_helper):
    print(f"t = {t_value:4.2f}: {value:.3f}")
print(f"largest difference, raw vs helper: {dispersion_difference:.1e} Å/pix")
assert dispersion_difference < 1e-9

# %% [markdown]
# About 9.7 to 9.9 Å per pixel along order +1, slowly increasing to the red.
# `angstrom_per_pixel` divides by the derivative along the *dispersion axis*: `DDISPX`
# for GRISMR, `DDISPY` for GRISMC.
#
# ## Inverting: from a wavelength to t (INVDISPL)
#
# Extraction needs the other direction: given a wavelength (or a column), which $t$? For
# a polynomial of degree 2 or more in $t$ there is no general closed form. grismconf's
# `INVDISPL` samples `DISPL` at 40 values of $t$ between -1 and 2 and interpolates
# linearly between them. The helper `t_from_wavelength` refines that with Newton's
# method on the forward polynomial and its derivative `DDISPL`, after checking that
# `DISPL` is monotonic (so that the inverse is unique). Ten wavelengths inside the
# order, both ways:

# %%
band = config.DISPL("+1", x0, y0, np.array([0.0, 1.0]))  # the order's ends [micron]
lam = np.linspace(band[0], band[1], 12)[1:-1]  # ten wavelengths inside the order
t_raw = config.INVDISPL("+1", x0, y0, lam)
t_helper = t_from_wavelength(config, 1, x0, y0, lam * u.micron)
t_difference = np.max(np.abs(t_helper - t_raw))
pixel_difference = np.max(np.abs(config.DISPX("+1", x0, y0, t_helper)
                                 - config.DISPX("+1", x0, y0, t_raw)))
error_raw = np.max(np.abs(config.DISPL("+1", x0, y0, t_raw) - lam))
error_helper = np.max(np.abs(config.DISPL("+1", x0, y0, t_helper) - lam))
print(f"max |DISPL(t) - lambda|: INVDISPL {error_raw:.1e} micron, "
      f"Newton {error_helper:.1e} micron")
print(f"largest difference, raw vs helper: t {t_difference:.1e}, "
      f"x {pixel_difference:.4f} px")
assert pixel_difference < 0.05  # grismconf's interpolation: a small fraction of a pixel

# %% [markdown]
# A wavelength error of $10^{-5}$ µm is about a hundredth of a pixel here, harmless for
# a box extraction, but it is easy to remove, and exact inverses make round trips
# testable.
#
# ## From a column to a wavelength (INVDISPX)
#
# `INVDISPX` answers "which $t$ puts the trace in this column?". Beware: like `DISPX`,
# it works with the **offset** $x - x_0$, not the column number itself; passing the
# column is a classic slip. The wavelength of the column is then `DISPL` at that $t$.
# The helpers `t_from_column` and `column_to_wavelength` take the column (and refine the
# inverse by Newton's method, as above):

# %%
columns = np.round(x0) + np.array([-800.0, -600.0, -400.0, -200.0, 0.0, 150.0])
t_columns_raw = config.INVDISPX("+1", x0, y0, columns - x0)  # offset, not column
wave_columns_raw = config.DISPL("+1", x0, y0, t_columns_raw)  # [micron]
t_columns_helper = t_from_column(config, 1, x0, y0, columns)
wave_columns_helper = column_to_wavelength(config, 1, x0, y0, columns)
for column, value in zip(columns, wave_columns_helper):
    print(f"column {column:6.0f}: {value:.5f}")
column_t_difference = np.max(np.abs(t_columns_helper - t_columns_raw))
column_wave_difference = np.max(np.abs(wave_columns_helper.to_value(u.micron)
                                       - wave_columns_raw))
print(f"largest difference, raw vs helper: t {column_t_difference:.1e}, "
      f"wavelength {column_wave_difference:.1e} micron")
assert column_wave_difference < 1e-4  # 1e-4 micron = 1 Å, a tenth of a pixel

# %% [markdown]
# The column of the source itself ($x - x_0 = 0$) receives close to 3.95 µm: the
# *undeviated* wavelength, which the grism passes straight through. Shorter wavelengths
# land to the left of the source, longer ones to the right. (When the difference printed
# above is at the level of rounding, `DISPX` is linear in $t$, as in NIRCam's
# configurations, and grismconf's linear interpolation is already exact; `INVDISPL` is
# where the refinement matters.)
#
# ## Where does 3.5 µm land? Correcting a slip of the seed notebook
#
# The seed notebook asks where the 3.5 µm light of a source at
# $(x_0, y_0) = (1000, 1000)$ falls. With the raw calls: `INVDISPL` gives $t$, then
# `DISPX` and `DISPY` give the offsets. Its own output was column 558.6, but its text
# says the 3.5 µm pixel is at column **1558**. The output is right: 3.5 µm is bluer
# than the undeviated 3.95 µm, so it lands to the **left** of the source, about 441
# columns left of 1000 at ~9.8 Å per pixel. Column 1558 would be 558 columns to the
# *right* of the source, where light of about 4.5 µm would fall, beyond the F356W band.
# Here is the computation for the configuration in use (this cell needs only `config`):

# %%
x_seed, y_seed = 1000.0, 1000.0  # the seed notebook's example position
t_35 = config.INVDISPL("+1", x_seed, y_seed, 3.5)
x_35_raw = x_seed + config.DISPX("+1", x_seed, y_seed, t_35)
y_35_raw = y_seed + config.DISPY("+1", x_seed, y_seed, t_35)
x_35, y_35 = wavelength_to_pixel(config, 1, x_seed, y_seed, 3.5 * u.micron)
wave_back = column_to_wavelength(config, 1, x_seed, y_seed, x_35)
print(f"raw:    t = {float(t_35):.6f}, (x, y) = ({float(x_35_raw):.2f}, "
      f"{float(y_35_raw):.2f})")
print(f"helper: (x, y) = ({float(x_35):.2f}, {float(y_35):.2f}); "
      f"wavelength there: {float(wave_back.to_value(u.micron)):.7f} micron")
print(f"difference, raw vs helper: x {abs(float(x_35 - x_35_raw)):.4f} px, "
      f"y {abs(float(y_35 - y_35_raw)):.4f} px")
assert abs(x_35 - x_35_raw) < 0.05 and abs(y_35 - y_35_raw) < 0.05
assert abs(x_35 - 558.6) < 5, "3.5 micron lands near column 559, left of the source"

# %% [markdown]
# On the real data the seed notebook printed $t = 0.41872$ and the trace point
# (558.60, 976.98); the demo instrument, built to match NIRCam's calibration, gives
# nearly the same. Computing the wavelength back at that column, the seed found
# 3.4999917 µm, because grismconf's inverses are interpolated; with the exact inverses
# it comes back as 3.5 µm to rounding.
#
# A quick sanity check for any such number, in module A GRISMR: the trace runs from
# about 880 columns left of the source (the blue end) to about 170 columns right of it
# (the red end), at about 10 Å per pixel, and the undeviated wavelength is about
# 3.95 µm.
#
# ## A round trip: wavelength → pixel → wavelength
#
# `wavelength_to_pixel` combines `INVDISPL` with `DISPX`/`DISPY`; `column_to_wavelength`
# combines `INVDISPX` with `DISPL`. With exact inverses a round trip returns the
# wavelength we started from (`lam` is from the `INVDISPL` cell):

# %%
x_line, y_line = wavelength_to_pixel(config, 1, x0, y0, lam * u.micron)
lam_back = column_to_wavelength(config, 1, x0, y0, x_line)
round_trip = np.max(np.abs(lam_back - lam * u.micron)).to(u.AA)
print(f"max round-trip error: {round_trip:.2e}")
assert round_trip < 1e-4 * u.AA

# %% [markdown]
# ## Orders +1 and +2
#
# The grism also sends light into a second order, twice as dispersed (about 5 Å per
# pixel). On NIRCam it lands on the *other* side of the source, 2250 to 3250 pixels to
# the right:

# %%
for order in config.orders:
    start, end = dispersed_position(config, order, x0, y0, [0.0, 1.0])
    ends = trace_wavelength(config, order, x0, y0, [0.0, 1.0])
    print(f"order {order}: x from {start[0]:7.1f} to {start[1]:7.1f}, "
          f"{ends[0]:.3f} to {ends[1]:.3f}")

# %% [markdown]
# Order +2 of a source on the detector always lands past its right edge: the order +2
# light seen in a NIRCam GRISMR exposure comes from sources *outside* the field, 2250 or
# more pixels to the left of where it falls. Order +1 and order +2 of the same source
# never overlap here. In detector coordinates, coloured by wavelength on one common
# scale (the grey band is the detector):

# %% mystnb={"image": {"alt": "Trace centres of orders +1 and +2 of the showcased source in detector coordinates, coloured by wavelength from about 3.1 to 4.1 micron. Order +1 runs from about 880 columns left of the source to about 170 columns right of it, on the detector; order +2 starts about 2250 columns right of the source, far beyond the right edge of the detector, shown as a grey band."}}
t_fine = np.linspace(0, 1, 200)
wave_limits = (3.0, 4.15)  # micron: one colour scale for both orders
n_columns = fits.getheader(data.wfss_cal, "SCI")["NAXIS1"]  # detector width [pix]
fig, ax = plt.subplots(figsize=(9, 3.2))
ax.axvspan(-0.5, n_columns - 0.5, color="0.9", zorder=0, label="detector")
for order, marker in (("+1", "o"), ("+2", "x")):
    xo, yo = dispersed_position(config, order, x0, y0, t_fine)
    wo = trace_wavelength(config, order, x0, y0, t_fine).to_value(u.micron)
    points = ax.scatter(xo, yo, c=wo, s=5, marker=marker, cmap="viridis",
                        vmin=wave_limits[0], vmax=wave_limits[1])
    ax.annotate(f"order {order}", (xo[100], yo[100] + 2.5), ha="center")
ax.plot([x0], [y0], marker="*", color="C3", ms=11, ls="none", label="source (x0, y0)")
ax.set_xlim(x0 - 1000, x0 + 3400)
ax.set_ylim(y0 - 35, y0 + 10)
ax.set_xlabel("x (detector column) [pix]")
ax.set_ylabel("y (detector row) [pix]")
ax.set_title("Trace centres of orders +1 and +2 for 0 ≤ t ≤ 1")
ax.legend(loc="upper right")
fig.colorbar(points, ax=ax, label="wavelength [µm]")
plt.show()

# %% [markdown]
# ## The trace on the exposure
#
# Now the exposure itself. The image is shown with an asinh stretch (`image_norm`: a
# percentile clip, then asinh). The clip is computed on the rows shown, at the 99.99th
# percentile, so that the brightest pixels of the trace sit at the top of the scale
# instead of being flattened into black, while the asinh keeps the faint sky visible.
# The vertical axis is stretched (`aspect="auto"`) so that a band of rows around the
# source fills the panel. The thin dashed lines mark
# 6 rows above and below the computed trace centre, leaving the trace itself visible
# (this cell needs `data`, `config`, `x0` and `y0`):

# %% mystnb={"image": {"alt": "A band of the GRISMR exposure around the showcased source, full detector width, in DN/s with an asinh stretch. The showcased source's order +1 spectrum is a dark horizontal band from about column 700 to 1600, about 22 rows below the source's position (a red star), between two dashed lines that follow the computed trace; the dispersed sky fades toward the right edge."}}
wfss_sci, sci_header = fits.getdata(data.wfss_cal, "SCI", header=True)
sci_unit = sci_header.get("BUNIT", "DN/s")
x_trace, y_trace = dispersed_position(config, 1, x0, y0, np.linspace(0, 1, 500))
rows_shown = (int(y0) - 70, int(y0) + 30)
band_norm = image_norm(wfss_sci[rows_shown[0]:rows_shown[1]], 99.99, asinh_a=0.5)
fig, ax = plt.subplots(figsize=(9, 3.6))
image = ax.imshow(wfss_sci, origin="lower", cmap="gray_r", aspect="auto",
                  norm=band_norm)
for offset in (-6, 6):
    ax.plot(x_trace, y_trace + offset, color="C1", lw=0.8, ls="--")
ax.plot([], [], color="C1", lw=0.8, ls="--", label="order +1 trace centre ± 6 rows")
ax.plot([x0], [y0], marker="*", color="C3", ms=11, ls="none", label="source (x0, y0)")
ax.set_xlim(-0.5, wfss_sci.shape[1] - 0.5)
ax.set_ylim(*rows_shown)
ax.set_xlabel("x (detector column) [pix]")
ax.set_ylabel("y (detector row) [pix]")
ax.set_title(f"{data.wfss_cal.name}: rows around the showcased source")
ax.legend(loc="upper left")
fig.colorbar(image, ax=ax, label=f"count rate [{sci_unit}]")
plt.show()

# %% [markdown]
# Zoom in on the trace to see the spectrum itself, its offset below the source's row and
# its gentle bow. The orange line is the trace centre computed above (same stretch as
# the previous figure, whose cell this one needs):

# %% mystnb={"image": {"alt": "Zoom on the showcased source's order +1 spectrum in the GRISMR exposure, in DN/s with an asinh stretch: a bright horizontal band about 1050 columns long, about 22 rows below the source's row (dashed red line), slightly bowed, with the computed trace centre (orange line) running along its middle, and a short dark feature near column 980, the source's emission line."}}
fig, ax = plt.subplots(figsize=(9, 3.2))
image = ax.imshow(wfss_sci, origin="lower", cmap="gray_r", aspect="auto",
                  norm=band_norm)
ax.plot(x_trace, y_trace, color="C1", lw=0.8, alpha=0.8, label="order +1 trace centre")
ax.axhline(y0, color="C3", lw=0.8, ls="--", label="row of the source, y0")
ax.set_xlim(x_trace.min() - 20, x_trace.max() + 20)
ax.set_ylim(y_trace.mean() - 15, y0 + 8)
ax.set_xlabel("x (detector column) [pix]")
ax.set_ylabel("y (detector row) [pix]")
ax.set_title("Order +1 of the showcased source: offset below y0 and bow")
ax.legend(loc="upper left")
fig.colorbar(image, ax=ax, label=f"count rate [{sci_unit}]")
plt.show()

# %% [markdown]
# In the demo data, the short dark feature near column 980 is the source's emission
# line at 3.4 µm: a line is an image of the source at one wavelength. Notebook 3
# measures it.
#
# ## GRISMC: dispersion along y, and INVDISPY
#
# NIRCam's other grism, GRISMC, disperses along the detector **columns** ($y$). Its
# configuration has the same functions, but the roles swap: `DISPY` now moves the trace
# by a thousand pixels over $t = 0 \dots 1$, while `DISPX` is the small offset across
# the dispersion (about -44 columns). To go from a **row** to a wavelength, the inverse
# to use is therefore `INVDISPY` (with the offset $y - y_0$), then `DISPL`; `INVDISPX`
# would have to invert an offset that hardly changes with $t$, and may even turn back.
# `GrismTrace` picks the axis for you: it measures how far `DISPX` and `DISPY` move over
# $t = 0 \dots 1$, and its "pixel" methods work along the dispersion axis (the column
# for GRISMR, the row for GRISMC).
#
# The demo dataset has a GRISMC exposure of the same field (`data.grismc_cal`); the real
# data of this tutorial are GRISMR only, so this cell does nothing there (it needs
# `data`, `x_direct` and `y_direct`):

# %%
if data.grismc_cal is not None:
    config_c = load_grism_config(data.grismc_cal)
    xc0, yc0 = direct_to_wfss(data.direct_cal, data.grismc_cal, x_direct, y_direct)
    ends = np.array([0.0, 1.0])
    print(f"GRISMC, source at ({xc0:.1f}, {yc0:.1f}): over t = 0..1, DISPX goes "
          f"{np.round(config_c.DISPX('+1', xc0, yc0, ends), 1)}, DISPY goes "
          f"{np.round(config_c.DISPY('+1', xc0, yc0, ends), 1)} px")
    rows = np.round(yc0) + np.array([-800.0, -400.0, 0.0, 150.0])
    t_rows_raw = config_c.INVDISPY("+1", xc0, yc0, rows - yc0)  # offset y - y0
    wave_rows_raw = config_c.DISPL("+1", xc0, yc0, t_rows_raw)  # [micron]
    trace_c = GrismTrace(config_c, 1, xc0, yc0)
    wave_rows_helper = trace_c.wavelength_at_pixel(rows)  # rows, since axis is y
    print(f"GrismTrace: disperses along {trace_c.dispersion_axis}")
    for row, value in zip(rows, wave_rows_helper):
        print(f"row {row:6.0f}: {value:.5f}")
    rows_t_difference = np.max(np.abs(trace_c.t_from_pixel(rows) - t_rows_raw))
    rows_wave_difference = np.max(np.abs(wave_rows_helper.to_value(u.micron)
                                         - wave_rows_raw))
    print(f"largest difference, raw vs helper: t {rows_t_difference:.1e}, "
          f"wavelength {rows_wave_difference:.1e} micron")
    assert trace_c.dispersion_axis == "y" and rows_wave_difference < 1e-4
else:
    print("No GRISMC exposure in this dataset: skipped.")

# %% [markdown]
# The functions named after columns refuse a GRISMC trace rather than return a wrong
# number, and grismconf's own `INVDISPX` fails there as soon as the offset is outside
# the one column or so that `DISPX` spans (this cell needs the previous one):

# %%
if data.grismc_cal is not None:
    try:
        column_to_wavelength(config_c, 1, xc0, yc0, 1500.0)
    except ValueError as err:
        print("column_to_wavelength:", textwrap.fill(str(err), 86), sep="\n")
    try:
        t_bad = config_c.INVDISPX("+1", xc0, yc0, 0.0)
        print(f"INVDISPX on GRISMC returned t = {t_bad}: meaningless")
    except ValueError as err:
        print("INVDISPX on GRISMC:", textwrap.fill(str(err), 86), sep="\n")

# %% [markdown]
# ## The same configuration from a `.conf` file
#
# Before a WFSS exposure is processed, or for simulations, the configuration comes as a
# grismconf `.conf` text file with sensitivity tables beside it:
# `grismconf.Config(path)` reads it (and `load_grism_config(path)` does the same). In
# demo mode the demo instrument ships one; it must give the same traces as the
# configuration read from the processed file:

# %%
if data.demo is not None:
    config_from_conf = grismconf.Config(str(data.demo.grismconf_file))
    tt = np.linspace(0, 1, 50)
    for order in config_from_conf.orders:
        a = np.array([config.DISPX(order, x0, y0, tt), config.DISPY(order, x0, y0, tt)])
        b = np.array([config_from_conf.DISPX(order, x0, y0, tt),
                      config_from_conf.DISPY(order, x0, y0, tt)])
        print(f"order {order}: largest difference between file and .conf traces = "
              f"{np.max(np.abs(a - b)):.1e} px")
        assert np.max(np.abs(a - b)) < 1e-8

# %% [markdown]
# ## Check against the truth
#
# The demo dataset was rendered with the demo instrument's own polynomials at known
# positions. The trace computed here, through the pipeline's gWCS and grismconf, must
# put each wavelength where the light was injected:

# %%
if data.demo is not None:
    check = np.array([3.2, 3.4, 3.6, 3.8]) * u.micron
    x_ours, y_ours = wavelength_to_pixel(config, 1, x0, y0, check)
    x_true, y_true = data.demo.true_trace(1, 1, check)
    offset = np.hypot(x_ours - x_true, y_ours - y_true)
    for w, d in zip(check, offset):
        print(f"{w:.2f}: trace position off by {d:.4f} px")
    assert np.all(offset < 0.05), "trace position must match the truth to 0.05 px"

# %% [markdown]
# ## Exercises
#
# ```{exercise-start}
# :label: nb1-ex-left-edge
# ```
# A source sits near the left edge of the GRISMR exposure, at
# $(x_0, y_0) = (120, 1000)$. Where does its order +1 start ($t = 0$) and end ($t = 1$)?
# Which wavelength reaches column 0, the detector's first column, and what fraction of
# the order's columns land on the detector? Do it with the raw grismconf calls, then
# check with the helpers.
# ```{exercise-end}
# ```

# %% [markdown]
# ```{solution-start} nb1-ex-left-edge
# :class: dropdown
# ```
# `DISPX` at $t = 0$ and $1$ gives the ends; `INVDISPX` of the offset $0 - x_0$ gives
# the $t$ of column 0, and `DISPL` its wavelength. Everything bluer falls off the
# detector.

# %%
x_edge, y_edge = 120.0, 1000.0
n_columns = fits.getheader(data.wfss_cal, "SCI")["NAXIS1"]  # detector width [pix]
x_ends = x_edge + config.DISPX("+1", x_edge, y_edge, np.array([0.0, 1.0]))
t_first = config.INVDISPX("+1", x_edge, y_edge, 0.0 - x_edge)
wave_first = config.DISPL("+1", x_edge, y_edge, t_first)
on_detector = (min(x_ends[1], n_columns - 1) - 0.0) / (x_ends[1] - x_ends[0])
print(f"order +1 runs from column {x_ends[0]:.1f} to {x_ends[1]:.1f}")
print(f"column 0 receives {float(wave_first):.4f} micron (t = {float(t_first):.3f}); "
      f"{on_detector:.0%} of the order's columns are on the detector")
wave_first_helper = column_to_wavelength(config, 1, x_edge, y_edge, 0.0)
print(f"helper: {wave_first_helper:.4f}, difference "
      f"{abs(float(wave_first_helper.to_value(u.micron) - wave_first)):.1e} micron")
assert x_ends[0] < 0 < x_ends[1] < n_columns
assert abs(wave_first_helper.to_value(u.micron) - wave_first) < 1e-4

# %% [markdown]
# Only the red end of the spectrum is on the detector; its blue part is lost, and the
# extraction of such a source must stop at column 0 (notebook 3's bounding box is
# clipped there).
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise-start}
# :label: nb1-ex-dispersion
# ```
# Compute the dispersion in Å per pixel at the blue and red ends of orders +1 and +2 of
# the showcased source, from `DDISPL` and `DDISPX`, and check with `angstrom_per_pixel`.
# By how much does it change along order +1, and how many times more dispersed is order
# +2?
# ```{exercise-end}
# ```

# %% [markdown]
# ```{solution-start} nb1-ex-dispersion
# :class: dropdown
# ```

# %%
t_ends = np.array([0.0, 1.0])  # blue end, red end
per_pixel = {}
for order in ("+1", "+2"):
    raw = np.abs(config.DDISPL(order, x0, y0, t_ends)
                 / config.DDISPX(order, x0, y0, t_ends)) * 1e4 * np.ones(2)  # Å/pix
    helper = angstrom_per_pixel(config, order, x0, y0, t_ends).to_value(u.AA / u.pix)
    per_pixel[order] = helper
    print(f"order {order}: blue end {raw[0]:.3f}, red end {raw[1]:.3f} Å/pix; "
          f"raw vs helper {np.max(np.abs(raw - helper)):.1e} Å/pix")
    assert np.allclose(raw, helper, rtol=1e-10)
change = per_pixel["+1"][1] - per_pixel["+1"][0]
ratio = np.mean(per_pixel["+1"]) / np.mean(per_pixel["+2"])
print(f"order +1 changes by {change:+.3f} Å/pix from blue to red; "
      f"order +2 is {ratio:.2f} times more dispersed")
assert 1.5 < ratio < 2.5

# %% [markdown]
# Order +1 changes by about 0.1 to 0.2 Å per pixel along its length, a percent or two:
# flux calibration must use the dispersion of each column, not one number. Order +2 is
# about twice as dispersed. (Multiplying by $10^4$ converts micron to Å.)
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise-start}
# :label: nb1-ex-grismc
# ```
# On the GRISMC exposure (demo data only), at which **row** does the showcased source
# receive 3.5 µm, and how far is the trace there from the source's column $x_0$? Use
# `INVDISPL`, then `DISPX` and `DISPY`; check with a `GrismTrace`. Compare the offset
# across the dispersion with GRISMR's.
# ```{exercise-end}
# ```

# %% [markdown]
# ```{solution-start} nb1-ex-grismc
# :class: dropdown
# ```

# %%
if data.grismc_cal is not None:
    config_c = load_grism_config(data.grismc_cal)
    xc0, yc0 = direct_to_wfss(data.direct_cal, data.grismc_cal, x_direct, y_direct)
    t_c35 = config_c.INVDISPL("+1", xc0, yc0, 3.5)
    row_35 = yc0 + config_c.DISPY("+1", xc0, yc0, t_c35)
    cross_c = config_c.DISPX("+1", xc0, yc0, t_c35)
    trace_c = GrismTrace(config_c, 1, xc0, yc0)
    row_35_helper = trace_c.pixel_at_wavelength(3.5 * u.micron)
    cross_r = config.DISPY("+1", x0, y0, config.INVDISPL("+1", x0, y0, 3.5))
    print(f"GRISMC: 3.5 micron at row {float(row_35):.2f} (helper "
          f"{float(row_35_helper):.2f}, difference "
          f"{abs(float(row_35_helper - row_35)):.4f} px), "
          f"{float(cross_c):.1f} columns from x0")
    print(f"GRISMR: 3.5 micron {float(cross_r):.1f} rows from y0")
    assert abs(row_35_helper - row_35) < 0.05
    assert -50 < cross_c < -38 and -28 < cross_r < -17
else:
    print("No GRISMC exposure in this dataset: run this with the demo data.")

# %% [markdown]
# The GRISMC trace runs along the rows, about 44 columns to the left of the source:
# twice GRISMR's offset of about 22 rows. The row comes from `DISPY`, because GRISMC
# disperses along $y$.
# ```{solution-end}
# ```

# %% [markdown]
# ## Summary
#
# - A trace is the curve $(x_0 + \mathrm{DISPX}(t),\ y_0 + \mathrm{DISPY}(t))$, with
#   wavelength $\mathrm{DISPL}(t)$; the coefficients depend on the source position.
#   grismconf's `DISPX`, `DISPY` and `DISPL` return offsets (in pixels) and wavelengths
#   (in micron).
# - The inverses `INVDISPL`, `INVDISPX` (GRISMR) and `INVDISPY` (GRISMC) take a
#   wavelength or an **offset** from the source; grismconf interpolates them, Newton's
#   method makes them exact. `GrismTrace` picks the dispersion axis.
# - For a source at (1000, 1000), 3.5 µm lands near column 559, to the left of the
#   source, not at 1558.
# - The dispersion is $|d\lambda/dt| / |dx/dt|$, about 9.7 to 9.9 Å per pixel in order
#   +1; the factor $10^4$ converts micron to Å.
# - The same configuration is available from a processed WFSS file and from a `.conf`.
#
# ## What's next
#
# - Notebook 2 (`02_calibration_and_positions`) shows how the pipeline prepares the
#   files, and how $(x_0, y_0)$ is found from a direct-image position.
# - The jwst pipeline makes its own WFSS spectra: the `x1d` files of `calwebb_spec2`.
# - For full-field WFSS modelling and contamination: grizli and slitlessutils.
# - JDox (https://jwst-docs.stsci.edu): the pages "NIRCam Wide Field Slitless
#   Spectroscopy" and "JWST pipeline WFSS".
