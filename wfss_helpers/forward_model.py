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
   of one source is the model of everything else (:meth:`FieldModel.contamination_image`).

The convolution is what makes it fast: one small FFT per source and order, against
the pipeline's ``WfssContamStep``, which maps every segment pixel through the gWCS at
every wavelength. The price is one approximation: the trace's shape (not its position)
is the one at the source's centre for every pixel of the footprint; over a footprint of
tens of pixels the trace polynomials change by far less than a pixel.

The direct image must be on the same pixel grid as the WFSS exposure, up to a shift
(a ``_cal`` image of the same detector, not a resampled mosaic): that is checked.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace

import numpy as np
from astropy import constants as const
from astropy import units as u
from astropy.table import Table
from scipy import ndimage, signal

from .argument_checks import positive_number
from .source_positions import direct_to_sky, open_model, sky_to_wfss
from .trace import GrismTrace

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
    ValueError
        If no source is found, or a given segmentation map has another shape.
    """
    from astropy.convolution import convolve
    from photutils.background import Background2D, MedianBackground
    from photutils.segmentation import (
        SegmentationImage,
        deblend_sources,
        detect_sources,
        make_2dgaussian_kernel,
    )

    model = open_model(direct)
    data = np.array(model.data, dtype=float)
    bad = ~np.isfinite(data)
    if model.dq is not None and np.shape(model.dq) == data.shape:
        bad |= (np.asarray(model.dq) & 1) != 0
    positive_number(nsigma, "nsigma")
    background = Background2D(
        np.where(bad, 0.0, data), box_size, mask=bad, filter_size=(3, 3),
        bkg_estimator=MedianBackground(),
    )
    # photutils computes these on each access: read them once.
    sky, sky_rms = background.background, background.background_rms
    image = np.where(bad, 0.0, data - sky)
    if segmentation is None:
        kernel = make_2dgaussian_kernel(2.0, size=5)
        smoothed = convolve(image, kernel, mask=bad)
        threshold = nsigma * sky_rms
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
        if not isinstance(segm, SegmentationImage):
            segm = SegmentationImage(np.asarray(segm, dtype=int))
        if segm.shape != image.shape:
            raise ValueError(
                f"The segmentation map has shape {segm.shape}, the direct image "
                f"{image.shape}: they must be the same image."
            )
    removed = []
    if max_peak_fraction is not None:
        labels = np.asarray(segm.labels)
        peak = ndimage.maximum(image, segm.data, labels)
        total = ndimage.sum(image, segm.data, labels)
        with np.errstate(invalid="ignore", divide="ignore"):
            sharp = ~(peak / total <= max_peak_fraction)
        removed = [int(label) for label in labels[sharp]]
        if removed:
            segm = segm.copy()
            segm.remove_labels(removed, relabel=False)
    catalog = _segment_catalog(image, segm, model)
    catalog.meta["removed_sharp"] = removed
    return DirectImageSources(image, sky, segm, catalog, model)


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
    """
    grow = int(positive_number(grow, "grow", allow_zero=True))
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
    ValueError
        If the image is not in MJy/sr, has no pixel area, or its filter's pivot
        wavelength is not known (give ``pivot_wavelength``).
    """
    model = sources.model
    unit = str(model.meta.bunit_data or "")
    if unit.replace(" ", "") != "MJy/sr":
        raise ValueError(
            f"The direct image is in {unit or 'no unit'!r}, not MJy/sr: run PhotomStep "
            "on it (wfss_helpers.pipeline.calibrate_direct) before modelling the field."
        )
    area = model.meta.photometry.pixelarea_steradians
    if not area or not np.isfinite(area):
        raise ValueError("The direct image has no PIXAR_SR (pixel area): run PhotomStep.")
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
    convolution weights across it (flux, centroid and profile width are kept)."""
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


