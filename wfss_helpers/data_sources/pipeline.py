"""Run the jwst calibration steps the box extraction needs, as the seed notebook does.

A WFSS box extraction needs three things from the jwst pipeline, for both the direct image
and the grism exposure:

1. ``AssignWcsStep`` attaches a gWCS: for the direct image, detector -> sky; for the grism
   exposure, grism detector -> (source position, wavelength, order) and sky.
2. ``FlatFieldStep`` removes pixel-to-pixel response variations. The pipeline's
   ``calwebb_spec2`` flat-fields the whole WFSS exposure (before cutting out the spectra)
   with the flat CRDS selects for its FILTER and PUPIL; here the grism exposure borrows
   the *imaging* flat of the same filter (its ``PUPIL`` is set to ``CLEAR`` for the step),
   a good approximation within a medium band and what the seed notebook does.
3. ``PhotomStep`` records which sensitivity (photom) reference file belongs to the
   exposure and its pixel area; grismconf reads both to build the sensitivity curve.

With ``reference_files`` given, every reference file is passed to the steps as an override
(and all other reference types as ``"N/A"``), so CRDS is never asked for one: this is how the
embedded demo data are calibrated offline. Without it, CRDS chooses the reference files, as
for real data.

Each step logs some 30 lines (its parameters, the reference files, what it did).
:func:`capture_logs` sends them to a file instead of the screen and counts the warnings.
"""

from __future__ import annotations

import io
import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "PIPELINE_LOGGERS",
    "CRDSUnavailableError",
    "PipelineLog",
    "calibrate_imaging",
    "calibrate_wfss",
    "capture_logs",
    "step_overrides",
    "wcs_reference_files",
]

log = logging.getLogger(__name__)


#: The loggers the jwst steps write to (those ``jwst.stpipe.Step.get_stpipe_loggers``
#: names): the steps themselves, the libraries they call, CRDS, and Python warnings
#: raised while a step runs.
PIPELINE_LOGGERS = ("stpipe", "jwst", "stcal", "stdatamodels", "tweakwcs", "CRDS", "py.warnings")

#: The format of each record in the log file: the one stpipe prints.
_LOG_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"


@dataclass
class PipelineLog:
    """What :func:`capture_logs` wrote to its file, counted as it was written.

    Attributes
    ----------
    path : pathlib.Path
        The log file (plain text, one record per entry, in stpipe's format).
    records : int
        Log records written during the ``with`` block (a record may span several lines,
        e.g. a step's parameters).
    warnings : int
        Records of level WARNING or above (errors included).
    errors : int
        Records of level ERROR or above.
    warning_messages : list of str
        ``"logger: message"`` of each record of level WARNING or above, in order.
    """

    path: Path
    records: int = 0
    warnings: int = 0
    errors: int = 0
    warning_messages: list = field(default_factory=list)
    _entries: list = field(default_factory=list, repr=False)

    def _add(self, record, text):
        self.records += 1
        self._entries.append((record.levelno, text))
        if record.levelno >= logging.WARNING:
            self.warnings += 1
            self.warning_messages.append(f"{record.name}: {record.getMessage()}")
        if record.levelno >= logging.ERROR:
            self.errors += 1

    def summary(self) -> str:
        """One line: how many records and warnings, and where they are.

        Returns
        -------
        str
        """
        plural = "" if self.warnings == 1 else "s"
        return (
            f"{self.records} pipeline log records ({self.warnings} warning{plural}) "
            f"written to {self.path}"
        )

    def read(self, level="INFO") -> str:
        """The records of this capture at or above ``level``, as written to the file.

        Parameters
        ----------
        level : str or int, optional
            ``"DEBUG"``, ``"INFO"`` (default: everything written), ``"WARNING"``,
            ``"ERROR"``, or a `logging` level number.

        Returns
        -------
        str
            The records, one per line (a record may span several lines); empty if none.
        """
        levelno = _level_number(level)
        return "\n".join(text for number, text in self._entries if number >= levelno)


