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

__all__ = [
    "SENSITIVITY_UNIT",
    "FLAM_UNIT",
    "relresponse_from_sensitivity",
    "sensitivity_from_relresponse",
]

#: Unit of a grism sensitivity curve: DN/s per erg/s/cm²/Å.
SENSITIVITY_UNIT = u.Unit("DN s-1 cm2 s Angstrom erg-1")
#: Unit of F_lambda.
FLAM_UNIT = u.Unit("erg s-1 cm-2 Angstrom-1")

_MJY_SR_PER_DN_S = u.MJy / u.sr / (u.DN / u.s)


def _flam_per_rate(wavelength, relresponse, photmjsr, pixel_area_sr):
    """F_lambda (per Å) of a source that gives 1 DN/s per Å of its spectrum."""
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
        Sensitivity in DN/s per erg/s/cm²/Å.
    """
    return (1.0 / _flam_per_rate(wavelength, relresponse, photmjsr, pixel_area_sr)).to(
        SENSITIVITY_UNIT
    )


def relresponse_from_sensitivity(wavelength, sensitivity, photmjsr, pixel_area_sr):
    """Inverse of :func:`sensitivity_from_relresponse` (used to write photom files).

    Parameters
    ----------
    wavelength : `~astropy.units.Quantity`
        Wavelengths (any length unit).
    sensitivity : `~astropy.units.Quantity`
        Sensitivity in DN/s per erg/s/cm²/Å; must be positive.
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
    return (1.0 / (sensitivity.to(SENSITIVITY_UNIT) * unit_rel)).to_value(u.dimensionless_unscaled)
