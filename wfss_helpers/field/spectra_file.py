"""Every source to a file: all extracted spectra of a field in one file specutils reads.

A WFSS field gives many spectra: every source, both grisms (GRISMR, GRISMC), every
order that reaches the detector. :func:`write_spectra` puts them all in **one**
multi-extension FITS file,
:func:`~wfss_helpers.field.spectra_summary.summary_table` makes a one-row-per-spectrum
table to write as ECSV, and the file is read back with specutils itself::

    import wfss_helpers.field.spectra_file  # registers the format with specutils
    from specutils import SpectrumList

    spectra = SpectrumList.read("field_spectra.fits", format="wfss-helpers-spectra")

(after the import, ``SpectrumList.read("field_spectra.fits")`` finds the format by
itself; :func:`read_spectra` is the same call).

The file
--------
* primary HDU: no data; ``WFSSFMT = 'wfss-helpers-spectra'`` (how the format is
  recognised), ``WFSSFVER`` (format version) and ``NSPEC`` (number of spectra);
* one ``BINTABLE`` per spectrum, ``EXTNAME = 'SPECTRUM'``, ``EXTVER`` = 1, 2, ...
  Columns, one row per entry along the dispersion, wavelength increasing:

  =================  ============  ====================================================
  ``wavelength``     micron        spectral axis
  ``flux``           erg/s/cm²/Å   F_lambda (NaN where masked)
  ``uncertainty``    erg/s/cm²/Å   1-sigma uncertainty of ``flux``
  ``mask``           bool          True = not usable (the ``Spectrum.mask``)
  ``contamination``  erg/s/cm²/Å   modelled light of other sources (and other orders)
                                   that was subtracted; NaN if none was modelled
  ``flags``          integer       bitmask of ``ExtractionFlag`` values (the dtype of
                                   the input is kept, e.g. uint16)
  ``contaminated``   bool          True where other traces fall in the aperture
  =================  ============  ====================================================

  Header keywords: ``SOURCEID``, ``RA`` and ``DEC`` (ICRS, degrees), ``GRISM``
  (``GRISMR``/``GRISMC``), ``ORDER`` (``+1``, ``+2``, ...), ``METHOD`` (``box``,
  ``optimal``, ...), ``CONTMOD`` (True if a contamination model was subtracted) and,
  when known, ``CENTOFF`` (centring offset, pixels) and ``RATEERR`` (what the
  uncertainty was built from).

Read back, each `~specutils.Spectrum` has ``flux``, ``spectral_axis`` and a
`~astropy.nddata.StdDevUncertainty` with their units, the boolean ``mask``, and in
``meta``: ``source_id`` (int), ``ra``, ``dec`` (`~astropy.units.Quantity`, deg),
``grism``, ``order``, ``method`` (str), ``flags`` (int array), ``contaminated`` (bool
array), ``contamination`` (Quantity, erg/s/cm²/Å), ``contamination_modelled`` (bool),
``centring_offset`` (float, NaN if unknown), ``rate_err_source`` (str, if known) and
``header`` (the extension header). The same ``meta`` keys are what
:func:`write_spectra` accepts, so a list read back can be written again.

**No contamination model** (``meta`` has no ``"contamination"``): the column is
written as NaN and ``CONTMOD = F``, never 0: zero would claim that the neighbours
were modelled and found to add nothing.

Why not the built-in readers
----------------------------
specutils 2.4 reads many formats but none keeps all of this:

* ``tabular-fits`` reads *one* BINTABLE (``hdu=1``) as one spectrum: a field becomes one
  file per spectrum. It keeps wavelength, flux, the uncertainty (the next column with
  the flux unit) and a ``mask`` column; every other column (contamination, flags) is
  dropped, and source id / RA / Dec survive only as raw header cards.
* ``JWST x1d multi`` (and ``JWST x1d``/``c1d``) only recognise pipeline products (an
  ``ASDF`` extension and ``TELESCOP = 'JWST'``: the file would have to pretend to be
  one) and keep ``WAVELENGTH``, ``FLUX``, ``ERROR`` and ``SOURCE_ID``: no mask, no DQ
  flags, no contamination.
* ``ECSV``, ``ASCII`` and ``wcs1d-fits`` hold one spectrum and drop extra columns
  (``wcs1d-fits`` also needs a uniform wavelength grid).

So this module registers its own specutils loader and writer, ``wfss-helpers-spectra``,
on import. Its identifier looks for the ``WFSSFMT`` keyword and its priority (20) is
above ``tabular-fits`` (6), so ``SpectrumList.read(path)`` picks it without ``format=``.
Without wfss_helpers the file is still plain FITS: each ``SPECTRUM`` extension reads as
one spectrum (wavelength, flux, uncertainty, mask) with
``Spectrum.read(path, format="tabular-fits", hdu=k)``, and any FITS reader sees every
column.
"""

