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
# # 2. Calibration: CRDS, three pipeline steps, and where the source is
#
# **Authors:** The wfss-helpers contributors
#
# **Date:** 2026-11-25
#
# A `_rate.fits` file is a count-rate image in DN/s. Before a spectrum can be extracted
# from it we need (a) a WCS that says where each source is and which wavelength each
# pixel sees, (b) a flat field, and (c) the sensitivity curve that turns DN/s into
# physical flux. The jwst pipeline provides all three through three steps and their
# **reference files**, served by CRDS, the Calibration Reference Data System.
#
# We first call the three jwst steps ourselves, then meet the `wfss_helpers` functions
# that package those calls, and check that both give the same result.
#
# ## Learning goals
#
# - set up CRDS, online (real data) or offline (the demo), and know why the steps need
#   it;
# - run `AssignWcsStep`, `FlatFieldStep` and `PhotomStep` with `Step.call` on a direct
#   image and on a WFSS exposure, giving reference files by hand (`override_<reftype>`)
#   or letting CRDS choose them;
# - apply the **imaging-flat trick** to the grism exposure by hand (its `PUPIL` set to
#   `CLEAR` for FlatField and Photom), say why, and explain the photom warning it
#   causes;
# - keep the pipeline's log out of the way, in a file, and read it when needed;
# - map a source from its direct-image pixel to RA/Dec and to its position $(x_0, y_0)$
#   on the WFSS exposure, with the gWCS of each file (`wcs.get_transform`);
# - explain why **self-consistency** between the two WCSs matters more than their
#   absolute accuracy on the sky.
#
# ## Prerequisites
#
# - Notebook 1 (trace geometry): what $(x_0, y_0)$ is, and that the trace of a source is
#   placed relative to it;
# - Python and numpy (arrays, slicing); astropy's `SkyCoord` and units, a little;
# - what a FITS file with several extensions is (`SCI`, `ERR`, `DQ`).
#
# ## Time to learn
#
# 30 minutes.
#
# ## Keywords
#
# JWST, NIRCam, WFSS, CRDS, reference files, `AssignWcsStep`, `FlatFieldStep`,
# `PhotomStep`, imaging flat, gWCS, world coordinates, pointing, pipeline logs

# %% [markdown]
# ## Versions used

# %%
import platform
from importlib.metadata import version

print(f"python        {platform.python_version()}")
for package in (
    "numpy", "astropy", "jwst", "stdatamodels", "grismconf", "wfss-helpers"
):
    print(f"{package:13s} {version(package)}")

# %% [markdown]
# ## Imports and data
#
# `get_tutorial_data()` gives the files of this tutorial: the embedded demo dataset by
# default, or the seed notebook's JWST files (program 01076) with
# `WFSS_TUTORIAL_DATA=real`.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from astropy.io import fits
from jwst.assign_wcs import AssignWcsStep
from jwst.flatfield import FlatFieldStep
from jwst.photom import PhotomStep

from wfss_helpers.data_sources import (
    calibrate_imaging,
    calibrate_wfss,
    capture_logs,
    step_overrides,
    wcs_reference_files,
)
from wfss_helpers.geometry import direct_to_sky, direct_to_wfss, sky_to_wfss
from wfss_helpers.plotting import image_norm, use_tutorial_style
from wfss_helpers.tutorial_data import get_tutorial_data

use_tutorial_style()
data = get_tutorial_data()
print(f"data: {data.mode}")

# %% [markdown]
# ## CRDS
#
# Every jwst step asks CRDS which reference files apply to an exposure (by instrument,
# detector, filter, pupil, date, ...), downloads them into a local cache (`CRDS_PATH`)
# and records their names in the output header. CRDS is configured by environment
# variables:
#
# | variable | real data | demo (offline) |
# | --- | --- | --- |
# | `CRDS_PATH` | `~/crds_cache` | a tiny cache beside the demo data |
# | `CRDS_SERVER_URL` | `https://jwst-crds.stsci.edu` | *unset* |
#
# `get_tutorial_data()` has already set them, through
# `wfss_helpers.data_sources.configure_online_crds` or `configure_offline_crds`. In
# demo mode the reference files are the demo instrument's own, given to each step as
# `override_<reftype>` arguments, and CRDS never opens a network connection.

