"""``capture_logs``: the jwst steps' log goes to a file, counted, and everything is put back.

The notebooks wrap every ``Step.call`` in ``wfss_helpers.data_sources.pipeline.capture_logs`` so that
the page shows a one-line summary instead of some 90 log lines per exposure, and the
demo dataset keeps the log of its own calibration in ``pipeline.log``. These tests use
real loggers and real jwst steps (no mocks): records reach the file and not the screen,
warnings are counted, the steps still record their log in the output model, and after
the block (also after an exception) the logging set-up is exactly as before, so a step
called afterwards prints again.
"""

from __future__ import annotations

import logging

import pytest

from wfss_helpers.data_sources.pipeline import PIPELINE_LOGGERS, PipelineLog, capture_logs

PHOTOM_WARNING = "Expected to find one matching row in table, found 0"


def _logging_state():
    """Everything ``capture_logs`` changes, to compare before and after."""
    from crds.core import log as crds_log
    from stpipe import _log as stpipe_log

    def describe(handler):  # CRDS's console handler is put back as a new, equal one
        return type(handler).__name__, getattr(handler, "stream", None), handler.level

    loggers = {
        name: (logger.level, logger.propagate, [describe(h) for h in logger.handlers])
        for name in PIPELINE_LOGGERS
        for logger in [logging.getLogger(name)]
    }
    console = crds_log.THE_LOGGER.console
    return (
        loggers,
        stpipe_log._find_logging_config_file,
        stpipe_log.LogConfig.applied,
        None if console is None else describe(console),
    )


def test_records_go_to_the_file_and_are_counted(tmp_path, capfd):
    path = tmp_path / "logs" / "pipeline.log"  # the folder is created
    with capture_logs(path) as logs:
        logging.getLogger("jwst.photom.photom").info("using a photom file")
        logging.getLogger("stpipe.step").warning("a step warns")
        logging.getLogger("CRDS").error("CRDS fails")
        logging.getLogger("jwst.assign_wcs").debug("below INFO: not written")
        logging.getLogger("someone.else").info("not a pipeline logger")
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert isinstance(logs, PipelineLog) and logs.path == path.resolve()
    assert (logs.records, logs.warnings, logs.errors) == (3, 2, 1)
    assert logs.warning_messages == ["stpipe.step: a step warns", "CRDS: CRDS fails"]
    text = path.read_text()
    assert " - jwst.photom.photom - INFO - using a photom file" in text
    assert "not written" not in text and "not a pipeline logger" not in text
    assert logs.read() == text.rstrip("\n")
    assert logs.read("WARNING").splitlines() == text.rstrip("\n").splitlines()[1:]
    assert logs.read("error") == logs.read(logging.ERROR) == text.splitlines()[2]
    assert logs.summary() == f"3 pipeline log records (2 warnings) written to {logs.path}"


def test_append_or_start_afresh(tmp_path):
    path = tmp_path / "pipeline.log"
    with capture_logs(path) as first:
        logging.getLogger("jwst").info("first")
    with capture_logs(path) as second:
        logging.getLogger("jwst").warning("second")
    assert first.records == 1 and second.records == 1  # each counts its own block
    assert second.summary().startswith("1 pipeline log records (1 warning)")
    assert [line.split(" - ")[-1] for line in path.read_text().splitlines()] == [
        "first",
        "second",
    ]
    with capture_logs(path, append=False, level="DEBUG") as third:
        logging.getLogger("stcal").debug("third")
    assert third.records == 1 and path.read_text().splitlines()[0].endswith("third")


def test_everything_is_put_back_even_after_an_error(tmp_path):
    before = _logging_state()
    with capture_logs(tmp_path / "ok.log"):
        assert _logging_state() != before
    assert _logging_state() == before
    with (
        pytest.raises(RuntimeError, match="inside the block") as caught,
        capture_logs(tmp_path / "failed.log"),
    ):
        raise RuntimeError("inside the block")
    assert _logging_state() == before
    assert any("failed.log" in note for note in caught.value.__notes__)


@pytest.mark.parametrize(
    "path, level, error, message",
    [
        (3, "INFO", TypeError, "must be a path"),
        ("{tmp}", "INFO", IsADirectoryError, "is a directory"),
        ("{tmp}/p.log", "LOUD", ValueError, "Unknown logging level"),
        ("{tmp}/p.log", 2.5, TypeError, "logging level name or number"),
    ],
)
def test_bad_arguments(tmp_path, path, level, error, message):
    before = _logging_state()
    if isinstance(path, str):
        path = path.format(tmp=tmp_path)
    with pytest.raises(error, match=message), capture_logs(path, level=level):
        pass  # pragma: no cover - not reached
    assert _logging_state() == before and not (tmp_path / "p.log").exists()


def test_a_real_step_prints_nothing_and_keeps_its_cal_logs(demo, tmp_path, capfd):
    """PhotomStep on a grism exposure with PUPIL = CLEAR: the notebooks' photom warning."""
    from jwst.photom import PhotomStep
    from stdatamodels.jwst import datamodels

    from wfss_helpers.data_sources.pipeline import step_overrides

    overrides = step_overrides(PhotomStep, {"photom": demo.reference_files["photom_wfss"]})
    with datamodels.open(demo.wfss_rate) as rate:
        rate.meta.instrument.pupil = "CLEAR"  # the imaging-flat trick
        # (The first step of a process logs two more lines, about CRDS: not compared.)
        PhotomStep.call(rate, **overrides)
        capfd.readouterr()
        with capture_logs(tmp_path / "pipeline.log") as logs:
            quiet = PhotomStep.call(rate, **overrides)
        out, err = capfd.readouterr()
        assert "PhotomStep" not in out + err and PHOTOM_WARNING not in out + err
        assert logs.warnings == 1 and PHOTOM_WARNING in logs.warning_messages[0]
        assert logs.warning_messages[0].startswith("jwst.photom")
        assert "Step PhotomStep done" in logs.read()
        assert quiet.meta.bunit_data == "DN/s"  # left in DN/s, as intended
        # The step still records its log in the model, as without capture_logs.
        assert any(PHOTOM_WARNING in line for line in quiet.cal_logs.photom)

        # Afterwards, a step prints its log again.
        loud = PhotomStep.call(rate, **overrides)
        out, err = capfd.readouterr()
        assert "Step PhotomStep done" in out + err and PHOTOM_WARNING in out + err
        def messages(model):
            return [line.split(" - ", 1)[1] for line in model.cal_logs.photom]

        assert messages(loud) == messages(quiet)


def test_demo_dataset_keeps_the_log_of_its_calibration(demo):
    from wfss_helpers.demo.build import PIPELINE_LOG, _summary

    path = demo.directory / PIPELINE_LOG
    assert PIPELINE_LOG in demo.manifest["files"]
    text = path.read_text()
    # Three exposures calibrated: the photom warning once per grism exposure only.
    assert text.count("Step PhotomStep done") == 3
    assert text.count(" - WARNING - ") == text.count(PHOTOM_WARNING) == 2
    logs = PipelineLog(path=path, records=100, warnings=2)
    logs.warning_messages = [f"jwst.photom.photom: {PHOTOM_WARNING}."] * 2
    line = _summary(18.4, logs)
    assert line.startswith("Demo dataset generated in 18 s") and "\n" not in line
    assert "expected photom warning" in line
    logs.warnings, logs.warning_messages = 3, [*logs.warning_messages, "jwst: other"]
    assert "1 warning(s) were not expected" in _summary(18.4, logs)