from __future__ import annotations

import math
import numbers
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.nddata import StdDevUncertainty
from astropy.table import QTable, Table
from specutils import Spectrum, SpectrumList
from specutils.io.parsing_utils import read_fileobj_or_hdulist
from specutils.io.registers import custom_writer, data_loader

from ..checks.arguments import order_number
from ._file_checks import complete_spectrum_hdus, give_normal_permissions

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "FLAM_UNIT",
    "WAVELENGTH_UNIT",
    "GRISMS",
    "SourceSpectrum",
    "write_spectra",
    "read_spectra",
]

#: Name of the format in the specutils (astropy) I/O registry.
FORMAT = "wfss-helpers-spectra"
#: Version of the file layout written by :func:`write_spectra`.
FORMAT_VERSION = 1
#: Unit of F_lambda in the file (flux, uncertainty, contamination).
FLAM_UNIT = u.Unit("erg s-1 cm-2 Angstrom-1")
#: Unit of the wavelength column.
WAVELENGTH_UNIT = u.micron
#: The NIRCam grisms.
GRISMS = ("GRISMR", "GRISMC")

_EXTNAME = "SPECTRUM"
_PRIORITY = 20


def _short_text(value, name, *, upper=False):
    if not isinstance(value, str) or not value.strip():
        raise TypeError(f"{name} must be a non-empty string, got {value!r}.")
    value = value.strip()
    if len(value) > 60 or not value.isascii():
        raise ValueError(
            f"{name} {value!r} cannot go in a FITS header: use at most 60 ASCII "
            "characters."
        )
    return value.upper() if upper else value


def _degrees(value, name):
    """An angle as a float in degrees (a Quantity, or a plain number in degrees)."""
    if isinstance(value, u.Quantity):
        if value.unit.physical_type != "angle":
            raise ValueError(
                f"{name} has unit {value.unit}, which is not an angle. Give it in "
                "degrees, e.g. 150.1 * u.deg."
            )
        value = value.to_value(u.deg)
    if isinstance(value, (str, bytes, bool, np.bool_)) or np.ndim(value) != 0:
        raise TypeError(
            f"{name} must be one angle (a number in degrees or a Quantity), got "
            f"{type(value).__name__} {value!r}."
        )
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be a number in degrees or a Quantity, got "
            f"{type(value).__name__} {value!r}."
        ) from None
    if not math.isfinite(value):
        raise ValueError(f"{name} is {value}; a source position must be finite.")
    return value


def _order_text(order):
    if isinstance(order, (bool, np.bool_, float)):
        raise TypeError(
            f"order must be an integer or a string such as '+1', got {order!r}."
        )
    number = order_number(order)
    return "0" if number == 0 else f"{number:+d}"


def _flam_array(value, name, n):
    """``value`` as a float array in FLAM_UNIT of length ``n``, with a clear error."""
    if not isinstance(value, u.Quantity):
        raise TypeError(
            f"{name} must be an astropy Quantity in F_lambda (erg/s/cm²/Å), got "
            f"{type(value).__name__}. Multiply by "
            "wfss_helpers.field.spectra_file.FLAM_UNIT "
            "if the numbers are already in erg/s/cm²/Å."
        )
    if value.unit.physical_type != FLAM_UNIT.physical_type:
        raise ValueError(
            f"{name} has unit {value.unit}, which is not F_lambda (erg/s/cm²/Å, or any "
            "power per area per wavelength). Convert it first, e.g. "
            "spectrum.with_flux_unit(FLAM_UNIT, "
            "equivalencies=u.spectral_density(spectrum.spectral_axis))."
        )
    if np.shape(value) != (n,):
        raise ValueError(
            f"{name} has shape {np.shape(value)} but the spectrum has {n} entries: "
            "they must match one to one."
        )
    return value.to_value(FLAM_UNIT).astype(float)