# %%
for name in ("CRDS_PATH", "CRDS_SERVER_URL"):
    print(f"{name} = {os.environ.get(name, '(unset)')}")

# %% [markdown]
# ## Reference files by hand: `override_<reftype>`
#
# Each step class lists the reference types it may ask CRDS for
# (`AssignWcsStep.reference_file_types`: `distortion`, `specwcs`, `filteroffset`, and
# many that only other instruments use). For each type, `Step.call` accepts an argument
# `override_<reftype>`: a file to use instead of asking CRDS, or `"N/A"` for "none".
# Offline, every type must be given one or the other, or the step would ask CRDS.
#
# `step_overrides(StepClass, files)` from `wfss_helpers.data_sources` writes that
# dictionary for us from a `{reftype: file}` dictionary. The demo gives one such
# dictionary per exposure in `data.reference_files` (`"imaging"` for the direct image,
# `"wfss"` for the grism exposure); with real data `data.reference_files` is `None`: we
# pass no overrides and CRDS chooses.

# %%
if data.reference_files is None:
    imaging_references = wfss_references = None
    print("real data: no overrides, CRDS chooses every reference file")
else:
    imaging_references = data.reference_files["imaging"]
    wfss_references = data.reference_files["wfss"]
    for reftype, path in wfss_references.items():
        print(f"{reftype:12s} {Path(path).name}")
    assign_wcs_overrides = step_overrides(AssignWcsStep, wfss_references)
    print(f"\nstep_overrides(AssignWcsStep, wfss_references): "
          f"{len(assign_wcs_overrides)} arguments")
    for argument, value in assign_wcs_overrides.items():
        print(f"  {argument:26s} {value if value == 'N/A' else Path(value).name}")

# %% [markdown]
# So, in demo mode, the AssignWcs call below is the same as writing out
#
# ```python
# AssignWcsStep.call(
#     "demo_nrcalong_f356w_grismr_rate.fits",
#     override_distortion=".../demo_nircam_distortion_nrcalong.asdf",
#     override_specwcs=".../demo_nircam_specwcs_grismr_f356w.asdf",
#     override_filteroffset="N/A",
#     override_wavelengthrange="N/A",  # ... and "N/A" for every other type
#     sip_approx=False,
# )
# ```
#
# A small function keeps the two modes in one line: the overrides when we have files,
# nothing when CRDS chooses.


# %%
def overrides(step_class, reference_files):
    """The ``override_<reftype>`` arguments of a step; none when CRDS chooses."""
    if reference_files is None:
        return {}
    return step_overrides(step_class, reference_files)


# %% [markdown]
# ## Keeping the pipeline's log out of the page
#
# Each `Step.call` prints its log: the step's parameters, the reference files, what it
# did, some 30 lines per step and 90 per exposure. The context manager
# `capture_logs(path)` from `wfss_helpers.data_sources` sends those records (of the
# `stpipe`, `jwst`, `stcal`, `stdatamodels` and `CRDS` loggers) to a file instead,
# counts the warnings, and puts everything back when the `with` block ends. We print a
# one-line summary, and read the log when we want to.

# %%
log_path = data.work_dir / "notebook2_pipeline.log"
log_path.unlink(missing_ok=True)  # a fresh log for this run of the notebook
print(f"the pipeline's log goes to {log_path}")

# %% [markdown]
# ## The direct image: AssignWcs, FlatField, Photom
#
# The three steps, called one after the other; each takes a file name or the data model
# returned by the previous one:
#
# 1. `AssignWcsStep` attaches a gWCS (`model.meta.wcs`): detector pixel → sky;
# 2. `FlatFieldStep` divides by the flat field of the exposure's filter;
# 3. `PhotomStep` multiplies by the calibration factor of the filter (`PHOTMJSR`): the
#    image is then in MJy/sr.
#
# This cell needs the imports and the two cells above (`imaging_references`,
# `overrides`, `log_path`).

