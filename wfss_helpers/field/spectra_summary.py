"""One row per spectrum: the summary table of a field's spectra, written as ECSV.

:func:`summary_table` gives, for every spectrum that
:func:`~wfss_helpers.field.spectra_file.write_spectra` takes (or that a spectra file
gives back), its identifiers (source id, RA, Dec, grism, order, extraction method),
how many of its entries are usable, masked or flagged, its wavelength range, median
flux and S/N, and how much of the light in its aperture was modelled as other
sources'. Each column has a unit and a description, which ECSV keeps::

    summary_table(spectra).write("field_spectra.ecsv", format="ascii.ecsv")
"""

from __future__ import annotations

import numpy as np
from astropy import units as u
from astropy.table import Column, Table

from .spectra_file import FLAM_UNIT, FORMAT, WAVELENGTH_UNIT, _records

__all__ = ["summary_table"]


_SUMMARY = {
    "source_id": (None, "source identifier"),
    "ra": (u.deg, "right ascension (ICRS)"),
    "dec": (u.deg, "declination (ICRS)"),
    "grism": (None, "NIRCam grism"),
    "order": (None, "spectral order"),
    "method": (None, "extraction method"),
    "n_entries": (None, "entries along the dispersion"),
    "n_valid": (None, "entries not masked, with finite flux and uncertainty"),
    "n_masked": (None, "entries masked (not usable)"),
    "n_flagged": (None, "entries with any flag bit set"),
    "wavelength_min": (WAVELENGTH_UNIT, "shortest valid wavelength"),
    "wavelength_max": (WAVELENGTH_UNIT, "longest valid wavelength"),
    "median_flux": (FLAM_UNIT, "median F_lambda of the valid entries"),
    "median_snr": (None, "median flux / uncertainty of the valid entries"),
    "contaminated_fraction": (None, "fraction of valid entries flagged contaminated"),
    "contamination_fraction": (
        None,
        "sum(contamination) / sum(flux + contamination) over valid entries: the share "
        "of the light in the aperture that was modelled as other sources' (NaN if not "
        "modelled)",
    ),
}


def _summary_row(record):
    columns = record.columns()
    flux = columns["flux"].to_value(FLAM_UNIT)
    error = columns["uncertainty"].to_value(FLAM_UNIT)
    wavelength = columns["wavelength"].to_value(WAVELENGTH_UNIT)
    contamination = columns["contamination"].to_value(FLAM_UNIT)
    valid = ~columns["mask"] & np.isfinite(flux) & np.isfinite(error)
    n_valid = int(valid.sum())
    nan = float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        snr = flux[valid] / error[valid]
    snr = snr[np.isfinite(snr)]
    fraction = nan
    if columns["contamination_modelled"] and n_valid:
        total = np.nansum(flux[valid] + contamination[valid])
        if total != 0:
            fraction = float(np.nansum(contamination[valid]) / total)
    return {
        "source_id": record.source_id,
        "ra": record.ra.to_value(u.deg),
        "dec": record.dec.to_value(u.deg),
        "grism": record.grism,
        "order": record.order,
        "method": record.method,
        "n_entries": flux.size,
        "n_valid": n_valid,
        "n_masked": int(columns["mask"].sum()),
        "n_flagged": int(np.count_nonzero(columns["flags"])),
        "wavelength_min": float(wavelength[valid].min()) if n_valid else nan,
        "wavelength_max": float(wavelength[valid].max()) if n_valid else nan,
        "median_flux": float(np.median(flux[valid])) if n_valid else nan,
        "median_snr": float(np.median(snr)) if snr.size else nan,
        "contaminated_fraction": (
            float(columns["contaminated"][valid].mean()) if n_valid else nan
        ),
        "contamination_fraction": fraction,
    }


def summary_table(spectra):
    """One row per spectrum: identifiers, wavelength range, S/N and contamination.

    Write it next to the spectra file with
    ``table.write("field_spectra.ecsv", format="ascii.ecsv")``: ECSV keeps the units
    and the column descriptions, and ``Table.read`` gives them back.

    Parameters
    ----------
    spectra : list of SourceSpectrum, dict or `~specutils.Spectrum`
        As for :func:`~wfss_helpers.field.spectra_file.write_spectra` (records of
        `~wfss_helpers.field.spectra_file.SourceSpectrum`); a
        `~specutils.SpectrumList` read from a spectra file works too.

    Returns
    -------
    `~astropy.table.Table`
        Columns ``source_id``, ``ra``, ``dec`` (deg), ``grism``, ``order``, ``method``,
        ``n_entries``, ``n_valid`` (not masked, finite flux and uncertainty),
        ``n_masked``, ``n_flagged`` (any flag bit), ``wavelength_min``/``_max``
        (micron, valid entries), ``median_flux`` (erg/s/cm²/Å), ``median_snr``,
        ``contaminated_fraction`` (of valid entries) and ``contamination_fraction``
        (``sum(contamination) / sum(flux + contamination)`` over valid entries, NaN if
        no contamination was modelled). Each column has a ``description``.

    Raises
    ------
    ValueError, TypeError
        As :func:`~wfss_helpers.field.spectra_file.write_spectra`.
    """
    rows = [_summary_row(record) for record in _records(spectra)]
    table = Table()
    for name, (unit, description) in _SUMMARY.items():
        values = [row[name] for row in rows]
        table[name] = Column(values, unit=unit, description=description)
    table.meta["comments"] = [
        f"One row per spectrum of a {FORMAT} file (wfss_helpers.field.spectra_file)."
    ]
    return table
