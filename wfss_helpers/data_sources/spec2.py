"""The jwst pipeline's own WFSS extraction (calwebb_spec2's steps) and its products.

``calwebb_spec2`` turns a WFSS ``_rate.fits`` file and a source catalog of the direct
image into one 1-D spectrum per catalog source (an ``_x1d.fits`` file). This module runs
the same jwst steps one by one, as the tutorial's notebook 5 does, and reads their
products back in detector terms, to compare them with a box extraction:

* :func:`run_wfss_spec2`: AssignWcs, FlatField, Background (WFSS), Extract2d,
  SourceType, optionally WfssContam, Photom and Extract1d, each through ``Step.call``,
  timed;
* :func:`nearest_catalog_source`: the catalog label of a source given by its position
  (the pipeline numbers sources its own way);
* :func:`pipeline_spectrum`: one source's spectrum from an x1d product, in
  erg/s/cm²/Å, with the detector pixel of each element and the rows (GRISMR) or
  columns (GRISMC) the pipeline summed;
* :func:`spectrum_boxes` and :func:`overlapping_boxes`: the pipeline's own boxes of
  every catalog source, and which overlap (the spectra that contaminate each other);
* :func:`keep_segments`: a segmentation map reduced to some sources, for
  ``WfssContamStep``, whose cost grows with every segment pixel it disperses.

The steps run as they are: nothing in jwst or stdatamodels is changed.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy import units as u

__all__ = [
    "CATALOG_COLUMNS",
    "PipelineSpectrum",
    "Spec2Run",
    "keep_segments",
    "nearest_catalog_source",
    "overlapping_boxes",
    "pipeline_spectrum",
    "run_wfss_spec2",
    "spectrum_boxes",
]

#: The columns of a source catalog that Extract2dStep (and BackgroundStep) read.
CATALOG_COLUMNS = (
    "label",
    "xcentroid",
    "ycentroid",
    "sky_centroid",
    "isophotal_abmag",
    "isophotal_abmag_err",
    "sky_bbox_ll",
    "sky_bbox_lr",
    "sky_bbox_ul",
    "sky_bbox_ur",
    "is_extended",
)

FLAM_UNIT = u.Unit("erg s-1 cm-2 Angstrom-1")


def _read_catalog(catalog):
    """A source catalog (ECSV path or Table), checked for the columns Extract2d
    reads."""
    from astropy.table import Table

    if isinstance(catalog, (str, os.PathLike)):
        path = Path(catalog).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"No source catalog at {path}. Make one with SourceCatalogStep on the "
                "direct image's _cal file (save_results=True writes <name>_cat.ecsv)."
            )
        catalog = Table.read(path, format="ascii.ecsv")
    if not isinstance(catalog, Table):
        raise TypeError(
            f"catalog must be the path of an ECSV source catalog or an astropy Table, got "
            f"{type(catalog).__name__}."
        )
    missing = [name for name in CATALOG_COLUMNS if name not in catalog.colnames]
    if missing:
        raise ValueError(
            f"The source catalog lacks the column(s) {', '.join(missing)} that the WFSS "
            "steps read; use the catalog SourceCatalogStep writes (the _cat.ecsv file)."
        )
    return catalog


def nearest_catalog_source(catalog, x, y, *, max_distance=2.0):
    """The catalog entry of the source at direct-image pixel ``(x, y)``.

    SourceCatalogStep numbers the sources it finds (``label``) in its own order, so a
    source known by its position is found by the nearest centroid.

    Parameters
    ----------
    catalog : path-like or `~astropy.table.Table`
        The source catalog of the direct image (SourceCatalogStep's ``_cat.ecsv``).
    x, y : float
        0-based pixel position in the direct image.
    max_distance : float, optional
        Largest accepted distance, pixels.

    Returns
    -------
    astropy.table.Row
        The catalog row; ``row["label"]`` is the id the WFSS steps use.

    Raises
    ------
    LookupError
        If no catalog source lies within ``max_distance`` pixels (the source was not
        detected, or the position is not in the direct image's pixels).
    """
    catalog = _read_catalog(catalog)
    x, y = float(x), float(y)
    if not (np.isfinite(x) and np.isfinite(y)):
        raise ValueError(f"The position must be finite, got ({x}, {y}).")
    distance = np.hypot(
        np.asarray(catalog["xcentroid"], float) - x,
        np.asarray(catalog["ycentroid"], float) - y,
    )
    best = int(np.argmin(distance))
    if distance[best] > max_distance:
        raise LookupError(
            f"No catalog source within {max_distance} px of ({x:.1f}, {y:.1f}); the nearest "
            f"(label {int(catalog['label'][best])}) is {distance[best]:.1f} px away. Check that "
            "the position is a 0-based pixel of the same direct image, or lower "
            "SourceCatalogStep's snr_threshold to detect fainter sources."
        )
    return catalog[best]


@dataclass
class Spec2Run:
    """What :func:`run_wfss_spec2` made, step by step.

    Attributes
    ----------
    background_subtracted : `~stdatamodels.jwst.datamodels.ImageModel`
        The full frame after AssignWcs, FlatField and Background (DN/s): the scaled
        background reference is subtracted; ``mask`` marks the pixels used to scale it.
    slits : `~stdatamodels.jwst.datamodels.MultiSlitModel`
        One cutout per source and order, after SourceType (and WfssContam): DN/s.
    calibrated_slits : `~stdatamodels.jwst.datamodels.MultiSlitModel`
        The same after Photom.
    x1d : `~stdatamodels.jwst.datamodels.JwstDataModel`
        The 1-D spectra (Extract1d's product).
    x1d_path : pathlib.Path or None
        Where the x1d product was saved.
    times : dict of str to float
        Wall-clock seconds per step.
    """

    background_subtracted: object
    slits: object
    calibrated_slits: object
    x1d: object
    x1d_path: Path | None = None
    times: dict = field(default_factory=dict)

    def close(self):
        """Close the data models."""
        for model in (
            self.background_subtracted,
            self.slits,
            self.calibrated_slits,
            self.x1d,
        ):
            if model is not None:
                model.close()


def _steps():
    # Imported lazily: importing jwst takes several seconds.
    from jwst.assign_wcs import AssignWcsStep
    from jwst.background import BackgroundStep
    from jwst.extract_1d import Extract1dStep
    from jwst.extract_2d import Extract2dStep
    from jwst.flatfield import FlatFieldStep
    from jwst.photom import PhotomStep
    from jwst.srctype import SourceTypeStep
    from jwst.wfss_contam import WfssContamStep

    return {
        "assign_wcs": AssignWcsStep,
        "flat_field": FlatFieldStep,
        "bkg_subtract": BackgroundStep,
        "extract_2d": Extract2dStep,
        "srctype": SourceTypeStep,
        "wfss_contam": WfssContamStep,
        "photom": PhotomStep,
        "extract_1d": Extract1dStep,
    }


def _existing_file(path, what, how):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"{what} must be a file path, got {type(path).__name__} {path!r}."
        )
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise FileNotFoundError(f"No {what} at {path}. {how}")
    return path


@dataclass(frozen=True)
class _Extraction:
    """What Extract2d cuts: which sources and orders, how tall a box, how faint."""

    source_ids: list | None
    orders: list
    half_height: int
    mmag: float | None


@dataclass(frozen=True)
class _Contamination:
    """WfssContamStep's inputs: the segmentation map, the direct image, parameters."""

    segmentation_map: Path
    direct_image: Path
    parameters: dict | None


def _checked_rate(rate):
    """The grism exposure (a path as ``str``, or the model), not yet flat-fielded."""
    from ..checks.files import check_model, check_processing

    if isinstance(rate, (str, os.PathLike)):
        check_processing(rate, wfss=True, steps=(), not_done=("flat_field", "photom"))
        return str(rate)
    check_model(rate, wfss=True, not_done=("flat_field", "photom"))
    return rate


def _checked_catalog(catalog) -> Path:
    """The path of a source catalog that has the columns the WFSS steps read."""
    catalog_path = _existing_file(
        catalog,
        "source catalog",
        "Make one with SourceCatalogStep on the direct image's _cal file.",
    )
    _read_catalog(catalog_path)
    return catalog_path


def _extraction(source_ids, half_height, mmag, extract_orders) -> _Extraction:
    """Extract2d's settings, checked: a positive whole half-height, int ids, orders."""
    if (
        isinstance(half_height, bool)
        or not isinstance(half_height, (int, np.integer))
        or half_height < 1
    ):
        raise ValueError(
            "wfss_extract_half_height must be a positive whole number of pixels (the "
            f"box is 2 h + 1 pixels tall), got {half_height!r}."
        )
    orders = [int(order) for order in np.atleast_1d(extract_orders)]
    ids = None if source_ids is None else [int(i) for i in np.atleast_1d(source_ids)]
    return _Extraction(ids, orders, int(half_height), mmag)


def _contamination(contamination, segmentation_map, direct_image, parameters):
    """WfssContamStep's checked inputs, or None when it is not to run."""
    if not contamination:
        return None
    if segmentation_map is None or direct_image is None:
        raise ValueError(
            "WfssContamStep needs the direct image's segmentation map and the direct "
            "image: give segmentation_map=<..._segm.fits> and "
            "direct_image=<..._cal.fits>."
        )
    segmentation_map = _existing_file(
        segmentation_map,
        "segmentation map",
        "SourceCatalogStep writes it with save_results=True.",
    )
    direct_image = _existing_file(
        direct_image, "direct image", "Give the direct image's _cal file."
    )
    return _Contamination(segmentation_map, direct_image, parameters)


class _StepCaller:
    """Calls the jwst steps by name, with the reference-file overrides, timed."""

    def __init__(self, reference_files):
        self.steps = _steps()
        self.reference_files = reference_files
        self.times = {}

    def overrides(self, name):
        """``override_<type>`` parameters of a step (none when CRDS chooses)."""
        from .pipeline import step_overrides

        if self.reference_files is None:
            return {}
        return step_overrides(self.steps[name], self.reference_files)

    def __call__(self, name, model, **parameters):
        """``Step.call`` of the step ``name``; its wall-clock time goes in ``times``."""
        start = time.perf_counter()
        result = self.steps[name].call(model, **self.overrides(name), **parameters)
        self.times[name] = time.perf_counter() - start
        return result


def _background_and_slits(call, rate, catalog_path, extraction: _Extraction):
    """AssignWcs -> FlatField -> Background -> Extract2d -> SourceType."""
    model = call("assign_wcs", rate, sip_approx=False)
    model = call("flat_field", model)
    model.meta.source_catalog = str(catalog_path)
    background = call("bkg_subtract", model, wfss_mmag_extract=extraction.mmag)
    slits = call(
        "extract_2d",
        background,
        source_ids=extraction.source_ids,
        extract_orders=extraction.orders,
        wfss_extract_half_height=extraction.half_height,
        wfss_mmag_extract=extraction.mmag,
    )
    return background, call("srctype", slits)


def _decontaminate(call, slits, contamination: _Contamination):
    """WfssContamStep on the cutouts, with the segmentation map and direct image."""
    slits.meta.segmentation_map = str(contamination.segmentation_map)
    slits.meta.direct_image = str(contamination.direct_image)
    return call("wfss_contam", slits, skip=False, **(contamination.parameters or {}))


def _save_x1d(x1d, background, output_dir: Path) -> Path:
    """Save the x1d product as ``<rate name>_x1d.fits`` in ``output_dir``."""
    name = Path(background.meta.filename or "wfss_rate.fits").name
    stem = (
        name[: -len("_rate.fits")]
        if name.endswith("_rate.fits")
        else Path(name).stem
    )
    x1d_path = output_dir / f"{stem}_x1d.fits"
    x1d.save(x1d_path, overwrite=True)
    return x1d_path


def run_wfss_spec2(
    rate,
    catalog,
    *,
    reference_files=None,
    source_ids=None,
    wfss_extract_half_height=5,
    wfss_mmag_extract=None,
    extract_orders=(1,),
    contamination=False,
    segmentation_map=None,
    direct_image=None,
    contamination_parameters=None,
    output_dir=None,
):
    """Run the WFSS steps of calwebb_spec2 on one exposure, one ``Step.call`` each.

    AssignWcs -> FlatField -> Background -> Extract2d -> SourceType -> [WfssContam] ->
    Photom -> Extract1d. calwebb_spec2 subtracts the background *before* the flat field;
    here it comes after, because the demo instrument's background reference is the
    dispersed sky as it is after the flat (see notebook 5).

    Parameters
    ----------
    rate : path-like or `~stdatamodels.jwst.datamodels.ImageModel`
        The grism exposure's ``_rate.fits`` file (not yet flat-fielded or
        flux-calibrated: the photom status must be honest, or Extract1d takes DN/s for
        MJy/sr).
    catalog : path-like
        The direct image's source catalog (ECSV, from SourceCatalogStep).
    reference_files : dict, optional
        Reference type -> file, to give every step as ``override_<type>`` (the types a
        step declares and the dict lacks become ``"N/A"``): ``distortion``,
        ``specwcs``, ``flat``, ``bkg``, ``wavelengthrange``, ``photom``. Default (None):
        CRDS chooses every reference file.
    source_ids : sequence of int, optional
        Catalog labels to extract (Extract2d's ``source_ids``); default every source.
    wfss_extract_half_height : int, optional
        Extract2d's half-height of the box of point-like sources: ``2 h + 1`` pixels
        across the dispersion. Extended sources get the height of their segment.
    wfss_mmag_extract : float, optional
        Extract only sources brighter than this AB magnitude (also limits the sources
        BackgroundStep masks).
    extract_orders : sequence of int, optional
        Spectral orders to extract.
    contamination : bool, optional
        Run WfssContamStep (skipped by calwebb_spec2 by default). Needs
        ``segmentation_map`` and ``direct_image``.
    segmentation_map, direct_image : path-like, optional
        SourceCatalogStep's segmentation map (``_segm.fits``) and the direct image's
        ``_cal`` file it was made from.
    contamination_parameters : dict, optional
        Further WfssContamStep parameters (e.g. ``orders``, ``wl_oversample``,
        ``magnitude_limit``).
    output_dir : path-like, optional
        Where to save the x1d product (``<rate name>_x1d.fits``); default: not saved.

    Returns
    -------
    Spec2Run

    Raises
    ------
    FileNotFoundError
        If the catalog, segmentation map or direct image is missing.
    ValueError
        If ``wfss_extract_half_height`` is not a positive integer, ``contamination`` is
        asked without a segmentation map and direct image, or an argument is malformed.
    wfss_helpers.checks.files.InvalidInputFileError
        If ``rate`` is not a WFSS exposure or was already flat-fielded or
        flux-calibrated.
    """
    from ..checks.files import writable_directory

    rate = _checked_rate(rate)
    catalog_path = _checked_catalog(catalog)
    extraction = _extraction(
        source_ids, wfss_extract_half_height, wfss_mmag_extract, extract_orders
    )
    contaminants = _contamination(
        contamination, segmentation_map, direct_image, contamination_parameters
    )
    if output_dir is not None:
        output_dir = writable_directory(output_dir, "x1d output")
    call = _StepCaller(reference_files)
    background, slits = _background_and_slits(call, rate, catalog_path, extraction)
    if contaminants is not None:
        slits = _decontaminate(call, slits, contaminants)
    calibrated = call("photom", slits)
    x1d = call("extract_1d", calibrated)
    x1d_path = None if output_dir is None else _save_x1d(x1d, background, output_dir)
    return Spec2Run(background, slits, calibrated, x1d, x1d_path, call.times)


@dataclass(frozen=True)
class PipelineSpectrum:
    """One source's spectrum from an x1d product, in detector terms.

    Attributes
    ----------
    source_id : int
        The catalog label.
    order : int
    source_type : str
        ``"POINT"`` or ``"EXTENDED"`` (from the catalog's ``is_extended``).
    wavelength : `~astropy.units.Quantity`
        Wavelength of each element (micron).
    flux, flux_error : `~astropy.units.Quantity`
        F_lambda (erg/s/cm²/Å), from the x1d ``FLUX`` (Jy): the sum over the box.
    pixel : numpy.ndarray of int
        0-based detector pixel of each element along the dispersion (the column for
        GRISMR, the row for GRISMC).
    cross_pixels : tuple of int
        First and last 0-based pixel the box spans across the dispersion (rows for
        GRISMR, columns for GRISMC): the pipeline sums all of them.
    npixels : numpy.ndarray
        Pixels summed per element (the x1d ``NPIXELS``: bad pixels are left out of
        the sum, not replaced).
    dispersion_axis : str
        ``"x"`` (GRISMR) or ``"y"`` (GRISMC).
    source_position : tuple of float
        The source's position on the grism exposure the pipeline used
        (``SOURCE_XPOS``, ``SOURCE_YPOS``; 0-based).
    """

    source_id: int
    order: int
    source_type: str
    wavelength: u.Quantity
    flux: u.Quantity
    flux_error: u.Quantity
    pixel: np.ndarray
    cross_pixels: tuple
    npixels: np.ndarray
    dispersion_axis: str
    source_position: tuple

    @property
    def box_height(self) -> int:
        """Pixels the box spans across the dispersion (``2 h + 1`` if point-like)."""
        return int(self.cross_pixels[1] - self.cross_pixels[0] + 1)

    @property
    def half_height(self) -> float:
        """The same box as a half-height about its centre, ``box_height / 2``, pixels:
        the ``half_height`` of :func:`wfss_helpers.extraction.box.box_extract` that sums as
        many pixels."""
        return self.box_height / 2.0


def _x1d_tables(x1d):
    """``{order: spec_table}`` of an x1d product (path or model)."""
    from stdatamodels.jwst import datamodels

    opened = None
    if isinstance(x1d, (str, os.PathLike)):
        path = _existing_file(
            x1d, "x1d product", "Run Extract1dStep and save its result."
        )
        opened = x1d = datamodels.open(path)
    spec = getattr(x1d, "spec", None)
    if spec is None:
        raise TypeError(
            f"Expected an x1d product (Extract1dStep's result or its file), got {type(x1d).__name__}."
        )
    pupil = str(x1d.meta.instrument.pupil or "").strip().upper()
    tables = {}
    for entry in spec:
        order = getattr(entry, "spectral_order", None)
        # Keep the table as it is (a FITS_rec once saved or read): its columns apply the
        # FITS scaling of the unsigned integer columns; np.asarray would not.
        tables[1 if order is None else int(order)] = entry.spec_table
    return tables, pupil, opened


def pipeline_spectrum(x1d, source_id, order=1) -> PipelineSpectrum:
    """One source's spectrum from a WFSS x1d product, with its detector pixels.

    Parameters
    ----------
    x1d : path-like or data model
        Extract1dStep's product for a WFSS exposure (``_x1d.fits``).
    source_id : int
        The catalog label (see :func:`nearest_catalog_source`).
    order : int, optional
        Spectral order.

    Returns
    -------
    PipelineSpectrum

    Raises
    ------
    KeyError
        If the product has no such order or source (the error lists those it has).
    """
    tables, pupil, opened = _x1d_tables(x1d)
    try:
        if int(order) not in tables:
            raise KeyError(
                f"The x1d product has no order {order}; it has orders {sorted(tables)}."
            )
        table = tables[int(order)]
        ids = np.asarray(table["SOURCE_ID"], int)
        match = np.flatnonzero(ids == int(source_id))
        if match.size == 0:
            raise KeyError(
                f"The x1d product has no source {source_id} in order {order}; it has "
                f"{sorted(ids.tolist())}. Pass it to Extract2dStep's source_ids (the "
                "catalog label, not the position)."
            )
        row = {name: table[name][match[0]] for name in table.dtype.names}
        n = int(row["N_ALONGDISP"])
        wavelength = np.asarray(row["WAVELENGTH"][:n], float) * u.micron
        equivalency = u.spectral_density(wavelength)
        flux = (np.asarray(row["FLUX"][:n], float) * u.Jy).to(FLAM_UNIT, equivalency)
        error = (np.asarray(row["FLUX_ERROR"][:n], float) * u.Jy).to(
            FLAM_UNIT, equivalency
        )
        along_x = pupil != "GRISMC"
        xstart, xstop = int(row["EXTRACT2D_XSTART"]), int(row["EXTRACT2D_XSTOP"])
        ystart, ystop = int(row["EXTRACT2D_YSTART"]), int(row["EXTRACT2D_YSTOP"])
        # EXTRACT2D_*START are 1-based, *STOP one past the last pixel.
        first = (xstart if along_x else ystart) - 1
        cross = (ystart - 1, ystop - 2) if along_x else (xstart - 1, xstop - 2)
        source_type = row["SOURCE_TYPE"]
        source_type = (
            source_type.decode() if isinstance(source_type, bytes) else str(source_type)
        )
        return PipelineSpectrum(
            source_id=int(source_id),
            order=int(order),
            source_type=source_type.strip(),
            wavelength=wavelength,
            flux=flux,
            flux_error=error,
            pixel=first + np.arange(n),
            cross_pixels=cross,
            npixels=np.asarray(row["NPIXELS"][:n], float),
            dispersion_axis="x" if along_x else "y",
            source_position=(float(row["SOURCE_XPOS"]), float(row["SOURCE_YPOS"])),
        )
    finally:
        if opened is not None:
            opened.close()


def spectrum_boxes(model, wavelength_range, *, wfss_extract_half_height=5, orders=(1,)):
    """The box Extract2dStep would cut for every catalog source, without cutting it.

    Calls the pipeline's own ``jwst.assign_wcs.util.create_grism_bbox``.

    Parameters
    ----------
    model : `~stdatamodels.jwst.datamodels.ImageModel`
        The grism exposure after AssignWcs, with ``meta.source_catalog`` naming the
        catalog.
    wavelength_range : path-like or `~stdatamodels.jwst.datamodels.WavelengthrangeModel`
        The wavelengthrange reference file (the extent of each order).
    wfss_extract_half_height : int, optional
        As for Extract2dStep.
    orders : sequence of int, optional

    Returns
    -------
    astropy.table.Table
        One row per source and order: ``label``, ``order``, ``x_min``, ``x_max``,
        ``y_min``, ``y_max`` (0-based, inclusive, before clipping at the detector edge),
        ``is_extended``, ``isophotal_abmag``.
    """
    from astropy.table import Table
    from jwst.assign_wcs.util import create_grism_bbox
    from stdatamodels.jwst.datamodels import WavelengthrangeModel

    if not getattr(model.meta, "source_catalog", None):
        raise ValueError(
            "The exposure names no source catalog: set model.meta.source_catalog to the "
            "catalog's path first (as BackgroundStep and Extract2dStep need too)."
        )
    close = False
    if isinstance(wavelength_range, (str, os.PathLike)):
        wavelength_range = WavelengthrangeModel(
            str(_existing_file(wavelength_range, "wavelengthrange file", ""))
        )
        close = True
    try:
        orders = [int(o) for o in np.atleast_1d(orders)]
        ranges = wavelength_range.get_wfss_wavelength_range(
            model.meta.instrument.filter, orders
        )
    finally:
        if close:
            wavelength_range.close()
    objects = create_grism_bbox(
        model,
        wavelength_range=ranges,
        wfss_extract_half_height=int(wfss_extract_half_height),
    )
    rows = []
    for obj in objects:
        for order, ((y_min, y_max), (x_min, x_max)) in obj.order_bounding.items():
            rows.append(
                (
                    int(obj.sid),
                    int(order),
                    int(x_min),
                    int(x_max),
                    int(y_min),
                    int(y_max),
                    bool(obj.is_extended),
                    float(obj.isophotal_abmag),
                )
            )
    names = (
        "label",
        "order",
        "x_min",
        "x_max",
        "y_min",
        "y_max",
        "is_extended",
        "isophotal_abmag",
    )
    return Table(rows=rows, names=names) if rows else Table(names=names)


def overlapping_boxes(boxes, label, order=1):
    """The other sources whose boxes overlap one source's box (same order).

    Parameters
    ----------
    boxes : `~astropy.table.Table`
        From :func:`spectrum_boxes`.
    label : int
    order : int, optional

    Returns
    -------
    astropy.table.Table
        The overlapping boxes, with the overlap's area in pixels (``overlap``).
    """
    boxes = boxes[boxes["order"] == int(order)]
    own = boxes[boxes["label"] == int(label)]
    if len(own) == 0:
        raise KeyError(f"No box of source {label} in order {order}.")
    own = own[0]
    dx = (
        np.minimum(boxes["x_max"], own["x_max"])
        - np.maximum(boxes["x_min"], own["x_min"])
        + 1
    )
    dy = (
        np.minimum(boxes["y_max"], own["y_max"])
        - np.maximum(boxes["y_min"], own["y_min"])
        + 1
    )
    area = np.clip(dx, 0, None) * np.clip(dy, 0, None)
    keep = (area > 0) & (boxes["label"] != int(label))
    result = boxes[keep]
    result["overlap"] = area[keep]
    return result


def keep_segments(segmentation_map, labels, output):
    """Write a copy of a segmentation map that keeps only some sources.

    WfssContamStep disperses every pixel of every segment, at a cost of milliseconds
    per pixel and order; for the contamination of a few spectra only the sources that
    overlap them matter.

    Parameters
    ----------
    segmentation_map : path-like
        SourceCatalogStep's ``_segm.fits``.
    labels : sequence of int
        Catalog labels to keep.
    output : path-like
        The new file.

    Returns
    -------
    pathlib.Path
        ``output``.
    """
    from stdatamodels.jwst import datamodels

    from ..checks.files import writable_directory

    source = _existing_file(
        segmentation_map,
        "segmentation map",
        "SourceCatalogStep writes it with save_results=True.",
    )
    labels = [int(v) for v in np.atleast_1d(labels)]
    output = Path(output).expanduser()
    writable_directory(output.parent, "segmentation map")
    with datamodels.open(source) as model:
        found = set(np.unique(model.data).tolist())
        absent = [v for v in labels if v not in found]
        if absent:
            raise ValueError(f"The segmentation map has no source labelled {absent}.")
        model.data = np.where(np.isin(model.data, labels), model.data, 0).astype(
            model.data.dtype
        )
        model.save(output, overwrite=True)
    return output