# %%
with capture_logs(log_path) as direct_logs:
    direct_by_hand = AssignWcsStep.call(
        data.direct_rate, **overrides(AssignWcsStep, imaging_references)
    )
    direct_by_hand = FlatFieldStep.call(
        direct_by_hand, **overrides(FlatFieldStep, imaging_references)
    )
    direct_by_hand = PhotomStep.call(
        direct_by_hand, **overrides(PhotomStep, imaging_references)
    )
print(direct_logs.summary())
steps = direct_by_hand.meta.cal_step
print("steps:", steps.assign_wcs, steps.flat_field, steps.photom)
print("units:", direct_by_hand.meta.bunit_data)

# %% [markdown]
# The log is a plain text file. To read all of it, `print(log_path.read_text())`; the
# object `capture_logs` returns also keeps this block's records, e.g. the last lines, or
# only the warnings with `direct_logs.read("WARNING")`:

# %%
print("\n".join(direct_logs.read().splitlines()[-4:]))

# %% [markdown]
# ## The WFSS exposure and the imaging-flat trick
#
# For a grism exposure, `AssignWcsStep` builds a different gWCS: from a *dispersed*
# pixel and a source position to wavelength and sky position, using the `specwcs`
# reference file, which holds the trace polynomials of notebook 1. We call it with
# `sip_approx=False`: the SIP approximation is a FITS-header version of an *imaging*
# WCS; for a grism exposure the step would build it from a second, internal imaging WCS,
# which asks CRDS for its own reference files and ignores our overrides.
#
# Flat-fielding a WFSS exposure is subtle: each pixel receives light of many wavelengths
# from many sources, so no single flat is exact. The pipeline's `calwebb_spec2` (jwst
# 3.0) flat-fields the whole grism exposure before it cuts out the spectra, with the
# flat CRDS selects for the exposure's `FILTER` and `PUPIL`. For a box extraction the
# seed notebook uses the **imaging flat of the same filter**: within a medium band such
# as F356W the pixel-to-pixel response changes little with wavelength. The steps choose
# their reference files (and rows in them) by `FILTER` and `PUPIL`; to make
# `FlatFieldStep` pick the imaging flat, we set the exposure's `PUPIL` to `CLEAR` (what
# it is for a direct image) before the step, and restore `GRISMR` afterwards.
#
# `PhotomStep`, run in the same state, leaves the grism data in DN/s but records which
# sensitivity reference file belongs to the exposure (`R_PHOTOM`) and the pixel area
# (`PIXAR_SR`); grismconf reads both to build the sensitivity curve used in notebook 3.
#
# This cell needs the imports and the cells defining `wfss_references`, `overrides` and
# `log_path`.

# %%
with capture_logs(log_path) as wfss_logs:
    wfss_by_hand = AssignWcsStep.call(
        data.wfss_rate, **overrides(AssignWcsStep, wfss_references), sip_approx=False
    )
    grism_pupil = wfss_by_hand.meta.instrument.pupil  # GRISMR
    wfss_by_hand.meta.instrument.pupil = "CLEAR"  # look like a direct image...
    wfss_by_hand = FlatFieldStep.call(
        wfss_by_hand, **overrides(FlatFieldStep, wfss_references)
    )
    wfss_by_hand = PhotomStep.call(
        wfss_by_hand, **overrides(PhotomStep, wfss_references)
    )
    wfss_by_hand.meta.instrument.pupil = grism_pupil  # ...then a grism exposure again
