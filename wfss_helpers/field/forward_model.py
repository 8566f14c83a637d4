"""A forward model of a WFSS field: every source's direct-image light, dispersed.

In a slitless exposure each source is imaged through the grism: its **direct image**
(the light of every one of its pixels) is spread along its **trace**, one wavelength at
a time. For one source and one order, with the trace shape taken at the source's
position, the dispersed image is the direct image *convolved* with the dispersed image
of a point source at that position (the "trace kernel": the spectrum
``F_lambda * S(lambda) * dlambda`` laid along ``DISPX``/``DISPY``). That is all the
model is:

1. **sources** from the direct image: its sky subtracted, a segmentation map
   (photutils), and each segment grown by a few pixels into the sky around it so the
   faint PSF wings come along (:func:`source_footprints`);
2. each source's **footprint**, normalised to unit sum, convolved with its trace kernel
   for every order that reaches the detector (:func:`trace_kernel`,
   :func:`disperse_source`), with a spectrum: first a flat F_lambda at the direct-image
   flux (:func:`first_guess_flambda`), then the spectrum the data ask for
   (:func:`refine_field_model`);
3. the **field** is the sum of all of them (:class:`FieldModel`); the **contamination**
   of one source is the model of everything else
   (:meth:`FieldModel.contamination_image`).

The convolution is what makes it fast: one small FFT per source and order, against
the pipeline's ``WfssContamStep``, which maps every segment pixel through the gWCS at
every wavelength. The price is one approximation: the trace's shape (not its position)
is the one at the source's centre for every pixel of the footprint; over a footprint of
tens of pixels the trace polynomials change by far less than a pixel.

The direct image must be on the same pixel grid as the WFSS exposure, up to a shift
(a ``_cal`` image of the same detector, not a resampled mosaic): that is checked.
"""

from __future__ import annotations

import numbers
import os
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
from astropy import constants as const
from astropy import units as u
from astropy.table import Table
from scipy import ndimage, signal

from ..checks.arguments import positive_number, wavelength_in_micron
from ..geometry.positions import _wcs, direct_to_sky, open_model, sky_to_wfss
from ..geometry.configuration import ExposureMismatchError
from ..geometry.trace import GrismTrace

__all__ = [
    "FLAM_UNIT",
    "PIVOT_WAVELENGTH",
    "T_RANGE",
    "DirectImageSources",
    "Footprint",
    "DispersedSource",
    "FieldModel",
    "detect_direct_sources",
    "source_footprints",
    "first_guess_flambda",
    "trace_kernel",
    "disperse_source",
    "model_field",
    "refine_field_model",
]

FLAM_UNIT = u.erg / u.s / u.cm**2 / u.AA
RATE_UNIT = u.DN / u.s

#: Pivot wavelengths of the NIRCam long-wavelength filters used with the grisms
#: (JWST User Documentation, NIRCam filters). Only the first-guess spectrum uses them.
PIVOT_WAVELENGTH = {
    "F250M": 2.503 * u.micron,
    "F277W": 2.786 * u.micron,
    "F300M": 2.996 * u.micron,
    "F322W2": 3.247 * u.micron,
    "F335M": 3.365 * u.micron,
    "F356W": 3.563 * u.micron,
    "F360M": 3.621 * u.micron,
    "F410M": 4.092 * u.micron,
    "F430M": 4.280 * u.micron,
    "F444W": 4.421 * u.micron,
    "F460M": 4.630 * u.micron,
    "F480M": 4.834 * u.micron,
}

#: Range of the trace parameter the kernel follows. A configuration's ``t = 0..1`` need
#: not cover the filter: light falls on the detector wherever the sensitivity table has
#: some, so the trace is followed a quarter of its length beyond each end (the
#: sensitivity, zero outside its table, ends it).
T_RANGE = (-0.25, 1.25)

#: Largest departure of the direct-to-WFSS pixel mapping from a pure shift (relative
#: change of scale, or rotation in radians) the convolution model accepts.
MAX_GRID_DISTORTION = 0.01

#: Far from every modelled trace a sky-subtracted exposure has a median of about 0;
#: a median beyond this fraction of the median ERR there means the sky was not (or
#: badly) subtracted, and the spectra fitted to the data would absorb it (a sky left
#: at 0.1 ERR per pixel biases the faintest demo sources by about 4 per cent).
MAX_SKY_RESIDUAL = 0.1

#: Over the pixels where a field model is brightest, the least-squares scale that
#: takes the model to the data is about 1 for a model of that exposure (0.5 to 2 for
#: a first guess) and near 0 for a model of another exposure (the other grism,
#: another dither): below this, the model is refused.
MIN_MODEL_MATCH = 0.2

#: Wavelengths (µm) a pivot wavelength must lie between: JWST's range.
PIVOT_RANGE = (0.5, 30.0)


# --- checks of the arguments --------------------------------------------------------


