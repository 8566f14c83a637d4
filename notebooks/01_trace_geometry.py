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
# A NIRCam grism disperses the light of **every** source in the field. Where a source's
# spectrum lands on the detector, and which wavelength each pixel of it receives, is
# described by a small set of polynomials: the *grism configuration*.
#
# ## Learning goals
#
# By the end of this notebook you will be able to
#
# - explain the **t-parametrisation** of a trace and the three functions `DISPX`, `DISPY`
#   and `DISPL` that map `t` to a pixel offset and a wavelength;
# - invert them (`INVDISPX`, `INVDISPL`) and know how accurate the inverses are;
# - compute where a source's orders +1 and +2 fall on a WFSS exposure, and draw the trace
#   coloured by wavelength;
# - read the same configuration from a pipeline-processed WFSS file and from a plain
#   grismconf `.conf` file.
#
# The notebook runs on the embedded **demo dataset** (a synthetic NIRCam F356W + GRISMR
# exposure with known truth) unless `WFSS_TUTORIAL_DATA=real` is set, in which case it
# uses the real files of JWST program 01076.

# %%
import matplotlib.pyplot as plt
import numpy as np
from astropy import units as u

from wfss_helpers.plotting import image_norm, plot_trace
from wfss_helpers.source_positions import direct_to_wfss
from wfss_helpers.trace import (
    angstrom_per_pixel,
    column_to_wavelength,
    dispersed_position,
    load_grism_config,
    t_from_column,
    t_from_wavelength,
    trace_wavelength,
    wavelength_to_pixel,
)
from wfss_helpers.tutorial_data import get_tutorial_data

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
# [grismconf](https://github.com/npirzkal/GRISMCONF) evaluates these polynomials. It reads
# them either from a WFSS file processed by the jwst pipeline (its gWCS holds the same
# polynomials, from the `specwcs` reference file) or from a `.conf` text file.

# %%
config = load_grism_config(data.wfss_cal)
print("orders:", config.orders)

# %% [markdown]
# The showcased source sits at direct-image pixel `data.source_position`. The direct image
# and the grism exposure are taken at slightly different pointings, so we go through the
# sky to find $(x_0, y_0)$ on the grism exposure (notebook 2 explains this step).

# %%
x_direct, y_direct = data.source_position
x0, y0 = direct_to_wfss(data.direct_cal, data.wfss_cal, x_direct, y_direct)
print(f"direct image (x, y) = ({x_direct:.2f}, {y_direct:.2f})  ->  WFSS (x0, y0) = ({x0:.3f}, {y0:.3f})")

# %% [markdown]
# ## Evaluating DISPX, DISPY and DISPL
#
# Along order +1, for a few values of $t$:

# %%
t = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
x, y = dispersed_position(config, 1, x0, y0, t)
wave = trace_wavelength(config, 1, x0, y0, t)
dispersion = angstrom_per_pixel(config, 1, x0, y0, t)
print("    t        x         y     wavelength   dispersion")
for row in zip(t, x, y, wave, dispersion):
    print(f"{row[0]:5.2f}  {row[1]:8.2f}  {row[2]:8.2f}  {row[3]:.4f}  {row[4]:.2f}")

# %% [markdown]
# The spectrum spans about a thousand columns at about 9.7 Å per pixel. It does not run
# through the source's own row: the whole trace sits about **22 rows below** $y_0$ (the
# trace offset of NIRCam's module A GRISMR) and bows by a couple of rows along its
# length. Note also that $x$ at $t = 0$ lies almost 900 pixels to the left of $x_0$: in
# a GRISMR exposure the source's own position is not where its spectrum is.
#
# ## Inverting: from a pixel or a wavelength back to t
#
# Extraction needs the other direction: given a column, which $t$ (and so which
# wavelength)? For a polynomial of degree 2 or more in $t$ there is no general closed
# form, and grismconf's `INVDISPX`/`INVDISPL` interpolate linearly between 40 samples of
# $t$. The helpers refine that with Newton's method on the forward polynomial. Compare
# the round-trip error of both:

# %%
band = trace_wavelength(config, 1, x0, y0, [0.0, 1.0])  # the order's ends: t = 0 and 1
lam = np.linspace(band[0], band[1], 12)[1:-1]  # ten wavelengths inside the order
t_grismconf = config.INVDISPL("+1", x0, y0, lam.value)
t_newton = t_from_wavelength(config, 1, x0, y0, lam)
err_grismconf = np.max(np.abs(config.DISPL("+1", x0, y0, t_grismconf) - lam.value))
err_newton = np.max(np.abs(trace_wavelength(config, 1, x0, y0, t_newton) - lam).to_value(u.micron))
print(f"max |DISPL(INVDISPL(lambda)) - lambda|: grismconf {err_grismconf:.1e} micron, Newton {err_newton:.1e} micron")

# %% [markdown]
# A wavelength error of $10^{-5}$ µm is a thousandth of a pixel here, harmless for a box
# extraction, but it is easy to remove, and exact inverses make round trips testable.
#
# ## A round trip: wavelength → pixel → wavelength
#
# `wavelength_to_pixel` combines `INVDISPL` with `DISPX`/`DISPY`; `column_to_wavelength`
# combines `INVDISPX` with `DISPL`.