print(wfss_logs.summary())
print("pupil after the steps:", wfss_by_hand.meta.instrument.pupil)
print("flat used:   ", Path(wfss_by_hand.meta.ref_file.flat.name).name)
print("photom named:", Path(wfss_by_hand.meta.ref_file.photom.name).name)
print(f"pixel area:   {wfss_by_hand.meta.photometry.pixelarea_steradians:.3e} sr")
print("units:       ", wfss_by_hand.meta.bunit_data)
print("gWCS frames: ", wfss_by_hand.meta.wcs.available_frames)

# %% [markdown]
# ### The photom warning: expected
#
# The log of the grism exposure holds one warning. Let us read it:

# %%
print(wfss_logs.read("WARNING"))

# %% [markdown]
# `photom - WARNING - Expected to find one matching row in table, found 0.` comes from
# `PhotomStep`. With `PUPIL` temporarily `CLEAR`, it looks in the photom file it was
# given (the WFSS one, chosen by the exposure type) for the row of `F356W`/`CLEAR`, an
# imaging row, finds none (the WFSS file has rows for `GRISMR` and `GRISMC`), and leaves
# the data in DN/s. That is what we want: a WFSS pixel holds light of many wavelengths,
# so it has no single conversion to physical units. The sensitivity curve is applied
# after extraction, per wavelength, from the photom file named in the header, which
# grismconf reads (notebook 3). The warning is harmless here; the troubleshooting page
# explains it too.
#
# Had we kept `PUPIL = GRISMR`, `PhotomStep` would have found the `GRISMR` row and
# scaled the whole exposure by one number at one wavelength, which a box extraction must
# not have.

# %%
if data.demo is not None:
    assert wfss_logs.warnings == 1 and direct_logs.warnings == 0
    assert "Expected to find one matching row in table, found 0" in (
        wfss_logs.warning_messages[0]
    )
    assert wfss_by_hand.meta.bunit_data == "DN/s"

# %% [markdown]
# ## The same with the helpers
#
# `calibrate_imaging` and `calibrate_wfss` from `wfss_helpers.data_sources` run
# exactly these calls (the overrides from `step_overrides` when given reference files,
# CRDS otherwise; the `PUPIL` swap for the grism exposure), after checking their inputs
# (a `_rate` file of the right kind, reference files of the exposure's filter) and, for
# the direct image, that the result is in MJy/sr. They can save the result
# (`output=`). One more detail: `calibrate_wfss` records the photom file it was given by
# its full path, so that grismconf finds it offline.

# %%
work = data.work_dir
with capture_logs(log_path) as helper_logs:
    direct = calibrate_imaging(
        data.direct_rate,
        imaging_references,
        output=work / "direct_cal.fits",
        overwrite=True,
    )
    wfss = calibrate_wfss(
        data.wfss_rate,
        wfss_references,
        output=work / "wfss_cal.fits",
        overwrite=True,
    )
print(helper_logs.summary())
for name, by_hand, helper in (
    ("direct image", direct_by_hand, direct),
    ("WFSS exposure", wfss_by_hand, wfss),
):
    difference = np.nanmax(np.abs(helper.data - by_hand.data))
    print(f"{name}: largest difference helper - by hand = {difference}")
    assert np.array_equal(helper.data, by_hand.data, equal_nan=True)
    assert np.array_equal(helper.err, by_hand.err, equal_nan=True)
    assert np.array_equal(helper.dq, by_hand.dq)

# %% [markdown]
# The files made here are the same as the calibrated files the other notebooks use:

# %%
reference = fits.getdata(data.wfss_cal, "SCI")
difference = np.nanmax(np.abs(wfss.data - reference))
print(f"largest difference from {data.wfss_cal.name}: {difference}")
assert difference == 0.0

# %% [markdown]
# ## The direct image and the source
#
# The source the seed notebook extracts is at `data.source_position` in the direct image
# (0-based pixels: add 1 for DS9 or a FITS header). Here it is, on the whole detector
# and in a 61 × 61 pixel cutout. This cell needs `direct` (from the helper cell; the
# `direct_by_hand` model would do as well).