def trace_kernel(trace, flambda, *, frac=(0.0, 0.0), samples_per_pixel=4):
    """The dispersed image of a point source: the trace with its spectrum laid along it.

    At ``t`` samples over :data:`T_RANGE` the point lands at ``(frac_x + DISPX(t), frac_y +
    DISPY(t))`` with count rate ``F_lambda(lambda(t)) * S(lambda(t)) * dlambda/dt *
    dt``, shared linearly between pixels along the dispersion and with cubic
    convolution weights across it (which keep the profile's width).

    Parameters
    ----------
    trace : `~wfss_helpers.trace.GrismTrace`
    flambda : callable
        ``flambda(wavelength_um) -> F_lambda`` in erg/s/cm²/Å (a plain array).
    frac : tuple of float, optional
        Sub-pixel position of the point, ``(x, y)`` in ``[0, 1)``.
    samples_per_pixel : int, optional
        Samples of ``t`` per pixel of trace length.

    Returns
    -------
    kernel : numpy.ndarray
        Count rate (DN/s) per pixel.
    x_lo, y_lo : int
        Offset of ``kernel[0, 0]`` from the point's integer pixel.
    """
    ends = np.array(trace.offsets(np.array(T_RANGE)))
    span = float(np.max(np.abs(ends[:, 1] - ends[:, 0])))
    t = np.linspace(*T_RANGE, int(span * samples_per_pixel) + 2)
    dx, dy = trace.offsets(t)
    x = frac[0] + np.asarray(dx, dtype=float)
    y = frac[1] + np.asarray(dy, dtype=float)
    wave = trace.wavelength(t).to_value(u.micron)
    dlam_dt = np.gradient(wave * 1e4, t)  # Å per unit t
    sens = trace.sensitivity(wave * u.micron).value
    weights = np.asarray(flambda(wave), dtype=float) * sens * np.abs(dlam_dt)
    weights *= t[1] - t[0]
    # Trapezoid weights at the two ends: each end sample covers half a step.
    weights[[0, -1]] *= 0.5
    weights = np.where(np.isfinite(weights), weights, 0.0)
    # One pixel of margin on each side for the cubic taps across the dispersion.
    x_lo, y_lo = int(np.floor(x.min())) - 1, int(np.floor(y.min())) - 1
    shape = (int(np.floor(y.max())) - y_lo + 3, int(np.floor(x.max())) - x_lo + 3)
    kernel = _deposit(shape, x - x_lo, y - y_lo, weights, cross_axis=trace.cross_axis)
    return kernel, x_lo, y_lo


