"""From a position in the direct image to the source's position in the WFSS exposure.

The grism configuration is written for the position ``(x0, y0)`` at which a source *would*
land on the grism exposure's detector if the grism were replaced by a clear element. The
direct image and the grism exposure are usually taken at slightly different pointings, so
``(x0, y0)`` is found through the sky: direct-image pixel -> (RA, Dec) with the direct
image's gWCS -> grism-frame pixel with the grism exposure's gWCS.

What matters for a good extraction is that both WCSs are *consistent* with each other (they
share the same distortion model and pointing information), not their absolute accuracy on
the sky: an error common to both cancels in the round trip.
"""

from __future__ import annotations

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord

from ..checks.files import open_model

__all__ = ["direct_to_sky", "sky_to_wfss", "direct_to_wfss"]


def _wcs(model, what):
    wcs = getattr(model.meta, "wcs", None)
    if wcs is None:
        raise ValueError(
            f"The {what} ({model.meta.filename}) has no gWCS: run the jwst AssignWcsStep on it "
            "first (wfss_helpers.data_sources.pipeline.calibrate_imaging / calibrate_wfss do)."
        )
    return wcs


def direct_to_sky(direct_model, x, y) -> SkyCoord:
    """Sky position of direct-image pixel(s) ``(x, y)`` (0-based).

    Parameters
    ----------
    direct_model : path, data model or `~wfss_helpers.exposure.DirectImage`
        The direct image, after AssignWcs.
    x, y : float or array_like

    Returns
    -------
    `~astropy.coordinates.SkyCoord`

    Raises
    ------
    ValueError
        If a position lies off the direct image, or the image has no gWCS.
    """
    from ..checks.arguments import pixel_positions

    model = open_model(direct_model, wfss=False)
    scalar = np.ndim(x) == 0 and np.ndim(y) == 0
    x, y = pixel_positions(x, y)
    if scalar:
        x, y = float(x), float(y)
    ra, dec = _wcs(model, "direct image")(x, y)
    off = ~np.isfinite(ra) | ~np.isfinite(dec)
    if np.any(off):
        ny, nx = model.data.shape
        bad = np.column_stack(np.broadcast_arrays(x, y))[np.atleast_1d(off)]
        raise ValueError(
            f"Direct-image position(s) {bad[:3].tolist()} lie off the {nx}x{ny} direct image "
            "(0-based pixels), where its WCS is not defined. Check the source position and "
            "that it is 0-based (FITS/DS9 positions are 1-based: subtract 1)."
        )
    return SkyCoord(ra * u.deg, dec * u.deg)


def sky_to_wfss(wfss_model, coord, *, order=1, wavelength=3.5 * u.micron):
    """Undispersed position ``(x0, y0)`` of sky position(s) on the WFSS exposure.

    Parameters
    ----------
    wfss_model : path, data model or `~wfss_helpers.exposure.WFSSExposure`
        The grism exposure, after AssignWcs.
    coord : `~astropy.coordinates.SkyCoord`
    order : int, optional
        Passed through the grism gWCS; ``(x0, y0)`` does not depend on it.
    wavelength : `~astropy.units.Quantity`, optional
        Likewise passed through; ``(x0, y0)`` does not depend on it.

    Returns
    -------
    x0, y0 : float or numpy.ndarray
        Floats for a scalar ``coord``. Positions may lie a little off the detector (the
        trace of such a source can still reach it).

    Raises
    ------
    TypeError
        If ``coord`` is not a `~astropy.coordinates.SkyCoord`.
    ValueError
        If a position is not covered by the exposure (more than a detector width off it).
    """
    from ..checks.arguments import order_number, wavelength_in_micron

    if not isinstance(coord, SkyCoord):
        raise TypeError(
            f"coord must be an astropy SkyCoord, got {type(coord).__name__}; e.g. "
            "SkyCoord(ra * u.deg, dec * u.deg), or use direct_to_wfss() from a direct-image pixel."
        )
    lam = float(np.ravel(wavelength_in_micron(wavelength))[0])
    order = order_number(order)
    model = open_model(wfss_model, wfss=True)
    wcs = _wcs(model, "WFSS exposure")
    # world -> "detector": the gWCS frame of undispersed positions, before the grism.
    to_detector = wcs.get_transform("world", "detector")
    ra = np.atleast_1d(coord.ra.deg).ravel()
    dec = np.atleast_1d(coord.dec.deg).ravel()
    xy = np.array([to_detector(r, d, lam, order)[:2] for r, d in zip(ra, dec)], dtype=float).reshape(-1, 2)
    x0, y0 = xy[:, 0], xy[:, 1]
    ny, nx = model.data.shape
    off = ~np.isfinite(x0) | ~np.isfinite(y0) | (np.abs(x0 - nx / 2) > 1.5 * nx) | (np.abs(y0 - ny / 2) > 1.5 * ny)
    if np.any(off):
        raise ValueError(
            f"{off.sum()} sky position(s) fall outside the field of the WFSS exposure "
            f"{model.meta.filename} (first: RA {ra[off][0]:.6f}, Dec {dec[off][0]:.6f}): the "
            "grism exposure does not cover them."
        )
    if np.ndim(coord.ra) == 0:
        return float(x0[0]), float(y0[0])
    return x0.reshape(coord.shape), y0.reshape(coord.shape)


def direct_to_wfss(direct_model, wfss_model, x, y):
    """Direct-image pixel(s) -> (RA, Dec) -> undispersed position on the WFSS exposure.

    Parameters
    ----------
    direct_model, wfss_model : path, data model or exposure
        (`~wfss_helpers.exposure.DirectImage`, `~wfss_helpers.exposure.WFSSExposure`)
        Both after AssignWcs.
    x, y : float or array_like
        Direct-image position(s), 0-based pixels.

    Returns
    -------
    x0, y0 : float or numpy.ndarray
    """
    return sky_to_wfss(wfss_model, direct_to_sky(direct_model, x, y))