# %% mystnb={"image": {"alt": "Two panels. Left: the whole 2048 by 2048 pixel direct image in F356W, about 25 point-like and slightly extended sources on a flat sky, the showcased source circled in red at x 1562, y 696. Right: a 61 by 61 pixel cutout centred on that source, a round source a few pixels wide with faint wings, marked by two red ticks. Colour bars in MJy/sr with an asinh stretch."}}
x_direct, y_direct = data.source_position
half = 30  # cutout half-size, pixels
column, row = round(x_direct), round(y_direct)
cutout = direct.data[row - half : row + half + 1, column - half : column + half + 1]
instrument = direct.meta.instrument  # filter and pupil, for the title

fig, (ax_full, ax_cut) = plt.subplots(1, 2, figsize=(10, 4.2))
shown = ax_full.imshow(direct.data, norm=image_norm(direct.data, 99.9, 0.02))
ax_full.add_patch(
    plt.Circle((x_direct, y_direct), 60, fill=False, ec="tab:red", lw=1.2)
)
ax_full.set(
    title=f"Direct image ({instrument.filter}, {instrument.pupil})",
    xlabel="x (detector column) [pix]",
    ylabel="y (detector row) [pix]",
)
fig.colorbar(shown, ax=ax_full, label="surface brightness [MJy/sr]", shrink=0.9)
extent = (column - half - 0.5, column + half + 0.5, row - half - 0.5, row + half + 0.5)
shown = ax_cut.imshow(cutout, norm=image_norm(cutout, 100, 0.005), extent=extent)
# Two ticks pointing at the source, leaving its core visible:
ax_cut.plot([x_direct - 9, x_direct - 4], [y_direct, y_direct], c="tab:red", lw=1.2)
ax_cut.plot([x_direct, x_direct], [y_direct - 9, y_direct - 4], c="tab:red", lw=1.2)
ax_cut.set(
    title=f"Cutout around the source ({x_direct:.0f}, {y_direct:.0f})",
    xlabel="x (detector column) [pix]",
    ylabel="y (detector row) [pix]",
)
fig.colorbar(shown, ax=ax_cut, label="surface brightness [MJy/sr]", shrink=0.9)
plt.show()

# %% [markdown]
# ## From the direct image to the WFSS exposure
#
# A source is found, and its position measured, in the direct image. To place its trace
# on the grism exposure we need its undispersed position there, $(x_0, y_0)$. The two
# exposures are taken at slightly different pointings, so we go through the sky:
#
# 1. direct-image pixel → (RA, Dec) with the **direct image's** gWCS;
# 2. (RA, Dec) → $(x_0, y_0)$ with the **grism exposure's** gWCS (its
#    `world → detector` part: the frame of undispersed positions).
#
# A gWCS is a chain of frames; `wcs.get_transform(from_frame, to_frame)` returns the
# transform between two of them, a function of pixel or sky coordinates. The grism
# exposure's chain starts one frame earlier, at `grism_detector`, the dispersed
# pixels; its `world → detector` transform takes (RA, Dec, wavelength in µm, order)
# and returns $(x_0, y_0)$ and the wavelength and order unchanged: $(x_0, y_0)$ does
# not depend on them. This cell needs `direct` and `wfss` and `x_direct, y_direct`
# from above.

# %%
detector_to_world = direct.meta.wcs.get_transform("detector", "world")
ra, dec = detector_to_world(x_direct, y_direct)
world_to_grism_frame = wfss.meta.wcs.get_transform("world", "detector")
x0_by_hand, y0_by_hand, _, _ = world_to_grism_frame(ra, dec, 3.5, 1)
print(f"direct (x, y) = ({x_direct:.2f}, {y_direct:.2f})")
print(f"RA, Dec       = {ra:.7f}, {dec:.7f} deg")
print(f"WFSS (x0, y0) = ({x0_by_hand:.3f}, {y0_by_hand:.3f})")