def _whole_number(value, name, *, minimum=1):
    """``value`` as an int >= ``minimum`` (an integral float such as 10.0 is taken)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a whole number, got {type(value).__name__} {value!r}."
        )
    number = float(value)
    if not np.isfinite(number) or number != np.floor(number) or number < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}.")
    return int(number)


def _check_instance(value, cls, name, how):
    if not isinstance(value, cls):
        raise TypeError(
            f"{name} must be a {cls.__name__}, got {type(value).__name__}: {how}."
        )
    return value


def _check_trace(trace):
    return _check_instance(
        trace, GrismTrace, "trace",
        "make one with GrismTrace(config, order, x0, y0) or FieldModel.trace(id, "
        "order)",
    )


def _check_config(config):
    from ..geometry.configuration import _is_grism_config

    if not _is_grism_config(config):
        raise TypeError(
            f"config must be a grismconf.Config, got {type(config).__name__} "
            f"{config!r:.80}: load it with wfss_helpers.geometry.configuration.load_grism_config(path) "
            "(the exposure's _cal.fits or the .conf file)."
        )
    return config


# --- 1. sources in the direct image ----------------------------------------------


@dataclass(frozen=True)
class DirectImageSources:
    """What the direct image says about the sources: the input of the forward model.

    Attributes
    ----------
    image : numpy.ndarray
        The direct image with its sky subtracted (MJy/sr for a ``_cal`` file).
    background : numpy.ndarray
        The sky that was subtracted.
    segmentation : `~photutils.segmentation.SegmentationImage`
        Which source each pixel belongs to (0: sky).
    catalog : `~astropy.table.Table`
        One row per segment: ``label``, ``x``, ``y`` (flux-weighted centroid, 0-based
        direct-image pixels), ``ra``, ``dec`` (deg), ``segment_sum`` (sum of the image
        over the segment).
    model : `~stdatamodels.jwst.datamodels.ImageModel`
        The direct-image data model (its WCS maps pixels to the sky).
    """

    image: np.ndarray = field(repr=False)
    background: np.ndarray = field(repr=False)
    segmentation: object = field(repr=False)
    catalog: Table
    model: object = field(repr=False)


def detect_direct_sources(direct, *, nsigma=3.0, n_pixels=12, deblend=True,
                          box_size=64, segmentation=None, max_peak_fraction=0.25):
    """Find the sources of a direct image (photutils), the first step of the model.

    The steps are the ones notebook 6 shows: a 2-D sky (``Background2D``, sigma-clipped
    medians in ``box_size`` boxes), a threshold of ``nsigma`` times the sky's RMS above
    it, ``detect_sources`` on the image smoothed by a 2-px Gaussian (``n_pixels``
    connected pixels), and ``deblend_sources`` to split touching sources.

    Parameters
    ----------
    direct : path or `~stdatamodels.jwst.datamodels.ImageModel`
        The direct image, after AssignWcs (and normally FlatField and Photom).
    nsigma : float, optional
        Detection threshold above the sky, in units of the sky RMS.
    n_pixels : int, optional
        Fewest connected pixels of a source.
    deblend : bool, optional
        Split blended sources with photutils' multi-threshold deblending.
    box_size : int, optional
        Box size of the 2-D sky estimate, pixels.
    segmentation : array_like or `~photutils.segmentation.SegmentationImage`, optional
        Use this segmentation map (e.g. the pipeline's ``_segm.fits``) instead of
        detecting; the sky is still estimated and subtracted.
    max_peak_fraction : float or None, optional
        Segments whose brightest pixel holds more than this fraction of their light are
        sharper than the PSF (whose brightest pixel holds at most ~0.2 at 3.5 µm):
        cosmic rays or hot pixels the ramp fit missed. They are removed (listed in
        ``catalog.meta["removed_sharp"]``). None keeps them.

    Returns
    -------
    DirectImageSources

    Raises
    ------
    TypeError
        If an argument is of the wrong type (e.g. ``n_pixels="12"``, ``deblend="no"``,
        or a file name as ``segmentation``).
    ValueError
        If an argument is out of range, the image has no usable pixel or no WCS, no
        source is found (or every segment is removed as sharper than the PSF), or a
        given segmentation map has another shape, no segment, or values that are not
        whole labels.
    wfss_helpers.checks.files.InvalidInputFileError
        If ``direct`` is a WFSS exposure or a damaged file.

    Warns
    -----
    UserWarning
        If segments of a given segmentation map hold no positive light (they are
        removed, and listed in ``catalog.meta["removed_empty"]``).
    """
    from astropy.convolution import convolve
    from photutils.background import Background2D, MedianBackground
    from photutils.segmentation import (
        SegmentationImage,
        deblend_sources,
        detect_sources,
        make_2dgaussian_kernel,
    )
    from photutils.utils.exceptions import NoDetectionsWarning

    model = open_model(direct, wfss=False)
    _wcs(model, "direct image")  # before the slow steps: the catalog needs it
    positive_number(nsigma, "nsigma")
    n_pixels = _whole_number(n_pixels, "n_pixels", minimum=1)
    box_size = _box_size(box_size)
    if not isinstance(deblend, (bool, np.bool_)):
        raise TypeError(f"deblend must be True or False, got {deblend!r}.")
    if max_peak_fraction is not None:
        max_peak_fraction = positive_number(max_peak_fraction, "max_peak_fraction")
        if max_peak_fraction > 1:
            raise ValueError(
                "max_peak_fraction is the largest fraction of a segment's light its "
                f"brightest pixel may hold: between 0 and 1 (got {max_peak_fraction:g}"
                "); use None to keep every segment."
            )
    data = np.array(model.data, dtype=float)
    if data.ndim != 2:
        raise ValueError(
            f"The direct image must be 2-D, its data has shape {data.shape}."
        )
    bad = ~np.isfinite(data)
    if model.dq is not None and np.shape(model.dq) == data.shape:
        bad |= (np.asarray(model.dq) & 1) != 0
    name = model.meta.filename or "The direct image"
    if bad.all():
        raise ValueError(
            f"{name} has no usable pixel (every pixel is NaN or flagged DO_NOT_USE): "
            "there is nothing to detect. Check that it is the calibrated direct image "
            "(_cal.fits) of this visit."
        )
    if segmentation is not None:  # checked before the slow steps
        segmentation = _segmentation_map(segmentation, data.shape, SegmentationImage)
    try:
        background = Background2D(
            np.where(bad, 0.0, data), box_size, mask=bad, filter_size=(3, 3),
            bkg_estimator=MedianBackground(),
        )
    except ValueError as err:
        raise ValueError(
            f"photutils could not measure the sky of {name} ({err}); "
            f"{np.count_nonzero(~bad)} of its {bad.size} pixels are usable. Use a "
            f"larger box_size (now {box_size}) or check the image."
        ) from None
    # photutils computes these on each access: read them once.
    sky, sky_rms = background.background, background.background_rms
    image = np.where(bad, 0.0, data - sky)
    if segmentation is None:
        kernel = make_2dgaussian_kernel(2.0, size=5)
        smoothed = convolve(image, kernel, mask=bad)
        threshold = nsigma * sky_rms
        with warnings.catch_warnings():
            # photutils warns when it finds nothing; the error below says it better.
            warnings.simplefilter("ignore", NoDetectionsWarning)
            segm = detect_sources(smoothed, threshold, n_pixels)
        if segm is None:
            raise ValueError(
                f"No source above {nsigma:g} sigma with {n_pixels} connected pixels in "
                "the direct image: lower nsigma or n_pixels, or check the image."
            )
        if deblend:
            segm = deblend_sources(smoothed, segm, n_pixels, progress_bar=False)
    else:
        segm = segmentation
    labels = np.asarray(segm.labels)
    light = ndimage.sum(np.clip(image, 0.0, None), segm.data, labels)
    empty = [int(label) for label in labels[~(np.asarray(light) > 0)]]
    if empty:
        warnings.warn(
            f"{len(empty)} segment(s) of the segmentation map hold no positive light "
            f"in the sky-subtracted direct image (labels {_some(empty)}): they "
            "cannot be modelled and are removed (catalog.meta['removed_empty']). "
            "Check that the map belongs to this image.",
            UserWarning, stacklevel=2,
        )
        segm = segm.copy()
        segm.remove_labels(empty, relabel=False)
    removed = []
    if max_peak_fraction is not None and segm.labels.size:
        labels = np.asarray(segm.labels)
        peak = ndimage.maximum(image, segm.data, labels)
        total = ndimage.sum(image, segm.data, labels)
        with np.errstate(invalid="ignore", divide="ignore"):
            sharp = ~(peak / total <= max_peak_fraction)
        removed = [int(label) for label in labels[sharp]]
        if removed:
            segm = segm.copy()
            segm.remove_labels(removed, relabel=False)
    if segm.labels.size == 0:
        raise ValueError(
            f"No source left in {name}: "
            + (f"all {len(removed)} segments are sharper than the PSF (their "
               f"brightest pixel holds more than max_peak_fraction="
               f"{max_peak_fraction:g} of their light). Raise max_peak_fraction "
               "(0.25 suits NIRCam's long-wavelength PSF) or pass None."
               if removed else
               "every segment of the segmentation map is empty.")
        )
    catalog = _segment_catalog(image, segm, model)
    catalog.meta["removed_sharp"] = removed
    catalog.meta["removed_empty"] = empty
    return DirectImageSources(image, sky, segm, catalog, model)


def _some(values, n=8):
    """The first ``n`` values as text, with an ellipsis if there are more."""
    text = ", ".join(str(v) for v in list(values)[:n])
    return text + (", ..." if len(values) > n else "")


def _box_size(box_size):
    """Background2D's box size: a whole number of pixels, or a pair of them."""
    if isinstance(box_size, (tuple, list, np.ndarray)) and np.size(box_size) == 2:
        return tuple(_whole_number(v, "box_size", minimum=1) for v in box_size)
    return _whole_number(box_size, "box_size", minimum=1)


def _segmentation_map(segmentation, shape, segmentation_class):
    """A user's segmentation map as a SegmentationImage of the image's shape."""
    if isinstance(segmentation, segmentation_class):
        segm = segmentation
    else:
        if isinstance(segmentation, (str, bytes, os.PathLike)):
            raise TypeError(
                "segmentation must be an array of labels, not a file name: read it "
                "first, e.g. astropy.io.fits.getdata('..._segm.fits')."
            )
        try:
            array = np.asarray(segmentation, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(
                "segmentation must be an array of whole labels (0 for sky), got "
                f"{type(segmentation).__name__}."
            ) from None
        if array.shape != tuple(shape):
            raise ValueError(
                f"The segmentation map has shape {array.shape}, the direct image "
                f"{tuple(shape)}: they must be the same image."
            )
        with np.errstate(invalid="ignore"):
            odd = ~np.isfinite(array) | (array < 0) | (array != np.round(array))
        if np.any(odd):
            raise ValueError(
                f"The segmentation map has {np.count_nonzero(odd)} pixels that are "
                "not whole labels >= 0 (NaN, negative or fractional): it must hold "
                "each source's label and 0 for sky, like the pipeline's _segm.fits, "
                "not an image."
            )
        segm = segmentation_class(array.astype(int))
    if segm.shape != tuple(shape):
        raise ValueError(
            f"The segmentation map has shape {segm.shape}, the direct image "
            f"{tuple(shape)}: they must be the same image."
        )
    if segm.labels.size == 0:
        raise ValueError(
            "The segmentation map has no segment (every pixel is 0): give the map "
            "with the sources labelled, or segmentation=None to detect them."
        )
    return segm


def _segment_catalog(image, segm, model):
    labels = np.asarray(segm.labels)
    data = segm.data
    positive = np.clip(image, 0.0, None)
    total = ndimage.sum(positive, data, labels)
    yy, xx = np.indices(image.shape)
    x = ndimage.sum(positive * xx, data, labels) / total
    y = ndimage.sum(positive * yy, data, labels) / total
    coord = direct_to_sky(model, x, y)
    table = Table()
    table["label"] = labels
    table["x"], table["y"] = x, y
    table["ra"] = np.atleast_1d(coord.ra.deg) * u.deg
    table["dec"] = np.atleast_1d(coord.dec.deg) * u.deg
    table["segment_sum"] = ndimage.sum(image, data, labels)
    return table


@dataclass(frozen=True)
class Footprint:
    """The direct-image light of one source: the shape that is dispersed.

    Attributes
    ----------
    label : int
        Segment label (the source id of the model).
    stamp : numpy.ndarray
        The sky-subtracted direct image in the grown segment, 0 elsewhere.
    x_lo, y_lo : int
        Direct-image pixel of ``stamp[0, 0]``.
    x, y : float
        Flux-weighted centroid (direct-image pixels, 0-based).
    """

    label: int
    stamp: np.ndarray = field(repr=False)
    x_lo: int
    y_lo: int
    x: float
    y: float

    @property
    def total(self) -> float:
        """Sum of the stamp (the source's direct-image flux, in the image's unit)."""
        return float(np.sum(self.stamp))


def source_footprints(sources, *, grow=10):
    """Each source's footprint: its segment grown into the sky around it.

    A segment holds the pixels above the detection threshold; a PSF's wings reach
    further (a few per cent of the light beyond 10 px for NIRCam at 3.5 µm). Each
    segment is grown by up to ``grow`` pixels into unlabelled sky, every sky pixel going
    to the nearest segment, so the wings are dispersed too and no pixel counts twice.

    Parameters
    ----------
    sources : DirectImageSources
    grow : int, optional
        Pixels by which segments are grown (0: the segments as they are).

    Returns
    -------
    dict
        ``{label: Footprint}``.

    Raises
    ------
    TypeError
        If ``sources`` is not a `DirectImageSources` or ``grow`` not a number.
    ValueError
        If ``grow`` is negative or not a whole number.
    """
    _check_sources(sources)
    grow = _whole_number(grow, "grow", minimum=0)
    labels = np.asarray(sources.segmentation.data)
    if grow > 0:
        distance, (iy, ix) = ndimage.distance_transform_edt(
            labels == 0, return_indices=True
        )
        labels = np.where(distance <= grow, labels[iy, ix], 0)
    footprints = {}
    slices = ndimage.find_objects(labels)
    by_label = {int(row["label"]): row for row in sources.catalog}
    for index, sl in enumerate(slices, start=1):
        if sl is None or index not in by_label:
            continue
        stamp = np.where(labels[sl] == index, sources.image[sl], 0.0)
        row = by_label[index]
        footprints[index] = Footprint(
            index, stamp, sl[1].start, sl[0].start, float(row["x"]), float(row["y"])
        )
    return footprints


def _check_sources(sources):
    return _check_instance(
        sources, DirectImageSources, "sources",
        "find the sources first with detect_direct_sources(direct_image)",
    )


def _check_footprint(footprint):
    _check_instance(footprint, Footprint, "footprint",
                    "take one from source_footprints(sources)")
    stamp = np.asarray(footprint.stamp, dtype=float)
    if stamp.ndim != 2 or not np.all(np.isfinite(stamp)):
        raise ValueError(
            f"The footprint of source {footprint.label} must be a finite 2-D stamp; "
            "it has NaN or infinite pixels (or another shape). Set unusable pixels "
            "of the direct image to 0 in the stamp."
        )
    return footprint


def _pivot_micron(pivot_wavelength):
    """A pivot wavelength as a Quantity in µm, checked (a plain number is in µm)."""
    wave = wavelength_in_micron(pivot_wavelength, name="pivot_wavelength")
    if wave.size != 1:
        raise ValueError(
            f"pivot_wavelength must be one wavelength, got {wave.size} values."
        )
    wave = float(wave.reshape(()))
    if not PIVOT_RANGE[0] <= wave <= PIVOT_RANGE[1]:
        raise ValueError(
            f"pivot_wavelength is {wave:g} µm, outside {PIVOT_RANGE[0]:g}-"
            f"{PIVOT_RANGE[1]:g} µm: it is not the pivot of a JWST filter. Give it "
            "with its unit, e.g. 3.563 * u.micron (a plain number is taken in µm)."
        )
    return wave * u.micron


def first_guess_flambda(footprint, sources, *, pivot_wavelength=None):
    """A flat F_lambda with the source's direct-image flux: the model's first spectrum.

    The direct image (MJy/sr) summed over the footprint, times the pixel solid angle, is
    the source's F_nu in the filter; at the filter's pivot wavelength ``F_lambda = F_nu
    c / lambda_p^2``.

    Parameters
    ----------
    footprint : Footprint
    sources : DirectImageSources
    pivot_wavelength : `~astropy.units.Quantity`, optional
        Default: the direct image's filter in :data:`PIVOT_WAVELENGTH`.

    Returns
    -------
    `~astropy.units.Quantity`
        F_lambda in erg/s/cm²/Å.

    Raises
    ------
    TypeError
        If ``footprint`` or ``sources`` is of another type.
    ValueError
        If the image is not in MJy/sr, has no pixel area, or its filter's pivot
        wavelength is not known (give ``pivot_wavelength``); if ``pivot_wavelength``
        is not a wavelength of JWST's range (0.5-30 µm).
    """
    _check_footprint(footprint)
    _check_sources(sources)
    if pivot_wavelength is not None:
        pivot_wavelength = _pivot_micron(pivot_wavelength)
    model = sources.model
    unit = str(model.meta.bunit_data or "")
    if unit.replace(" ", "") != "MJy/sr":
        raise ValueError(
            f"The direct image is in {unit or 'no unit'!r}, not MJy/sr (a _rate file "
            "is in DN/s): run FlatField and PhotomStep on it "
            "(wfss_helpers.data_sources.pipeline.calibrate_imaging) before modelling the field, or "
            "give every source's spectrum (model_field(..., spectra=))."
        )
    area = model.meta.photometry.pixelarea_steradians
    if not area or not np.isfinite(area):
        raise ValueError(
            "The direct image has no PIXAR_SR (pixel area): run PhotomStep."
        )
    if pivot_wavelength is None:
        name = str(model.meta.instrument.filter or "").upper()
        if name not in PIVOT_WAVELENGTH:
            raise ValueError(
                f"No pivot wavelength is known for filter {name!r}: give "
                "pivot_wavelength= (the filter's pivot, e.g. 3.563 * u.micron)."
            )
        pivot_wavelength = PIVOT_WAVELENGTH[name]
    fnu = footprint.total * u.MJy / u.sr * (area * u.sr)
    flam = (fnu * const.c / u.Quantity(pivot_wavelength) ** 2).to(FLAM_UNIT)
    return flam


# --- 2. one source, one order -------------------------------------------------------


def _linear_taps(frac):
    """Linear interpolation weights at offsets 0 and +1 from the floor pixel."""
    return (0, 1), (1.0 - frac, frac)


def _cubic_taps(frac):
    """Keys' cubic-convolution weights (a = -0.5) at offsets -1, 0, +1, +2.

    They sum to 1 and reproduce a quadratic, so a deposited point keeps its centroid
    *and its width*. A linear (area-sharing) deposit would widen the profile by
    ``f (1 - f)`` pixel² in variance at fractional position ``f``: sharpness a
    detector does not lose, and which an optimal extraction would feel (a too-wide
    profile over-estimates a faint point source by a few per cent).
    """

    def keys(s):
        s = np.abs(s)
        near = 1.5 * s**3 - 2.5 * s**2 + 1
        far = -0.5 * s**3 + 2.5 * s**2 - 4 * s + 2
        return np.where(s <= 1, near, np.where(s < 2, far, 0.0))

    return (-1, 0, 1, 2), tuple(keys(frac - k) for k in (-1, 0, 1, 2))


def _deposit(shape, x, y, weights, *, cross_axis="y"):
    """Deposit point weights onto a grid: linearly along the dispersion, with cubic
    convolution weights across it (flux, centroid and profile width are kept).
    ``cross_axis=None``: linearly along both axes (by area)."""
    ny, nx = shape
    ix = np.floor(x).astype(int)
    iy = np.floor(y).astype(int)
    taps_x = (_cubic_taps if cross_axis == "x" else _linear_taps)(x - ix)
    taps_y = (_cubic_taps if cross_axis == "y" else _linear_taps)(y - iy)
    out = np.zeros(ny * nx)
    for dx, wx in zip(*taps_x):
        for dy, wy in zip(*taps_y):
            jx, jy = ix + dx, iy + dy
            ok = (jx >= 0) & (jx < nx) & (jy >= 0) & (jy < ny)
            out += np.bincount(
                jy[ok] * nx + jx[ok], (weights * wx * wy)[ok], minlength=ny * nx
            )
    return out.reshape(shape)


def trace_kernel(trace, flambda, *, frac=(0.0, 0.0), samples_per_pixel=4,
                 cross_deposit="cubic"):
    """The dispersed image of a point source: the trace with its spectrum laid along it.

    At ``t`` samples over :data:`T_RANGE` the point lands at ``(frac_x + DISPX(t),
    frac_y + DISPY(t))`` with count rate
    ``F_lambda(lambda(t)) * S(lambda(t)) * dlambda/dt * dt``, shared linearly between
    pixels along the dispersion and, across it, with
    cubic-convolution weights (which keep the profile's width) or, with
    ``cross_deposit="linear"``, by area as the pipeline's ``WfssContamStep`` does
    (which widens a point by ``f (1 - f)`` pixel² at fractional position ``f``).

    Parameters
    ----------
    trace : `~wfss_helpers.geometry.trace.GrismTrace`
    flambda : callable
        ``flambda(wavelength_um) -> F_lambda`` in erg/s/cm²/Å (a plain array).
    frac : tuple of float, optional
        Sub-pixel position of the point, ``(x, y)`` in ``[0, 1)``.
    samples_per_pixel : int, optional
        Samples of ``t`` per pixel of trace length.
    cross_deposit : {"cubic", "linear"}, optional
        How a sample is shared between pixels across the dispersion.

    Returns
    -------
    kernel : numpy.ndarray
        Count rate (DN/s) per pixel.
    x_lo, y_lo : int
        Offset of ``kernel[0, 0]`` from the point's integer pixel.

    Raises
    ------
    TypeError
        If ``trace`` is not a GrismTrace, ``flambda`` is not callable, or
        ``samples_per_pixel`` is not a whole number.
    ValueError
        If ``flambda`` returns NaN or infinite values where the order is sensitive,
        another number of values than it was given wavelengths, or a Quantity that is
        not a flux density; if ``frac`` is not in ``[0, 1)`` or ``samples_per_pixel``
        is below 1.
    """
    _check_trace(trace)
    if not callable(flambda):
        raise TypeError(
            f"flambda must be a function of wavelength (µm) returning F_lambda in "
            f"erg/s/cm²/Å, got {type(flambda).__name__} {flambda!r:.60}; e.g. "
            "lambda w: np.full(np.shape(w), 2e-18)."
        )
    samples_per_pixel = _whole_number(samples_per_pixel, "samples_per_pixel")
    _check_cross_deposit(cross_deposit)
    try:
        frac = tuple(float(f) for f in frac)
    except (TypeError, ValueError):
        raise TypeError(
            f"frac must be a pair of numbers (x, y), got {frac!r}."
        ) from None
    if len(frac) != 2 or not all(np.isfinite(f) and 0 <= f < 1 for f in frac):
        raise ValueError(
            f"frac is the sub-pixel position (x, y) of the point, each in [0, 1); got "
            f"{frac!r}."
        )
    ends = np.array(trace.offsets(np.array(T_RANGE)))
    span = float(np.max(np.abs(ends[:, 1] - ends[:, 0])))
    t = np.linspace(*T_RANGE, int(span * samples_per_pixel) + 2)
    dx, dy = trace.offsets(t)
    x = frac[0] + np.asarray(dx, dtype=float)
    y = frac[1] + np.asarray(dy, dtype=float)
    wave = trace.wavelength(t).to_value(u.micron)
    dlam_dt = np.gradient(wave * 1e4, t)  # Å per unit t
    sens = trace.sensitivity(wave * u.micron).value
    flux = _flambda_values(flambda, wave, sens)
    weights = flux * sens * np.abs(dlam_dt)
    weights *= t[1] - t[0]
    # Trapezoid weights at the two ends: each end sample covers half a step.
    weights[[0, -1]] *= 0.5
    weights = np.where(np.isfinite(weights), weights, 0.0)
    # One pixel of margin on each side for the cubic taps across the dispersion.
    x_lo, y_lo = int(np.floor(x.min())) - 1, int(np.floor(y.min())) - 1
    shape = (int(np.floor(y.max())) - y_lo + 3, int(np.floor(x.max())) - x_lo + 3)
    cross_axis = trace.cross_axis if cross_deposit == "cubic" else None
    kernel = _deposit(shape, x - x_lo, y - y_lo, weights, cross_axis=cross_axis)
    return kernel, x_lo, y_lo


#: The ways a trace sample can be shared between pixels across the dispersion.
CROSS_DEPOSITS = ("cubic", "linear")


def _check_cross_deposit(cross_deposit):
    if cross_deposit not in CROSS_DEPOSITS:
        raise ValueError(
            f"cross_deposit must be 'cubic' (keeps the profile's width; the default) "
            f"or 'linear' (shares by area, as jwst's WfssContamStep), got "
            f"{cross_deposit!r}."
        )


def _flambda_values(flambda, wave, sens):
    """``flambda(wave)`` as F_lambda in erg/s/cm²/Å, one finite value per wavelength
    wherever the order is sensitive."""
    values = flambda(wave)
    if isinstance(values, u.Quantity):
        try:
            values = values.to_value(
                FLAM_UNIT, equivalencies=u.spectral_density(wave * u.micron)
            )
        except u.UnitConversionError:
            raise ValueError(
                f"flambda returns a Quantity in {values.unit}, which is not a flux "
                "density: return F_lambda (erg/s/cm²/Å) or F_nu (e.g. Jy)."
            ) from None
    try:
        values = np.broadcast_to(np.asarray(values, dtype=float), wave.shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"flambda must return one F_lambda per wavelength it is given ({wave.size}"
            f" values), got {type(values).__name__} of shape {np.shape(values)}."
        ) from None
    sensitive = np.isfinite(sens) & (sens > 0)
    broken = sensitive & ~np.isfinite(values)
    if np.any(broken):
        raise ValueError(
            f"flambda returns NaN or infinite F_lambda at {np.count_nonzero(broken)} "
            f"wavelengths where the order is sensitive (first: "
            f"{wave[broken][0]:.3f} µm): the model would silently lose that light. "
            "Give a finite spectrum (interpolate over gaps)."
        )
    return values


@dataclass(frozen=True)
class DispersedSource:
    """The modelled dispersed light of one source in one order (DN/s).

    Attributes
    ----------
    source_id : int
    order : str
        grismconf name of the order.
    trace : `~wfss_helpers.geometry.trace.GrismTrace`
        At the source's undispersed WFSS position.
    image : numpy.ndarray
        The model, count rate per pixel.
    x_lo, y_lo : int
        WFSS pixel of ``image[0, 0]`` (may be off the detector).
    """

    source_id: int
    order: str
    trace: GrismTrace = field(repr=False)
    image: np.ndarray = field(repr=False)
    x_lo: int
    y_lo: int

    def _overlap(self, shape):
        ny, nx = shape
        sy, sx = self.image.shape
        x0, y0 = max(self.x_lo, 0), max(self.y_lo, 0)
        x1, y1 = min(self.x_lo + sx, nx), min(self.y_lo + sy, ny)
        if x1 <= x0 or y1 <= y0:
            return None
        target = (slice(y0, y1), slice(x0, x1))
        source = (slice(y0 - self.y_lo, y1 - self.y_lo),
                  slice(x0 - self.x_lo, x1 - self.x_lo))
        return target, source

    def on_detector(self, shape=(2048, 2048)) -> bool:
        """True if any of the model falls on a detector of ``shape``."""
        overlap = self._overlap(shape)
        return overlap is not None and bool(np.any(self.image[overlap[1]] != 0))

    def add_to(self, frame, scale=1.0):
        """Add the model (times ``scale``) to a full-frame image, in place."""
        overlap = self._overlap(frame.shape)
        if overlap is not None:
            frame[overlap[0]] += scale * self.image[overlap[1]]
        return frame


class _OffField(Exception):
    """A source of the direct image falls outside the WFSS exposure's field."""


def _pixel_grid_mapping(sources, wfss_model, x, y):
    """WFSS position of direct pixel ``(x, y)`` and a check that the grids match."""
    ny, nx = np.shape(sources.model.data)
    # Steps toward the image's interior, so that a source at an edge is mapped too.
    sx = 5.0 if x + 5.0 <= nx - 1 else -5.0
    sy = 5.0 if y + 5.0 <= ny - 1 else -5.0
    xs = np.array([x, x + sx, x])
    ys = np.array([y, y, y + sy])
    try:
        x0, y0 = sky_to_wfss(wfss_model, direct_to_sky(sources.model, xs, ys))
    except ValueError as err:
        if "outside the field" in str(err):
            raise _OffField() from None
        raise
    jacobian = np.array([[x0[1] - x0[0], x0[2] - x0[0]],
                         [y0[1] - y0[0], y0[2] - y0[0]]])
    jacobian /= np.array([[sx, sy], [sx, sy]])
    departure = float(np.max(np.abs(jacobian - np.eye(2))))
    if not np.isfinite(departure) or departure > MAX_GRID_DISTORTION:
        raise ValueError(
            "The direct image's pixel grid is not the WFSS exposure's up to a shift "
            f"(d(x0, y0)/d(x, y) = {np.round(jacobian, 4).tolist()} at "
            f"({x:.0f}, {y:.0f})): "
            "the convolution model needs a direct image of the same detector, not a "
            "resampled or rotated mosaic. Use the _cal direct image of the same visit."
        )
    return float(x0[0]), float(y0[0])


def disperse_source(footprint, trace, flambda, *, samples_per_pixel=4,
                    cross_deposit="cubic"):
    """Disperse a footprint along one order: footprint (unit sum) convolved with the
    trace kernel.

    Parameters
    ----------
    footprint : Footprint
    trace : `~wfss_helpers.geometry.trace.GrismTrace`
        At the WFSS position of the footprint's centroid.
    flambda : callable
        The source's total spectrum: ``flambda(wavelength_um)`` in erg/s/cm²/Å.
    samples_per_pixel : int, optional
    cross_deposit : {"cubic", "linear"}, optional
        See :func:`trace_kernel`.

    Returns
    -------
    DispersedSource

    Raises
    ------
    TypeError
        If an argument is of the wrong type (see :func:`trace_kernel`).
    ValueError
        If the footprint has NaN pixels or no positive light, or ``flambda`` is not a
        usable spectrum (see :func:`trace_kernel`).
    """
    _check_footprint(footprint)
    _check_trace(trace)
    total = footprint.total
    if not np.isfinite(total) or total <= 0:
        raise ValueError(
            f"Source {footprint.label} has no positive light in its footprint; it "
            "cannot be modelled (remove it from the segmentation map)."
        )
    weights = footprint.stamp / total
    # WFSS position of stamp[0, 0]: the centroid's, shifted by the stamp offset.
    xs0 = trace.x0 - (footprint.x - footprint.x_lo)
    ys0 = trace.y0 - (footprint.y - footprint.y_lo)
    ix, iy = int(np.floor(xs0)), int(np.floor(ys0))
    kernel, kx, ky = trace_kernel(
        trace, flambda, frac=(xs0 - ix, ys0 - iy), samples_per_pixel=samples_per_pixel,
        cross_deposit=cross_deposit,
    )
    image = signal.oaconvolve(weights, kernel, mode="full")
    return DispersedSource(footprint.label, trace.order, trace, image, ix + kx, iy + ky)


# --- 3. the whole field ---------------------------------------------------------------


@dataclass(frozen=True)
class FieldModel:
    """The forward model of a WFSS exposure: every source, every order on the detector.

    Attributes
    ----------
    sources : `~astropy.table.Table`
        One row per modelled source: ``id`` (segment label), ``x``, ``y`` (direct
        image), ``ra``, ``dec``, ``x0``, ``y0`` (undispersed WFSS position).
    spectra : dict
        ``{id: (wavelength_um, flambda)}``: the spectrum each source is modelled with
        (F_lambda in erg/s/cm²/Å on a wavelength grid in µm).
    dispersed : dict
        ``{(id, order): DispersedSource}`` for every order that reaches the detector.
    footprints : dict
        ``{id: Footprint}``.
    shape : tuple of int
        Detector shape ``(ny, nx)``.
    config : grismconf.Config
    iteration : int
        0 for the first guess, then one more for each :func:`refine_field_model`.
    """

    sources: Table
    spectra: dict = field(repr=False)
    dispersed: dict = field(repr=False)
    footprints: dict = field(repr=False)
    shape: tuple
    config: object = field(repr=False)
    iteration: int = 0
    samples_per_pixel: int = field(default=4, repr=False)
    cross_deposit: str = field(default="cubic", repr=False)

    @property
    def orders(self):
        """The orders modelled, in grismconf names."""
        return sorted({order for _, order in self.dispersed}, key=lambda o: abs(int(o)))

    @property
    def ids(self):
        """The ids (segment labels) of the modelled sources."""
        return [int(i) for i in self.sources["id"]]

    def _source_id(self, source_id):
        """``source_id`` as an int id of the model, or a KeyError naming the ids."""
        number = _as_source_id(source_id)
        if number not in self.ids:
            raise KeyError(
                f"No source {source_id!r} in the model: its ids are the direct "
                f"image's segment labels {_some(self.ids, 12)} (FieldModel.ids)."
            )
        return number

    def trace(self, source_id, order=1) -> GrismTrace:
        """The trace of one source and order.

        Raises
        ------
        KeyError
            If there is no such source, or its order is not modelled.
        ValueError
            If the configuration has no such order.
        """
        key = (self._source_id(source_id), _order_name(self.config, order))
        if key not in self.dispersed:
            raise KeyError(
                f"No order {key[1]} of source {key[0]} in the model (modelled: "
                f"{len(self.sources)} sources, orders {', '.join(self.orders)}; an "
                "order that misses the detector is not modelled)."
            )
        return self.dispersed[key].trace

    def flambda(self, source_id):
        """The spectrum source ``source_id`` is modelled with, as a callable of µm.

        Raises
        ------
        KeyError
            If there is no such source.
        """
        return _spectrum_function(*self.spectra[self._source_id(source_id)])

    def image(self, *, exclude=()):
        """The model of the whole exposure (DN/s), without the ``(id, order)`` pairs
        (or whole source ids) in ``exclude``.

        Parameters
        ----------
        exclude : sequence, optional
            Source ids (every order of the source is left out) and ``(id, order)``
            pairs; one id alone is accepted too.

        Raises
        ------
        KeyError
            If an id is not one of the model's.
        TypeError, ValueError
            If an item is neither an id nor an ``(id, order)`` pair, or the order is
            not in the configuration.
        """
        skip, pairs = self._exclusions(exclude)
        frame = np.zeros(self.shape)
        for key, dispersed in self.dispersed.items():
            if key[0] in skip or key in pairs:
                continue
            dispersed.add_to(frame)
        return frame

    def _exclusions(self, exclude):
        """Whole source ids and (id, order) pairs of ``exclude``, checked."""
        if exclude is None:
            return set(), set()
        if isinstance(exclude, (str, bytes, numbers.Number)):
            exclude = [exclude]
        if (isinstance(exclude, tuple) and len(exclude) == 2
                and isinstance(exclude[1], str)
                and exclude[1].strip()[:1] in ("+", "-")):
            raise ValueError(
                f"exclude={exclude!r} is ambiguous: for the (id, order) pair write "
                f"exclude=[{exclude!r}]; for two sources, a list of their ids."
            )
        try:
            items = list(exclude)
        except TypeError:
            raise TypeError(
                "exclude must be a list of source ids and (id, order) pairs, got "
                f"{type(exclude).__name__} {exclude!r}."
            ) from None
        skip, pairs = set(), set()
        for item in items:
            if isinstance(item, (tuple, list, np.ndarray)):
                if len(item) != 2:
                    raise ValueError(
                        f"exclude item {item!r} must be a source id or an (id, order) "
                        "pair, e.g. exclude=[12, (7, 1)]."
                    )
                pairs.add((self._source_id(item[0]),
                           _order_name(self.config, item[1])))
            else:
                skip.add(self._source_id(item))
        return skip, pairs

    def source_image(self, source_id, order=1):
        """The model of one source in one order, full frame (DN/s).

        Raises
        ------
        KeyError
            If there is no such source, or its order is not modelled.
        """
        key = (self._source_id(source_id), _order_name(self.config, order))
        self.trace(*key)
        return self.dispersed[key].add_to(np.zeros(self.shape))

    def contamination_image(self, source_id, order=1):
        """Everything the model puts on the detector except this source's order: the
        other sources, all orders, and this source's other orders (DN/s).

        Raises
        ------
        KeyError
            If there is no such source, or its order is not modelled.
        """
        self.trace(source_id, order)
        return self.image(exclude=[(source_id, order)])


def _as_source_id(value):
    """A source id (segment label) as an int; text of digits is accepted."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"A source id is a segment label (a whole number), got "
            f"{type(value).__name__} {value!r}."
        )
    if not float(value).is_integer():
        raise TypeError(
            f"A source id is a segment label (a whole number), got {value!r}."
        )
    return int(value)


def _order_name(config, order):
    from ..geometry.configuration import order_name

    return order_name(config, order)


def _spectrum_function(wave, flam):
    """A tabulated spectrum (µm, F_lambda) as a function of µm, 0 outside the table."""
    return lambda w: np.interp(w, wave, flam, left=0.0, right=0.0)


def model_field(sources, wfss, config, *, orders=None, spectra=None, grow=10,
                samples_per_pixel=4, pivot_wavelength=None, cross_deposit="cubic"):
    """The first-guess forward model of a WFSS exposure.

    Parameters
    ----------
    sources : DirectImageSources
        From :func:`detect_direct_sources`.
    wfss : path or `~stdatamodels.jwst.datamodels.ImageModel`
        The WFSS exposure (after AssignWcs); its WCS places the sources.
    config : grismconf.Config
        The grism configuration of the exposure.
    orders : int, str or sequence of them, optional
        Orders to model; default every order of the configuration. Orders that do not
        reach the detector for a source are left out for that source.
    spectra : dict, optional
        ``{id: (wavelength, flambda)}`` to use instead of the flat first guess:
        wavelengths in µm (or a `~astropy.units.Quantity` in any spectral unit),
        F_lambda in erg/s/cm²/Å (or a Quantity of any flux density, F_nu included).
        They are sorted by wavelength; the model is 0 outside them.
    grow : int, optional
        See :func:`source_footprints`.
    samples_per_pixel : int, optional
        Samples of the trace per pixel.
    cross_deposit : {"cubic", "linear"}, optional
        How a trace sample is shared between pixels across the dispersion (see
        :func:`trace_kernel`); "linear" models what jwst's ``WfssContamStep`` does.
    pivot_wavelength : `~astropy.units.Quantity`, optional
        See :func:`first_guess_flambda`.

    Returns
    -------
    FieldModel
        Sources of the direct image that fall outside the WFSS exposure's field are
        not modelled; they are listed in ``sources.meta["off_field"]``.

    Raises
    ------
    TypeError
        If ``sources`` is not a `DirectImageSources`, ``config`` not a grism
        configuration, ``spectra`` not a dict of ``(wavelength, flambda)`` pairs, or
        another argument of the wrong type.
    ValueError
        If an order is not in the configuration (or none is asked for), a spectrum is
        not usable (NaN, of mismatched lengths, repeated wavelengths, no positive
        flux, or entirely outside the grism's wavelengths) or given for an id that is
        not a source, or no source puts light on the exposure (a direct image of
        another pointing); see also :func:`first_guess_flambda`.
    wfss_helpers.geometry.configuration.ExposureMismatchError
        If the configuration is not the exposure's (its FILTER or PUPIL differ).

    Warns
    -----
    UserWarning
        If some sources fall outside the exposure's field (or fewer than half of them
        put light on it: a direct image of another pointing), or a given spectrum
        covers only part of the wavelengths the grism is sensitive to.
    """
    from ..geometry.configuration import check_exposure_matches

    _check_sources(sources)
    _check_config(config)
    wfss_model = open_model(wfss, wfss=True)
    instrument = wfss_model.meta.instrument
    check_exposure_matches(instrument.filter, instrument.pupil, config,
                           wfss_model.meta.filename)
    _wcs(wfss_model, "WFSS exposure")
    shape = tuple(np.shape(wfss_model.data))
    orders = _model_orders(config, orders)
    samples_per_pixel = _whole_number(samples_per_pixel, "samples_per_pixel")
    _check_cross_deposit(cross_deposit)
    if pivot_wavelength is not None:
        pivot_wavelength = _pivot_micron(pivot_wavelength)
    footprints = source_footprints(sources, grow=grow)
    lo, hi = _configured_wavelengths(config)
    spectra = _user_spectra(spectra, footprints, config, orders)
    rows, all_spectra, dispersed, off_field = [], {}, {}, []
    for label, footprint in footprints.items():
        try:
            x0, y0 = _pixel_grid_mapping(sources, wfss_model, footprint.x, footprint.y)
        except _OffField:
            off_field.append(label)
            continue
        if label in spectra:
            wave, flam = spectra[label]
        else:
            level = first_guess_flambda(footprint, sources,
                                        pivot_wavelength=pivot_wavelength).value
            wave, flam = np.array([lo, hi]), np.array([level, level])
        all_spectra[label] = (wave, flam)
        row = sources.catalog[sources.catalog["label"] == label][0]
        rows.append((label, footprint.x, footprint.y, float(row["ra"]),
                     float(row["dec"]), x0, y0))
        function = _spectrum_function(wave, flam)
        for order in orders:
            trace = GrismTrace(config, order, x0, y0)
            if not _may_reach(trace, footprint, shape):
                continue  # not worth a convolution
            piece = disperse_source(footprint, trace, function,
                                    samples_per_pixel=samples_per_pixel,
                                    cross_deposit=cross_deposit)
            if piece.on_detector(shape):
                dispersed[(label, trace.order)] = piece
    name = wfss_model.meta.filename or "the WFSS exposure"
    if not dispersed:
        where = ("all fall outside its field" if len(off_field) == len(footprints)
                 else f"{len(off_field)} fall outside its field and the traces of "
                 f"the others (orders {', '.join(orders)}) miss its detector")
        raise ValueError(
            f"No source of the direct image puts light on {name}: of its "
            f"{len(footprints)} sources, {where}. The direct image is of another "
            "pointing or detector: use the direct image taken with this WFSS "
            "exposure (same visit and detector)."
        )
    lit = len({label for label, _ in dispersed})
    if lit < 0.5 * len(footprints):
        warnings.warn(
            f"Only {lit} of the {len(footprints)} sources of the direct image put "
            f"light on {name} ({len(off_field)} fall outside its field): the direct "
            "image seems to be of another pointing. Use the direct image taken with "
            "this WFSS exposure (same visit and detector).",
            UserWarning, stacklevel=2,
        )
    elif off_field:
        warnings.warn(
            f"{len(off_field)} of the {len(footprints)} sources of the direct image "
            f"fall outside the field of {name} and are not modelled (ids "
            f"{_some(off_field)}; listed in sources.meta['off_field']).",
            UserWarning, stacklevel=2,
        )
    table = Table(rows=rows, names=("id", "x", "y", "ra", "dec", "x0", "y0"))
    table["ra"].unit = table["dec"].unit = u.deg
    table.meta["off_field"] = off_field
    return FieldModel(table, all_spectra, dispersed, footprints, shape, config,
                      samples_per_pixel=samples_per_pixel, cross_deposit=cross_deposit)


def _may_reach(trace, footprint, shape):
    """Whether the order's trace, widened by the footprint, can touch the detector."""
    t = np.linspace(*T_RANGE, 65)
    dx, dy = trace.offsets(t)
    ny, nx = footprint.stamp.shape
    margin_x, margin_y = nx + 3, ny + 3
    x, y = trace.x0 + np.asarray(dx), trace.y0 + np.asarray(dy)
    return bool(
        x.max() + margin_x >= 0 and x.min() - margin_x < shape[1]
        and y.max() + margin_y >= 0 and y.min() - margin_y < shape[0]
    )


def _model_orders(config, orders):
    """The orders to model, as grismconf names, checked against the configuration."""
    if orders is None:
        return list(config.orders)
    if isinstance(orders, (str, bytes, numbers.Number)):
        orders = [orders]
    try:
        orders = list(orders)
    except TypeError:
        raise TypeError(
            f"orders must be an order or a list of them, e.g. [1, 2], got "
            f"{type(orders).__name__} {orders!r}."
        ) from None
    names = list(dict.fromkeys(_order_name(config, order) for order in orders))
    if not names:
        raise ValueError(
            "orders is empty: there is nothing to do. Give at least one order, e.g. "
            f"orders=[1] (the configuration has {', '.join(config.orders)}), or None "
            "for all of them."
        )
    return names


def _sensitive_range(config, orders):
    """Wavelengths (µm) over which any of ``orders`` has 1% of its peak sensitivity."""
    from ..geometry.sensitivity import sensitivity_curve

    lo, hi = _configured_wavelengths(config)
    grid = np.linspace(lo, hi, 512)
    sensitive = np.zeros(grid.shape, dtype=bool)
    for order in orders:
        sens = np.nan_to_num(sensitivity_curve(config, order, grid * u.micron).value)
        if np.max(sens) > 0:
            sensitive |= sens > 0.01 * np.max(sens)
    if not sensitive.any():
        return lo, hi
    return float(grid[sensitive].min()), float(grid[sensitive].max())


def _user_spectra(spectra, footprints, config, orders):
    """``spectra`` as ``{id: (wavelength_um, flambda)}``, sorted and checked."""
    if spectra is None:
        return {}
    if not isinstance(spectra, dict):
        raise TypeError(
            "spectra must be a dict {source id: (wavelength, flambda)}, got "
            f"{type(spectra).__name__}; e.g. spectra={{12: (wave_um, flam)}}."
        )
    checked = {}
    for key, value in spectra.items():
        try:
            label = _as_source_id(key)
        except TypeError:
            label = None
        if label not in footprints:
            raise ValueError(
                f"spectra has an entry for {key!r}, which is not a source of the "
                f"direct image: its ids are the segment labels {_some(footprints, 12)}"
                " (sources.catalog['label'])."
            )
        checked[label] = _user_spectrum(label, value)
    band = _sensitive_range(config, orders)
    for label, (wave, _) in checked.items():
        if wave[-1] < band[0] or wave[0] > band[1]:
            raise ValueError(
                f"The spectrum of source {label} covers {wave[0]:.4g}-{wave[-1]:.4g} "
                f"µm, outside the {band[0]:.2f}-{band[1]:.2f} µm the grism is "
                "sensitive to: the source would be left out of the model. Give the "
                "wavelengths in µm (or as a Quantity with its unit)."
            )
        margin = 0.02 * (band[1] - band[0])
        if wave[0] > band[0] + margin or wave[-1] < band[1] - margin:
            warnings.warn(
                f"The spectrum of source {label} covers {wave[0]:.3f}-{wave[-1]:.3f} "
                f"µm of the {band[0]:.3f}-{band[1]:.3f} µm the grism is sensitive to:"
                " the model holds none of its light outside that range.",
                UserWarning, stacklevel=3,
            )
    return checked


def _user_spectrum(label, value):
    """One given spectrum as sorted float arrays (µm, erg/s/cm²/Å), checked."""
    what = f"spectra[{label}]"
    try:
        wave, flam = value
    except (TypeError, ValueError):
        raise TypeError(
            f"{what} must be a pair (wavelength, flambda) of arrays, got "
            f"{type(value).__name__} {value!r:.60}."
        ) from None
    wave = wavelength_in_micron(wave, name=f"the wavelengths of {what}")
    if isinstance(flam, u.Quantity):
        try:
            flam = flam.to_value(FLAM_UNIT,
                                 equivalencies=u.spectral_density(wave * u.micron))
        except (u.UnitConversionError, ValueError):
            raise ValueError(
                f"The fluxes of {what} are in {flam.unit}, not a flux density: give "
                "F_lambda (erg/s/cm²/Å) or F_nu (e.g. Jy), or plain numbers in "
                "erg/s/cm²/Å."
            ) from None
    try:
        flam = np.asarray(flam, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"The fluxes of {what} must be numbers.") from None
    if wave.ndim != 1 or flam.shape != wave.shape or wave.size < 2:
        raise ValueError(
            f"{what} must be two 1-D arrays of the same length (at least 2): one "
            f"F_lambda per wavelength; got shapes {wave.shape} and {flam.shape}."
        )
    if not np.all(np.isfinite(flam)):
        raise ValueError(
            f"{what} has {np.count_nonzero(~np.isfinite(flam))} NaN or infinite "
            "fluxes: give a finite spectrum (interpolate over its gaps)."
        )
    if np.any(wave <= 0):
        raise ValueError(f"The wavelengths of {what} must be positive.")
    order = np.argsort(wave, kind="stable")
    wave, flam = wave[order], flam[order]
    if np.any(np.diff(wave) == 0):
        raise ValueError(
            f"{what} repeats wavelengths ({wave[1:][np.diff(wave) == 0][0]:g} µm): "
            "give each wavelength once."
        )
    if not np.any(flam > 0):
        raise ValueError(
            f"{what} has no positive F_lambda: the source would put no light on the "
            "detector (or take light away). Check the sign and unit of the fluxes; to "
            "leave a source out, remove it from the segmentation map."
        )
    return wave, flam


def _configured_wavelengths(config):
    """Widest wavelength range (µm) of the configuration's orders over T_RANGE."""
    lo, hi = np.inf, -np.inf
    for order in config.orders:
        for t in T_RANGE:
            w = float(config.DISPL(order, 1024.0, 1024.0, t))
            lo, hi = min(lo, w), max(hi, w)
    return lo, hi


def _column_scale(data, var, model_self, others, trace, half_height):
    """Per-entry scale of a source's own model that fits the data in its aperture.

    Weighted least squares of ``data - others`` on ``model_self`` over the aperture
    pixels at each entry along the dispersion:
    ``s = sum(M (D - C) / V) / sum(M^2 / V)``.
    """
    from ..extraction.box import aperture_weights

    bbox = trace.bounding_box(half_height + 1, detector_shape=data.shape)
    sl = bbox.slices
    d, v = data[sl], var[sl]
    m, c = model_self[sl], others[sl]
    if trace.dispersion_axis == "y":
        d, v, m, c = d.T, v.T, m.T, c.T
    pixels = bbox.pixels(trace.dispersion_axis)
    across = bbox.pixels(trace.cross_axis)
    t = trace.t_from_pixel(pixels)
    w = aperture_weights(across, trace.cross_position(t), half_height)
    good = np.isfinite(d) & np.isfinite(v) & (v > 0) & (w > 0)
    inv = np.where(good, w / np.where(good, v, 1.0), 0.0)
    num = np.sum(inv * m * np.where(good, d - c, 0.0), axis=0)
    den = np.sum(inv * m * m, axis=0)
    signal_to_noise = np.sum(np.where(good, w * m, 0.0), axis=0) / np.sqrt(
        np.sum(np.where(good, w * v, 0.0), axis=0) + 1e-30)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = num / den
    wave = trace.wavelength(t).to_value(u.micron)
    return wave, scale, signal_to_noise


def refine_field_model(field_model, wfss, *, order=1, half_height=4.0, min_snr=3.0,
                       smooth=5, sky=None):
    """One iteration: each source's spectrum rescaled, wavelength by wavelength, to fit
    the data in its own aperture once the other sources' models are subtracted.

    For every source, at every pixel along the dispersion of ``order`` (the brightest,
    +1), the scale ``s`` that makes ``s * model`` best fit ``data - others`` in the
    aperture (weighted by 1/ERR^2) is found; ``s`` is median-filtered over ``smooth``
    pixels, and the spectrum becomes ``s(lambda) * F_lambda``. Where the model holds
    less than ``min_snr`` times the noise in the aperture, or the trace is off the
    detector, the scale of the nearest measured wavelength is used. Pixels that are
    not finite, have no positive ERR or are flagged ``DO_NOT_USE`` are left out.

    Parameters
    ----------
    field_model : FieldModel
    wfss : path, model or dict
        The WFSS exposure with its sky subtracted (``data``, ``err`` and optionally
        ``dq``). ERR weights the fit: it must be present.
    order : int, optional
    half_height : float, optional
    min_snr : float, optional
    smooth : int, optional
        Median-filter width, pixels along the dispersion.
    sky : numpy.ndarray, float or `~wfss_helpers.extraction.background.SkyModel`, optional
        A sky to subtract from the data first.

    Returns
    -------
    FieldModel
        A new model (the input is not changed), ``iteration`` one higher.

    Raises
    ------
    TypeError
        If ``field_model`` is not a FieldModel, or an argument is of the wrong type.
    ValueError
        If the exposure has no ERR, no usable pixel, or another shape than the model;
        if no trace of ``order`` is modelled; if an argument is out of range.
    wfss_helpers.geometry.configuration.ExposureMismatchError
        If the exposure is not the one modelled: its FILTER/PUPIL differ from the
        model's configuration, or the data do not follow the model where it is
        brightest (the model of the other grism or another dither).

    Warns
    -----
    UserWarning
        If the data far from every modelled trace are not about 0 (the sky not
        subtracted: the fit would add it to the spectra), or some sources cannot be
        refined (too faint in every column, or their aperture is off the detector:
        they keep their spectrum).
    """
    _check_instance(field_model, FieldModel, "field_model",
                    "model the field first with model_field(sources, wfss, config)")
    name = _order_name(field_model.config, order)
    if not any(o == name for _, o in field_model.dispersed):
        raise ValueError(
            f"No trace of order {name} is modelled (the model has orders "
            f"{', '.join(field_model.orders)}): there is nothing to refine in it. "
            "Refine an order the model has (order=1, the brightest)."
        )
    half_height = positive_number(half_height, "half_height")
    min_snr = positive_number(min_snr, "min_snr", allow_zero=True)
    smooth = _whole_number(smooth, "smooth")
    _, data, err, _ = _exposure_arrays(wfss, field_model, what="refine_field_model")
    if sky is not None:
        data = data - _sky_image(sky, data)
    full = field_model.image()
    level = _warn_unsubtracted_sky(
        data, err, full, "The refinement would fit it as the sources' light",
        "or pass sky=", stacklevel=2,
    )
    _check_model_matches(data, err, full, level)
    var = err**2
    spectra = dict(field_model.spectra)
    unrefined = []
    for source_id in field_model.sources["id"]:
        key = (int(source_id), name)
        if key not in field_model.dispersed:
            continue
        own = field_model.dispersed[key].add_to(np.zeros(field_model.shape))
        others = full - own
        try:
            wave, scale, snr = _column_scale(data, var, own, others,
                                             field_model.dispersed[key].trace,
                                             half_height)
        except ValueError:
            unrefined.append(int(source_id))  # the aperture is off the detector
            continue
        good = np.isfinite(scale) & (snr >= min_snr)
        if np.count_nonzero(good) < max(smooth, 3):
            unrefined.append(int(source_id))
            continue
        smoothed = ndimage.median_filter(scale[good], size=smooth, mode="nearest")
        w_good = wave[good]
        sort = np.argsort(w_good)
        old_wave, old_flam = spectra[int(source_id)]
        grid = np.union1d(old_wave, w_good)
        factor = np.interp(grid, w_good[sort], smoothed[sort])
        new_flam = np.interp(grid, old_wave, old_flam) * factor
        spectra[int(source_id)] = (grid, new_flam)
    if unrefined:
        warnings.warn(
            f"{len(unrefined)} source(s) could not be refined in order {name} and "
            f"keep their spectrum (ids {_some(unrefined)}): fewer than "
            f"{max(smooth, 3)} columns with S/N >= min_snr={min_snr:g} in the "
            f"aperture, or the aperture is off the detector.",
            UserWarning, stacklevel=2,
        )
    refined = model_field_from_spectra(field_model, spectra)
    return replace(refined, iteration=field_model.iteration + 1)


def model_field_from_spectra(field_model, spectra):
    """The same field modelled with other spectra (same footprints, traces, orders)."""
    dispersed = {}
    for (source_id, order), piece in field_model.dispersed.items():
        dispersed[(source_id, order)] = disperse_source(
            field_model.footprints[source_id], piece.trace,
            _spectrum_function(*spectra[source_id]),
            samples_per_pixel=field_model.samples_per_pixel,
            cross_deposit=field_model.cross_deposit,
        )
    return replace(field_model, spectra=dict(spectra), dispersed=dispersed)


def _exposure_arrays(wfss, field_model, *, what, need_err=True):
    """A WFSS exposure's arrays, checked against a field model.

    Returns the arrays (a dict of ``data``, ``err``, ``dq`` as given; for an exposure,
    a path or a model, the exposure, opened once, with those arrays), the data as
    floats with NaN where a pixel is unusable (not finite, no positive ERR,
    ``DO_NOT_USE``), ERR as floats (None if absent), and the exposure's FILTER, PUPIL
    and name (None for a dict).
    """
    from ..exposure import as_wfss_exposure
    from ..extraction.box import _arrays, _check_grism, bad_pixel_mask

    if isinstance(wfss, dict):
        opened = None
        data, err, dq, exposure = _arrays(wfss)
    else:  # opened and checked once, here; the extractions reuse it
        opened = as_wfss_exposure(wfss, stacklevel=4)
        data, err, dq, exposure = opened.data, opened.err, opened.dq, opened.identity
    if exposure is not None:
        _check_grism(next(iter(field_model.dispersed.values())).trace, exposure)
    data = np.asarray(data, dtype=float)
    if data.shape != tuple(field_model.shape):
        raise ValueError(
            f"The exposure has shape {data.shape}, the field model "
            f"{tuple(field_model.shape)}: they must be the same exposure. Model this "
            "exposure (forward_model.model_field) first."
        )
    arrays = {"data": data}
    if err is None:
        if need_err:
            raise ValueError(
                f"{what} weights each pixel by 1/ERR**2: the exposure has no ERR array."
                " Pass {'data': ..., 'err': ..., 'dq': ...} with the ERR extension of "
                "its _cal.fits."
            )
        err_f = None
    else:
        err_f = np.asarray(err, dtype=float)
        with np.errstate(invalid="ignore"):
            if not np.any(np.isfinite(err_f) & (err_f > 0)):
                raise ValueError(
                    "ERR is zero, negative or NaN in every pixel: it cannot weight "
                    "the pixels. Give the exposure's ERR array (the ERR extension of "
                    "its _cal.fits), not a placeholder."
                )
        arrays["err"] = np.asarray(err)
    if dq is not None:
        arrays["dq"] = np.asarray(dq)
    bad = bad_pixel_mask(data, err_f, dq)
    if err_f is not None:
        with np.errstate(invalid="ignore"):
            bad |= ~(err_f > 0)
    if bad.all():
        raise ValueError(
            "No pixel of the exposure is usable (each is NaN or infinite, has no "
            "positive ERR, or is flagged DO_NOT_USE): check that these are the SCI, "
            "ERR and DQ arrays of a calibrated exposure."
        )
    if opened is not None:
        arrays = opened.with_data(data, err=arrays.get("err"), dq=arrays.get("dq"))
    return arrays, np.where(bad, np.nan, data), err_f, exposure


def _sky_image(sky, data):
    """A sky given to subtract (level, image or SkyModel) as floats, checked."""
    from ..extraction.background import SkyModel

    if isinstance(sky, SkyModel):
        sky = sky.image
    if isinstance(sky, u.Quantity):
        try:
            sky = sky.to_value(RATE_UNIT)
        except u.UnitConversionError:
            raise ValueError(f"sky has unit {sky.unit}; give it in DN/s.") from None
    if isinstance(sky, (str, bytes, bool)):
        raise TypeError(f"sky must be a level or an image in DN/s, got {sky!r}.")
    try:
        image = np.asarray(sky, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"sky must be a level or an image in DN/s, got {type(sky).__name__}."
        ) from None
    if image.ndim and image.shape != data.shape:
        raise ValueError(
            f"sky has shape {image.shape}, the exposure {data.shape}: give one level "
            "or an image of the exposure's shape (e.g. dispersed_sky_profile(...))."
        )
    if np.any(np.isfinite(data) & ~np.isfinite(image)):
        raise ValueError(
            "sky has NaN or infinite values where the data are usable: a sky model "
            "must be finite there."
        )
    return image


def _sky_residual(data, err, model_image):
    """Median of the data far from every modelled trace, the median ERR there, and
    how many pixels that is (None if too few)."""
    with np.errstate(invalid="ignore"):
        far = np.isfinite(data) & np.isfinite(err) & (err > 0)
        far &= np.abs(model_image) < 0.1 * err
    n = int(np.count_nonzero(far))
    if n < 1000:
        return None
    return float(np.median(data[far])), float(np.median(err[far])), n


def _warn_unsubtracted_sky(data, err, model_image, consequence, fix, *, stacklevel):
    """Warn if the data are not about 0 far from the model's traces; return the
    level found there (0 if it could not be measured)."""
    found = _sky_residual(data, err, model_image)
    if found is None:
        return 0.0
    level, noise, n = found
    if abs(level) > MAX_SKY_RESIDUAL * noise:
        state = "not subtracted" if level > 0 else "over-subtracted"
        warnings.warn(
            f"The {n} pixels far from every modelled trace have a median of "
            f"{level:.3g} DN/s, {level / noise:.1f} times their median ERR: the sky "
            f"seems {state}. {consequence} (the faint sources most). Subtract the sky "
            "first (wfss_helpers.extraction.background.dispersed_sky_profile and "
            f"subtract_background) {fix}.",
            UserWarning, stacklevel=stacklevel + 1,
        )
    return level


def _check_model_matches(data, err, model_image, level=0.0):
    """Refuse a field model that the data do not follow where it is brightest."""
    with np.errstate(invalid="ignore"):
        bright = np.isfinite(data) & np.isfinite(err) & (err > 0)
        bright &= model_image > 3.0 * err
    n = int(np.count_nonzero(bright))
    if n < 50:
        return
    m, v = model_image[bright], err[bright] ** 2
    scale = float(np.sum(m * (data[bright] - level) / v) / np.sum(m * m / v))
    if not scale >= MIN_MODEL_MATCH:
        raise ExposureMismatchError(
            f"The field model does not match these data: over the {n} pixels where it "
            f"is brightest (above 3 ERR) the data hold {scale:.2f} times the model (a "
            "model of this exposure holds about 1). It is the model of another "
            "exposure (the other grism, another dither or detector). Model this "
            "exposure: model_field(sources, <its _cal.fits>, "
            "load_grism_config(<its _cal.fits>))."
        )
