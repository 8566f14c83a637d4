"""Each source's footprint, the direct-image light that is dispersed, and its
first-guess spectrum.

A segment of the direct image's map holds the pixels above the detection threshold; a
PSF's wings reach further. :func:`source_footprints` grows every segment into the sky
around it (each sky pixel going to the nearest segment), so the wings are dispersed
too: a :class:`Footprint` is that stamp of the sky-subtracted direct image.
:func:`first_guess_flambda` turns a footprint's flux (MJy/sr summed, times the pixel
solid angle, at the filter's pivot wavelength, :data:`PIVOT_WAVELENGTH`) into the flat
F_lambda (:data:`FLAM_UNIT`) every source is first modelled with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from astropy import constants as const
from astropy import units as u
from scipy import ndimage

from ..checks.arguments import wavelength_in_micron
from ._arguments import _check_instance, _whole_number
from .direct_sources import _check_sources

__all__ = [
    "FLAM_UNIT",
    "PIVOT_WAVELENGTH",
    "Footprint",
    "source_footprints",
    "first_guess_flambda",
]

#: Unit of F_lambda in the model (erg/s/cm²/Å).
FLAM_UNIT = u.erg / u.s / u.cm**2 / u.AA

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

#: Wavelengths (µm) a pivot wavelength must lie between: JWST's range.
PIVOT_RANGE = (0.5, 30.0)


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
    sources : `~wfss_helpers.field.direct_sources.DirectImageSources`
    grow : int, optional
        Pixels by which segments are grown (0: the segments as they are).

    Returns
    -------
    dict
        ``{label: Footprint}``.

    Raises
    ------
    TypeError
        If ``sources`` is not a
        `~wfss_helpers.field.direct_sources.DirectImageSources` or ``grow`` not a
        number.
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


def _check_footprint(footprint):
    """``footprint`` if it is a Footprint with a finite 2-D stamp, else an error."""
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
    sources : `~wfss_helpers.field.direct_sources.DirectImageSources`
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
            "(wfss_helpers.data_sources.pipeline.calibrate_imaging) before modelling "
            "the field, or give every source's spectrum (model_field(..., spectra=))."
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
