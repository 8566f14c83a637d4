"""Run the jwst calibration steps the box extraction needs, as the seed notebook does.

A WFSS box extraction needs three things from the jwst pipeline, for both the direct image
and the grism exposure:

1. ``AssignWcsStep`` attaches a gWCS: for the direct image, detector -> sky; for the grism
   exposure, grism detector -> (source position, wavelength, order) and sky.
2. ``FlatFieldStep`` removes pixel-to-pixel response variations. The pipeline would flat
   a WFSS exposure only after cutting out each spectrum; here the grism exposure borrows
   the *imaging* flat of the same filter (its ``PUPIL`` is set to ``CLEAR`` for the step),
   a good approximation within a medium band and what the seed notebook does.
3. ``PhotomStep`` records which sensitivity (photom) reference file belongs to the
   exposure and its pixel area; grismconf reads both to build the sensitivity curve.

With ``reference_files`` given, every reference file is passed to the steps as an override
(and all other reference types as ``"N/A"``), so CRDS is never asked for one: this is how the
embedded demo data are calibrated offline. Without it, CRDS chooses the reference files, as
for real data.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

__all__ = [
    "CRDSUnavailableError",
    "calibrate_imaging",
    "calibrate_wfss",
    "step_overrides",
    "wcs_reference_files",
]

log = logging.getLogger(__name__)


def _steps():
    # Imported lazily: importing jwst takes several seconds.
    from jwst.assign_wcs import AssignWcsStep
    from jwst.flatfield import FlatFieldStep
    from jwst.photom import PhotomStep

    return AssignWcsStep, FlatFieldStep, PhotomStep


def step_overrides(step_class, reference_files) -> dict[str, str]:
    """Override arguments giving a step every reference file it declares.

    Parameters
    ----------
    step_class : type
        A jwst ``Step`` subclass.
    reference_files : dict of str to path-like
        Reference type -> file. Types the step declares but the dict lacks become ``"N/A"``.

    Returns
    -------
    dict of str to str
        ``{"override_<type>": path or "N/A", ...}``, to pass to ``Step.call``.
    """
    if not hasattr(step_class, "reference_file_types"):
        raise TypeError(f"step_class must be a jwst Step class (e.g. AssignWcsStep), got {step_class!r}.")
    _check_reference_dict(reference_files)
    return {
        f"override_{reftype}": str(Path(reference_files[reftype]).expanduser().resolve())
        if reference_files.get(reftype)
        else "N/A"
        for reftype in step_class.reference_file_types
    }


def _check_output(output, overwrite):
    """Refuse to replace a file unasked, and find out before the steps run whether the
    output can be written at all."""
    from .file_checks import writable_directory

    if output is None:
        return
    if not isinstance(output, (str, os.PathLike)):
        raise TypeError(f"output must be a file path, got {type(output).__name__} {output!r}.")
    output = Path(output).expanduser()
    if output.is_dir():
        raise IsADirectoryError(f"output {output} is a directory; give a file name, e.g. {output / 'my_cal.fits'}.")
    if output.exists() and not overwrite:
        raise FileExistsError(
            f"{output} already exists; pass overwrite=True to replace it, or choose "
            "another output name."
        )
    writable_directory(output.parent, "output")


def _save(model, output, overwrite):
    if output is None:
        return
    _check_output(output, overwrite)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    # Write under a temporary name and move into place, so that an interrupted save never
    # leaves a file that looks complete.
    # (The temporary file sits in a hidden folder, so it keeps the final FILENAME keyword.)
    partial_dir = output.parent / f".{output.name}.partial"
    partial_dir.mkdir(exist_ok=True)
    model.save(partial_dir / output.name, overwrite=True)
    os.replace(partial_dir / output.name, output)
    partial_dir.rmdir()


def wcs_reference_files(model) -> dict:
    """The reference files a calibrated exposure's gWCS was built from, as local paths.

    With them, ``jwst.assign_wcs.assign_wcs.load_wcs(model, files)`` rebuilds the gWCS,
    e.g. after changing the pointing keywords, with no CRDS look-up. Works for files whose
    references were chosen by CRDS (found in the CRDS cache) and for files calibrated with
    reference files given by hand (recorded as absolute paths).

    Parameters
    ----------
    model : `~stdatamodels.jwst.datamodels.ImageModel`
        An exposure after AssignWcs.

    Returns
    -------
    dict
        ``{"distortion": path, "filteroffset": path or None, "specwcs": path or None}``
        (``specwcs`` only for a WFSS exposure).

    Raises
    ------
    FileNotFoundError
        If the distortion (or, for WFSS, specwcs) file is not on this machine.
    """
    from .crds_config import local_reference_file
    from .file_checks import check_model, is_wfss

    check_model(model, steps=("assign_wcs",))
    reftypes = ["distortion", "filteroffset"]
    if is_wfss({"EXP_TYPE": model.meta.exposure.type}):
        reftypes.append("specwcs")
    files = {}
    for reftype in reftypes:
        recorded = getattr(getattr(model.meta.ref_file, reftype, None), "name", None)
        path = local_reference_file(recorded)
        if path is None and reftype != "filteroffset" and recorded not in (None, "N/A"):
            raise FileNotFoundError(
                f"The {reftype} reference file {recorded!r} of {model.meta.filename} is not on this "
                "machine (looked in $CRDS_PATH/references/jwst). Run the calibration with CRDS online "
                "so that CRDS downloads it."
            )
        files[reftype] = None if path is None else str(path)
    return files


class CRDSUnavailableError(ConnectionError):
    """CRDS could not provide the reference files (or its context) a step needs."""


def _crds_help():
    server = os.environ.get("CRDS_SERVER_URL", "(unset)")
    path = os.environ.get("CRDS_PATH", "(unset)")
    return (
        f"CRDS_SERVER_URL = {server}, CRDS_PATH = {path}. With a network, use "
        "wfss_helpers.crds_config.configure_online_crds() (server https://jwst-crds.stsci.edu); "
        "without one, give every reference file explicitly (reference_files=...) after "
        "configure_offline_crds(), as the demo data do."
    )


def _run(step_class, model, reference_files, **kwargs):
    from crds.core.exceptions import CrdsError

    overrides = step_overrides(step_class, reference_files) if reference_files is not None else {}
    try:
        return step_class.call(model, **overrides, **kwargs)
    except SystemExit as err:
        # CRDS ends the process (SystemExit) when neither its server nor its cache answers.
        raise CRDSUnavailableError(
            f"{step_class.__name__} could not reach CRDS (server and cache both failed). " + _crds_help()
        ) from err
    except CrdsError as err:
        raise CRDSUnavailableError(
            f"{step_class.__name__} could not get its reference files from CRDS ({err}). " + _crds_help()
        ) from err


#: Reference types each calibration needs when the files are given by hand.
_REQUIRED_REFERENCES = {False: ("distortion", "flat", "photom"), True: ("distortion", "specwcs", "flat", "photom")}


def _check_input(rate, wfss):
    """The input must be a rate file (or model) of the right kind, not yet flat-fielded."""
    from stdatamodels.jwst import datamodels

    from .file_checks import check_model, check_processing

    if isinstance(rate, datamodels.JwstDataModel):
        check_model(rate, wfss=wfss, not_done=("flat_field", "photom"))
    elif isinstance(rate, (str, os.PathLike)):
        check_processing(rate, wfss=wfss, steps=(), not_done=("flat_field", "photom"))
    else:
        raise TypeError(
            f"Expected the path of a _rate.fits file (or its data model), got {type(rate).__name__} {rate!r}."
        )


def _check_reference_dict(reference_files, which=None):
    """A dict of reference type -> existing file (not TutorialData's two sections)."""
    if not isinstance(reference_files, dict):
        raise TypeError(
            f"reference_files must be a dict of reference type -> file, got {type(reference_files).__name__}."
        )
    if {"imaging", "wfss"} & set(reference_files):
        raise ValueError(
            "reference_files has the 'imaging'/'wfss' sections of TutorialData.reference_files; "
            f"pass one of them: reference_files['{which or 'imaging'}'] or ['wfss']."
        )
    for name, path in reference_files.items():
        if path and not Path(path).expanduser().is_file():
            raise FileNotFoundError(f"The {name} reference file {path} does not exist.")


def _check_reference_files(reference_files, wfss):
    """Every reference type the calibration needs given, as a file that exists."""
    if reference_files is None:
        return
    _check_reference_dict(reference_files, "wfss" if wfss else "imaging")
    missing = [name for name in _REQUIRED_REFERENCES[wfss] if not reference_files.get(name)]
    if missing:
        raise ValueError(
            f"reference_files lacks {', '.join(repr(m) for m in missing)}; give all of "
            f"{', '.join(_REQUIRED_REFERENCES[wfss])} (or reference_files=None to let CRDS choose)."
        )


def _exposure_instrument(rate):
    """``(name, FILTER, PUPIL)`` of a rate file or data model."""
    from stdatamodels.jwst import datamodels

    if isinstance(rate, datamodels.JwstDataModel):
        instrument = rate.meta.instrument
        name = rate.meta.filename or f"This {type(rate).__name__}"
        return name, instrument.filter, instrument.pupil
    from astropy.io import fits

    header = fits.getheader(rate)
    return Path(rate).name, header.get("FILTER"), header.get("PUPIL")


def _check_reference_instruments(rate, reference_files, wfss):
    """Reference files given by hand must be for the exposure's filter (and grism).

    The jwst steps take an override as it is: a photom file without a row for the
    exposure's FILTER/PUPIL makes PhotomStep warn and leave the data in DN/s, yet record
    ``S_PHOTOM = COMPLETE``. Refuse such a set before running anything.
    """
    from .trace import (
        ExposureMismatchError,
        _clean,
        _describe_rows,
        _photom_rows,
        _reference_instrument,
    )

    if reference_files is None:
        return
    name, filter_, pupil = _exposure_instrument(rate)
    filter_, pupil = _clean(filter_), _clean(pupil)
    help_ = (
        "Give the reference files of the exposure's filter"
        + (" and grism" if wfss else "")
        + " (or reference_files=None to let CRDS choose)."
    )
    checks = [("flat", True, False)] + ([("specwcs", True, True)] if wfss else [])
    for reftype, check_filter, check_pupil in checks:
        path = reference_files.get(reftype)
        made_for = _reference_instrument(Path(path).expanduser()) if path else None
        if made_for is None:
            continue
        if (check_filter and made_for[0] and made_for[0] != filter_) or (
            check_pupil and made_for[1] and made_for[1] != pupil
        ):
            raise ExposureMismatchError(
                f"The {reftype} reference file {Path(path).name} is for "
                f"FILTER={made_for[0]}, PUPIL={made_for[1]}, but {name} was taken with "
                f"FILTER={filter_}, PUPIL={pupil}. {help_}"
            )
    photom = reference_files.get("photom")
    rows = _photom_rows(Path(photom).expanduser()) if photom else None
    if rows is not None and not any(f == filter_ and p == pupil for f, p, _ in rows):
        raise ExposureMismatchError(
            f"The photom reference file {Path(photom).name} has no row for "
            f"FILTER={filter_}, PUPIL={pupil}, the filter and pupil of {name} (it has "
            f"{_describe_rows(rows)}): PhotomStep would leave the data uncalibrated. "
            f"{help_}"
        )


def _check_photom_applied(model):
    """After PhotomStep an image must be in MJy/sr; refuse one left in DN/s."""
    from .crds_config import local_reference_file
    from .trace import ExposureMismatchError, _clean, _describe_rows, _photom_rows

    unit = str(model.meta.bunit_data or "").replace(" ", "")
    if unit.upper() == "MJY/SR":
        return
    instrument = model.meta.instrument
    filter_, pupil = _clean(instrument.filter), _clean(instrument.pupil)
    recorded = getattr(model.meta.ref_file.photom, "name", None)
    local = local_reference_file(recorded)
    rows = _photom_rows(local) if local is not None else None
    reason = ""
    if rows is not None and not any(f == filter_ and p == pupil for f, p, _ in rows):
        reason = (
            f" Its photom reference file {local.name} has no row for FILTER={filter_}, "
            f"PUPIL={pupil} (it has {_describe_rows(rows)})."
        )
    raise ExposureMismatchError(
        f"PhotomStep did not convert {model.meta.filename or 'the image'} to MJy/sr: "
        f"BUNIT is still {model.meta.bunit_data!r} although S_PHOTOM = "
        f"{model.meta.cal_step.photom!r}.{reason} Give the photom reference file of "
        f"the exposure's filter ({filter_}/{pupil}), or reference_files=None to let "
        "CRDS choose. Nothing was written."
    )


def calibrate_imaging(rate, reference_files=None, output=None, *, overwrite=False):
    """AssignWcs, FlatField and Photom on a direct (imaging) rate file.

    Parameters
    ----------
    rate : str, pathlib.Path or `~stdatamodels.jwst.datamodels.ImageModel`
        The direct image, a ``_rate.fits`` file.
    reference_files : dict, optional
        Reference files to use instead of CRDS's: keys ``distortion``, ``flat``,
        ``photom`` (and optionally ``filteroffset``). Default: ask CRDS.
    output : str or pathlib.Path, optional
        Where to save the result.
    overwrite : bool, optional
        Replace ``output`` if it exists (default: raise `FileExistsError`).

    Returns
    -------
    `~stdatamodels.jwst.datamodels.ImageModel`
        The calibrated image, in MJy/sr, with a gWCS.

    Raises
    ------
    wfss_helpers.file_checks.InvalidInputFileError
        If ``rate`` is not a FITS file, is damaged, is a WFSS exposure, or was already
        flat-fielded or flux-calibrated (a ``_cal`` file: calibrating twice would apply
        the flat and the photometry twice).
    ValueError, FileNotFoundError
        If ``reference_files`` lacks a needed type or names a file that does not exist.
    wfss_helpers.trace.ExposureMismatchError
        If a reference file is for another filter than the exposure (the photom file has
        no row for its FILTER/PUPIL, the flat is for another FILTER), or if PhotomStep
        left the data in DN/s (checked after the step, also when CRDS chose the files).
    CRDSUnavailableError
        If CRDS cannot supply a reference file.
    FileExistsError
        If ``output`` exists and ``overwrite`` is False.
    """
    _check_input(rate, wfss=False)
    _check_reference_files(reference_files, wfss=False)
    _check_reference_instruments(rate, reference_files, wfss=False)
    _check_output(output, overwrite)
    AssignWcsStep, FlatFieldStep, PhotomStep = _steps()
    model = _run(AssignWcsStep, rate, reference_files)
    model = _run(FlatFieldStep, model, reference_files)
    model = _run(PhotomStep, model, reference_files)
    _check_photom_applied(model)
    _save(model, output, overwrite)
    return model


def calibrate_wfss(rate, reference_files=None, output=None, *, overwrite=False):
    """AssignWcs, FlatField (imaging flat) and Photom on a WFSS rate file.

    Parameters
    ----------
    rate : str, pathlib.Path or `~stdatamodels.jwst.datamodels.ImageModel`
        The grism exposure, a ``_rate.fits`` file with ``EXP_TYPE = NRC_WFSS``.
    reference_files : dict, optional
        Reference files to use instead of CRDS's: keys ``distortion``, ``specwcs``,
        ``flat`` (the *imaging* flat) and ``photom`` (the *WFSS* photom file).
        Default: ask CRDS.
    output : str or pathlib.Path, optional
        Where to save the result.
    overwrite : bool, optional
        Replace ``output`` if it exists (default: raise `FileExistsError`).

    Returns
    -------
    `~stdatamodels.jwst.datamodels.ImageModel`
        The flat-fielded grism exposure (still in DN/s) with its grism gWCS and the
        name of its sensitivity reference file in ``meta.ref_file.photom``.

    Raises
    ------
    wfss_helpers.file_checks.InvalidInputFileError
        If ``rate`` is not a FITS file, is damaged, is not a WFSS exposure, or was already
        flat-fielded or flux-calibrated (a ``_cal`` file: calibrating twice would apply
        the flat and the photometry twice).
    ValueError, FileNotFoundError
        If ``reference_files`` lacks a needed type or names a file that does not exist.
    wfss_helpers.trace.ExposureMismatchError
        If a reference file is for another filter or grism than the exposure (the WFSS
        photom file has no row for its FILTER/PUPIL, the flat or specwcs is for another
        FILTER or PUPIL).
    CRDSUnavailableError
        If CRDS cannot supply a reference file.
    FileExistsError
        If ``output`` exists and ``overwrite`` is False.

    Notes
    -----
    ``sip_approx=False``: with the SIP approximation on, AssignWcsStep builds a second
    step internally that ignores the overrides (and asks CRDS).
    """
    _check_input(rate, wfss=True)
    _check_reference_files(reference_files, wfss=True)
    _check_reference_instruments(rate, reference_files, wfss=True)
    _check_output(output, overwrite)
    AssignWcsStep, FlatFieldStep, PhotomStep = _steps()
    model = _run(AssignWcsStep, rate, reference_files, sip_approx=False)
    pupil = model.meta.instrument.pupil
    # The imaging-flat trick: present the grism exposure as a direct image of the same
    # filter to FlatField and Photom, then restore the real pupil.
    model.meta.instrument.pupil = "CLEAR"
    try:
        model = _run(FlatFieldStep, model, reference_files)
        model = _run(PhotomStep, model, reference_files)
    finally:
        model.meta.instrument.pupil = pupil
    if reference_files is not None and reference_files.get("photom"):
        # grismconf reads the sensitivity from the file named here, minus a "crds://"
        # prefix, and downloads it from CRDS unless that path exists: name it absolutely.
        model.meta.ref_file.photom.name = "crds://" + str(Path(reference_files["photom"]).resolve())
    _save(model, output, overwrite)
    return model