# %% [markdown]
# One frame further, `world → grism_detector` gives the *dispersed* pixel of a given
# wavelength and order, a point of the trace (notebook 1 computes it with grismconf):

# %%
world_to_dispersed = wfss.meta.wcs.get_transform("world", "grism_detector")
x_35, y_35, *_ = world_to_dispersed(ra, dec, 3.5, 1)
print(f"order +1 at 3.5 um lands at ({x_35:.2f}, {y_35:.2f}) on the grism exposure")

# %% [markdown]
# The helpers `direct_to_sky`, `sky_to_wfss` and `direct_to_wfss` from
# `wfss_helpers.geometry` make the same calls, after checking their inputs (a
# position on the image, a calibrated file of the right kind); `direct_to_sky` returns
# an astropy `SkyCoord`:

# %%
sky = direct_to_sky(direct, x_direct, y_direct)
x0, y0 = sky_to_wfss(wfss, sky)
print(f"sky           = {sky.to_string('hmsdms', precision=3)}")
print(f"WFSS (x0, y0) = ({x0:.3f}, {y0:.3f})")
helper_vs_hand = np.hypot(x0 - x0_by_hand, y0 - y0_by_hand)
print(f"helper - by hand: {helper_vs_hand:.1e} px")
assert helper_vs_hand < 1e-9
assert np.allclose(direct_to_wfss(direct, wfss, x_direct, y_direct), (x0, y0))
shift = np.hypot(x0 - x_direct, y0 - y_direct)
print(f"the pointings differ by {shift:.1f} px = {shift * 0.063:.2f} arcsec")

# %% [markdown]
# ## Why self-consistency matters more than absolute accuracy
#
# Suppose the telescope's reported pointing were off by 0.5 arcsec, the same error in
# both exposures (they are taken minutes apart, with the same guide star). RA/Dec would
# be wrong by 0.5 arcsec, but the trace would land in the same place, because step 2
# undoes the error made in step 1. An error in only one of the two WCSs would move the
# trace by ~8 pixels. We can try it by shifting the reference pointing of the models and
# rebuilding their gWCSs from the same reference files (`wcs_reference_files` finds
# them: in the CRDS cache for real data, among the demo instrument's files for the
# demo):

# %%
from jwst.assign_wcs.assign_wcs import load_wcs


def with_pointing_offset(model, reference_files, dra_arcsec):
    """A copy of `model` whose gWCS is rebuilt with RA_REF shifted by `dra_arcsec`."""
    shifted = model.copy()
    cos_dec = np.cos(np.deg2rad(shifted.meta.wcsinfo.dec_ref))
    shifted.meta.wcsinfo.ra_ref += dra_arcsec / 3600 / cos_dec
    return load_wcs(shifted, dict(reference_files))


refs_direct = wcs_reference_files(direct)  # the files each gWCS was built from
refs_wfss = wcs_reference_files(wfss)
direct_off = with_pointing_offset(direct, refs_direct, 0.5)
wfss_off = with_pointing_offset(wfss, refs_wfss, 0.5)
both = direct_to_wfss(direct_off, wfss_off, x_direct, y_direct)
one = direct_to_wfss(direct_off, wfss, x_direct, y_direct)
moved_both = np.hypot(both[0] - x0, both[1] - y0)
moved_one = np.hypot(one[0] - x0, one[1] - y0)
print(f"same 0.5 arcsec error in both WCSs: trace moves by {moved_both:.4f} px")
print(f"error only in the direct image:     trace moves by {moved_one:.2f} px")
assert moved_both < 0.01

# %% [markdown]
# ## Check against the truth
#
# The demo truth table has the position at which each source was rendered in both
# images:

# %%
if data.demo is not None:
    truth = data.demo.source(1)
    error = np.hypot(x0 - truth["x0_wfss"], y0 - truth["y0_wfss"])
    print(f"(x0, y0) off the injected position by {error:.2e} px")
    assert error < 0.01
    sources = data.demo.sources()
    x_all, y_all = direct_to_wfss(
        direct, wfss, sources["x_direct"], sources["y_direct"]
    )
    worst = np.max(np.hypot(x_all - sources["x0_wfss"], y_all - sources["y0_wfss"]))
    print(f"all {len(sources)} sources: worst position error {worst:.2e} px")
    assert worst < 0.01

