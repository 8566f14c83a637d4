"""The forward model of a whole WFSS exposure: :class:`FieldModel` and
:func:`model_field`.

Step 3 of the forward model (see :mod:`wfss_helpers.field.forward_model`).
:func:`model_field` places every source of the direct image on the WFSS exposure
(through both WCSs, checking that the two pixel grids differ by a shift only), gives it
a spectrum (the flat first guess, or the one given) and disperses its footprint along
every order that reaches the detector. The :class:`FieldModel` it returns holds all of
them: the model of the whole exposure (:meth:`FieldModel.image`), of one source's order
(:meth:`FieldModel.source_image`) and the **contamination** of one source, the model
of everything else (:meth:`FieldModel.contamination_image`).
:func:`model_field_from_spectra` models the same field with other spectra (what
:func:`~wfss_helpers.field.refinement.refine_field_model` does at each iteration).
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
from astropy import units as u
from astropy.table import Table

from ..checks.files import open_model
from ..exposure import WFSSExposure
from ..geometry.positions import _wcs, direct_to_sky, sky_to_wfss
from ..geometry.trace import GrismTrace
from ._arguments import (
    _as_source_id,
    _check_config,
    _model_orders,
    _order_name,
    _some,
    _whole_number,
)
from ._given_spectra import _configured_wavelengths, _spectrum_function, _user_spectra
from .direct_sources import _check_sources
from .dispersed_source import T_RANGE, _check_cross_deposit, disperse_source
from .footprints import _pivot_micron, first_guess_flambda, source_footprints

__all__ = ["FieldModel", "model_field"]

#: Largest departure of the direct-to-WFSS pixel mapping from a pure shift (relative
#: change of scale, or rotation in radians) the convolution model accepts.
MAX_GRID_DISTORTION = 0.01


@dataclass(frozen=True)
class FieldModel:
    """The forward model of a WFSS exposure: every source, every order on the detector.

    Attributes
    ----------
    sources : `~astropy.table.Table`
        One row per modelled source: ``id`` (segment label), ``x``, ``y`` (direct
        image), ``ra``, ``dec``, ``x0``, ``y0`` (undispersed WFSS position).
    spectra : dict
        ``{id: (wavelength_um, flambda)}``: the spectrum each source is modelled with
        (F_lambda in erg/s/cm²/Å on a wavelength grid in µm).
    dispersed : dict
        ``{(id, order): DispersedSource}`` for every order that reaches the detector.
    footprints : dict
        ``{id: Footprint}``.
    shape : tuple of int
        Detector shape ``(ny, nx)``.
    config : grismconf.Config
    iteration : int
        0 for the first guess, then one more for each
        :func:`~wfss_helpers.field.refinement.refine_field_model`.
    """

    sources: Table
    spectra: dict = field(repr=False)
    dispersed: dict = field(repr=False)
    footprints: dict = field(repr=False)
    shape: tuple
    config: object = field(repr=False)
    iteration: int = 0
    samples_per_pixel: int = field(default=4, repr=False)
    cross_deposit: str = field(default="cubic", repr=False)

    @property
    def orders(self):
        """The orders modelled, in grismconf names."""
        return sorted({order for _, order in self.dispersed}, key=lambda o: abs(int(o)))

    @property
    def ids(self):
        """The ids (segment labels) of the modelled sources."""
        return [int(i) for i in self.sources["id"]]

    def _source_id(self, source_id):
        """``source_id`` as an int id of the model, or a KeyError naming the ids."""
        number = _as_source_id(source_id)
        if number not in self.ids:
            raise KeyError(
                f"No source {source_id!r} in the model: its ids are the direct "
                f"image's segment labels {_some(self.ids, 12)} (FieldModel.ids)."
            )
        return number

    def trace(self, source_id, order=1) -> GrismTrace:
        """The trace of one source and order.

        Raises
        ------
        KeyError
            If there is no such source, or its order is not modelled.
        ValueError
            If the configuration has no such order.
        """
        key = (self._source_id(source_id), _order_name(self.config, order))
        if key not in self.dispersed:
            raise KeyError(
                f"No order {key[1]} of source {key[0]} in the model (modelled: "
                f"{len(self.sources)} sources, orders {', '.join(self.orders)}; an "
                "order that misses the detector is not modelled)."
            )
        return self.dispersed[key].trace

    def flambda(self, source_id):
        """The spectrum source ``source_id`` is modelled with, as a callable of µm.

        Raises
        ------
        KeyError
            If there is no such source.
        """
        return _spectrum_function(*self.spectra[self._source_id(source_id)])

    def image(self, *, exclude=()):
        """The model of the whole exposure (DN/s), without the ``(id, order)`` pairs
        (or whole source ids) in ``exclude``.

        Parameters
        ----------
        exclude : sequence, optional
            Source ids (every order of the source is left out) and ``(id, order)``
            pairs; one id alone is accepted too.

        Raises
        ------
        KeyError
            If an id is not one of the model's.
        TypeError, ValueError
            If an item is neither an id nor an ``(id, order)`` pair, or the order is
            not in the configuration.
        """
        skip, pairs = self._exclusions(exclude)
        frame = np.zeros(self.shape)
        for key, dispersed in self.dispersed.items():
            if key[0] in skip or key in pairs:
                continue
            dispersed.add_to(frame)
        return frame

    def _exclusions(self, exclude):
        """Whole source ids and (id, order) pairs of ``exclude``, checked."""
        if exclude is None:
            return set(), set()
        if isinstance(exclude, (str, bytes, numbers.Number)):
            exclude = [exclude]
        if (isinstance(exclude, tuple) and len(exclude) == 2
                and isinstance(exclude[1], str)
                and exclude[1].strip()[:1] in ("+", "-")):
            raise ValueError(
                f"exclude={exclude!r} is ambiguous: for the (id, order) pair write "
                f"exclude=[{exclude!r}]; for two sources, a list of their ids."
            )
        try:
            items = list(exclude)
        except TypeError:
            raise TypeError(
                "exclude must be a list of source ids and (id, order) pairs, got "
                f"{type(exclude).__name__} {exclude!r}."
            ) from None
        skip, pairs = set(), set()
        for item in items:
            if isinstance(item, (tuple, list, np.ndarray)):
                if len(item) != 2:
                    raise ValueError(
                        f"exclude item {item!r} must be a source id or an (id, order) "
                        "pair, e.g. exclude=[12, (7, 1)]."
                    )
                pairs.add((self._source_id(item[0]),
                           _order_name(self.config, item[1])))
            else:
                skip.add(self._source_id(item))
        return skip, pairs

    def source_image(self, source_id, order=1):
        """The model of one source in one order, full frame (DN/s).

        Raises
        ------
        KeyError
            If there is no such source, or its order is not modelled.
        """
        key = (self._source_id(source_id), _order_name(self.config, order))
        self.trace(*key)
        return self.dispersed[key].add_to(np.zeros(self.shape))

    def contamination_image(self, source_id, order=1):
        """Everything the model puts on the detector except this source's order: the
        other sources, all orders, and this source's other orders (DN/s).

        Raises
        ------
        KeyError
            If there is no such source, or its order is not modelled.
        """
        self.trace(source_id, order)
        return self.image(exclude=[(source_id, order)])


def model_field(sources, wfss, config=None, *, orders=None, spectra=None, grow=10,
                samples_per_pixel=4, pivot_wavelength=None, cross_deposit="cubic"):
    """The first-guess forward model of a WFSS exposure.

    Parameters
    ----------
    sources : `~wfss_helpers.field.direct_sources.DirectImageSources`
        From :func:`~wfss_helpers.field.direct_sources.detect_direct_sources`.
    wfss : path, data model or `~wfss_helpers.exposure.WFSSExposure`
        The WFSS exposure (after AssignWcs); its WCS places the sources.
    config : grismconf.Config, optional
        The grism configuration of the exposure: required with a path or a data
        model; for a `~wfss_helpers.exposure.WFSSExposure`, default its own
        (``exposure.config``).
    orders : int, str or sequence of them, optional
        Orders to model; default every order of the configuration. Orders that do not
        reach the detector for a source are left out for that source.
    spectra : dict, optional
        ``{id: (wavelength, flambda)}`` to use instead of the flat first guess:
        wavelengths in µm (or a `~astropy.units.Quantity` in any spectral unit),
        F_lambda in erg/s/cm²/Å (or a Quantity of any flux density, F_nu included).
        They are sorted by wavelength; the model is 0 outside them.
    grow : int, optional
        See :func:`~wfss_helpers.field.footprints.source_footprints`.
    samples_per_pixel : int, optional
        Samples of the trace per pixel.
    cross_deposit : {"cubic", "linear"}, optional
        How a trace sample is shared between pixels across the dispersion (see
        :func:`~wfss_helpers.field.dispersed_source.trace_kernel`); "linear" models
        what jwst's ``WfssContamStep`` does.
    pivot_wavelength : `~astropy.units.Quantity`, optional
        See :func:`~wfss_helpers.field.footprints.first_guess_flambda`.

    Returns
    -------
    FieldModel
        Sources of the direct image that fall outside the WFSS exposure's field are
        not modelled; they are listed in ``sources.meta["off_field"]``.

    Raises
    ------
    TypeError
        If ``sources`` is not a `~wfss_helpers.field.direct_sources.DirectImageSources`,
        ``config`` not a grism configuration (or not given, with a path or a data model
        as ``wfss``), ``spectra`` not a dict of ``(wavelength, flambda)`` pairs, or
        another argument of the wrong type.
    ValueError
        If an order is not in the configuration (or none is asked for), a spectrum is
        not usable (NaN, of mismatched lengths, repeated wavelengths, no positive
        flux, or entirely outside the grism's wavelengths) or given for an id that is
        not a source, or no source puts light on the exposure (a direct image of
        another pointing); see also
        :func:`~wfss_helpers.field.footprints.first_guess_flambda`.
    wfss_helpers.geometry.configuration.ExposureMismatchError
        If the configuration is not the exposure's (its FILTER or PUPIL differ).

    Warns
    -----
    UserWarning
        If some sources fall outside the exposure's field (or fewer than half of them
        put light on it: a direct image of another pointing), or a given spectrum
        covers only part of the wavelengths the grism is sensitive to.
    """
    _check_sources(sources)
    config = _check_config(_exposure_config(wfss, config))
    wfss_model = _wfss_model(wfss, config)
    shape = tuple(np.shape(wfss_model.data))
    settings = _Modelling.checked(config, orders, samples_per_pixel, cross_deposit,
                                  pivot_wavelength)
    footprints = source_footprints(sources, grow=grow)
    band = _configured_wavelengths(config)
    spectra = _user_spectra(spectra, footprints, config, settings.orders)
    rows, all_spectra, dispersed, off_field = [], {}, {}, []
    for label, footprint in footprints.items():
        try:
            x0, y0 = _pixel_grid_mapping(sources, wfss_model, footprint.x, footprint.y)
        except _OffField:
            off_field.append(label)
            continue
        if label in spectra:
            all_spectra[label] = spectra[label]
        else:
            all_spectra[label] = _first_guess(footprint, sources, band, settings)
        rows.append(_source_row(sources.catalog, label, footprint, x0, y0))
        dispersed.update(_dispersed_orders(label, footprint, (x0, y0),
                                           all_spectra[label], settings, shape))
    _check_field_is_lit(wfss_model, len(footprints), dispersed, off_field,
                        settings.orders)
    return FieldModel(_sources_table(rows, off_field), all_spectra, dispersed,
                      footprints, shape, config,
                      samples_per_pixel=settings.samples_per_pixel,
                      cross_deposit=settings.cross_deposit)


def _exposure_config(wfss, config):
    """The grism configuration: the one given, else the WFSSExposure's own."""
    if config is not None:
        return config
    if isinstance(wfss, WFSSExposure):
        return wfss.config
    raise TypeError(
        "model_field needs the grism configuration of the exposure: pass it, "
        "model_field(sources, wfss, load_grism_config(<its _cal.fits>)), or pass the "
        "exposure as a WFSSExposure (wfss_helpers.exposure.WFSSExposure.open(path)), "
        "which carries its own."
    )