def _entry_array(value, name, n):
    array = np.asarray(value)
    if array.shape != (n,):
        raise ValueError(
            f"{name} has shape {array.shape} but the spectrum has {n} entries: they "
            "must match one to one."
        )
    return array


def _flags_array(meta, n):
    if "flags" not in meta:
        raise ValueError(
            "spectrum.meta has no 'flags': the per-entry bitmask (ExtractionFlag) that "
            "wfss_helpers.extraction.flux_calibration.flux_calibrate puts there. If "
            "nothing was flagged, set spectrum.meta['flags'] = "
            "np.zeros(len(spectrum.flux), dtype=np.uint16)."
        )
    flags = _entry_array(meta["flags"], "spectrum.meta['flags']", n)
    if flags.dtype.kind not in "iu":
        raise TypeError(
            f"spectrum.meta['flags'] has dtype {flags.dtype}; flags are an integer "
            "bitmask (e.g. uint16)."
        )
    if flags.dtype.itemsize == 1 and flags.dtype.kind == "i":
        # astropy writes int8 columns as FITS logicals (astropy#11963): widen them.
        flags = flags.astype(np.int16)
    return flags.astype(flags.dtype.newbyteorder("="))


def _contaminated_array(meta, flags, n):
    if meta.get("contaminated") is None:
        from ..extraction import ExtractionFlag

        return (flags.astype(np.int64) & int(ExtractionFlag.contamination())) != 0
    contaminated = _entry_array(
        meta["contaminated"], "spectrum.meta['contaminated']", n
    )
    if contaminated.dtype != bool:
        raise TypeError(
            f"spectrum.meta['contaminated'] has dtype {contaminated.dtype}; it must be "
            "boolean (True where other traces fall in the aperture)."
        )
    return contaminated


