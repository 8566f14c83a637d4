"""One exposure, opened and checked once: a WFSS (grism) exposure or a direct image.

Every helper of the extraction and of the field takes a WFSS exposure. Given a path or a
data model each time, each call opened the file again and checked it again, and the
grism configuration, the source position and the order travelled beside it. An
exposure object holds what belongs to one exposure:

* its arrays ``data`` (SCI), ``err`` (ERR) and ``dq`` (DQ), read from the file only
  when first used (a file is opened once, lazily: nothing is read that is not asked
  for);
* what it is: ``filter``, ``pupil`` (the grism of a WFSS exposure), ``module``,
  ``detector``, ``exp_type``, which calibration steps it went through;
* its gWCS (``wcs``: the data model is opened only when the WCS is needed);
* for a WFSS exposure, its grism configuration (``config``, loaded on first use) and
  dispersion axis, and the trace of any source on it:
  ``exposure.trace((x0, y0), order=1)`` or ``exposure.trace(sky_coord)``.

Made once (:meth:`WFSSExposure.open`, :meth:`DirectImage.open`, or
:meth:`WFSSExposure.from_arrays` for bare arrays), it is accepted by every helper that
takes an exposure, which then neither re-opens nor re-checks it; a path or a data
model given to a helper is turned into one exposure, once per call.
:meth:`WFSSExposure.with_data` gives the same exposure with other arrays (e.g. with
its sky subtracted), keeping its identity, WCS and configuration.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from .checks.arguments import _check_shapes_match
from .checks.files import InvalidInputFileError, check_model, open_checked_fits
from .geometry.configuration import check_exposure_matches, configuration_origin
from .geometry.trace import GrismTrace

__all__ = ["DirectImage", "WFSSExposure", "as_direct_image", "as_wfss_exposure"]

#: Dispersion axis of each NIRCam grism.
GRISM_AXIS = {"GRISMR": "x", "GRISMC": "y"}

_UNSET = object()


def _text(value):
    """A header value as stripped upper-case text, or None."""
    if value is None:
        return None
    text = str(value).strip().upper()
    return text or None


class _Exposure:
    """What a WFSS exposure and a direct image share: arrays, identity, WCS."""

    _wfss = None  # True for WFSS exposures, False for direct images
    _what = "exposure"

    def __init__(self, *, name, path=None, hdul=None, model=None, arrays=None,
                 info=None):
        self._name = name
        self._path = path
        self._hdul = hdul
        self._model = model
        self._arrays = dict(arrays or {})
        self._info = dict(info or {})
        # Only the exposure that opened the file closes it (not its with_data copies).
        self._owns_file = hdul is not None

    # -- construction ---------------------------------------------------------------
    @classmethod
    def open(cls, source):
        """Open and check an exposure once.

        Parameters
        ----------
        source : str, pathlib.Path, `~stdatamodels.jwst.datamodels.JwstDataModel` or
            exposure
            A FITS file (its arrays are read when first used), an open data model
            (used as it is), or an exposure of this kind (returned as it is).

        Returns
        -------
        WFSSExposure or DirectImage

        Raises
        ------
        TypeError
            If ``source`` is neither a path, a data model nor an exposure.
        FileNotFoundError
            If there is no such file.
        wfss_helpers.checks.files.InvalidInputFileError
            If the file is damaged, or of the wrong exposure type (a direct image given
            as a WFSS exposure, or the other way round).
        """
        from stdatamodels.jwst import datamodels

        if isinstance(source, cls):
            return source
        if isinstance(source, _Exposure):
            raise InvalidInputFileError(
                f"{source.name} is a {source._what}; give the {cls._what} here."
            )
        if isinstance(source, datamodels.JwstDataModel):
            return cls._from_model(check_model(source, wfss=cls._wfss))
        if isinstance(source, (str, os.PathLike)):
            return cls._from_file(source)
        raise TypeError(
            f"Expected the path of a JWST file, a data model or a {cls.__name__}, got "
            f"{type(source).__name__}. Pass the file name or "
            f"{cls.__name__}.open(path) (for bare arrays, the extraction takes a dict: "
            "{'data': sci, 'err': err, 'dq': dq}, or "
            "WFSSExposure.from_arrays(sci, err, dq))."
        )

    @classmethod
    def _from_file(cls, path):
        hdul, path = open_checked_fits(path)
        header = hdul[0].header
        info = {
            "exp_type": _text(header.get("EXP_TYPE")),
            "filter": _text(header.get("FILTER")),
            "pupil": _text(header.get("PUPIL")),
            "module": _text(header.get("MODULE")),
            "detector": _text(header.get("DETECTOR")),
            "steps": {"assign_wcs": header.get("S_WCS"),
                      "flat_field": header.get("S_FLAT"),
                      "photom": header.get("S_PHOTOM")},
        }
        exposure = cls(name=path.name, path=path, hdul=hdul, info=info)
        exposure._check_kind()
        return exposure

    @classmethod
    def _from_model(cls, model):
        meta = model.meta
        instrument = meta.instrument
        info = {
            "exp_type": _text(meta.exposure.type),
            "filter": _text(instrument.filter),
            "pupil": _text(instrument.pupil),
            "module": _text(getattr(instrument, "module", None)),
            "detector": _text(instrument.detector),
            "steps": {step: getattr(meta.cal_step, step, None)
                      for step in ("assign_wcs", "flat_field", "photom")},
        }
        name = getattr(meta, "filename", None) or f"This {type(model).__name__}"
        path = None
        # The file the model was read from, when it is still there (for the grism
        # configuration, which grismconf reads from the file).
        filename = getattr(meta, "filename", None)
        if filename and Path(filename).is_file():
            path = Path(filename).resolve()
        exposure = cls(name=name, path=path, model=model, info=info)
        exposure._check_kind()
        return exposure

    def _check_kind(self):
        """The exposure type is the one this class is for (no step is required)."""
        from .checks.files import _check_state

        _check_state(self.name, self._info.get("exp_type") or "(none)",
                     self._info.get("steps", {}), wfss=self._wfss, steps=(),
                     not_done=())

    # -- identity -------------------------------------------------------------------
    @property
    def name(self):
        """The file name (or a description of bare arrays)."""
        return self._name

    @property
    def path(self):
        """The file, or None (a model built in memory, or bare arrays)."""
        return self._path

    @property
    def filter(self):
        """``FILTER`` (e.g. ``"F356W"``), or None if unknown."""
        return self._info.get("filter")

    @property
    def pupil(self):
        """``PUPIL`` (the grism of a WFSS exposure: ``"GRISMR"``/``"GRISMC"``)."""
        return self._info.get("pupil")

    @property
    def module(self):
        """NIRCam module (``"A"``/``"B"``), or None."""
        return self._info.get("module")

    @property
    def detector(self):
        """``DETECTOR`` (e.g. ``"NRCALONG"``), or None."""
        return self._info.get("detector")

    @property
    def exp_type(self):
        """``EXP_TYPE`` (``"NRC_WFSS"``, ``"NRC_IMAGE"``, ...), or None."""
        return self._info.get("exp_type")

    def step_done(self, step):
        """True if the jwst step (``"assign_wcs"``, ``"flat_field"``, ``"photom"``)
        ran on this exposure."""
        return str(self._info.get("steps", {}).get(step) or "").upper() == "COMPLETE"

    # -- arrays ---------------------------------------------------------------------
    def _array(self, key, extension, required):
        if key in self._arrays:
            return self._arrays[key]
        if self._model is not None:
            value = getattr(self._model, key, None)
            value = None if value is None or np.size(value) == 0 else value
        elif self._hdul is not None:
            value = self._hdul[extension].data if extension in self._hdul else None
        else:
            value = None
        if value is None and required:
            raise InvalidInputFileError(f"{self.name} has no {extension} array.")
        self._arrays[key] = value
        return value

    @property
    def data(self):
        """The SCI array (DN/s, or MJy/sr after Photom)."""
        return self._array("data", "SCI", True)

    @property
    def err(self):
        """The ERR array, or None."""
        return self._array("err", "ERR", False)

    @property
    def dq(self):
        """The DQ array, or None."""
        return self._array("dq", "DQ", False)

    @property
    def shape(self):
        """``(ny, nx)`` of the detector image."""
        return tuple(np.shape(self.data))

    def arrays(self):
        """``{"data": ..., "err": ..., "dq": ...}`` (a form the helpers accept too)."""
        return {"data": self.data, "err": self.err, "dq": self.dq}

    # -- model and WCS --------------------------------------------------------------
    @property
    def model(self):
        """The data model (opened from the file on first use), or None for arrays."""
        if self._model is None and self._path is not None:
            from stdatamodels.jwst import datamodels

            self._model = check_model(datamodels.open(str(self._path)), wfss=self._wfss)
        return self._model

    def _as_datamodel(self):
        """The data model, for helpers that take one (see ``open_model``)."""
        model = self.model
        if model is None:
            raise TypeError(
                f"{self.name} holds bare arrays, with no data model and no WCS: give "
                "the exposure's file or data model here."
            )
        return model

    @property
    def wcs(self):
        """The gWCS of the exposure (after AssignWcs).

        Raises
        ------
        ValueError
            If the exposure has none (bare arrays, or AssignWcs has not run).
        """
        model = self.model
        wcs = getattr(getattr(model, "meta", None), "wcs", None) if model else None
        if wcs is None:
            raise ValueError(
                f"The {self._what} ({self.name}) has no gWCS: run the jwst "
                "AssignWcsStep on it first (wfss_helpers.data_sources.pipeline."
                "calibrate_imaging / calibrate_wfss do)."
            )
        return wcs

    def close(self):
        """Close the file (arrays already read stay usable)."""
        if self._hdul is not None and self._owns_file:
            self._hdul.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - nothing to report at garbage collection
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        what = ", ".join(f"{k}={v}" for k, v in (
            ("filter", self.filter), ("pupil", self.pupil), ("module", self.module))
            if v)
        return f"<{type(self).__name__} {self.name}{': ' + what if what else ''}>"


class WFSSExposure(_Exposure):
    """A WFSS (grism) exposure: arrays, identity, gWCS, grism configuration.

    Make one with :meth:`open` (a file or a data model) or :meth:`from_arrays`; see
    the module's description. Attributes are read-only properties.

    Examples
    --------
    >>> exposure = WFSSExposure.open("jw01076103001_02101_00001_nrcalong_cal.fits")
    ... # doctest: +SKIP
    >>> trace = exposure.trace((1000.0, 1000.0), order=1)  # doctest: +SKIP
    """

    _wfss = True
    _what = "WFSS exposure"

    def __init__(self, *, config=None, **kwargs):
        super().__init__(**kwargs)
        self._config = config

    @classmethod
    def open(cls, source, *, config=None, stacklevel=2):
        """Open and check a WFSS exposure once.

        A file or model that has not been flat-fielded gets a warning, once: when the
        exposure is made.

        Parameters
        ----------
        source : path, data model or WFSSExposure
            See :meth:`_Exposure.open`. An exposure is returned as it is.
        config : grismconf.Config, optional
            The grism configuration to use (default: loaded from the file when first
            needed, :func:`~wfss_helpers.geometry.configuration.load_grism_config`).
        stacklevel : int, optional
            Of the flat-field warning (2: the line that called this).

        Returns
        -------
        WFSSExposure

        Raises
        ------
        wfss_helpers.geometry.configuration.ExposureMismatchError
            If ``config`` is for another filter or grism than the exposure.
        """
        made = not isinstance(source, cls)
        exposure = super().open(source)
        if made and exposure.identity is not None and not exposure.step_done(
                "flat_field"):
            steps = exposure._info.get("steps", {})
            warnings.warn(
                f"{exposure.name} has not been flat-fielded (S_FLAT is "
                f"{steps.get('flat_field') or 'missing'!r}): pixel-to-pixel response "
                "differences stay in the spectrum. Run "
                "wfss_helpers.data_sources.pipeline.calibrate_wfss on it first.",
                stacklevel=stacklevel,
            )
        if config is not None:
            if exposure._config is not None and exposure._config is not config:
                exposure = exposure._copy()
            exposure._set_config(config)
        return exposure

    @classmethod
    def from_arrays(cls, data, err=None, dq=None, *, config=None, name="arrays"):
        """A WFSS exposure of bare arrays (no file, no WCS).

        Parameters
        ----------
        data : array_like
            The SCI image (2-D).
        err, dq : array_like, optional
            ERR and DQ, of the same shape.
        config : grismconf.Config, optional
            Its grism configuration (traces need it).
        name : str, optional
            How messages name it.

        Returns
        -------
        WFSSExposure

        Raises
        ------
        ValueError
            If ``data`` is not 2-D or the shapes differ.
        """
        arrays = _checked_arrays({"data": data, "err": err, "dq": dq})
        exposure = cls(name=name, arrays=arrays, info={})
        if config is not None:
            exposure._set_config(config)
        return exposure

    def _copy(self, arrays=_UNSET):
        copy = WFSSExposure(name=self._name, path=self._path, hdul=self._hdul,
                            model=self._model, info=self._info,
                            arrays=self._arrays if arrays is _UNSET else arrays,
                            config=self._config)
        copy._owns_file = False
        copy._source = self  # keeps the file's owner (and so the open file) alive
        return copy

    def with_data(self, data, err=_UNSET, dq=_UNSET):
        """The same exposure with other arrays (e.g. its sky subtracted).

        Parameters
        ----------
        data : array_like or dict
            The new SCI array, or a dict with ``data`` (and ``err``, ``dq``), e.g. what
            :func:`~wfss_helpers.extraction.background.subtract_background` returns.
        err, dq : array_like or None, optional
            Default: this exposure's own (ERR and DQ do not change when a sky is
            subtracted).

        Returns
        -------
        WFSSExposure
            Same name, filter, grism, WCS and configuration.
        """
        if isinstance(data, dict):
            given = dict(data)
            data = given.pop("data", None)
            if err is _UNSET and "err" in given:
                err = given.pop("err")
            if dq is _UNSET and "dq" in given:
                dq = given.pop("dq")
            if data is None or given:
                keys = sorted([*given, *(["data"] if data is not None else [])])
                raise ValueError(
                    "with_data() takes a dict with a 'data' array and optionally 'err' "
                    f"and 'dq'; got keys {keys}."
                )
        if np.shape(data) != self.shape:
            raise ValueError(
                f"with_data(): the new data have shape {np.shape(data)}, the "
                f"exposure {self.name} {self.shape}: give arrays of this exposure."
            )
        arrays = _checked_arrays({"data": data,
                                  "err": self.err if err is _UNSET else err,
                                  "dq": self.dq if dq is _UNSET else dq})
        return self._copy(arrays)

    # -- the grism ------------------------------------------------------------------
    @property
    def grism(self):
        """The grism (``PUPIL``), or, for bare arrays, the configuration's, or None."""
        if self.pupil:
            return self.pupil
        if self._config is not None:
            return _text(configuration_origin(self._config).pupil)
        return None

    def _set_config(self, config):
        from .geometry.configuration import _is_grism_config

        if not _is_grism_config(config):
            raise TypeError(
                f"config must be a grismconf.Config, got {type(config).__name__}: load "
                "it with wfss_helpers.geometry.load_grism_config(path)."
            )
        if self.filter or self.pupil:
            check_exposure_matches(self.filter, self.pupil, config, self.name)
        self._config = config

    @property
    def config(self):
        """The grism configuration (loaded from the file on first use).

        Raises
        ------
        ValueError
            If the exposure holds bare arrays and was given no configuration.
        """
        if self._config is None:
            if self._path is None:
                raise ValueError(
                    f"{self.name} has no grism configuration: give one "
                    "(WFSSExposure.from_arrays(..., config=config)) or open the "
                    "exposure from its file."
                )
            from .geometry.configuration import load_grism_config

            self._set_config(load_grism_config(self._path))
        return self._config

    @property
    def dispersion_axis(self):
        """``"x"`` (GRISMR: along rows) or ``"y"`` (GRISMC: along columns), or None."""
        axis = GRISM_AXIS.get(self.grism or "")
        if axis is None and self._config is not None:
            ny, nx = self.shape
            axis = GrismTrace(self._config, 1, nx / 2.0, ny / 2.0).dispersion_axis
        return axis

    @property
    def identity(self):
        """``(filter, pupil, name)``: what an extraction checks the configuration
        against (None for bare arrays)."""
        if self._path is None and self._model is None:
            return None
        return (self.filter, self.pupil, self.name)

    def position(self, coord, *, order=1, wavelength=None):
        """The undispersed position ``(x0, y0)`` of a sky position on this exposure.

        Parameters
        ----------
        coord : `~astropy.coordinates.SkyCoord`
        order, wavelength
            Passed through the gWCS (see
            :func:`~wfss_helpers.geometry.positions.sky_to_wfss`).

        Returns
        -------
        x0, y0 : float or numpy.ndarray
        """
        from astropy import units as u

        from .geometry.positions import sky_to_wfss

        wavelength = 3.5 * u.micron if wavelength is None else wavelength
        return sky_to_wfss(self, coord, order=order, wavelength=wavelength)

    def trace(self, source, order=1):
        """The trace of one source's order on this exposure.

        Parameters
        ----------
        source : (x0, y0) or `~astropy.coordinates.SkyCoord`
            The source's undispersed position on this exposure (0-based pixels), or
            its sky position (mapped through this exposure's gWCS).
        order : int or str, optional

        Returns
        -------
        `~wfss_helpers.geometry.trace.GrismTrace`

        Raises
        ------
        TypeError
            If ``source`` is neither a pair of numbers nor a SkyCoord.
        """
        from astropy.coordinates import SkyCoord

        if isinstance(source, SkyCoord):
            x0, y0 = self.position(source)
        else:
            try:
                x0, y0 = source
            except (TypeError, ValueError):
                raise TypeError(
                    "source must be the undispersed position (x0, y0) on this exposure "
                    f"or a SkyCoord, got {source!r}."
                ) from None
        return GrismTrace(self.config, order, x0, y0)