def _level_number(level) -> int:
    if isinstance(level, bool) or not isinstance(level, (int, str)):
        raise TypeError(f"level must be a logging level name or number, got {level!r}.")
    if isinstance(level, int):
        return level
    numbers = logging.getLevelNamesMapping()
    if level.strip().upper() not in numbers:
        raise ValueError(
            f"Unknown logging level {level!r}; use DEBUG, INFO, WARNING, ERROR or CRITICAL."
        )
    return numbers[level.strip().upper()]


class _RecordingFileHandler(logging.FileHandler):
    """Writes each record to the file and counts it in a :class:`PipelineLog`."""

    def __init__(self, path, mode, result):
        super().__init__(path, mode=mode, encoding="utf-8")
        self.result = result
        self.setFormatter(logging.Formatter(_LOG_FORMAT))

    def emit(self, record):
        super().emit(record)
        self.result._add(record, self.format(record))


@contextmanager
def capture_logs(path, *, level="INFO", append=True):
    """Send the jwst pipeline's log to a file instead of the screen, for a ``with`` block.

    Each ``Step.call`` normally prints its log (some 30 lines per step: parameters,
    reference files, results) to the screen. Inside the block, the records of the
    loggers in :data:`PIPELINE_LOGGERS` (stpipe, jwst, stcal, stdatamodels, CRDS, and
    Python warnings raised by a step) are written to ``path`` instead, and counted.
    Afterwards the loggers are as they were: levels, handlers, propagation, CRDS's own
    console output, and what ``Step.call`` prints.

    The steps themselves are unchanged: they run with their usual settings and still
    record their log in the output model (``meta.cal_logs``).

    Parameters
    ----------
    path : str or pathlib.Path
        The log file. Its folder is created if needed.
    level : str or int, optional
        The lowest level written (default ``"INFO"``, what the steps print by default).
    append : bool, optional
        Add to the file (default) or start it afresh.

    Yields
    ------
    PipelineLog
        Counts the records (and the warnings) as they are written; ``.summary()`` is a
        one-line summary, ``.read("WARNING")`` the warnings themselves.

    Raises
    ------
    TypeError, ValueError
        If ``path`` is not a path or ``level`` not a logging level.
    IsADirectoryError
        If ``path`` is a folder.
    NotADirectoryError, PermissionError
        If the log's folder cannot be created or written to.

    Notes
    -----
    ``Step.call`` attaches a handler printing to ``stderr`` unless logging has been
    configured for stpipe; inside the block its default configuration is one with no
    console handler (stpipe's ``null`` handler), so the records reach only the file. An
    exception leaving the block gets a note naming the log file.

    Examples
    --------
    >>> with capture_logs("pipeline.log") as logs:  # doctest: +SKIP
    ...     model = AssignWcsStep.call("jw01076103001_02101_00001_nrcalong_rate.fits")
    >>> print(logs.summary())  # doctest: +SKIP
    >>> print(logs.read("WARNING"))  # doctest: +SKIP
    """
    from ..checks.files import writable_directory

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"The log file must be a path, got {type(path).__name__} {path!r}.")
    levelno = _level_number(level)
    path = Path(path).expanduser()
    if path.is_dir():
        raise IsADirectoryError(f"The log file {path} is a directory; give a file name, e.g. {path / 'pipeline.log'}.")
    writable_directory(path.parent, "log")
    result = PipelineLog(path=path.resolve())
    handler = _RecordingFileHandler(path, "a" if append else "w", result)
    handler.setLevel(levelno)
    loggers = [logging.getLogger(name) for name in PIPELINE_LOGGERS]
    saved = [(logger, logger.level, logger.propagate) for logger in loggers]
    restore_stpipe = _quiet_stpipe_default(levelno)
    restore_crds = _remove_crds_console()
    try:
        for logger in loggers:
            logger.addHandler(handler)
            logger.setLevel(levelno)
            # Not also to the root logger (which Jupyter, or the user, may print).
            logger.propagate = False
        yield result
    except BaseException as err:
        if hasattr(err, "add_note"):
            err.add_note(f"The pipeline's log is in {result.path}.")
        raise
    finally:
        for logger, level_before, propagate_before in saved:
            logger.removeHandler(handler)
            logger.setLevel(level_before)
            logger.propagate = propagate_before
        handler.close()
        restore_crds()
        restore_stpipe()