# %% [markdown]
# ## Exercises
#
# ```{exercise-start}
# :label: nb2-ex-grismc
# ```
# The demo also has a **GRISMC** exposure of the same field, `data.grismc_rate` (with
# real data it is `None`: skip the exercise). Calibrate it by hand as we did the GRISMR
# exposure: AssignWcs (with `sip_approx=False`), the `PUPIL` swap, FlatField and Photom,
# with the reference files `data.reference_files["grismc"]`, inside `capture_logs`.
# Check that the `PUPIL` is `GRISMC` again at the end, which flat was used, how many
# warnings the log holds, and that the data equal those of `data.grismc_cal`.
# ```{exercise-end}
# ```

# %% [markdown]
# ```{solution-start} nb2-ex-grismc
# :class: dropdown
# ```

# %%
if data.grismc_rate is None:
    print("no GRISMC exposure in this dataset")
else:
    grismc_references = data.reference_files["grismc"]
    with capture_logs(log_path) as grismc_logs:
        grismc = AssignWcsStep.call(
            data.grismc_rate,
            **overrides(AssignWcsStep, grismc_references),
            sip_approx=False,
        )
        grismc_pupil = grismc.meta.instrument.pupil
        grismc.meta.instrument.pupil = "CLEAR"
        grismc = FlatFieldStep.call(
            grismc, **overrides(FlatFieldStep, grismc_references)
        )
        grismc = PhotomStep.call(grismc, **overrides(PhotomStep, grismc_references))
        grismc.meta.instrument.pupil = grismc_pupil
    print(grismc_logs.summary())
    print(grismc_logs.read("WARNING"))
    print("pupil:", grismc.meta.instrument.pupil)
    print("flat: ", Path(grismc.meta.ref_file.flat.name).name)
    grismc_difference = np.nanmax(
        np.abs(grismc.data - fits.getdata(data.grismc_cal, "SCI"))
    )
    print(f"largest difference from {data.grismc_cal.name}: {grismc_difference}")
    assert grismc.meta.instrument.pupil == "GRISMC"
    assert grismc_logs.warnings == 1 and grismc_difference == 0.0

# %% [markdown]
# The same flat as for GRISMR (the imaging flat of F356W), the same expected photom
# warning, and the same data as the dataset's calibrated file.
#
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise-start}
# :label: nb2-ex-pointing
# ```
# Give **only the direct image** a pointing error of 2 arcsec in RA (with
# `with_pointing_offset`) and compute where the trace of the source lands on the grism
# exposure: by how many pixels does $(x_0, y_0)$ move, and the 3.5 µm point of the
# trace (`world → grism_detector`)? Compare with 2 arcsec / 0.063 arcsec per pixel.
# What happens if both WCSs get the same 2 arcsec error?
# ```{exercise-end}
# ```

# %% [markdown]
# ```{solution-start} nb2-ex-pointing
# :class: dropdown
# ```

# %%
direct_2 = with_pointing_offset(direct, refs_direct, 2.0)
wfss_2 = with_pointing_offset(wfss, refs_wfss, 2.0)
x0_one, y0_one = direct_to_wfss(direct_2, wfss, x_direct, y_direct)
ra_2, dec_2 = direct_2.meta.wcs.get_transform("detector", "world")(x_direct, y_direct)
x_35_one, y_35_one, *_ = world_to_dispersed(ra_2, dec_2, 3.5, 1)
x0_both, y0_both = direct_to_wfss(direct_2, wfss_2, x_direct, y_direct)
expected = 2.0 / 0.063
moved_x0 = np.hypot(x0_one - x0, y0_one - y0)
moved_trace = np.hypot(x_35_one - x_35, y_35_one - y_35)
moved_both_2 = np.hypot(x0_both - x0, y0_both - y0)
print(f"2 arcsec / 0.063 arcsec/px  = {expected:.1f} px")
print(f"(x0, y0) moves by           {moved_x0:.1f} px")
print(f"the 3.5 um trace point by   {moved_trace:.1f} px")
print(f"same error in both WCSs:    {moved_both_2:.4f} px")
assert abs(moved_x0 - expected) < 0.05 * expected
assert abs(moved_trace - moved_x0) < 0.5 and moved_both_2 < 0.01