@dataclass(frozen=True, eq=False)
class SourceSpectrum:
    """One extracted spectrum and what identifies it: a row of the spectra file.

    Parameters
    ----------
    spectrum : `~specutils.Spectrum`
        As returned by
        :func:`wfss_helpers.extraction.flux_calibration.flux_calibrate`: 1-D flux in
        F_lambda, a wavelength spectral axis, an uncertainty, optionally a boolean
        ``mask`` (None = all usable), and ``meta`` with ``flags`` (integer bitmask,
        required), and optionally ``contaminated`` (bool; derived from ``flags`` if
        absent), ``contamination`` (Quantity in F_lambda; NaN in the file if absent,
        or if ``contamination_modelled`` is False), ``centring_offset`` and
        ``rate_err_source``.
    source_id : int
        Catalogue identifier of the source.
    ra, dec : `~astropy.units.Quantity` or float
        Sky position (ICRS); a plain number is taken as degrees. Stored as Quantities in
        degrees, ``ra`` wrapped to [0, 360).
    grism : {"GRISMR", "GRISMC"}
        Case-insensitive; stored in upper case.
    order : str or int
        Spectral order: ``1``, ``"1"`` and ``"+1"`` are all stored as ``"+1"``.
    method : str, optional
        Extraction method, e.g. ``"box"`` (default) or ``"optimal"``.

    Raises
    ------
    TypeError, ValueError
        If a value is of the wrong kind, or the spectrum's arrays are not F_lambda or do
        not match its length (the message says which and how to fix it).
    """

    spectrum: Spectrum = field(repr=False)
    source_id: int
    ra: u.Quantity
    dec: u.Quantity
    grism: str
    order: str
    method: str = "box"

    def __post_init__(self):
        if not isinstance(self.spectrum, Spectrum):
            raise TypeError(
                "spectrum must be a specutils Spectrum (e.g. from "
                "wfss_helpers.extraction.flux_calibration.flux_calibrate), got "
                f"{type(self.spectrum).__name__}."
            )
        if np.ndim(self.spectrum.flux) != 1:
            raise ValueError(
                f"spectrum has flux of shape {np.shape(self.spectrum.flux)}; give one "
                "1-D spectrum per source, grism and order."
            )
        source_id = self.source_id
        if isinstance(source_id, (bool, np.bool_)) or not isinstance(
            source_id, numbers.Integral
        ):
            raise TypeError(
                f"source_id must be an integer, got {type(source_id).__name__} "
                f"{source_id!r}."
            )
        ra = _degrees(self.ra, "ra") % 360.0
        dec = _degrees(self.dec, "dec")
        if not -90.0 <= dec <= 90.0:
            raise ValueError(f"dec is {dec} deg; a declination lies in [-90, 90] deg.")
        grism = _short_text(self.grism, "grism", upper=True)
        if grism not in GRISMS:
            raise ValueError(f"grism must be one of {GRISMS}, got {self.grism!r}.")
        set_ = object.__setattr__
        set_(self, "source_id", int(source_id))
        set_(self, "ra", ra * u.deg)
        set_(self, "dec", dec * u.deg)
        set_(self, "grism", grism)
        set_(self, "order", _order_text(self.order))
        set_(self, "method", _short_text(self.method, "method"))
        self.columns()  # check the arrays now, not when the file is written

    @classmethod
    def from_spectrum(cls, spectrum):
        """A record from a `~specutils.Spectrum` whose ``meta`` holds the identifiers.

        Spectra read from a spectra file carry ``source_id``, ``ra``, ``dec``,
        ``grism``, ``order`` and ``method`` in their ``meta``; this puts them back into
        a record, so a list read back can be summarised or written again.

        Parameters
        ----------
        spectrum : `~specutils.Spectrum`

        Returns
        -------
        SourceSpectrum
        """
        if not isinstance(spectrum, Spectrum):
            raise TypeError(
                f"expected a specutils Spectrum, got {type(spectrum).__name__}."
            )
        keys = ("source_id", "ra", "dec", "grism", "order")
        missing = [key for key in keys if key not in spectrum.meta]
        if missing:
            raise ValueError(
                f"spectrum.meta has no {', '.join(missing)}: a bare Spectrum does not "
                "say which source it is. Give SourceSpectrum(spectrum, source_id=..., "
                "ra=..., dec=..., grism=..., order=...) or a dict with those keys "
                "instead."
            )
        values = {key: spectrum.meta[key] for key in keys}
        return cls(spectrum, method=spectrum.meta.get("method", "box"), **values)

    def columns(self):
        """The spectrum as the columns of its table in the file.

        Returns
        -------
        dict
            ``wavelength`` (micron), ``flux``, ``uncertainty``, ``contamination``
            (Quantity, erg/s/cm²/Å), ``mask``, ``contaminated`` (bool arrays) and
            ``flags`` (int array), in wavelength order as in the spectrum, plus
            ``contamination_modelled`` (bool).
        """
        spectrum = self.spectrum
        n = spectrum.flux.shape[0]
        axis = spectrum.spectral_axis
        if axis.unit.physical_type != "length":
            raise ValueError(
                f"spectral_axis has unit {axis.unit}, not a wavelength: the file "
                "stores wavelengths in micron."
            )
        flux = _flam_array(spectrum.flux, "spectrum.flux", n)
        if spectrum.uncertainty is None:
            raise ValueError(
                "spectrum has no uncertainty: give a StdDevUncertainty (1 sigma, in "
                "the flux unit), e.g. Spectrum(..., "
                "uncertainty=StdDevUncertainty(err))."
            )
        try:
            uncertainty = spectrum.uncertainty.represent_as(StdDevUncertainty).quantity
        except (TypeError, ValueError, AttributeError, u.UnitsError) as error:
            raise TypeError(
                f"spectrum.uncertainty ({type(spectrum.uncertainty).__name__}) cannot "
                f"be turned into a standard deviation: {error}"
            ) from None
        uncertainty = _flam_array(uncertainty, "spectrum.uncertainty", n)
        if spectrum.mask is None:
            mask = np.zeros(n, dtype=bool)
        else:
            mask = _entry_array(spectrum.mask, "spectrum.mask", n).astype(bool)
        meta = spectrum.meta
        flags = _flags_array(meta, n)
        contaminated = _contaminated_array(meta, flags, n)
        # a spectrum read back from a file without a model has NaN and says so
        modelled = meta.get("contamination") is not None and bool(
            meta.get("contamination_modelled", True)
        )
        if modelled:
            contamination = _flam_array(
                meta["contamination"], "spectrum.meta['contamination']", n
            )
        else:
            contamination = np.full(n, np.nan)
        return {
            "wavelength": axis.to(WAVELENGTH_UNIT).astype(float),
            "flux": flux * FLAM_UNIT,
            "uncertainty": uncertainty * FLAM_UNIT,
            "mask": mask,
            "contamination": contamination * FLAM_UNIT,
            "flags": flags,
            "contaminated": contaminated,
            "contamination_modelled": modelled,
        }

    @property
    def key(self):
        """``(source_id, grism, order, method)``: what must be unique in a file."""
        return (self.source_id, self.grism, self.order, self.method)


