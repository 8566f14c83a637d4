"""The sensitivity of a grism order, as its configuration gives it, and the units of
flux density and sensitivity used throughout the package.

A grism configuration loaded from a calibrated WFSS file carries, per order, the
sensitivity built from the photom reference file (``config.SENS[order]``, DN/s per
erg/s/cm²/Å, per Å of the spectrum). The geometry of a trace and its sensitivity come
from the same configuration, so both live here; the conversion of an extracted count
rate to F_lambda (:mod:`wfss_helpers.extraction.flux_calibration`) uses it.
"""

from __future__ import annotations

import numpy as np
from astropy import units as u

from ..checks.arguments import wavelength_in_micron
from .configuration import order_name

__all__ = ["FLAM_UNIT", "SENSITIVITY_UNIT", "sensitivity_curve"]


#: Unit of F_lambda.
FLAM_UNIT = u.Unit("erg s-1 cm-2 Angstrom-1")


#: Unit of a grism sensitivity curve: count rate per Å of spectrum (DN/s/Å) per unit
#: F_lambda, usually quoted as "DN/s per erg/s/cm²/Å" (it simplifies to DN cm²/erg).
SENSITIVITY_UNIT = (u.DN / u.s / u.AA) / FLAM_UNIT


def sensitivity_curve(config, order, wavelength):
    """Sensitivity of a grism order at given wavelengths.

    Parameters
    ----------
    config : grismconf.Config
        From a processed WFSS file (built from its photom reference file) or a ``.conf``.
    order : int or str
    wavelength : `~astropy.units.Quantity` or array_like
        Wavelengths (a plain number is taken in micron).

    Returns
    -------
    `~astropy.units.Quantity`
        In :data:`SENSITIVITY_UNIT`; zero outside the tabulated range.
    """
    name = order_name(config, order)
    return np.asarray(config.SENS[name](wavelength_in_micron(wavelength)), dtype=float) * SENSITIVITY_UNIT