def _wfss_model(wfss, config):
    """The WFSS exposure's data model, checked against the configuration; with a WCS."""
    from ..geometry.configuration import check_exposure_matches

    wfss_model = open_model(wfss, wfss=True)
    instrument = wfss_model.meta.instrument
    check_exposure_matches(instrument.filter, instrument.pupil, config,
                           wfss_model.meta.filename)
    _wcs(wfss_model, "WFSS exposure")
    return wfss_model


@dataclass(frozen=True)
class _Modelling:
    """How :func:`model_field` models each source: orders, sampling, deposit, pivot."""

    config: object
    orders: list
    samples_per_pixel: int
    cross_deposit: str
    pivot_wavelength: object

    @classmethod
    def checked(cls, config, orders, samples_per_pixel, cross_deposit,
                pivot_wavelength):
        """The settings, each checked (the message says which is wrong and how)."""
        orders = _model_orders(config, orders)
        samples_per_pixel = _whole_number(samples_per_pixel, "samples_per_pixel")
        _check_cross_deposit(cross_deposit)
        if pivot_wavelength is not None:
            pivot_wavelength = _pivot_micron(pivot_wavelength)
        return cls(config, orders, samples_per_pixel, cross_deposit, pivot_wavelength)


def _first_guess(footprint, sources, band, settings):
    """The flat first-guess spectrum ``(wavelength_um, flambda)`` over ``band``."""
    lo, hi = band
    level = first_guess_flambda(footprint, sources,
                                pivot_wavelength=settings.pivot_wavelength).value
    return np.array([lo, hi]), np.array([level, level])