def _quiet_stpipe_default(levelno):
    """Make ``Step.call``'s default log configuration print nothing, until undone.

    Without a configuration in place, ``Step.call`` loads stpipe's default one (a
    ``stderr`` handler at INFO) for the duration of the call; here the default names
    the ``null`` handler instead, keeping everything else (levels, the records each step
    keeps in ``meta.cal_logs``). Returns the function that undoes it.
    """
    try:
        from stpipe import _log as stpipe_log
    except ImportError:  # pragma: no cover - stpipe comes with jwst
        return lambda: None
    original = getattr(stpipe_log, "_find_logging_config_file", None)
    if original is None:  # pragma: no cover - another stpipe: its default stays
        return lambda: None
    config = f"[*]\nhandler = null\nlevel = {levelno}\n".encode()
    stpipe_log._find_logging_config_file = lambda: io.BytesIO(config)

    def restore():
        stpipe_log._find_logging_config_file = original

    return restore


def _remove_crds_console():
    """Silence CRDS's own console handler (it prints to stderr directly), until undone."""
    try:
        from crds.core import log as crds_log
    except ImportError:  # pragma: no cover - CRDS comes with jwst
        return lambda: None
    console = getattr(crds_log.THE_LOGGER, "console", None)
    logger = getattr(crds_log.THE_LOGGER, "logger", None)
    handlers = list(getattr(logger, "handlers", []))
    if console is not None:
        crds_log.remove_console_handler()

    def restore():
        if console is None:
            return
        crds_log.add_console_handler()
        new_console = getattr(crds_log.THE_LOGGER, "console", None)
        if logger is not None and new_console is not None and console in handlers:
            # Put the new console handler where the old one was, among the handlers
            # others (e.g. pytest) may have added meanwhile.
            present = [h for h in logger.handlers if h is not new_console]
            order = [new_console if h is console else h for h in handlers if h is console or h in present]
            logger.handlers = order + [h for h in present if h not in order]

    return restore


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
    from ..checks.files import writable_directory

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


def _bytes_needed(model) -> int:
    """About how many bytes saving ``model`` takes: its arrays plus 1 MB of headers."""
    import numpy as np

    total, stack = 1_000_000, [getattr(model, "instance", {})]
    while stack:
        node = stack.pop()
        if isinstance(node, np.ndarray):
            total += node.nbytes
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
    return total


def _no_space_error(model, output, err):
    import errno
    import shutil

    from ..checks.files import NotEnoughSpaceError

    free = shutil.disk_usage(output.parent).free
    return NotEnoughSpaceError(
        errno.ENOSPC,
        f"The disk holding {output.parent} is full: saving {output.name} needs about "
        f"{_bytes_needed(model) / 1e6:.0f} MB and {free / 1e6:.0f} MB are free "
        f"({type(err).__name__}: {err}). Nothing was written. Free some space there, "
        "or give an output= in a folder on a disk with more room.",
    )


def _move_into_place(written, output, overwrite):
    """Rename a complete file to ``output``, atomically; never replace one unasked."""
    if overwrite:
        os.replace(written, output)
        return
    try:
        os.link(written, output)  # fails if output exists, atomically
    except FileExistsError:
        raise FileExistsError(
            f"{output} appeared while the steps ran (another process?) and was left "
            "untouched; pass overwrite=True to replace it."
        ) from None
    except OSError:  # no hard links on this filesystem
        if output.exists():
            raise FileExistsError(
                f"{output} appeared while the steps ran (another process?) and was "
                "left untouched; pass overwrite=True to replace it."
            ) from None
        os.replace(written, output)


