"""The trace of one source and order as plain functions of ``config, order, x0, y0``.

Each function here builds a :class:`~wfss_helpers.geometry.trace.GrismTrace` and asks
it one question (where is the trace at ``t``, which ``t`` has this wavelength, ...): the
form the seed notebook's cells use, kept for readers who copy them. New code can hold
the :class:`~wfss_helpers.geometry.trace.GrismTrace` itself (or ask an exposure for it,
:meth:`wfss_helpers.exposure.WFSSExposure.trace`). Also here: the wavelength of a column
through the jwst pipeline's own gWCS (:func:`gwcs_column_wavelengths`).
"""

from __future__ import annotations


import numpy as np

from ..checks.arguments import (
    order_number,
    pixel_position,
    pixel_positions,
    pixel_values,
)
from .configuration import WAVELENGTH_UNIT, _clean
from .trace import GrismTrace

__all__ = [
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

def dispersed_position(config, order, x0, y0, t):
    """Position ``(x, y)`` on the WFSS exposure of trace parameter ``t``.

    Parameters
    ----------
    config : grismconf.Config
    order : int or str
    x0, y0 : float
        The source's position in the WFSS exposure's direct-image frame (0-based pixels).
    t : float or array_like
        Trace parameter (``0..1`` spans the order's wavelength range).

    Returns
    -------
    x, y : numpy.ndarray

    See Also
    --------
    GrismTrace.position
    """
    return GrismTrace(config, order, x0, y0).position(t)


def trace_wavelength(config, order, x0, y0, t):
    """Wavelength at trace parameter ``t``.

    Parameters
    ----------
    config : grismconf.Config
    order : int or str
    x0, y0 : float
        Source position (0-based pixels).
    t : float or array_like

    Returns
    -------
    `~astropy.units.Quantity`
        Wavelength in micron.

    See Also
    --------
    GrismTrace.wavelength
    """
    return GrismTrace(config, order, x0, y0).wavelength(t)


def t_from_wavelength(config, order, x0, y0, wavelength):
    """Trace parameter at which the order reaches ``wavelength`` (exact inverse of DISPL).

    Parameters
    ----------
    config : grismconf.Config
    order : int or str
    x0, y0 : float
        Source position (0-based pixels).
    wavelength : `~astropy.units.Quantity` or array_like
        Wavelength (a plain number is taken in micron).

    Returns
    -------
    numpy.ndarray
        ``t``; values outside ``[0, 1]`` mean wavelengths beyond the ends of the order,
        where the polynomials are extrapolated (:func:`wavelength_to_pixel` refuses them).

    See Also
    --------
    GrismTrace.t_from_wavelength
    """
    return GrismTrace(config, order, x0, y0).t_from_wavelength(wavelength)


def t_from_column(config, order, x0, y0, x):
    """Trace parameter of detector column ``x`` (exact inverse of DISPX, GRISMR).

    Parameters
    ----------
    config : grismconf.Config
    order : int or str
    x0, y0 : float
        Source position (0-based pixels).
    x : float or array_like
        Column(s) on the WFSS exposure.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        If the order disperses along ``y`` (GRISMC): columns do not pick points of its
        trace; use ``GrismTrace(config, order, x0, y0).t_from_pixel(row)``.

    See Also
    --------
    GrismTrace.t_from_pixel : the same along either dispersion axis.
    """
    trace = GrismTrace(config, order, x0, y0)
    instead = "GrismTrace(config, order, x0, y0).t_from_pixel(row)"
    trace.require_axis("x", "t_from_column", instead)
    return trace.t_from_pixel(x)


def wavelength_to_pixel(config, order, x0, y0, wavelength):
    """Where on the WFSS exposure a source's order lands at ``wavelength``.

    Parameters
    ----------
    config : grismconf.Config
    order : int or str
    x0, y0 : float
        Source position (0-based pixels).
    wavelength : `~astropy.units.Quantity` or array_like

    Returns
    -------
    x, y : numpy.ndarray

    Raises
    ------
    ValueError
        If a wavelength lies outside the order's range (``DISPL`` at ``t = 0`` and ``1``).

    See Also
    --------
    GrismTrace.position_at_wavelength
    """
    return GrismTrace(config, order, x0, y0).position_at_wavelength(wavelength)


def column_to_wavelength(config, order, x0, y0, x):
    """Wavelength that a source's order puts in detector column ``x`` (GRISMR).

    Parameters
    ----------
    config : grismconf.Config
    order : int or str
    x0, y0 : float
        Source position (0-based pixels).
    x : float or array_like
        Column(s).

    Returns
    -------
    `~astropy.units.Quantity`

    Raises
    ------
    ValueError
        If the order disperses along ``y`` (GRISMC); use
        ``GrismTrace(config, order, x0, y0).wavelength_at_pixel(row)``.

    See Also
    --------
    GrismTrace.wavelength_at_pixel : the same along either dispersion axis.
    """
    trace = GrismTrace(config, order, x0, y0)
    instead = "GrismTrace(config, order, x0, y0).wavelength_at_pixel(row)"
    trace.require_axis("x", "column_to_wavelength", instead)
    return trace.wavelength_at_pixel(x)


def angstrom_per_pixel(config, order, x0, y0, t):
    """Dispersion ``|dlambda/dpixel|`` at ``t`` along the dispersion axis.

    ``|dlambda/dx|`` for GRISMR, ``|dlambda/dy|`` for GRISMC, from the analytic
    derivatives.

    Parameters
    ----------
    config : grismconf.Config
    order : int or str
    x0, y0 : float
    t : float or array_like

    Returns
    -------
    `~astropy.units.Quantity`
        Å per pixel.

    See Also
    --------
    GrismTrace.angstrom_per_pixel
    """
    return GrismTrace(config, order, x0, y0).angstrom_per_pixel(t)


def trace_bounding_box(
    config, order, x0, y0, half_height, *, t_range=(0.0, 1.0),
    detector_shape=(2048, 2048),
):
    """Box that contains a source's trace between two values of ``t``, plus a margin.

    Along the dispersion the box spans the pixels from ``t = t_range[0]`` to
    ``t = t_range[1]``; across it, the trace over that range (sampled densely, so a
    curved trace is covered) widened by ``half_height`` on each side (rows for GRISMR,
    columns for GRISMC).

    Parameters
    ----------
    config : grismconf.Config
    order : int or str
    x0, y0 : float
        Source position (0-based pixels).
    half_height : float
        Margin on each side of the trace, across the dispersion, in pixels.
    t_range : tuple of float, optional
    detector_shape : tuple of int, optional
        ``(ny, nx)`` to clip to.

    Returns
    -------
    BoundingBox

    Raises
    ------
    ValueError
        If the box lies entirely off the detector.

    See Also
    --------
    GrismTrace.bounding_box
    """
    trace = GrismTrace(config, order, x0, y0)
    return trace.bounding_box(
        half_height, t_range=t_range, detector_shape=detector_shape
    )


def gwcs_column_wavelengths(wfss_model, order, x0, y0, x, y=None):
    """Wavelengths of WFSS pixels for one source, from the jwst pipeline's gWCS.

    This is the pipeline's route to the same numbers as :func:`column_to_wavelength`:
    the ``grism_detector -> detector`` transform of the WFSS exposure's gWCS maps a
    dispersed pixel and the source position to ``(x0, y0, wavelength, order)``. Unlike
    grismconf it applies the barycentric velocity correction (``VELOSYS``), and it pins
    ``t`` to ``[0, 1]``, so wavelengths beyond the ends of the order are not extrapolated.

    Parameters
    ----------
    wfss_model : path, data model or `~wfss_helpers.exposure.WFSSExposure`
        The WFSS exposure after AssignWcs.
    order : int
    x0, y0 : float
        Source position (0-based pixels).
    x : array_like
        Columns.
    y : array_like, optional
        Rows. For a row-dispersing grism (GRISMR) they do not change the result and
        default to ``y0``; a column-dispersing grism (GRISMC) needs them.

    Returns
    -------
    `~astropy.units.Quantity`

    Raises
    ------
    ValueError
        If the exposure has no gWCS, the order is unknown, or ``y`` is missing for a
        GRISMC exposure.
    """
    from .positions import open_model

    x0, y0 = pixel_position(x0, y0)
    order = order_number(order)
    x = np.atleast_1d(pixel_values(x))
    model = open_model(wfss_model, wfss=True)
    if y is None:
        if _clean(model.meta.instrument.pupil) == "GRISMC":
            raise ValueError(
                f"{model.meta.filename} was taken with GRISMC, which disperses along "
                "y: the wavelength of a pixel depends on its row. Give the rows too: "
                "gwcs_column_wavelengths(wfss, order, x0, y0, x, y)."
            )
        y = np.full(x.shape, y0, dtype=float)
    else:
        x, y = pixel_positions(x, y, names=("x", "y"))
    if getattr(model.meta, "wcs", None) is None:
        raise ValueError("This WFSS exposure has no gWCS: run the jwst AssignWcsStep on it first.")
    to_detector = model.meta.wcs.get_transform("grism_detector", "detector")
    try:
        _, _, lam, _ = to_detector(x, y, x0, y0, order)
    except (ValueError, KeyError, IndexError) as err:
        raise ValueError(
            f"The gWCS of this WFSS exposure cannot compute order {order} ({err}); NIRCam WFSS "
            "configurations have orders 1 and 2."
        ) from None
    return np.broadcast_to(lam, x.shape) * WAVELENGTH_UNIT