def _as_record(item, index):
    if isinstance(item, SourceSpectrum):
        return item
    if isinstance(item, Spectrum):
        return SourceSpectrum.from_spectrum(item)
    if isinstance(item, dict):
        allowed = {"spectrum", "source_id", "ra", "dec", "grism", "order", "method"}
        unknown = sorted(set(item) - allowed)
        missing = sorted(allowed - {"method"} - set(item))
        if unknown or missing:
            raise ValueError(
                f"spectra[{index}] (a dict) "
                + (f"has unknown keys {unknown}" if unknown else "")
                + (" and " if unknown and missing else "")
                + (f"lacks {missing}" if missing else "")
                + f"; the keys are {sorted(allowed)} ('method' optional)."
            )
        return SourceSpectrum(**item)
    raise TypeError(
        f"spectra[{index}] is a {type(item).__name__}; give SourceSpectrum records, "
        "dicts with the keys spectrum, source_id, ra, dec, grism, order (and "
        "method), or Spectrum objects read from a spectra file."
    )


def _records(spectra):
    """``spectra`` as a list of checked `SourceSpectrum` with unique keys."""
    if isinstance(spectra, (SourceSpectrum, Spectrum, dict)):
        spectra = [spectra]
    try:
        items = list(spectra)
    except TypeError:
        raise TypeError(
            f"spectra must be a list of SourceSpectrum records or dicts, got "
            f"{type(spectra).__name__}."
        ) from None
    if not items:
        raise ValueError("spectra is empty: there is nothing to write or summarise.")
    records = [_as_record(item, index) for index, item in enumerate(items)]
    seen = {}
    for index, record in enumerate(records):
        if record.key in seen:
            raise ValueError(
                f"spectra[{seen[record.key]}] and spectra[{index}] are both source "
                f"{record.source_id}, {record.grism} order {record.order}, "
                f"{record.method} extraction: give each spectrum once (or a different "
                "method)."
            )
        seen[record.key] = index
    return records


def _spectrum_hdu(record, extver):
    columns = record.columns()
    table = Table()
    for name in ("wavelength", "flux", "uncertainty", "mask", "contamination"):
        table[name] = columns[name]
    table["flags"] = columns["flags"]
    table["contaminated"] = columns["contaminated"]
    hdu = fits.table_to_hdu(table)
    header = hdu.header
    header["EXTNAME"] = (_EXTNAME, "one extracted spectrum")
    header["EXTVER"] = (extver, "spectrum number in this file, from 1")
    header["SOURCEID"] = (record.source_id, "source identifier")
    header["RA"] = (record.ra.to_value(u.deg), "[deg] source right ascension (ICRS)")
    header["DEC"] = (record.dec.to_value(u.deg), "[deg] source declination (ICRS)")
    header["GRISM"] = (record.grism, "NIRCam grism")
    header["ORDER"] = (record.order, "spectral order")
    header["METHOD"] = (record.method, "extraction method")
    header["CONTMOD"] = (
        columns["contamination_modelled"],
        "contamination model subtracted (else NaN)",
    )
    meta = record.spectrum.meta
    offset = meta.get("centring_offset")
    if isinstance(offset, numbers.Real) and math.isfinite(offset):
        header["CENTOFF"] = (float(offset), "[pix] trace centring offset")
    source = meta.get("rate_err_source")
    if isinstance(source, str) and source.isascii() and len(source) <= 60:
        header["RATEERR"] = (source, "what the uncertainty was built from")
    return hdu


