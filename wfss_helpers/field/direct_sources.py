"""Sources from the direct image: the input of the forward model of a field.

Step 1 of the forward model (see :mod:`wfss_helpers.field.forward_model`).
:func:`detect_direct_sources` runs the steps notebook 6 shows: the direct image's 2-D
sky (photutils' ``Background2D``) subtracted, a segmentation map (``detect_sources`` on
the smoothed image, ``deblend_sources`` to split touching sources; or a map given, such
as the pipeline's ``_segm.fits``), segments sharper than the PSF (cosmic rays, hot
pixels) or without positive light removed, and a catalog of the segments: positions in
pixels and on the sky, sums. :class:`DirectImageSources` holds all of it; each source's
footprint is made from it in :mod:`~wfss_helpers.field.footprints`.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field

import numpy as np
from astropy import units as u
from astropy.table import Table
from scipy import ndimage

from ..checks.arguments import positive_number
from ..checks.files import open_model
from ..geometry.positions import _wcs, direct_to_sky
from ._arguments import _check_instance, _some, _whole_number

__all__ = ["DirectImageSources", "detect_direct_sources"]


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
    direct : path, data model or `~wfss_helpers.exposure.DirectImage`
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
    from photutils.segmentation import SegmentationImage

    model = open_model(direct, wfss=False)
    _wcs(model, "direct image")  # before the slow steps: the catalog needs it
    settings = _Detection.checked(nsigma, n_pixels, deblend, box_size,
                                  max_peak_fraction)
    data, bad, name = _usable_pixels(model)
    if segmentation is not None:  # checked before the slow steps
        segmentation = _segmentation_map(segmentation, data.shape, SegmentationImage)
    sky, sky_rms = _direct_sky(data, bad, settings.box_size, name)
    image = np.where(bad, 0.0, data - sky)
    if segmentation is None:
        segm = _detect_segments(image, bad, sky_rms, settings)
    else:
        segm = segmentation
    segm, empty = _without_empty_segments(image, segm)
    segm, removed = _without_sharp_segments(image, segm, settings.max_peak_fraction)
    _check_segments_left(segm, removed, name, settings.max_peak_fraction)
    catalog = _segment_catalog(image, segm, model)
    catalog.meta["removed_sharp"] = removed
    catalog.meta["removed_empty"] = empty
    return DirectImageSources(image, sky, segm, catalog, model)


@dataclass(frozen=True)
class _Detection:
    """The detection settings of :func:`detect_direct_sources`, checked."""

    nsigma: float
    n_pixels: int
    deblend: bool
    box_size: object
    max_peak_fraction: float | None

    @classmethod
    def checked(cls, nsigma, n_pixels, deblend, box_size, max_peak_fraction):
        """The settings, each checked (the message says which is wrong and how)."""
        positive_number(nsigma, "nsigma")
        n_pixels = _whole_number(n_pixels, "n_pixels", minimum=1)
        box_size = _box_size(box_size)
        if not isinstance(deblend, (bool, np.bool_)):
            raise TypeError(f"deblend must be True or False, got {deblend!r}.")
        if max_peak_fraction is not None:
            max_peak_fraction = positive_number(max_peak_fraction, "max_peak_fraction")
            if max_peak_fraction > 1:
                raise ValueError(
                    "max_peak_fraction is the largest fraction of a segment's light "
                    "its brightest pixel may hold: between 0 and 1 (got "
                    f"{max_peak_fraction:g}); use None to keep every segment."
                )
        return cls(nsigma, n_pixels, deblend, box_size, max_peak_fraction)


def _usable_pixels(model):
    """The direct image as floats, its unusable pixels and its name, checked."""
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
    return data, bad, name


def _direct_sky(data, bad, box_size, name):
    """The direct image's 2-D sky and its RMS (photutils' Background2D)."""
    from photutils.background import Background2D, MedianBackground

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
    return background.background, background.background_rms


def _detect_segments(image, bad, sky_rms, settings):
    """The segments above the threshold in the smoothed image, deblended if asked."""
    from astropy.convolution import convolve
    from photutils.segmentation import (
        deblend_sources,
        detect_sources,
        make_2dgaussian_kernel,
    )
    from photutils.utils.exceptions import NoDetectionsWarning

    kernel = make_2dgaussian_kernel(2.0, size=5)
    smoothed = convolve(image, kernel, mask=bad)
    threshold = settings.nsigma * sky_rms
    with warnings.catch_warnings():
        # photutils warns when it finds nothing; the error below says it better.
        warnings.simplefilter("ignore", NoDetectionsWarning)
        segm = detect_sources(smoothed, threshold, settings.n_pixels)
    if segm is None:
        raise ValueError(
            f"No source above {settings.nsigma:g} sigma with {settings.n_pixels} "
            "connected pixels in the direct image: lower nsigma or n_pixels, or check "
            "the image."
        )
    if settings.deblend:
        segm = deblend_sources(smoothed, segm, settings.n_pixels, progress_bar=False)
    return segm


def _without_empty_segments(image, segm):
    """The map without its segments of no positive light (warns), and their labels."""
    labels = np.asarray(segm.labels)
    light = ndimage.sum(np.clip(image, 0.0, None), segm.data, labels)
    empty = [int(label) for label in labels[~(np.asarray(light) > 0)]]
    if empty:
        warnings.warn(
            f"{len(empty)} segment(s) of the segmentation map hold no positive light "
            f"in the sky-subtracted direct image (labels {_some(empty)}): they "
            "cannot be modelled and are removed (catalog.meta['removed_empty']). "
            "Check that the map belongs to this image.",
            UserWarning, stacklevel=3,
        )
        segm = segm.copy()
        segm.remove_labels(empty, relabel=False)
    return segm, empty


def _without_sharp_segments(image, segm, max_peak_fraction):
    """The map without its segments sharper than the PSF, and their labels."""
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
    return segm, removed


def _check_segments_left(segm, removed, name, max_peak_fraction):
    """Refuse a map with no segment left (every one empty or sharper than the PSF)."""
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
    """The catalog of the segments: label, centroid, sky position and sum."""
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


def _check_sources(sources):
    """``sources`` if it is a DirectImageSources, else a TypeError (how to get one)."""
    return _check_instance(
        sources, DirectImageSources, "sources",
        "find the sources first with detect_direct_sources(direct_image)",
    )