class DirectImage(_Exposure):
    """A direct (imaging) exposure: arrays, identity, gWCS.

    Make one with :meth:`open`. :meth:`pixel_to_sky` maps its pixels to the sky.
    """

    _wfss = False
    _what = "direct image"

    def pixel_to_sky(self, x, y):
        """Sky position of direct-image pixel(s) ``(x, y)`` (0-based).

        See :func:`~wfss_helpers.geometry.positions.direct_to_sky`.
        """
        from .geometry.positions import direct_to_sky

        return direct_to_sky(self, x, y)


def _checked_arrays(arrays):
    """``data``, ``err``, ``dq`` of bare arrays: 2-D, of one shape."""
    data = np.asarray(arrays["data"])
    if data.ndim != 2:
        raise ValueError(f"data must be a 2-D image (ny, nx), got shape {data.shape}.")
    _check_shapes_match(data, err=arrays.get("err"), dq=arrays.get("dq"))
    return {"data": data, "err": arrays.get("err"), "dq": arrays.get("dq")}


def as_wfss_exposure(wfss, *, config=None, stacklevel=3):
    """A :class:`WFSSExposure` from what a helper was given, made once.

    Parameters
    ----------
    wfss : WFSSExposure, path, data model or dict
        A dict holds bare arrays (``data``, and optionally ``err``, ``dq``).
    config : grismconf.Config, optional
        See :meth:`WFSSExposure.open`.
    stacklevel : int, optional
        Of the warning that a file or model has not been flat-fielded, as in
        `warnings.warn` (counted from this function: 3 is its caller's caller).

    Returns
    -------
    WFSSExposure
    """
    if isinstance(wfss, dict):
        unknown = set(wfss) - {"data", "err", "dq"}
        if "data" not in wfss or unknown:
            raise ValueError(
                "A dict input needs a 'data' array and may have 'err' and 'dq'; got "
                f"keys {sorted(wfss)}."
            )
        return WFSSExposure.from_arrays(wfss["data"], wfss.get("err"), wfss.get("dq"),
                                        config=config)
    return WFSSExposure.open(wfss, config=config, stacklevel=stacklevel + 1)


def as_direct_image(direct):
    """A :class:`DirectImage` from a path, a data model or a direct image, made once."""
    return DirectImage.open(direct)
