"""The spectra a field is modelled with, as tables: checked, and as functions.

:func:`~wfss_helpers.field.field_model.model_field` takes, for any source, a spectrum
``(wavelength, flambda)`` instead of the flat first guess (``spectra=``); every
spectrum of a :class:`~wfss_helpers.field.field_model.FieldModel` is such a table. Here:

* the check of the given spectra: sorted by wavelength, in µm and erg/s/cm²/Å (any
  spectral unit and flux density, F_nu included, is converted), finite, with some
  positive flux, for sources of the direct image, and inside the wavelengths the
  grism is sensitive to;
* a table as a function of wavelength (0 outside it), the form the trace kernel takes;
* the wavelengths a grism configuration covers.
"""

from __future__ import annotations

import warnings

import numpy as np
from astropy import units as u

from ..checks.arguments import wavelength_in_micron
from ._arguments import _as_source_id, _some
from .dispersed_source import T_RANGE
from .footprints import FLAM_UNIT

__all__ = []


def _spectrum_function(wave, flam):
    """A tabulated spectrum (µm, F_lambda) as a function of µm, 0 outside the table."""
    return lambda w: np.interp(w, wave, flam, left=0.0, right=0.0)


def _configured_wavelengths(config):
    """Widest wavelength range (µm) of the configuration's orders over T_RANGE."""
    lo, hi = np.inf, -np.inf
    for order in config.orders:
        for t in T_RANGE:
            w = float(config.DISPL(order, 1024.0, 1024.0, t))
            lo, hi = min(lo, w), max(hi, w)
    return lo, hi


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
