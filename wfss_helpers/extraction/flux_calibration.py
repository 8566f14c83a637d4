"""Flux calibration of WFSS spectra: sensitivity curves and the conversion to F_lambda.

The JWST pipeline stores the grism sensitivity in a WFSS *photom* reference file as a
conversion ``photmjsr`` (MJy/sr per DN/s) times a dimensionless ``relresponse(lambda)``.
Box extraction needs the inverse view: the count rate a source of unit flux density makes,
``S(lambda)`` in DN/s per erg/s/cm²/Å (per Å of spectrum). The two are related through the
pixel solid angle and ``F_lambda = F_nu c / lambda**2``:

.. math::

    S(\\lambda) = \\frac{\\lambda^2}{c\\,\\mathrm{relresponse}(\\lambda)\\,
    \\mathrm{photmjsr}\\,10^{-17}\\,\\Omega_\\mathrm{pix}}

(``10^{-17}`` turns MJy into erg/s/cm²/Hz). This is the same conversion grismconf applies
when it reads a processed WFSS file.
"""

from __future__ import annotations

import numpy as np
from astropy import constants as const
from astropy import units as u

from ..checks.arguments import positive_number
from ..geometry.sensitivity import FLAM_UNIT, SENSITIVITY_UNIT, sensitivity_curve

__all__ = [
    "SENSITIVITY_UNIT",
    "FLAM_UNIT",
    "relresponse_from_sensitivity",
    "sensitivity_from_relresponse",
    "sensitivity_curve",
    "flambda_arrays",
    "flux_calibrate",
]


_MJY_SR_PER_DN_S = u.MJy / u.sr / (u.DN / u.s)


def _photom_inputs(wavelength, photmjsr, pixel_area_sr):
    """Check the numbers of a photom table row; pixel area as a float in steradian."""
    if not isinstance(wavelength, u.Quantity) or wavelength.unit.physical_type != "length":
        raise ValueError(
            "wavelength must be a Quantity with a length unit (e.g. the table's wavelengths * u.micron), "
            f"got {getattr(wavelength, 'unit', type(wavelength).__name__)}."
        )
    positive_number(photmjsr, "photmjsr")
    return positive_number(pixel_area_sr, "pixel_area_sr", unit=u.sr)


def _flam_per_rate(wavelength, relresponse, photmjsr, pixel_area_sr):
    """F_lambda (per Å) of a source that gives 1 DN/s per Å of its spectrum."""
    pixel_area_sr = _photom_inputs(wavelength, photmjsr, pixel_area_sr)
    relresponse = np.asarray(relresponse, dtype=float)
    if np.any(relresponse < 0) or not np.all(np.isfinite(relresponse)):
        raise ValueError("relresponse must be finite and not negative.")
    if relresponse.shape != np.shape(wavelength):
        raise ValueError(
            f"relresponse has {relresponse.size} values for {np.size(wavelength)} wavelengths; they must match."
        )
    fnu = (np.asarray(relresponse, dtype=float) * photmjsr * _MJY_SR_PER_DN_S) * (
        pixel_area_sr * u.sr
    )
    return (fnu * const.c / wavelength**2).to(FLAM_UNIT / (u.DN / u.s))


def sensitivity_from_relresponse(wavelength, relresponse, photmjsr, pixel_area_sr):
    """Turn a WFSS photom table row into a sensitivity curve.

    Parameters
    ----------
    wavelength : `~astropy.units.Quantity`
        Wavelengths of the table (any length unit).
    relresponse : array_like
        The table's dimensionless ``relresponse`` at those wavelengths.
    photmjsr : float
        The row's ``photmjsr`` (MJy/sr per DN/s).
    pixel_area_sr : float
        Pixel solid angle in steradian (``PIXAR_SR`` of the exposure).

    Returns
    -------
    `~astropy.units.Quantity`
        Sensitivity in DN/s/Å per erg/s/cm²/Å (:data:`SENSITIVITY_UNIT`).
    """
    # 1 DN/s in a pixel column is F_nu per pixel; per Å of spectrum that is 1 DN/s/Å.
    per_angstrom = 1.0 / _flam_per_rate(wavelength, relresponse, photmjsr, pixel_area_sr) / u.AA
    return per_angstrom.to(SENSITIVITY_UNIT)


