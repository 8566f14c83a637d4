"""Every source of a field, every order on the detector: extracted, decontaminated,
calibrated.

:func:`extract_field` runs, for each source and order of a
:class:`~wfss_helpers.field.field_model.FieldModel`, the two extractions of notebook 6
with the model of everything else subtracted:

* a **box** of ``±half_height`` pixels
  (:func:`~wfss_helpers.extraction.box.box_extract`), divided by the fraction of the
  model profile inside the box (the aperture correction,
  :func:`~wfss_helpers.extraction.optimal.profile_aperture_fraction`), so it is the
  source's whole light;
* an **optimal** extraction (:func:`~wfss_helpers.extraction.optimal.optimal_extract`)
  with the model profile,

flux-calibrates both
(:func:`~wfss_helpers.extraction.flux_calibration.flux_calibrate`), and returns them
as :class:`~wfss_helpers.field.spectra_file.SourceSpectrum` records, ready for
:func:`~wfss_helpers.field.spectra_file.write_spectra`. Nothing is dropped silently:
an order that cannot be extracted is listed in ``skipped`` with the reason, and the
warnings of each extraction are kept with it.

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

from ..checks.arguments import positive_number
from ..extraction import box_extract, flux_calibrate, optimal_extract
from ..extraction.aperture import MIN_HALF_HEIGHT
from ._arguments import _check_instance, _model_orders
from ._exposure_checks import (
    _check_model_matches,
    _exposure_arrays,
    _warn_unsubtracted_sky,
)
from .field_model import FieldModel
from .spectra_file import SourceSpectrum, _order_text

__all__ = ["FieldExtraction", "extract_field"]

METHODS = ("box", "optimal")


@dataclass(frozen=True)
class FieldExtraction:
    """The spectra of a whole field, and what could not be extracted.

    Attributes
    ----------
    spectra : list of `~wfss_helpers.field.spectra_file.SourceSpectrum`
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
    field_model : `~wfss_helpers.field.field_model.FieldModel`
        The (refined) model of this exposure.
    wfss : dict, path, model or `~wfss_helpers.exposure.WFSSExposure`
        The exposure with its sky subtracted: a dict with ``data``, ``err`` (and
        ``dq``) arrays, a data model whose sky is already removed, or an exposure
        (e.g. ``WFSSExposure.open(path).with_data(clean)``). A path or a model is
        opened once, and that one exposure serves every extraction.
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

    Raises
    ------
    TypeError
        If ``field_model`` is not a FieldModel, or an argument is of the wrong type.
    ValueError
        If ``methods`` is empty or unknown, an order is not modelled, ``half_height``
        is below 1 px or ``window`` makes a window taller than the detector; if the
        exposure has another shape than the model, no usable pixel, or no ERR while
        the optimal extraction is asked for.
    wfss_helpers.geometry.configuration.ExposureMismatchError
        If the exposure is not the one modelled (its FILTER/PUPIL, or ``grism``,
        differ from the model's configuration; or the data do not follow the model).

    Warns
    -----
    UserWarning
        If the data far from every modelled trace are not about 0: the sky seems not
        subtracted, and every spectrum would hold it.
    """
    _check_instance(field_model, FieldModel, "field_model",
                    "model the field first with model_field(sources, wfss, config)")
    methods, half_height, window = _extraction_settings(field_model, methods,
                                                        half_height, window)
    arrays, data, err, exposure = _exposure_arrays(
        wfss, field_model, what="The optimal extraction",
        need_err="optimal" in methods,
    )
    grism = _recorded_grism(grism, field_model.config, exposure)
    contamination = field_model.image()
    if err is not None:
        level = _warn_unsubtracted_sky(
            data, err, contamination, "Every spectrum would hold it",
            "and pass the subtracted arrays", stacklevel=2,
        )
        _check_model_matches(data, err, contamination, level)
    wanted = _wanted_orders(field_model, orders)
    positions = {int(r["id"]): (r["ra"], r["dec"]) for r in field_model.sources}
    spectra, skipped, messages, extractions = [], [], {}, {}
    for (source_id, order), piece in field_model.dispersed.items():
        if wanted is not None and order not in wanted:
            continue
        piece.add_to(contamination, scale=-1.0)  # everything but this order
        try:
            for method in methods:
                key = (source_id, order, method)
                done = _extract_recorded(arrays, piece, contamination, method,
                                         half_height, window)
                if isinstance(done, str):  # the reason it could not be extracted
                    skipped.append((source_id, order, method, done))
                    continue
                extractions[key], spectrum, messages[key] = done
                ra, dec = positions[source_id]
                spectra.append(SourceSpectrum(
                    spectrum, source_id, ra * u.deg, dec * u.deg, grism, order, method,
                ))
        finally:
            piece.add_to(contamination, scale=1.0)
    table = Table(rows=skipped or None,
                  names=("source_id", "order", "method", "reason"),
                  dtype=(int, str, str, str))
    return FieldExtraction(spectra, table, messages, extractions, str(grism).upper())


def _extraction_settings(field_model, methods, half_height, window):
    """The methods, the box's half-height and the optimal window, checked."""
    methods = _methods(methods)
    half_height = positive_number(half_height, "half_height")
    window = positive_number(window, "window")
    if "box" in methods and half_height < MIN_HALF_HEIGHT:
        raise ValueError(
            f"half_height={half_height:g} px is below the box's minimum of "
            f"{MIN_HALF_HEIGHT:g} px: the box would hold a fraction of the trace that "
            "depends on where it falls within a pixel. Use half_height >= 1 (the "
            "tutorial uses 4); the aperture correction restores the rest."
        )
    n_cross = min(field_model.shape)
    if "optimal" in methods and 2 * window + 1 > n_cross:
        raise ValueError(
            f"window={window:g} px makes the optimal extraction's window "
            f"{2 * window + 1:g} px tall, taller than the detector ({n_cross} px): "
            "every entry would be flagged off the detector. It only needs to hold the"
            " source's profile: use window=12 (the default)."
        )
    return methods, half_height, window


def _recorded_grism(grism, config, exposure):
    """The grism the spectra are labelled with, checked against the model and data."""
    from ..geometry.configuration import ExposureMismatchError, configuration_origin

    recorded = configuration_origin(config).pupil
    if grism is None:
        grism = exposure[1] if exposure is not None and exposure[1] else recorded
        grism = grism or "GRISMR"
    elif not isinstance(grism, str) or not grism.strip():
        raise TypeError(
            f"grism must be the grism's name, e.g. 'GRISMR', got {grism!r}."
        )
    for other, source in ((recorded, "the model's configuration"),
                          (exposure[1] if exposure else None, "the exposure")):
        if other and str(other).strip().upper() != grism.strip().upper():
            raise ExposureMismatchError(
                f"grism={grism!r}, but {source} is for {str(other).upper()}: every "
                "spectrum would be labelled with the wrong grism. Leave grism=None "
                "(it is read from the exposure) or give the exposure's grism."
            )
    return grism


def _wanted_orders(field_model, orders):
    """The orders to extract, checked against the model (None: every modelled one)."""
    if orders is None:
        return None
    wanted = set(_model_orders(field_model.config, orders))
    missing = wanted - set(field_model.orders)
    if missing:
        raise ValueError(
            f"Order(s) {', '.join(sorted(missing))} are not modelled (the model "
            f"has orders {', '.join(field_model.orders)}): there is nothing to "
            "extract in them. Model them (model_field(..., orders=...)) or leave "
            "orders=None."
        )
    return wanted


def _extract_recorded(arrays, piece, contamination, method, half_height, window):
    """One extraction, its spectrum and its warnings; or why it was not possible."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = _extract(arrays, piece, contamination, method, half_height,
                              window)
        except ValueError as error:
            return str(error)
    return result[0], result[1], [str(w.message) for w in caught]


def _methods(methods):
    """The extraction methods asked for, as a tuple, checked."""
    if isinstance(methods, str):
        methods = (methods,)
    try:
        methods = tuple(methods)
    except TypeError:
        raise TypeError(
            f"methods must be a selection of {METHODS}, got {methods!r}."
        ) from None
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ValueError(
            f"methods must be a non-empty selection of {METHODS}, got {methods}."
        )
    return tuple(dict.fromkeys(methods))


def _extract(arrays, piece, contamination, method, half_height, window):
    """One extraction and its calibrated spectrum (whole light, F_lambda)."""
    trace = piece.trace
    if method == "box":
        box = box_extract(arrays, trace, half_height=half_height, background=0.0,
                          contamination=contamination)
        from ..extraction.optimal import profile_aperture_fraction

        pixels, fraction = profile_aperture_fraction(
            piece, trace, half_height, shape=contamination.shape
        )
        fraction = np.interp(box.pixel, pixels, fraction, left=np.nan, right=np.nan)
        spectrum = flux_calibrate(box)
        order = np.argsort(box.wavelength)
        return box, _with_aperture_correction(spectrum, fraction[order])
    # The exposure's sky was checked once for the whole field (extract_field).
    optimal = optimal_extract(arrays, trace, piece, contamination=contamination,
                              half_height=window, _check_sky=False)
    return optimal, flux_calibrate(optimal)