@dataclass(frozen=True)
class DispersedSource:
    """The modelled dispersed light of one source in one order (DN/s).

    Attributes
    ----------
    source_id : int
    order : str
        grismconf name of the order.
    trace : `~wfss_helpers.trace.GrismTrace`
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
        source = (slice(y0 - self.y_lo, y1 - self.y_lo), slice(x0 - self.x_lo, x1 - self.x_lo))
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


def _pixel_grid_mapping(sources, wfss_model, x, y):
    """WFSS position of direct pixel ``(x, y)`` and a check that the grids match."""
    step = 5.0
    xs = np.array([x, x + step, x])
    ys = np.array([y, y, y + step])
    x0, y0 = sky_to_wfss(wfss_model, direct_to_sky(sources.model, xs, ys))
    jacobian = np.array([[x0[1] - x0[0], x0[2] - x0[0]], [y0[1] - y0[0], y0[2] - y0[0]]])
    jacobian /= step
    departure = float(np.max(np.abs(jacobian - np.eye(2))))
    if not np.isfinite(departure) or departure > MAX_GRID_DISTORTION:
        raise ValueError(
            "The direct image's pixel grid is not the WFSS exposure's up to a shift "
            f"(d(x0, y0)/d(x, y) = {np.round(jacobian, 4).tolist()} at ({x:.0f}, {y:.0f})): "
            "the convolution model needs a direct image of the same detector, not a "
            "resampled or rotated mosaic. Use the _cal direct image of the same visit."
        )
    return float(x0[0]), float(y0[0])


def disperse_source(footprint, trace, flambda, *, samples_per_pixel=4):
    """Disperse a footprint along one order: footprint (unit sum) convolved with the
    trace kernel.

    Parameters
    ----------
    footprint : Footprint
    trace : `~wfss_helpers.trace.GrismTrace`
        At the WFSS position of the footprint's centroid.
    flambda : callable
        The source's total spectrum: ``flambda(wavelength_um)`` in erg/s/cm²/Å.
    samples_per_pixel : int, optional

    Returns
    -------
    DispersedSource
    """
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
        trace, flambda, frac=(xs0 - ix, ys0 - iy), samples_per_pixel=samples_per_pixel
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

    @property
    def orders(self):
        """The orders modelled, in grismconf names."""
        return sorted({order for _, order in self.dispersed}, key=lambda o: abs(int(o)))

    def trace(self, source_id, order=1) -> GrismTrace:
        """The trace of one source and order."""
        key = (int(source_id), _order_name(self.config, order))
        if key not in self.dispersed:
            raise KeyError(
                f"No order {key[1]} of source {key[0]} in the model (modelled: "
                f"{len(self.sources)} sources, orders {', '.join(self.orders)}; an "
                "order that misses the detector is not modelled)."
            )
        return self.dispersed[key].trace

    def flambda(self, source_id):
        """The spectrum source ``source_id`` is modelled with, as a callable of µm."""
        wave, flam = self.spectra[int(source_id)]
        return lambda w: np.interp(w, wave, flam, left=0.0, right=0.0)

    def image(self, *, exclude=()):
        """The model of the whole exposure (DN/s), without the ``(id, order)`` pairs
        (or whole source ids) in ``exclude``."""
        frame = np.zeros(self.shape)
        skip = {int(e) for e in exclude if not isinstance(e, tuple)}
        pairs = {(int(e[0]), _order_name(self.config, e[1])) for e in exclude
                 if isinstance(e, tuple)}
        for key, dispersed in self.dispersed.items():
            if key[0] in skip or key in pairs:
                continue
            dispersed.add_to(frame)
        return frame

    def source_image(self, source_id, order=1):
        """The model of one source in one order, full frame (DN/s)."""
        key = (int(source_id), _order_name(self.config, order))
        self.trace(*key)
        return self.dispersed[key].add_to(np.zeros(self.shape))

    def contamination_image(self, source_id, order=1):
        """Everything the model puts on the detector except this source's order: the
        other sources, all orders, and this source's other orders (DN/s)."""
        self.trace(source_id, order)
        return self.image(exclude=[(int(source_id), order)])


def _order_name(config, order):
    from .trace import order_name

    return order_name(config, order)


def _flat(value):
    return lambda w: np.full(np.shape(w), value)


