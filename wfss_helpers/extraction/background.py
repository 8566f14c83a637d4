"""The dispersed sky of a WFSS exposure: measure it, or scale a reference, and subtract it.

In a slitless exposure the sky is itself dispersed light. Every position of the field
sends the sky's spectrum through the grism, so a pixel receives, at each wavelength, the
sky from the field position ``DISPX`` pixels before it; near the side of the detector the
spectra run to, the blue wavelengths come from outside the field and are missing, and the
sky falls off. The WFSS background is therefore **not** a constant: it changes along the
dispersion axis and is nearly constant across it.

Two ways to remove it before a box extraction:

* :func:`dispersed_sky_profile` measures it from the exposure itself: along each line of
  pixels *across* the dispersion (a column for GRISMR, a row for GRISMC) the sources cover
  a small fraction of the pixels, so a sigma-clipped median of that line is the sky there;
* :func:`scale_background_reference` scales a WFSS background reference file (the
  normalised shape of the dispersed sky, reference type ``bkg``) to the exposure, as the
  jwst pipeline's ``BackgroundStep`` does for WFSS data.

:func:`subtract_background` then gives the arrays that
:func:`wfss_helpers.extraction.box.box_extract` takes. Both estimates use
`astropy.stats.sigma_clip`, whose compiled path is fast on full frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "SkyModel",
    "dispersed_sky_profile",
    "scale_background_reference",
    "subtract_background",
]


@dataclass(frozen=True)
class SkyModel:
    """A model of the dispersed sky of one exposure.

    Attributes
    ----------
    image : numpy.ndarray
        The sky in every pixel, DN/s.
    profile : numpy.ndarray or None
        The sky along the dispersion axis (one value per column for GRISMR, per row for
        GRISMC), when it was measured that way.
    dispersion_axis : str or None
        ``"x"`` or ``"y"``.
    scale : float or None
        The factor applied to a background reference, when one was scaled.
    n_pixels : numpy.ndarray or None
        Pixels that survived the clipping, per line across the dispersion.
    method : str
        How the model was made.
    """

    image: np.ndarray
    profile: np.ndarray | None
    dispersion_axis: str | None
    scale: float | None
    n_pixels: np.ndarray | None
    method: str


def _good_pixels(data, dq):
    from .aperture import bad_pixel_mask

    data = np.asarray(data, dtype=float)
    if data.ndim != 2:
        raise ValueError(f"The exposure must be a 2-D image, got an array of shape {data.shape}.")
    return data, ~bad_pixel_mask(data, None, dq)


def _check_axis(dispersion_axis):
    if dispersion_axis not in ("x", "y"):
        raise ValueError(
            f"dispersion_axis must be 'x' (GRISMR: spectra along rows) or 'y' (GRISMC: "
            f"along columns), got {dispersion_axis!r}."
        )


def dispersed_sky_profile(data, *, dispersion_axis="x", dq=None, mask=None, sigma=3.0, maxiters=10):
    """Measure the dispersed sky along the dispersion axis from the exposure itself.

    The raw numpy step: for GRISMR (dispersion along x), the sky of column ``j`` is
    ``sigma_clip(data[:, j]).median()``: sources cover a few percent of a column, and the
    clipping removes them.

    Parameters
    ----------
    data : array_like, shape (ny, nx)
        The flat-fielded WFSS exposure, DN/s.
    dispersion_axis : {"x", "y"}, optional
        ``"x"`` for GRISMR (the sky is measured per column), ``"y"`` for GRISMC (per row).
    dq : array_like, optional
        Data-quality flags; pixels flagged ``DO_NOT_USE`` are left out.
    mask : array_like of bool, optional
        Further pixels to leave out (e.g. known traces).
    sigma : float, optional
        Clipping threshold, in standard deviations.
    maxiters : int, optional
        Clipping iterations.

    Returns
    -------
    SkyModel

    Raises
    ------
    ValueError
        If the axis is not ``"x"`` or ``"y"``, or a line across the dispersion has no
        usable pixel.
    """
    from astropy.stats import sigma_clip

    _check_axis(dispersion_axis)
    data, good = _good_pixels(data, dq)
    if mask is not None:
        good &= ~np.asarray(mask, dtype=bool)
    across = 0 if dispersion_axis == "x" else 1
    clipped = sigma_clip(
        np.ma.masked_array(data, mask=~good), sigma=sigma, maxiters=maxiters, axis=across
    )
    n_pixels = np.ma.count(clipped, axis=across)
    if np.any(n_pixels == 0):
        lines = np.flatnonzero(n_pixels == 0)
        what = "column" if dispersion_axis == "x" else "row"
        raise ValueError(
            f"No usable pixel in {what}(s) {lines[:5].tolist()} to measure the sky; "
            "check the DQ array and the mask."
        )
    profile = np.ma.median(clipped, axis=across).filled(np.nan)
    image = np.broadcast_to(profile[None, :] if across == 0 else profile[:, None], data.shape)
    return SkyModel(
        image=np.array(image),
        profile=profile,
        dispersion_axis=dispersion_axis,
        scale=None,
        n_pixels=n_pixels,
        method=f"sigma-clipped median across the dispersion ({sigma} sigma)",
    )


def scale_background_reference(data, reference, *, dq=None, mask=None, sigma=3.0, maxiters=10):
    """Scale a WFSS background reference (the sky's normalised shape) to an exposure.

    The factor is the least-squares scale of the reference to the data, ``sum(d r) /
    sum(r r)``, iterated while pixels more than ``sigma`` standard deviations from the
    scaled reference (the sources) are rejected: what the jwst pipeline's
    ``BackgroundStep`` does for WFSS exposures.

    Parameters
    ----------
    data : array_like, shape (ny, nx)
        The flat-fielded WFSS exposure, DN/s.
    reference : array_like, path or `~stdatamodels.jwst.datamodels.WfssBkgModel`
        The background reference (its ``data`` array when a file or model).
    dq, mask : array_like, optional
        As in :func:`dispersed_sky_profile`.
    sigma : float, optional
    maxiters : int, optional

    Returns
    -------
    SkyModel

    Raises
    ------
    ValueError
        If the reference does not have the exposure's shape or has no usable pixel.
    """
    import os

    if isinstance(reference, (str, os.PathLike)):
        from stdatamodels.jwst.datamodels import WfssBkgModel

        with WfssBkgModel(str(reference)) as model:
            reference = np.array(model.data, dtype=float)
    elif hasattr(reference, "data") and not isinstance(reference, np.ndarray):
        reference = np.array(reference.data, dtype=float)
    reference = np.asarray(reference, dtype=float)
    data, good = _good_pixels(data, dq)
    if reference.shape != data.shape:
        raise ValueError(
            f"The background reference has shape {reference.shape}, the exposure "
            f"{data.shape}: use the reference of this detector, grism and filter "
            "(full frame), or cut it to the exposure's subarray."
        )
    good &= np.isfinite(reference) & (reference > 0)
    if mask is not None:
        good &= ~np.asarray(mask, dtype=bool)
    if not np.any(good):
        raise ValueError("The background reference and the exposure share no usable pixel.")
    d, r = data[good], reference[good]
    keep = np.ones(d.shape, dtype=bool)
    scale = np.nan
    for _ in range(maxiters):
        scale = float(np.sum(d[keep] * r[keep]) / np.sum(r[keep] ** 2))
        residual = d - scale * r
        spread = 1.4826 * np.median(np.abs(residual[keep] - np.median(residual[keep])))
        new_keep = np.abs(residual) <= sigma * spread
        if np.array_equal(new_keep, keep):
            break
        keep = new_keep
    return SkyModel(
        image=scale * reference,
        profile=None,
        dispersion_axis=None,
        scale=scale,
        n_pixels=None,
        method=f"background reference scaled to the data ({sigma}-sigma rejection)",
    )


def subtract_background(data, sky, *, err=None, dq=None):
    """The exposure minus a sky model, as the ``dict`` that ``box_extract`` takes.

    Parameters
    ----------
    data : array_like
        The flat-fielded WFSS exposure, DN/s.
    sky : SkyModel or array_like
        From :func:`dispersed_sky_profile` or :func:`scale_background_reference`, or an
        image of the same shape.
    err, dq : array_like, optional
        Passed through.

    Returns
    -------
    dict
        ``{"data": data - sky, "err": err, "dq": dq}`` (``err`` and ``dq`` only if given).
    """
    image = sky.image if isinstance(sky, SkyModel) else np.asarray(sky, dtype=float)
    data = np.asarray(data, dtype=float)
    if image.shape != data.shape:
        raise ValueError(f"The sky model has shape {image.shape}, the exposure {data.shape}.")
    out = {"data": data - image}
    if err is not None:
        out["err"] = np.asarray(err)
    if dq is not None:
        out["dq"] = np.asarray(dq)
    return out
