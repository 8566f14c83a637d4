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
# A `_rate.fits` file is a count-rate image in DN/s. Before a spectrum can be extracted
# from it we need (a) a WCS that says where each source is and which wavelength each pixel
# sees, (b) a flat field, and (c) the sensitivity curve that turns DN/s into physical
# flux. The jwst pipeline provides all three through three steps and their **reference
# files**, served by CRDS, the Calibration Reference Data System.
#
# ## Learning goals
#
# - set up CRDS, online (real data) or offline (the demo), and know why the steps need it;
# - run `AssignWcsStep`, `FlatFieldStep` and `PhotomStep` on a direct image and on a WFSS
#   exposure, including the **imaging-flat trick** for the grism exposure, and say why;
# - map a source from its direct-image pixel to RA/Dec and to its position $(x_0, y_0)$ on
#   the WFSS exposure, with the gWCS of each file;
# - explain why **self-consistency** between the two WCSs matters more than their absolute
#   accuracy on the sky.

# %%
import numpy as np
from astropy.io import fits
from stdatamodels.jwst import datamodels

from wfss_helpers.pipeline import calibrate_imaging, calibrate_wfss, wcs_reference_files
from wfss_helpers.source_positions import direct_to_sky, direct_to_wfss, sky_to_wfss
from wfss_helpers.tutorial_data import get_tutorial_data

data = get_tutorial_data()
print(f"data: {data.mode}")

# %% [markdown]
# ## CRDS
#
# Every jwst step asks CRDS which reference files apply to an exposure (by instrument,
# detector, filter, pupil, date, ...), downloads them into a local cache (`CRDS_PATH`) and
# records their names in the output header. CRDS is configured by environment variables:
#
# | variable | real data | demo (offline) |
# | --- | --- | --- |
# | `CRDS_PATH` | `~/crds_cache` | a tiny cache beside the demo data |
# | `CRDS_SERVER_URL` | `https://jwst-crds.stsci.edu` | *unset* |
#
# `get_tutorial_data()` has already set them, through
# `wfss_helpers.crds_config.configure_online_crds` or `configure_offline_crds`. In demo
# mode the reference files are the demo instrument's own, given to each step as
# `override_<reftype>` arguments, and CRDS never opens a network connection.

# %%
import os

for name in ("CRDS_PATH", "CRDS_SERVER_URL"):
    print(f"{name} = {os.environ.get(name, '(unset)')}")

# %% [markdown]
# ## The direct image: AssignWcs, FlatField, Photom
#
# `calibrate_imaging` runs the three steps in order. The result carries a gWCS
# (`model.meta.wcs`) from detector pixels to the sky, and is in MJy/sr.

# %%
overrides = data.reference_files  # None for real data: CRDS chooses
work = data.work_dir
direct = calibrate_imaging(
    data.direct_rate,
    None if overrides is None else overrides["imaging"],
    output=work / "direct_cal.fits",
    overwrite=True,
)
print("steps:", direct.meta.cal_step.assign_wcs, direct.meta.cal_step.flat_field, direct.meta.cal_step.photom)
print("units:", direct.meta.bunit_data)

# %% [markdown]
# ## The WFSS exposure and the imaging-flat trick
#
# For a grism exposure, `AssignWcsStep` builds a different gWCS: from a *dispersed* pixel
# and a source position to wavelength and sky position, using the `specwcs` reference
# file, which holds the trace polynomials of notebook 1.
#
# Flat-fielding a WFSS exposure is subtle: each pixel receives light of many wavelengths
# from many sources, so no single flat is exact, and the pipeline itself defers the flat
# until each spectrum is cut out. For a box extraction the seed notebook uses the
# **imaging flat of the same filter**: within a medium band such as F356W the
# pixel-to-pixel response changes little with wavelength. To make `FlatFieldStep` pick
# that flat, the exposure's `PUPIL` is set to `CLEAR` for the step, then restored to
# `GRISMR`.
#
# `PhotomStep`, run in the same state, leaves the grism data in DN/s but records which
# sensitivity reference file belongs to the exposure (`R_PHOTOM`) and the pixel area
# (`PIXAR_SR`); grismconf reads both to build the sensitivity curve used in notebook 3.