def _source_row(catalog, label, footprint, x0, y0):
    """One row of the model's source table: id, x, y, ra, dec, x0, y0."""
    row = catalog[catalog["label"] == label][0]
    return (label, footprint.x, footprint.y, float(row["ra"]), float(row["dec"]),
            x0, y0)


def _dispersed_orders(label, footprint, position, spectrum, settings, shape):
    """One source's dispersed orders that reach the detector, by ``(id, order)``."""
    function = _spectrum_function(*spectrum)
    dispersed = {}
    for order in settings.orders:
        trace = GrismTrace(settings.config, order, *position)
        if not _may_reach(trace, footprint, shape):
            continue  # not worth a convolution
        piece = disperse_source(footprint, trace, function,
                                samples_per_pixel=settings.samples_per_pixel,
                                cross_deposit=settings.cross_deposit)
        if piece.on_detector(shape):
            dispersed[(label, trace.order)] = piece
    return dispersed


def _check_field_is_lit(wfss_model, n_sources, dispersed, off_field, orders):
    """Refuse a model with no light on the exposure; warn if few sources are on it."""
    name = wfss_model.meta.filename or "the WFSS exposure"
    if not dispersed:
        where = ("all fall outside its field" if len(off_field) == n_sources
                 else f"{len(off_field)} fall outside its field and the traces of "
                 f"the others (orders {', '.join(orders)}) miss its detector")
        raise ValueError(
            f"No source of the direct image puts light on {name}: of its "
            f"{n_sources} sources, {where}. The direct image is of another "
            "pointing or detector: use the direct image taken with this WFSS "
            "exposure (same visit and detector)."
        )
    lit = len({label for label, _ in dispersed})
    if lit < 0.5 * n_sources:
        warnings.warn(
            f"Only {lit} of the {n_sources} sources of the direct image put "
            f"light on {name} ({len(off_field)} fall outside its field): the direct "
            "image seems to be of another pointing. Use the direct image taken with "
            "this WFSS exposure (same visit and detector).",
            UserWarning, stacklevel=3,
        )
    elif off_field:
        warnings.warn(
            f"{len(off_field)} of the {n_sources} sources of the direct image "
            f"fall outside the field of {name} and are not modelled (ids "
            f"{_some(off_field)}; listed in sources.meta['off_field']).",
            UserWarning, stacklevel=3,
        )