# %%
x_line, y_line = wavelength_to_pixel(config, 1, x0, y0, lam)
lam_back = column_to_wavelength(config, 1, x0, y0, x_line)
print(f"max round-trip error: {np.max(np.abs(lam_back - lam)).to(u.AA):.2e}")
assert np.max(np.abs(lam_back - lam)) < 1e-8 * u.micron

# %% [markdown]
# ## Orders +1 and +2
#
# The grism also sends light into a second order, twice as dispersed (about 5 Å per
# pixel). On NIRCam it lands on the *other* side of the source, 2250 to 3250 pixels to
# the right. Plotted over the WFSS exposure, coloured by wavelength (the grey band is the
# detector):

# %%
from astropy.io import fits

wfss_sci = fits.getdata(data.wfss_cal, "SCI")
fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, constrained_layout=True)
top.imshow(wfss_sci, origin="lower", cmap="gray_r", norm=image_norm(wfss_sci, 99.8), aspect="auto")
top.plot([x0], [y0], marker="*", color="C3", ms=12, ls="none", label="source position (x0, y0)")
top.set_ylim(y0 - 60, y0 + 40)
top.set_ylabel("y (detector row)")
top.legend(loc="upper left")
top.set_title("WFSS exposure around the showcased source")
plot_trace(config, 1, x0, y0, ax=bottom, colorbar=False)
plot_trace(config, 2, x0, y0, ax=bottom, cmap="viridis", marker="x", s=6)
for order in (1, 2):
    x_mid, y_mid = dispersed_position(config, order, x0, y0, 0.5)
    bottom.annotate(f"order +{order}", (float(x_mid), float(y_mid) + 1.0))
bottom.axvspan(-0.5, wfss_sci.shape[1] - 0.5, color="0.9", zorder=0, label="detector")
bottom.set_xlim(x0 - 1000, x0 + 3400)
bottom.set_xlabel("x (detector column)")
bottom.set_ylabel("y (detector row)")
bottom.set_title("Trace centres for 0 <= t <= 1, coloured by wavelength (o: order +1, x: order +2)")
plt.show()

# %% [markdown]
# Order +2 of a source on the detector always lands past its right edge: the order +2
# light seen in a NIRCam GRISMR exposure comes from sources *outside* the field, 2250 or
# more pixels to the left of where it falls. Order +1 and order +2 of the same source never
# overlap here.
#
# Zoom in on the trace to see the spectrum itself, its offset below the source's row and
# its gentle bow:

# %%
t_fine = np.linspace(0, 1, 500)
xt, yt = dispersed_position(config, 1, x0, y0, t_fine)
fig, ax = plt.subplots(figsize=(9, 3))
ax.imshow(wfss_sci, origin="lower", cmap="gray_r", norm=image_norm(wfss_sci, 99.95, asinh_a=0.5), aspect="auto")
ax.plot(xt, yt, color="C1", lw=0.8, label="order +1 trace centre")
ax.axhline(y0, color="C3", lw=0.6, ls="--", label="row of the source, y0")
ax.set_xlim(xt.min() - 20, xt.max() + 20)
ax.set_ylim(yt.mean() - 20, y0 + 8)
ax.set_xlabel("x (detector column)")
ax.set_ylabel("y (detector row)")
ax.legend(loc="upper left")
plt.show()

# %% [markdown]
# ## The same configuration from a `.conf` file
#
# Before a WFSS exposure is processed, or for simulations, the configuration comes as a
# grismconf `.conf` text file with sensitivity tables beside it. The helpers accept either.
# In demo mode the demo instrument ships one; both give identical traces:

# %%
if data.demo is not None:
    config_from_conf = load_grism_config(data.demo.grismconf_file)
    tt = np.linspace(0, 1, 50)
    for order in (1, 2):
        a = np.array(dispersed_position(config, order, x0, y0, tt))
        b = np.array(dispersed_position(config_from_conf, order, x0, y0, tt))
        print(f"order {order}: largest difference between file and .conf traces = {np.max(np.abs(a - b)):.1e} px")
        assert np.max(np.abs(a - b)) < 1e-8

# %% [markdown]
# ## Check against the truth
#
# The demo dataset was rendered with the demo instrument's own polynomials at known
# positions. The trace computed here, through the pipeline's gWCS and grismconf, must put
# each wavelength where the light was injected:

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
# ## Summary
#
# - A trace is the curve $(x_0 + \mathrm{DISPX}(t),\ y_0 + \mathrm{DISPY}(t))$, with
#   wavelength $\mathrm{DISPL}(t)$; the coefficients depend on the source position.
# - Inverses come from root finding; Newton refinement makes them exact.
# - The same configuration is available from a processed WFSS file and from a `.conf`.
#
# Next, notebook 2 shows how the pipeline prepares the files, and how $(x_0, y_0)$ is
# found from a direct-image position.