# %%
wfss = calibrate_wfss(
    data.wfss_rate,
    None if overrides is None else overrides["wfss"],
    output=work / "wfss_cal.fits",
    overwrite=True,
)
print("pupil after the steps:", wfss.meta.instrument.pupil)
print("flat used:   ", os.path.basename(wfss.meta.ref_file.flat.name))
print("photom named:", os.path.basename(wfss.meta.ref_file.photom.name))
print("pixel area:   %.3e sr" % wfss.meta.photometry.pixelarea_steradians)
print("gWCS frames: ", wfss.meta.wcs.available_frames)

# %% [markdown]
# The files made here are the same as the calibrated files the other notebooks use:

# %%
reference = fits.getdata(data.wfss_cal, "SCI")
difference = np.nanmax(np.abs(wfss.data - reference))
print(f"largest difference from {data.wfss_cal.name}: {difference}")
assert difference == 0.0

# %% [markdown]
# ## From the direct image to the WFSS exposure
#
# A source is found, and its position measured, in the direct image. To place its trace on
# the grism exposure we need its undispersed position there, $(x_0, y_0)$. The two
# exposures are taken at slightly different pointings, so we go through the sky:
#
# 1. direct-image pixel → (RA, Dec) with the **direct image's** gWCS;
# 2. (RA, Dec) → $(x_0, y_0)$ with the **grism exposure's** gWCS (its `world → detector`
#    part: the frame of undispersed positions).

# %%
x_direct, y_direct = data.source_position
sky = direct_to_sky(direct, x_direct, y_direct)
x0, y0 = sky_to_wfss(wfss, sky)
print(f"direct (x, y) = ({x_direct:.2f}, {y_direct:.2f})")
print(f"sky           = {sky.to_string('hmsdms', precision=3)}")
print(f"WFSS (x0, y0) = ({x0:.3f}, {y0:.3f})")
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
# rebuilding their gWCSs from the same reference files (`wcs_reference_files` finds them:
# in the CRDS cache for real data, among the demo instrument's files for the demo):

# %%
from jwst.assign_wcs.assign_wcs import load_wcs


def with_pointing_offset(model, reference_files, dra_arcsec):
    """A copy of `model` whose gWCS is rebuilt with RA_REF shifted by `dra_arcsec`."""
    shifted = model.copy()
    shifted.meta.wcsinfo.ra_ref += dra_arcsec / 3600 / np.cos(np.deg2rad(shifted.meta.wcsinfo.dec_ref))
    return load_wcs(shifted, dict(reference_files))


refs_direct = wcs_reference_files(direct)  # the files each gWCS was built from
refs_wfss = wcs_reference_files(wfss)
both = direct_to_wfss(
    with_pointing_offset(direct, refs_direct, 0.5), with_pointing_offset(wfss, refs_wfss, 0.5), x_direct, y_direct
)
one = direct_to_wfss(with_pointing_offset(direct, refs_direct, 0.5), wfss, x_direct, y_direct)
print(f"same 0.5 arcsec error in both WCSs: trace moves by {np.hypot(both[0] - x0, both[1] - y0):.4f} px")
print(f"error only in the direct image:     trace moves by {np.hypot(one[0] - x0, one[1] - y0):.2f} px")
assert np.hypot(both[0] - x0, both[1] - y0) < 0.01

# %% [markdown]
# ## Check against the truth
#
# The demo truth table has the position at which each source was rendered in both images:

# %%
if data.demo is not None:
    truth = data.demo.source(1)
    error = np.hypot(x0 - truth["x0_wfss"], y0 - truth["y0_wfss"])
    print(f"(x0, y0) off the injected position by {error:.2e} px")
    assert error < 0.01
    sources = data.demo.sources()
    x_all, y_all = direct_to_wfss(direct, wfss, sources["x_direct"], sources["y_direct"])
    worst = np.max(np.hypot(x_all - sources["x0_wfss"], y_all - sources["y0_wfss"]))
    print(f"all {len(sources)} sources: worst position error {worst:.2e} px")
    assert worst < 0.01

# %% [markdown]
# ## Summary
#
# - CRDS supplies the reference files; offline, they can be given to each step directly.
# - AssignWcs gives each file its gWCS; FlatField with the imaging flat and Photom (run with
#   `PUPIL=CLEAR`) prepare the grism exposure for a box extraction.
# - $(x_0, y_0)$ comes from the direct image through the sky; what matters is that the
#   two WCSs agree with each other.
#
# Next, notebook 3 extracts the spectrum.
