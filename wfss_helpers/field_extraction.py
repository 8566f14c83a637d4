"""Every source of a field, every order on the detector: extracted, decontaminated,
calibrated.

:func:`extract_field` runs, for each source and order of a
:class:`~wfss_helpers.forward_model.FieldModel`, the two extractions of notebook 6 with
the model of everything else subtracted:

* a **box** of ``±half_height`` pixels (:func:`~wfss_helpers.extraction.box_extract`),
  divided by the fraction of the model profile inside the box (the aperture
  correction, :func:`~wfss_helpers.optimal_extraction.profile_aperture_fraction`), so it
  is the source's whole light;
* an **optimal** extraction (:func:`~wfss_helpers.optimal_extraction.optimal_extract`)
  with the model profile,

flux-calibrates both (:func:`~wfss_helpers.flux_calibration.flux_calibrate`), and
returns them as :class:`~wfss_helpers.spectra_file.SourceSpectrum` records, ready for
:func:`~wfss_helpers.spectra_file.write_spectra`. Nothing is dropped silently: an order
that cannot be extracted is listed in ``skipped`` with the reason, and the warnings of
each extraction are kept with it.

The contamination image of one source is the field model minus that source's order. It
is made by subtracting the source's small model stamp from the field model in place
and adding it back after the extraction, so no full-frame image is copied per source.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from astropy import units as u
from astropy.table import Table

from .argument_checks import positive_number
from .extraction import box_extract
from .flux_calibration import flux_calibrate
from .forward_model import _data_and_err, open_model
from .optimal_extraction import optimal_extract
from .spectra_file import SourceSpectrum

__all__ = ["FieldExtraction", "extract_field"]

METHODS = ("box", "optimal")


@dataclass(frozen=True)
class FieldExtraction:
    """The spectra of a whole field, and what could not be extracted.

    Attributes
    ----------
    spectra : list of `~wfss_helpers.spectra_file.SourceSpectrum`
        One per source, order and method, F_lambda of the source's whole light.
    skipped : `~astropy.table.Table`
        ``source_id``, ``order``, ``method``, ``reason`` of every extraction that was
        not possible (e.g. the trace leaves the detector across the dispersion).
    warnings : dict
        ``{(source_id, order, method): [messages]}``: what each extraction warned about.
    extractions : dict
        ``{(source_id, order, method): BoxExtraction or OptimalExtraction}``, in DN/s.
    grism : str
    """

    spectra: list
    skipped: Table
    warnings: dict = field(repr=False)
    extractions: dict = field(repr=False)
    grism: str = ""

    def spectrum(self, source_id, order="+1", method="optimal"):
        """The record of one source, order and method."""
        for record in self.spectra:
            if (record.source_id, record.order, record.method) == (
                int(source_id), _order_text(order), method
            ):
                return record
        raise KeyError(
            f"No {method} spectrum of order {_order_text(order)} of source {source_id}"
            " (see .skipped for what could not be extracted)."
        )


def _order_text(order):
    text = str(order).strip()
    return text if text.startswith(("+", "-")) or text == "0" else f"+{int(text)}"


def _with_aperture_correction(spectrum, fraction):
    """The box spectrum divided by the profile's fraction inside the box."""
    from astropy.nddata import StdDevUncertainty
    from specutils import Spectrum

    meta = dict(spectrum.meta)
    if "contamination" in meta:
        meta["contamination"] = meta["contamination"] / fraction
    meta["aperture_fraction"] = fraction
    with np.errstate(invalid="ignore", divide="ignore"):
        return Spectrum(
            flux=spectrum.flux / fraction,
            spectral_axis=spectrum.spectral_axis,
            uncertainty=StdDevUncertainty(spectrum.uncertainty.array / fraction),
            mask=spectrum.mask | ~np.isfinite(fraction),
            meta=meta,
        )