def _save(model, output, overwrite):
    """Save ``model`` to ``output`` under a name of its own, then rename it in place.

    Each call writes into its own hidden folder beside ``output`` (named with the
    process id and a random part, so that processes writing the same output at once
    do not meet), keeping the final file name (and so the FILENAME keyword), and
    renames the complete file to ``output``: nobody reads a half-written file, and the
    last complete one wins. The folder is removed whatever happens; a full disk raises
    `~wfss_helpers.checks.files.NotEnoughSpaceError`.
    """
    import shutil
    import uuid

    if output is None:
        return
    _check_output(output, overwrite)
    output = Path(output).expanduser()
    output.parent.mkdir(parents=True, exist_ok=True)
    partial_dir = output.parent / (
        f".{output.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    )
    try:
        partial_dir.mkdir()
        model.save(partial_dir / output.name, overwrite=True)
        _move_into_place(partial_dir / output.name, output, overwrite)
    except Exception as err:
        from ..checks.files import out_of_space

        if out_of_space(err):
            raise _no_space_error(model, output, err) from err
        raise
    finally:
        shutil.rmtree(partial_dir, ignore_errors=True)


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
    from ..geometry.reference_files import local_reference_file
    from ..checks.files import check_model, is_wfss

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
        "wfss_helpers.data_sources.crds.configure_online_crds() (server https://jwst-crds.stsci.edu); "
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

    from ..checks.files import check_model, check_processing

    if isinstance(rate, datamodels.JwstDataModel):
        check_model(rate, wfss=wfss, not_done=("flat_field", "photom"))
    elif isinstance(rate, (str, os.PathLike)):
        check_processing(rate, wfss=wfss, steps=(), not_done=("flat_field", "photom"))
    else:
        raise TypeError(
            f"Expected the path of a _rate.fits file (or its data model), got {type(rate).__name__} {rate!r}."
        )


def _check_reference_dict(reference_files, which=None):
    """A dict of reference type -> existing file (not TutorialData's sections)."""
    if not isinstance(reference_files, dict):
        raise TypeError(
            f"reference_files must be a dict of reference type -> file, got {type(reference_files).__name__}."
        )
    if {"imaging", "wfss", "grismc"} & set(reference_files):
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
    from ..geometry.configuration import (
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
    from ..geometry.reference_files import local_reference_file
    from ..geometry.configuration import (
        ExposureMismatchError,
        _clean,
        _describe_rows,
        _photom_rows,
    )

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
    wfss_helpers.checks.files.InvalidInputFileError
        If ``rate`` is not a FITS file, is damaged, is a WFSS exposure, or was already
        flat-fielded or flux-calibrated (a ``_cal`` file: calibrating twice would apply
        the flat and the photometry twice).
    ValueError, FileNotFoundError
        If ``reference_files`` lacks a needed type or names a file that does not exist.
    wfss_helpers.geometry.configuration.ExposureMismatchError
        If a reference file is for another filter than the exposure (the photom file has
        no row for its FILTER/PUPIL, the flat is for another FILTER), or if PhotomStep
        left the data in DN/s (checked after the step, also when CRDS chose the files).
    CRDSUnavailableError
        If CRDS cannot supply a reference file.
    FileExistsError
        If ``output`` exists and ``overwrite`` is False.
    wfss_helpers.checks.files.NotEnoughSpaceError
        If the disk of ``output`` fills up while saving (nothing is left behind).
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
    wfss_helpers.checks.files.InvalidInputFileError
        If ``rate`` is not a FITS file, is damaged, is not a WFSS exposure, or was already
        flat-fielded or flux-calibrated (a ``_cal`` file: calibrating twice would apply
        the flat and the photometry twice).
    ValueError, FileNotFoundError
        If ``reference_files`` lacks a needed type or names a file that does not exist.
    wfss_helpers.geometry.configuration.ExposureMismatchError
        If a reference file is for another filter or grism than the exposure (the WFSS
        photom file has no row for its FILTER/PUPIL, the flat or specwcs is for another
        FILTER or PUPIL).
    CRDSUnavailableError
        If CRDS cannot supply a reference file.
    FileExistsError
        If ``output`` exists and ``overwrite`` is False.
    wfss_helpers.checks.files.NotEnoughSpaceError
        If the disk of ``output`` fills up while saving (nothing is left behind).

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
