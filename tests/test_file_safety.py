"""No silent data loss, no crash, no litter: what the package's files survive.

Real files throughout: a spectra file cut mid-file or reduced to its primary HDU is
refused (not read as fewer spectra), spectra files get the user's normal permissions,
three processes calibrating into one folder at once all succeed, a full disk (a real
small tmpfs where one can be mounted) gives a clear error and leaves nothing behind,
and an old dataset left by a killed rebuild is removed by the next load.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import uuid

import pytest
from astropy.io import fits

from test_spectra_file import make_spectrum
from wfss_helpers.checks.files import InvalidInputFileError, NotEnoughSpaceError
from wfss_helpers.data_sources.pipeline import calibrate_wfss
from wfss_helpers.demo import dataset as ds
from wfss_helpers.demo.calibration_files import reference_files_for
from wfss_helpers.field.spectra_file import SourceSpectrum, read_spectra, write_spectra

N_SPECTRA = 26


def _write_field(path):
    records = [
        SourceSpectrum(
            make_spectrum(200, 2.5, seed=i + 1),
            source_id=100 + i,
            ra=53.1,
            dec=-27.8,
            grism="GRISMR",
            order="+1",
        )
        for i in range(N_SPECTRA)
    ]
    return write_spectra(path, records)


# 1. The spectra file ------------------------------------------------------------------


def test_truncated_spectra_file_is_refused_naming_the_missing_spectra(tmp_path):
    path = _write_field(tmp_path / "field_spectra.fits")
    assert len(read_spectra(path)) == N_SPECTRA
    data = path.read_bytes()
    cut = tmp_path / "cut_spectra.fits"
    cut.write_bytes(data[: int(len(data) * 0.577)])  # was: 15 of 26 read silently
    with pytest.raises(InvalidInputFileError) as info:
        read_spectra(cut)
    message = str(info.value)
    assert str(cut) in message and "NSPEC = 26" in message
    assert "15 SPECTRUM extension(s)" in message and "16-26 missing" in message
    assert "write or copy it again" in message


def test_spectra_file_with_only_the_primary_hdu_is_refused(tmp_path):
    path = _write_field(tmp_path / "field_spectra.fits")
    bare = tmp_path / "bare_spectra.fits"
    with fits.open(path) as hdulist:
        fits.HDUList([hdulist[0].copy()]).writeto(bare)  # was: 0 spectra returned
    with pytest.raises(InvalidInputFileError) as info:
        read_spectra(bare)
    message = str(info.value)
    assert str(bare) in message and "holds no spectrum" in message
    assert "only 1 HDU(s) (PRIMARY)" in message and "NSPEC = 26" in message


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_spectra_file_has_the_users_normal_permissions(tmp_path, umask):
    before = os.umask(umask)
    try:
        path = _write_field(tmp_path / "field_spectra.fits")
        plain = tmp_path / "plain.txt"
        plain.write_text("made with open()")
    finally:
        os.umask(before)
    mode = path.stat().st_mode & 0o777
    assert mode == 0o666 & ~umask == plain.stat().st_mode & 0o777  # was: 0o600
    assert len(read_spectra(path)) == N_SPECTRA


# 2. Several processes calibrating into one folder -----------------------------------

_CALIBRATE = textwrap.dedent(
    """
    import sys
    from wfss_helpers.data_sources.pipeline import calibrate_wfss
    from wfss_helpers.demo.calibration_files import reference_files_for
    from wfss_helpers.demo.dataset import load_demo_dataset

    data = load_demo_dataset(sys.argv[1])
    references = reference_files_for("GRISMR", data.reference_files)
    calibrate_wfss(
        data.wfss_rate, references, output=sys.argv[2], overwrite=True
    ).close()
    """
)


def test_three_processes_calibrating_into_one_folder_all_succeed(demo, tmp_path):
    output = tmp_path / "outputs" / "wfss_cal.fits"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _CALIBRATE, str(demo.directory.parent), str(output)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [process.communicate(timeout=600) for process in processes]
    failures = [
        err[-2000:] for process, (_, err) in zip(processes, results)
        if process.returncode != 0
    ]
    assert not failures  # was: FileNotFoundError on the shared .partial/ folder
    assert [p.name for p in output.parent.iterdir()] == [output.name]
    with fits.open(output) as hdulist:  # complete, with the final FILENAME
        hdulist.verify("exception")
        assert hdulist[0].header["FILENAME"] == output.name
        assert hdulist["SCI"].data.shape == fits.getdata(demo.wfss_cal, "SCI").shape


# 3. A full disk while saving --------------------------------------------------------


def _mount(*args):
    try:
        result = subprocess.run(["mount", *map(str, args)], capture_output=True)
    except OSError:
        return False
    return result.returncode == 0


def _umount(folder):
    if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_full_disk_while_saving_fails_clearly_and_leaves_nothing(demo, tmp_path):
    small = tmp_path / "small_disk"
    small.mkdir()
    if not (
        os.geteuid() == 0
        and shutil.which("mount")
        and _mount("-t", "tmpfs", "-o", "size=20m", "tmpfs", small)
    ):
        pytest.skip("a real full disk needs a tmpfs mount (root and mount allowed)")
    try:
        outputs = small / "outputs"
        outputs.mkdir()
        # Leave far less room than the calibrated exposure needs.
        filler = small / "filler.bin"
        room = shutil.disk_usage(small).free - 2_000_000
        filler.write_bytes(b"\0" * room)
        output = outputs / "wfss_cal.fits"
        with pytest.raises(NotEnoughSpaceError) as info:  # was: a raw astropy OSError
            calibrate_wfss(
                demo.wfss_rate, reference_files_for("GRISMR", demo.reference_files),
                output=output,
            ).close()
        message = str(info.value)
        assert info.value.errno == 28
        assert str(outputs) in message and "needs about" in message
        assert "MB are free" in message and "Nothing was written" in message
        assert list(outputs.iterdir()) == []  # was: a hidden .partial/ folder left
        filler.unlink()
        assert shutil.disk_usage(small).used < 1_000_000
    finally:
        _umount(small)


# 4. An old dataset left by a killed rebuild ------------------------------------------


def test_old_dataset_left_by_a_killed_rebuild_is_removed_by_the_next_load(demo):
    directory = demo.directory
    # Named exactly as _put_in_place names it before deleting it.
    old = directory.with_name(f".{directory.name}.old-{uuid.uuid4().hex[:12]}")
    shutil.copytree(directory / "reference_files", old / "reference_files")
    shutil.copy(directory / ds.MANIFEST_NAME, old / ds.MANIFEST_NAME)
    (old / "my_notes.txt").write_text("the user's own file")
    not_ours = directory.with_name(f".{directory.name}.old-mine")
    not_ours.mkdir()
    kept = directory / "my_notes.txt"
    try:
        from filelock import FileLock

        with FileLock(directory.parent / f".{directory.name}.lock"):
            ds.load_demo_dataset(directory.parent)  # a build holds the lock
        assert old.is_dir()
        loaded = ds.load_demo_dataset(directory.parent)  # was: left forever
        assert loaded.directory == directory and not old.exists()
        assert kept.read_text() == "the user's own file"  # moved, not deleted
        assert not_ours.is_dir()  # not a name the package makes: untouched
        assert ds.check_demo_dataset(directory) is None
    finally:
        shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(not_ours, ignore_errors=True)
        kept.unlink(missing_ok=True)