def relresponse_from_sensitivity(wavelength, sensitivity, photmjsr, pixel_area_sr):
    """Inverse of :func:`sensitivity_from_relresponse` (used to write photom files).

    Parameters
    ----------
    wavelength : `~astropy.units.Quantity`
        Wavelengths (any length unit).
    sensitivity : `~astropy.units.Quantity`
        Sensitivity in :data:`SENSITIVITY_UNIT`; must be positive.
    photmjsr : float
        Conversion to write beside it, MJy/sr per DN/s.
    pixel_area_sr : float
        Pixel solid angle in steradian.

    Returns
    -------
    numpy.ndarray
        Dimensionless relresponse.
    """
    unit_rel = _flam_per_rate(wavelength, np.ones(np.shape(wavelength)), photmjsr, pixel_area_sr)
    if not isinstance(sensitivity, u.Quantity) or not sensitivity.unit.is_equivalent(SENSITIVITY_UNIT):
        raise ValueError(
            f"sensitivity must be a Quantity in {SENSITIVITY_UNIT} (DN/s/Å per erg/s/cm²/Å), got "
            f"{getattr(sensitivity, 'unit', type(sensitivity).__name__)}."
        )
    if np.any(~(sensitivity.value > 0)):
        raise ValueError("sensitivity must be positive everywhere: a photom table cannot hold a zero response.")
    return (1.0 / (sensitivity.to(SENSITIVITY_UNIT) * u.AA * unit_rel)).to_value(u.dimensionless_unscaled)


def _check_extraction(extraction, config):
    """Check the arguments of the calibration; return the configuration to use."""
    from .results import BoxExtraction
    from ..geometry.trace import GrismTrace
    from ..geometry.configuration import (
        _is_grism_config,
        check_exposure_matches,
        configuration_origin,
    )

    if isinstance(config, BoxExtraction) and (
        _is_grism_config(extraction) or isinstance(extraction, GrismTrace)
    ):
        raise TypeError("The arguments are swapped: pass the extraction first, then the grism configuration.")
    if not isinstance(extraction, BoxExtraction):
        raise TypeError(
            f"Expected a BoxExtraction (the result of wfss_helpers.extraction.box.box_extract), got "
            f"{type(extraction).__name__}."
        )
    if config is None and extraction.trace is not None:
        config = extraction.trace.config
    if isinstance(config, GrismTrace):
        config = config.config
    if not _is_grism_config(config):
        raise TypeError(
            f"Expected a grismconf.Config, got {type(config).__name__}; create one with "
            "wfss_helpers.geometry.configuration.load_grism_config(path)."
        )
    if extraction.pixel.size == 0:
        raise ValueError(
            "This extraction has no pixels; there is nothing to calibrate."
        )
    if extraction.trace is not None and extraction.trace.config is not config:
        origin = configuration_origin(extraction.trace.config)
        extracted = "that was extracted"
        check_exposure_matches(origin.filter, origin.pupil, config, extracted)
    return config


def flambda_arrays(extraction, config=None, *, min_relative_sensitivity=1e-2):
    """F_lambda, its uncertainty and a mask, entry by entry (the arrays behind
    :func:`flux_calibrate`).

    Parameters
    ----------
    extraction : `~wfss_helpers.extraction.results.BoxExtraction`
    config : grismconf.Config or `~wfss_helpers.geometry.trace.GrismTrace`, optional
        Provides the sensitivity; default the configuration of the extraction.
    min_relative_sensitivity : float, optional
        Entries where the sensitivity is below this fraction of its peak are masked.

    Returns
    -------
    flam, flam_err : `~astropy.units.Quantity`
        In erg/s/cm²/Å, in the order of ``extraction.pixel``; NaN where masked.
    mask : numpy.ndarray of bool
        True where an entry is not usable (bad pixel in the aperture, or tiny
        sensitivity).
    """
    config = _check_extraction(extraction, config)
    per_rate, low = _flambda_per_rate(extraction, config, min_relative_sensitivity)
    mask = np.asarray(extraction.mask) | low
    with np.errstate(invalid="ignore"):
        flam = np.where(mask, np.nan, extraction.rate.value * per_rate)
        flam_err = np.where(mask, np.nan, extraction.rate_err.value * per_rate)
    return flam * FLAM_UNIT, flam_err * FLAM_UNIT, mask


