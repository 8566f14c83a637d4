"""Trace geometry and positions: where a source's spectrum lands on a WFSS exposure, and
at which wavelength.

* :mod:`~wfss_helpers.geometry.configuration` - loading a grism configuration (from a
  calibrated WFSS file or a ``.conf``), what filter and grism it is for, whether an
  exposure matches it;
* :mod:`~wfss_helpers.geometry.trace` - :class:`~.trace.GrismTrace`, one source's
  order: dispersion axis and direction, DISPX/DISPY/DISPL, their inverses,
  bounding boxes, wavelength maps;
* :mod:`~wfss_helpers.geometry.inverse` - exact inverses of the trace polynomials;
* :mod:`~wfss_helpers.geometry.trace_functions` - the same as plain functions of
  ``config, order, x0, y0`` (the seed notebook's form), and gWCS wavelengths;
* :mod:`~wfss_helpers.geometry.sensitivity` - the sensitivity of an order and the units
  of F_lambda;
* :mod:`~wfss_helpers.geometry.positions` - direct-image pixel -> sky -> WFSS position;
* :mod:`~wfss_helpers.geometry.reference_files` - where the reference files named in a
  header are on this machine.

Imports only :mod:`wfss_helpers.checks`.
"""

from .configuration import (
    load_grism_config,
    order_name,
    ConfigurationOrigin,
    configuration_origin,
    check_exposure_matches,
    ExposureMismatchError,
    WAVELENGTH_UNIT,
)
from .inverse import (
    invert_dispersion,
    NonMonotonicDispersionError,
    MONOTONIC_SAMPLES,
)
from .positions import (
    open_model,
    direct_to_sky,
    sky_to_wfss,
    direct_to_wfss,
)
from .reference_files import (
    default_crds_path,
    local_reference_file,
    register_reference_folder,
)
from .sensitivity import (
    FLAM_UNIT,
    SENSITIVITY_UNIT,
    sensitivity_curve,
)
from .trace import (
    GrismTrace,
    BoundingBox,
)
from .trace_functions import (
    dispersed_position,
    trace_wavelength,
    t_from_wavelength,
    t_from_column,
    wavelength_to_pixel,
    column_to_wavelength,
    angstrom_per_pixel,
    trace_bounding_box,
    gwcs_column_wavelengths,
)

__all__ = [
    "load_grism_config",
    "order_name",
    "ConfigurationOrigin",
    "configuration_origin",
    "check_exposure_matches",
    "ExposureMismatchError",
    "WAVELENGTH_UNIT",
    "invert_dispersion",
    "NonMonotonicDispersionError",
    "MONOTONIC_SAMPLES",
    "open_model",
    "direct_to_sky",
    "sky_to_wfss",
    "direct_to_wfss",
    "default_crds_path",
    "local_reference_file",
    "register_reference_folder",
    "FLAM_UNIT",
    "SENSITIVITY_UNIT",
    "sensitivity_curve",
    "GrismTrace",
    "BoundingBox",
    "dispersed_position",
    "trace_wavelength",
    "t_from_wavelength",
    "t_from_column",
    "wavelength_to_pixel",
    "column_to_wavelength",
    "angstrom_per_pixel",
    "trace_bounding_box",
    "gwcs_column_wavelengths",
]