# %% [markdown]
# The whole trace moves with $(x_0, y_0)$, by the error in pixels (about 32 px, far more
# than the ±4 px aperture of notebook 3): the extraction box would miss the spectrum.
# The same error in both WCSs cancels.
#
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise-start}
# :label: nb2-ex-other-source
# ```
# Find $(x_0, y_0)$ of another source on the grism exposure, by hand with the two
# transforms `detector_to_world` and `world_to_grism_frame`, then with `direct_to_wfss`.
# Take source 8 of the demo truth table (`data.demo.source(8)`, columns `x_direct`,
# `y_direct`; with real data, any position of the direct image, e.g. (1000, 1000)), and
# in demo mode compare with the injected position (`x0_wfss`, `y0_wfss`).
# ```{exercise-end}
# ```

# %% [markdown]
# ```{solution-start} nb2-ex-other-source
# :class: dropdown
# ```

# %%
if data.demo is not None:
    other = data.demo.source(8)
    x_other, y_other = float(other["x_direct"]), float(other["y_direct"])
else:
    x_other, y_other = 1000.0, 1000.0
ra_other, dec_other = detector_to_world(x_other, y_other)
x0_other, y0_other, _, _ = world_to_grism_frame(ra_other, dec_other, 3.5, 1)
x0_helper, y0_helper = direct_to_wfss(direct, wfss, x_other, y_other)
print(f"direct ({x_other:.1f}, {y_other:.1f}) -> WFSS ({x0_other:.3f}, {y0_other:.3f})")
assert np.hypot(x0_helper - x0_other, y0_helper - y0_other) < 1e-9
if data.demo is not None:
    other_error = np.hypot(x0_other - other["x0_wfss"], y0_other - other["y0_wfss"])
    print(f"off the injected position by {other_error:.1e} px")
    assert other_error < 0.01

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ## Summary
#
# - CRDS supplies the reference files; offline, they can be given to each step directly,
#   as `override_<reftype>` arguments of `Step.call` (`step_overrides` writes them).
# - `AssignWcsStep` gives each file its gWCS; `FlatFieldStep` with the imaging flat and
#   `PhotomStep`, run with `PUPIL` set to `CLEAR` by hand and restored afterwards,
#   prepare the grism exposure for a box extraction. The photom warning this causes
#   ("found 0" rows) is expected: the grism data stay in DN/s, and the sensitivity is
#   applied per wavelength after extraction.
# - `calibrate_imaging` and `calibrate_wfss` make the same calls, with checks, and give
#   identical data; `capture_logs` keeps the steps' log in a file.
# - $(x_0, y_0)$ comes from the direct image through the sky: `get_transform("detector",
#   "world")` of the direct image, then `get_transform("world", "detector")` of the
#   grism exposure (`direct_to_wfss`). What matters is that the two WCSs agree with each
#   other.
#
# ## What's next
#
# - Notebook 3 (`03_box_extraction`) extracts the spectrum of this source and calibrates
#   it in flux.
# - The jwst pipeline's own WFSS products: `calwebb_spec2` extracts every source of a
#   catalog into `x1d` files.
# - grizli and slitlessutils: full WFSS reductions (contamination models, optimal
#   extraction).
# - JDox pages "NIRCam Wide Field Slitless Spectroscopy" and "JWST pipeline WFSS", at
#   https://jwst-docs.stsci.edu.