def _flambda_per_rate(extraction, config, min_relative_sensitivity):
    """F_lambda (erg/s/cm²/Å) per unit of ``extraction.rate`` at each entry, NaN
    where the sensitivity is below ``min_relative_sensitivity`` of its peak (also
    returned, as a mask)."""
    positive_number(min_relative_sensitivity, "min_relative_sensitivity", allow_zero=True)
    sens = sensitivity_curve(config, extraction.order, extraction.wavelength)
    peak = np.max(config.SENS_data[extraction.order][1])
    low = sens.value < min_relative_sensitivity * peak
    # rate [DN/s] / (S [DN/s/Å per F_lambda] * dlambda [Å]) = F_lambda
    scale = (1.0 * extraction.rate.unit / (sens.unit * extraction.dispersion.unit)).to_value(FLAM_UNIT)
    with np.errstate(invalid="ignore", divide="ignore"):
        denominator = np.where(low, np.nan, sens.value) * extraction.dispersion.value
        return scale / denominator, low


def flux_calibrate(extraction, config=None, *, min_relative_sensitivity=1e-2):
    """Turn a box-extracted count-rate spectrum into F_lambda.

    Each entry (a detector column for GRISMR, a row for GRISMC) holds
    ``rate = F_lambda * S(lambda) * dlambda`` where ``dlambda`` is the wavelength span
    of that pixel along the dispersion (the dispersion in Å/pixel), so

    .. math:: F_\\lambda = \\frac{\\mathrm{rate}}{S(\\lambda)\\,d\\lambda}.

    Parameters
    ----------
    extraction : `~wfss_helpers.extraction.results.BoxExtraction`
    config : grismconf.Config or `~wfss_helpers.geometry.trace.GrismTrace`, optional
        Provides the sensitivity of the extracted order; default the configuration the
        extraction was made with.
    min_relative_sensitivity : float, optional
        Entries where the sensitivity is below this fraction of its peak are masked (set
        to NaN): dividing by a tiny sensitivity turns noise into huge fluxes.

    Returns
    -------
    `~specutils.Spectrum`
        F_lambda in erg/s/cm²/Å on the (increasing) wavelength axis, with a
        `~astropy.nddata.StdDevUncertainty` and a boolean ``mask`` (True = not usable).
        Its ``meta`` carries what the extraction found, in the same (wavelength)
        order: ``flags`` (the :class:`~wfss_helpers.extraction.results.ExtractionFlag`
        bitmask), ``contaminated`` (True where another order of the source or of a
        neighbour falls in the aperture: those values are not masked, but hold that
        light too), and ``centring_offset``, ``contaminants`` and ``rate_err_source``;
        if a contamination model was subtracted, ``contamination`` (the subtracted
        light in F_lambda, same unit as the flux).

    Raises
    ------
    wfss_helpers.geometry.configuration.ExposureMismatchError
        If ``config`` is for another filter or grism than the extraction's.
    """
    from astropy.nddata import StdDevUncertainty
    from specutils import Spectrum

    flam, flam_err, mask = flambda_arrays(extraction, config, min_relative_sensitivity=min_relative_sensitivity)
    order = np.argsort(extraction.wavelength)
    meta = {
        "flags": np.asarray(extraction.flags)[order],
        "contaminated": np.asarray(extraction.contaminated)[order],
        "contaminants": extraction.contaminants,
        "centring_offset": extraction.centring_offset,
        "rate_err_source": extraction.rate_err_source,
    }
    if extraction.contamination is not None:
        # The subtracted model, calibrated like the spectrum.
        config = _check_extraction(extraction, config)
        per_rate, _ = _flambda_per_rate(extraction, config, min_relative_sensitivity)
        contamination = extraction.contamination.to_value(extraction.rate.unit) * per_rate
        contamination = np.where(mask, np.nan, contamination)
        meta["contamination"] = (contamination * FLAM_UNIT)[order]
    return Spectrum(
        flux=flam[order],
        spectral_axis=extraction.wavelength[order],
        uncertainty=StdDevUncertainty(flam_err[order]),
        mask=mask[order],
        meta=meta,
    )