def extract_field(field_model, wfss, *, grism=None, orders=None, methods=METHODS,
                  half_height=4.0, window=12.0):
    """Extract every source of a field model from a WFSS exposure, decontaminated.

    Parameters
    ----------
    field_model : `~wfss_helpers.forward_model.FieldModel`
        The (refined) model of this exposure.
    wfss : dict, path or model
        The exposure with its sky subtracted: a dict with ``data``, ``err`` (and
        ``dq``) arrays, or a data model whose sky is already removed.
    grism : str, optional
        Recorded in each spectrum; default the exposure's ``PUPIL`` (or the model's
        configuration for a dict).
    orders : sequence, optional
        Orders to extract (default every modelled order).
    methods : sequence of {"box", "optimal"}, optional
    half_height : float, optional
        Half-height of the box aperture, pixels.
    window : float, optional
        Half-height of the optimal extraction's window, pixels.

    Returns
    -------
    FieldExtraction
    """
    unknown = set(methods) - set(METHODS)
    if unknown or not methods:
        raise ValueError(
            f"methods must be a non-empty selection of {METHODS}, got {tuple(methods)}."
        )
    half_height = positive_number(half_height, "half_height")
    window = positive_number(window, "window")
    if isinstance(wfss, dict):
        arrays = {k: np.asarray(v) for k, v in wfss.items()}
    else:
        model = open_model(wfss, wfss=True)
        arrays = {"data": np.asarray(model.data), "err": np.asarray(model.err),
                  "dq": np.asarray(model.dq)}
        grism = grism or str(model.meta.instrument.pupil)
    data, err = _data_and_err(arrays)
    if data.shape != tuple(field_model.shape):
        raise ValueError(
            f"The exposure has shape {data.shape}, the field model {field_model.shape}:"
            " model this exposure (forward_model.model_field) first."
        )
    if grism is None:
        from .trace import configuration_origin

        grism = configuration_origin(field_model.config).pupil or "GRISMR"
    wanted = None if orders is None else {_order_text(o) for o in orders}
    positions = {int(r["id"]): (r["ra"], r["dec"]) for r in field_model.sources}
    contamination = field_model.image()
    spectra, skipped, messages, extractions = [], [], {}, {}
    for (source_id, order), piece in field_model.dispersed.items():
        if wanted is not None and order not in wanted:
            continue
        piece.add_to(contamination, scale=-1.0)  # everything but this order
        try:
            for method in methods:
                key = (source_id, order, method)
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    try:
                        result = _extract(arrays, piece, contamination, method,
                                          half_height, window)
                    except ValueError as err_:
                        skipped.append((source_id, order, method, str(err_)))
                        continue
                messages[key] = [str(w.message) for w in caught]
                extractions[key] = result[0]
                ra, dec = positions[source_id]
                spectra.append(SourceSpectrum(
                    result[1], source_id, ra * u.deg, dec * u.deg, grism, order,
                    method,
                ))
        finally:
            piece.add_to(contamination, scale=1.0)
    table = Table(rows=skipped or None, names=("source_id", "order", "method", "reason"),
                  dtype=(int, str, str, str))
    return FieldExtraction(spectra, table, messages, extractions, str(grism).upper())


def _extract(arrays, piece, contamination, method, half_height, window):
    """One extraction and its calibrated spectrum (whole light, F_lambda)."""
    trace = piece.trace
    if method == "box":
        box = box_extract(arrays, trace, half_height=half_height, background=0.0,
                          contamination=contamination)
        from .optimal_extraction import profile_aperture_fraction

        pixels, fraction = profile_aperture_fraction(
            piece, trace, half_height, shape=contamination.shape
        )
        fraction = np.interp(box.pixel, pixels, fraction, left=np.nan, right=np.nan)
        spectrum = flux_calibrate(box)
        order = np.argsort(box.wavelength)
        return box, _with_aperture_correction(spectrum, fraction[order])
    optimal = optimal_extract(arrays, trace, piece, contamination=contamination,
                              half_height=window)
    return optimal, flux_calibrate(optimal)