def model_field(sources, wfss, config, *, orders=None, spectra=None, grow=10,
                samples_per_pixel=4, pivot_wavelength=None):
    """The first-guess forward model of a WFSS exposure.

    Parameters
    ----------
    sources : DirectImageSources
        From :func:`detect_direct_sources`.
    wfss : path or `~stdatamodels.jwst.datamodels.ImageModel`
        The WFSS exposure (after AssignWcs); its WCS places the sources.
    config : grismconf.Config
        The grism configuration of the exposure.
    orders : sequence of int, optional
        Orders to model; default every order of the configuration. Orders that do not
        reach the detector for a source are left out for that source.
    spectra : dict, optional
        ``{id: (wavelength_um, flambda)}`` to use instead of the flat first guess.
    grow : int, optional
        See :func:`source_footprints`.
    samples_per_pixel : int, optional
        Samples of the trace per pixel.
    pivot_wavelength : `~astropy.units.Quantity`, optional
        See :func:`first_guess_flambda`.

    Returns
    -------
    FieldModel
    """
    from .trace import ExposureMismatchError, check_exposure_matches

    wfss_model = open_model(wfss, wfss=True)
    instrument = wfss_model.meta.instrument
    try:
        check_exposure_matches(instrument.filter, instrument.pupil, config,
                               wfss_model.meta.filename)
    except ExposureMismatchError:
        raise
    shape = tuple(np.shape(wfss_model.data))
    if orders is None:
        orders = list(config.orders)
    footprints = source_footprints(sources, grow=grow)
    lo, hi = _configured_wavelengths(config)
    rows, all_spectra, dispersed = [], {}, {}
    for label, footprint in footprints.items():
        x0, y0 = _pixel_grid_mapping(sources, wfss_model, footprint.x, footprint.y)
        if spectra is not None and label in spectra:
            wave, flam = (np.asarray(a, dtype=float) for a in spectra[label])
        else:
            level = first_guess_flambda(footprint, sources,
                                        pivot_wavelength=pivot_wavelength).value
            wave, flam = np.array([lo, hi]), np.array([level, level])
        all_spectra[label] = (wave, flam)
        row = sources.catalog[sources.catalog["label"] == label][0]
        rows.append((label, footprint.x, footprint.y, float(row["ra"]),
                     float(row["dec"]), x0, y0))
        function = (lambda w, wave=wave, flam=flam:
                    np.interp(w, wave, flam, left=0.0, right=0.0))
        for order in orders:
            trace = GrismTrace(config, order, x0, y0)
            piece = disperse_source(footprint, trace, function,
                                    samples_per_pixel=samples_per_pixel)
            if piece.on_detector(shape):
                dispersed[(label, trace.order)] = piece
    table = Table(rows=rows, names=("id", "x", "y", "ra", "dec", "x0", "y0"))
    table["ra"].unit = table["dec"].unit = u.deg
    return FieldModel(table, all_spectra, dispersed, footprints, shape, config,
                      samples_per_pixel=samples_per_pixel)


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
    pixels at each entry along the dispersion: ``s = sum(M (D - C) / V) / sum(M^2 / V)``.
    """
    from .extraction import aperture_weights

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
    detector, the scale of the nearest measured wavelength is used.

    Parameters
    ----------
    field_model : FieldModel
    wfss : path, model or dict
        The WFSS exposure with its sky subtracted (``data`` and ``err``).
    order : int, optional
    half_height : float, optional
    min_snr : float, optional
    smooth : int, optional
        Median-filter width, pixels along the dispersion.
    sky : numpy.ndarray or float, optional
        A sky to subtract from the data first.

    Returns
    -------
    FieldModel
        A new model (the input is not changed), ``iteration`` one higher.
    """
    data, err = _data_and_err(wfss)
    if sky is not None:
        data = data - sky
    var = np.where(np.isfinite(err), err**2, np.nan)
    full = field_model.image()
    name = _order_name(field_model.config, order)
    spectra = dict(field_model.spectra)
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
            continue  # the aperture is off the detector
        good = np.isfinite(scale) & (snr >= min_snr)
        if np.count_nonzero(good) < max(smooth, 3):
            continue
        smoothed = ndimage.median_filter(scale[good], size=smooth, mode="nearest")
        w_good = wave[good]
        sort = np.argsort(w_good)
        old_wave, old_flam = spectra[int(source_id)]
        grid = np.union1d(old_wave, w_good)
        factor = np.interp(grid, w_good[sort], smoothed[sort])
        new_flam = np.interp(grid, old_wave, old_flam) * factor
        spectra[int(source_id)] = (grid, new_flam)
    refined = model_field_from_spectra(field_model, spectra)
    return replace(refined, iteration=field_model.iteration + 1)


def model_field_from_spectra(field_model, spectra):
    """The same field modelled with other spectra (same footprints, traces, orders)."""
    dispersed = {}
    for (source_id, order), piece in field_model.dispersed.items():
        wave, flam = spectra[source_id]
        function = (lambda w, wave=wave, flam=flam:
                    np.interp(w, wave, flam, left=0.0, right=0.0))
        dispersed[(source_id, order)] = disperse_source(
            field_model.footprints[source_id], piece.trace, function,
            samples_per_pixel=field_model.samples_per_pixel,
        )
    return replace(field_model, spectra=dict(spectra), dispersed=dispersed)


def _data_and_err(wfss):
    if isinstance(wfss, dict):
        data = np.asarray(wfss["data"], dtype=float)
        err = wfss.get("err")
        err = np.ones_like(data) if err is None else np.asarray(err, dtype=float)
        return data, err
    model = open_model(wfss, wfss=True)
    return np.asarray(model.data, dtype=float), np.asarray(model.err, dtype=float)