def _check_path(path, overwrite):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"path must be a file name (str or Path), got {type(path).__name__}."
        )
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(
            f"{path} is a directory; give a file name such as spectra.fits."
        )
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"{path} already exists and was left untouched. Pass overwrite=True to "
            "replace it, or choose another file name."
        )
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"the folder {path.parent} does not exist; create it first "
            "(Path(...).mkdir(parents=True)) or choose another file name."
        )
    return path


def write_spectra(path, spectra, *, overwrite=False):
    """Write spectra (all sources, grisms, orders) to one file specutils reads.

    Everything is checked before anything is written, and the file is written under a
    temporary name and then renamed: a refused or failed call leaves an existing file
    as it was.

    Parameters
    ----------
    path : str or `~pathlib.Path`
        The FITS file to write, e.g. ``"field_spectra.fits"``.
    spectra : list of `SourceSpectrum`, dict or `~specutils.Spectrum`
        One item per spectrum: a `SourceSpectrum`, a dict with its parameters
        (``spectrum``, ``source_id``, ``ra``, ``dec``, ``grism``, ``order`` and
        optionally ``method``), or a Spectrum read from a spectra file (its ``meta``
        holds the identifiers). Each (source, grism, order, method) at most once.
    overwrite : bool, optional
        Replace ``path`` if it exists (default: refuse).

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    ValueError, TypeError
        If ``spectra`` is empty, an item is not F_lambda, its arrays do not match its
        length, or the same spectrum is given twice.

    Examples
    --------
    >>> write_spectra("field_spectra.fits", [                      # doctest: +SKIP
    ...     SourceSpectrum(spec_r, source_id=12, ra=53.16 * u.deg,
    ...                    dec=-27.78 * u.deg, grism="GRISMR", order="+1")])
    """
    records = _records(spectra)
    path = _check_path(path, overwrite)
    primary = fits.PrimaryHDU()
    primary.header["WFSSFMT"] = (FORMAT, "specutils format name (wfss_helpers)")
    primary.header["WFSSFVER"] = (FORMAT_VERSION, "version of the file layout")
    primary.header["NSPEC"] = (len(records), "number of SPECTRUM extensions")
    primary.header["ORIGIN"] = (
        "wfss_helpers.field.spectra_file", "software that wrote this"
    )
    hdulist = fits.HDUList(
        [primary] + [_spectrum_hdu(record, i + 1) for i, record in enumerate(records)]
    )
    handle, temporary = tempfile.mkstemp(
        suffix=".fits", prefix=f".{path.name}.", dir=path.parent
    )
    os.close(handle)
    try:
        hdulist.writeto(temporary, overwrite=True)
        give_normal_permissions(temporary)  # not mkstemp's 0600
        if path.exists() and not overwrite:  # appeared while writing
            raise FileExistsError(
                f"{path} appeared while the spectra were being written and was left "
                "untouched. Pass overwrite=True to replace it."
            )
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


# --------------------------------------------------------------------------- reading


def _identify(origin, *args, **kwargs):
    """True for a file written by :func:`write_spectra` (``WFSSFMT`` keyword)."""
    if origin != "read":
        return False
    with read_fileobj_or_hdulist(*args, memmap=False) as hdulist:
        return hdulist[0].header.get("WFSSFMT") == FORMAT


def _native(array):
    array = np.asarray(array)
    return array.astype(array.dtype.newbyteorder("="))


def _spectrum_from_hdu(hdu):
    table = QTable.read(hdu, mask_invalid=False)
    header = hdu.header
    meta = {
        "source_id": int(header["SOURCEID"]),
        "ra": float(header["RA"]) * u.deg,
        "dec": float(header["DEC"]) * u.deg,
        "grism": header["GRISM"],
        "order": header["ORDER"],
        "method": header["METHOD"],
        "flags": _native(table["flags"]),
        "contaminated": _native(table["contaminated"]).astype(bool),
        "contamination": _native(table["contamination"].value) * FLAM_UNIT,
        "contamination_modelled": bool(header["CONTMOD"]),
        "centring_offset": float(header.get("CENTOFF", np.nan)),
        "header": header.copy(),
    }
    if "RATEERR" in header:
        meta["rate_err_source"] = header["RATEERR"]
    flux = _native(table["flux"].to_value(FLAM_UNIT)) * FLAM_UNIT
    error = _native(table["uncertainty"].to_value(FLAM_UNIT)) * FLAM_UNIT
    return Spectrum(
        flux=flux,
        spectral_axis=_native(table["wavelength"].to_value(WAVELENGTH_UNIT))
        * WAVELENGTH_UNIT,
        uncertainty=StdDevUncertainty(error),
        mask=_native(table["mask"]).astype(bool),
        meta=meta,
    )