def _sources_table(rows, off_field):
    """The table of the modelled sources (those off the field listed in its meta)."""
    table = Table(rows=rows, names=("id", "x", "y", "ra", "dec", "x0", "y0"))
    table["ra"].unit = table["dec"].unit = u.deg
    table.meta["off_field"] = off_field
    return table


class _OffField(Exception):
    """A source of the direct image falls outside the WFSS exposure's field."""


def _pixel_grid_mapping(sources, wfss_model, x, y):
    """WFSS position of direct pixel ``(x, y)`` and a check that the grids match."""
    ny, nx = np.shape(sources.model.data)
    # Steps toward the image's interior, so that a source at an edge is mapped too.
    sx = 5.0 if x + 5.0 <= nx - 1 else -5.0
    sy = 5.0 if y + 5.0 <= ny - 1 else -5.0
    xs = np.array([x, x + sx, x])
    ys = np.array([y, y, y + sy])
    try:
        x0, y0 = sky_to_wfss(wfss_model, direct_to_sky(sources.model, xs, ys))
    except ValueError as err:
        if "outside the field" in str(err):
            raise _OffField() from None
        raise
    jacobian = np.array([[x0[1] - x0[0], x0[2] - x0[0]],
                         [y0[1] - y0[0], y0[2] - y0[0]]])
    jacobian /= np.array([[sx, sy], [sx, sy]])
    departure = float(np.max(np.abs(jacobian - np.eye(2))))
    if not np.isfinite(departure) or departure > MAX_GRID_DISTORTION:
        raise ValueError(
            "The direct image's pixel grid is not the WFSS exposure's up to a shift "
            f"(d(x0, y0)/d(x, y) = {np.round(jacobian, 4).tolist()} at "
            f"({x:.0f}, {y:.0f})): "
            "the convolution model needs a direct image of the same detector, not a "
            "resampled or rotated mosaic. Use the _cal direct image of the same visit."
        )
    return float(x0[0]), float(y0[0])


def _may_reach(trace, footprint, shape):
    """Whether the order's trace, widened by the footprint, can touch the detector."""
    t = np.linspace(*T_RANGE, 65)
    dx, dy = trace.offsets(t)
    ny, nx = footprint.stamp.shape
    margin_x, margin_y = nx + 3, ny + 3
    x, y = trace.x0 + np.asarray(dx), trace.y0 + np.asarray(dy)
    return bool(
        x.max() + margin_x >= 0 and x.min() - margin_x < shape[1]
        and y.max() + margin_y >= 0 and y.min() - margin_y < shape[0]
    )


def model_field_from_spectra(field_model, spectra):
    """The same field modelled with other spectra (same footprints, traces, orders)."""
    dispersed = {}
    for (source_id, order), piece in field_model.dispersed.items():
        dispersed[(source_id, order)] = disperse_source(
            field_model.footprints[source_id], piece.trace,
            _spectrum_function(*spectra[source_id]),
            samples_per_pixel=field_model.samples_per_pixel,
            cross_deposit=field_model.cross_deposit,
        )
    return replace(field_model, spectra=dict(spectra), dispersed=dispersed)
