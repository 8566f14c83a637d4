"""What an extraction returns: the spectrum, its per-entry flags and the background.

* :class:`ExtractionFlag` - the bits of ``BoxExtraction.flags``, one integer per entry
  along the dispersion (bad pixel, off the detector, other order, neighbour, modelled
  contamination, a neighbour found in the data);
* :class:`BackgroundEstimate` - a sigma-clipped (or given) background level;
* :class:`BoxExtraction` - a box-extracted spectrum with its wavelengths, uncertainties,
  mask, flags, trace-centring measurement and what it was extracted with
  (:func:`~wfss_helpers.extraction.box.box_extract` makes it;
  :class:`~wfss_helpers.extraction.optimal.OptimalExtraction` extends it);
* :data:`DO_NOT_USE` and :data:`RATE_UNIT` - the JWST DQ bit of unusable pixels and the
  unit of the rates.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np
from astropy import units as u

from ..geometry.trace import BoundingBox, GrismTrace

__all__ = [
    "BackgroundEstimate",
    "BoxExtraction",
    "ExtractionFlag",
]

#: JWST DQ bit of pixels not to be used.
DO_NOT_USE = 1
#: Unit of the rates of an extraction.
RATE_UNIT = u.DN / u.s


class ExtractionFlag(enum.IntFlag):
    """Bits of ``BoxExtraction.flags``, one integer per entry along the dispersion.

    ``BAD_PIXEL`` and ``OFF_DETECTOR`` entries are masked (NaN); ``OTHER_ORDER`` and
    ``NEIGHBOUR`` (and ``UNLISTED_NEIGHBOUR``) entries have a value, but it includes
    light that is not the source's.

    Attributes
    ----------
    BAD_PIXEL : 1
        A pixel of the aperture is NaN, has a NaN or negative ERR, or is flagged
        ``DO_NOT_USE`` in DQ.
    OFF_DETECTOR : 2
        The aperture leaves the detector across the dispersion.
    OTHER_ORDER : 4
        Another spectral order of the same source falls in the aperture (its trace
        centre within the aperture widened by ``contamination_margin``).
    NEIGHBOUR : 8
        An order of a neighbour given in ``box_extract(..., neighbours=...)`` falls in
        the aperture.
    MODELLED_CONTAMINATION : 16
        A contamination model was subtracted (``box_extract(...,
        contamination=...)``) and it holds more than ``contamination_limit`` (10 % by
        default) of the source's own rate at this entry: the value is only as good as
        the model of the neighbours.
    UNLISTED_NEIGHBOUR : 32
        The profile across the dispersion in the box shows a second source, not
        given in ``neighbours=``, whose trace runs within the aperture (widened by 2
        px), and its light is detected at this entry: the rate includes it.
    """

    BAD_PIXEL = 1
    OFF_DETECTOR = 2
    OTHER_ORDER = 4
    NEIGHBOUR = 8
    MODELLED_CONTAMINATION = 16
    UNLISTED_NEIGHBOUR = 32

    @classmethod
    def masking(cls):
        """The bits that mask an entry (``BAD_PIXEL | OFF_DETECTOR``)."""
        return cls.BAD_PIXEL | cls.OFF_DETECTOR

    @classmethod
    def contamination(cls):
        """The bits of contaminated entries (``OTHER_ORDER | NEIGHBOUR |
        MODELLED_CONTAMINATION | UNLISTED_NEIGHBOUR``)."""
        return (cls.OTHER_ORDER | cls.NEIGHBOUR | cls.MODELLED_CONTAMINATION
                | cls.UNLISTED_NEIGHBOUR)


@dataclass(frozen=True)
class BackgroundEstimate:
    """A sigma-clipped background level.

    Attributes
    ----------
    median, mean, std : float
        Sigma-clipped statistics of the background pixels, DN/s per pixel.
    n_pixels : int
        Pixels left after clipping.
    median_error : float
        Uncertainty of the median, ``1.2533 * std / sqrt(n_pixels)``.
    sample : numpy.ndarray
        The background pixel values before clipping (for histograms).
    """

    median: float
    mean: float
    std: float
    n_pixels: int
    median_error: float
    sample: np.ndarray

    @classmethod
    def known(cls, level):
        """A level given, not measured: no pixels, no scatter, no uncertainty."""
        return cls(float(level), float(level), 0.0, 0, 0.0, np.array([]))


@dataclass(frozen=True)
class BoxExtraction:
    """A box-extracted spectrum, one entry per pixel along the dispersion.

    For GRISMR (``dispersion_axis == "x"``) the entries are detector columns, for GRISMC
    (``"y"``) detector rows; ``pixel`` holds them either way. The GRISMR names of the
    first version, ``column`` and ``trace_y``, still work for GRISMR; ``row`` works for
    GRISMC; ``trace_x``/``trace_y`` give the trace centre's detector coordinates for
    both.

    Attributes
    ----------
    order : str
        grismconf name of the order.
    x0, y0 : float
        Source position the trace was computed for.
    pixel : numpy.ndarray
        Pixel coordinates along the dispersion (0-based columns for GRISMR, rows for
        GRISMC), increasing.
    t : numpy.ndarray
        Trace parameter of each entry.
    trace_centre : numpy.ndarray
        Trace centre across the dispersion at each entry (a row for GRISMR, a column for
        GRISMC).
    wavelength : `~astropy.units.Quantity`
        Wavelength of each entry.
    dispersion : `~astropy.units.Quantity`
        Å per pixel at each entry (the ``dlambda`` of the pixel).
    rate, rate_err : `~astropy.units.Quantity`
        Background-subtracted count rate in the aperture and its 1-sigma uncertainty.
    n_pixels : numpy.ndarray
        Sum of the aperture weights at each entry.
    mask : numpy.ndarray of bool
        True where the entry could not be measured (bad pixel, off the detector).
    background : BackgroundEstimate
    bbox : BoundingBox
    half_height : float or None
        Aperture half-height across the dispersion; None for the whole box.
    dispersion_axis : str
        ``"x"`` (GRISMR) or ``"y"`` (GRISMC).
    trace : `~wfss_helpers.geometry.trace.GrismTrace` or None
        The trace the spectrum was extracted along.
    flags : numpy.ndarray of int
        Bitmask of :class:`ExtractionFlag` values per entry (0: nothing to report).
        :attr:`contaminated`, :attr:`other_order_contaminated` and
        :attr:`neighbour_contaminated` read it.
    contaminants : tuple of str
        What falls in the aperture of the flagged entries, e.g. ``"order +2 of this
        source"`` or ``"order +1 of the neighbour at (971.9, 1550.1)"``.
    centroid : numpy.ndarray
        Measured flux-weighted centre of the trace across the dispersion at each entry
        (a row for GRISMR, a column for GRISMC); NaN where the entry has too little
        signal (S/N below 5 in a ±3 px window) to measure it.
    centring_offset : float
        How far the trace lies from where it is predicted, across the dispersion, in
        pixels (measured minus predicted: positive toward larger rows for GRISMR,
        larger columns for GRISMC): the median of ``centroid - trace_centre`` over the
        entries with signal. NaN if no trace was detected in the box.
    rate_err_source : str
        What ``rate_err`` was built from: ``"ERR"`` (the exposure's ERR array and the
        background's uncertainty) or ``"background scatter"`` (the ERR array was absent
        or zero everywhere in the box).
    contamination : `~astropy.units.Quantity` or None
        The modelled light of other sources (and other orders) in the aperture that was
        subtracted, per entry (DN/s); None if no contamination model was given.
    """

    order: str
    x0: float
    y0: float
    pixel: np.ndarray
    t: np.ndarray
    trace_centre: np.ndarray
    wavelength: u.Quantity
    dispersion: u.Quantity
    rate: u.Quantity
    rate_err: u.Quantity
    n_pixels: np.ndarray
    mask: np.ndarray
    background: BackgroundEstimate
    bbox: BoundingBox
    half_height: float | None
    dispersion_axis: str = "x"
    trace: GrismTrace | None = field(default=None, repr=False, compare=False)
    flags: np.ndarray | None = field(default=None, repr=False)
    contaminants: tuple = ()
    centroid: np.ndarray | None = field(default=None, repr=False)
    centring_offset: float = float("nan")
    rate_err_source: str = "ERR"
    contamination: u.Quantity | None = field(default=None, repr=False)

    def __post_init__(self):
        n = np.shape(self.pixel)[0] if np.ndim(self.pixel) else 0
        if self.flags is None:
            flags = np.where(np.asarray(self.mask, dtype=bool), 1, 0)
            object.__setattr__(self, "flags", flags.astype(np.uint16))
        if self.centroid is None:
            object.__setattr__(self, "centroid", np.full(n, np.nan))

    def _has(self, bits):
        return (np.asarray(self.flags).astype(int) & int(bits)) != 0

    @property
    def contaminated(self):
        """True where another order of the source, or of a neighbour, falls in the
        aperture (``flags`` has ``OTHER_ORDER`` or ``NEIGHBOUR``)."""
        return self._has(ExtractionFlag.contamination())

    @property
    def other_order_contaminated(self):
        """True where another order of the same source falls in the aperture."""
        return self._has(ExtractionFlag.OTHER_ORDER)

    @property
    def neighbour_contaminated(self):
        """True where an order of a neighbour (``neighbours=``) falls in the
        aperture."""
        return self._has(ExtractionFlag.NEIGHBOUR)

    def _only(self, axis, name, instead):
        if self.dispersion_axis != axis:
            grism = "GRISMR" if self.dispersion_axis == "x" else "GRISMC"
            along = "columns" if self.dispersion_axis == "x" else "rows"
            raise AttributeError(
                f"This extraction disperses along {self.dispersion_axis} ({grism}): "
                f"its entries are detector {along}, so it has no .{name}. Use .pixel "
                f"(the {along}) and {instead}."
            )

    @property
    def column(self):
        """Detector column of each entry (GRISMR only; ``pixel`` works for both)."""
        self._only("x", "column", ".trace_x for the trace centre's columns")
        return self.pixel

    @property
    def row(self):
        """Detector row of each entry (GRISMC only; ``pixel`` works for both)."""
        self._only("y", "row", ".trace_y for the trace centre's rows")
        return self.pixel

    @property
    def trace_x(self):
        """Column of the trace centre at each entry."""
        return self.pixel if self.dispersion_axis == "x" else self.trace_centre

    @property
    def trace_y(self):
        """Row of the trace centre at each entry."""
        return self.trace_centre if self.dispersion_axis == "x" else self.pixel