def _read_list(file_obj, **kwargs):
    with read_fileobj_or_hdulist(file_obj, memmap=False, **kwargs) as hdulist:
        header = hdulist[0].header
        if header.get("WFSSFMT") != FORMAT:
            raise ValueError(
                f"{file_obj} is not a {FORMAT} file (its primary header has no "
                f"WFSSFMT = '{FORMAT}'). Read it with another specutils format."
            )
        version = header.get("WFSSFVER", 0)
        if version > FORMAT_VERSION:
            raise ValueError(
                f"{file_obj} has layout version {version}, newer than this "
                f"wfss_helpers reads ({FORMAT_VERSION}): update wfss_helpers."
            )
        name = getattr(file_obj, "name", None) or str(file_obj)
        hdus = complete_spectrum_hdus(hdulist, name, _EXTNAME)
        return SpectrumList([_spectrum_from_hdu(hdu) for hdu in hdus])


@data_loader(
    FORMAT,
    identifier=_identify,
    dtype=SpectrumList,
    extensions=["fits"],
    priority=_PRIORITY,
    force=True,
)
def _spectrum_list_loader(file_obj, **kwargs):
    """Read every spectrum of a spectra file (specutils loader).

    Parameters
    ----------
    file_obj : str, file-like or `~astropy.io.fits.HDUList`
    **kwargs
        Passed to `astropy.io.fits.open`.

    Returns
    -------
    `~specutils.SpectrumList`
    """
    return _read_list(file_obj, **kwargs)


@data_loader(
    FORMAT,
    identifier=_identify,
    dtype=Spectrum,
    extensions=["fits"],
    priority=_PRIORITY,
    force=True,
    autogenerate_spectrumlist=False,
)
def _spectrum_loader(file_obj, **kwargs):
    """Read the one spectrum of a spectra file (specutils loader).

    Returns
    -------
    `~specutils.Spectrum`

    Raises
    ------
    ValueError
        If the file holds more than one spectrum (use ``SpectrumList.read``).
    """
    spectra = _read_list(file_obj, **kwargs)
    if len(spectra) != 1:
        raise ValueError(
            f"{file_obj} holds {len(spectra)} spectra; read them all with "
            f"SpectrumList.read(path, format={FORMAT!r})."
        )
    return spectra[0]


@custom_writer(FORMAT, dtype=SpectrumList, force=True)
def _spectrum_list_writer(spectra, path, overwrite=False):
    """``SpectrumList.write(path, format=FORMAT)``: see :func:`write_spectra`."""
    write_spectra(path, list(spectra), overwrite=overwrite)


@custom_writer(FORMAT, dtype=Spectrum, force=True)
def _spectrum_writer(spectrum, path, overwrite=False):
    """``Spectrum.write(path, format=FORMAT)``: see :func:`write_spectra`."""
    write_spectra(path, [spectrum], overwrite=overwrite)


def read_spectra(path):
    """Read a spectra file: ``SpectrumList.read(path, format="wfss-helpers-spectra")``.

    Parameters
    ----------
    path : str or `~pathlib.Path`

    Returns
    -------
    `~specutils.SpectrumList`
        One `~specutils.Spectrum` per spectrum in the file, in the order written; see
        the module docstring for what ``meta`` holds.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    wfss_helpers.checks.files.InvalidInputFileError
        If the file holds no spectrum, or fewer than its ``NSPEC`` says (cut short).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"path must be a file name (str or Path), got {type(path).__name__}."
        )
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path} does not exist (or is not a file).")
    return SpectrumList.read(path, format=FORMAT)
