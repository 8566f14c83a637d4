"""The demo dataset in a workshop: thirty laptops, shared read-only instructor copies.

Each test is a case found by trying it: processes generating at once, a rebuild next to
the user's outputs, damaged files and manifests, a copy moved elsewhere and mounted
read-only, a full disk, a relative cache variable. One dataset is generated here, by
three processes at once (the first test), and reused (and regenerated) by the others.

Read-only: we may run as root, which ignores permission bits, so a folder is made
read-only with a read-only bind mount when we are root (``chmod a-w`` otherwise); where
neither is possible, the tests that need it are skipped, and the copy test still checks
that nothing in the copy changed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest

from wfss_helpers.demo import dataset as ds
from wfss_helpers.demo.dataset import (
    CACHE_VARIABLE,
    NotEnoughSpaceError,
    check_demo_dataset,
    default_cache_dir,
    load_demo_dataset,
)
from wfss_helpers.demo.manifest import DEMO_VERSION, FILES, MANIFEST_NAME
from wfss_helpers.checks.files import InvalidInputFileError
from wfss_helpers.tutorial_data import (
    OUTPUT_DIR_VARIABLE,
    get_tutorial_data,
    notebook_output_dir,
)

ROOT = Path(__file__).resolve().parents[1]

#: One of three processes asking for the dataset at the same moment (after a barrier).
WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path

    cache, meeting, result = (Path(arg) for arg in sys.argv[1:4])
    n = int(sys.argv[4])
    import wfss_helpers.demo.build as build
    from wfss_helpers.demo.dataset import load_demo_dataset

    generate = build.build_demo_dataset

    def counted(directory, **kwargs):  # counts the generations, then generates
        with open(meeting / "builds", "a") as fh:
            fh.write(f"{os.getpid()} {directory}\\n")
        return generate(directory, **kwargs)

    build.build_demo_dataset = counted
    (meeting / f"ready-{os.getpid()}").touch()
    deadline = time.time() + 300
    while len(list(meeting.glob("ready-*"))) < n and time.time() < deadline:
        time.sleep(0.01)
    dataset = load_demo_dataset(cache)
    answer = {"directory": str(dataset.directory), "manifest": dataset.manifest}
    result.write_text(json.dumps(answer))
    """
)


def _siblings(directory: Path, kind: str):
    return sorted(directory.parent.glob(f".{directory.name}.{kind}-*"))


def _snapshot(folder: Path) -> dict:
    """Every entry under ``folder`` (and itself): kind, size, modification time."""
    entries = {}
    for path in (folder, *sorted(folder.rglob("*"))):
        stat = path.lstat()
        size = None if path.is_dir() else stat.st_size
        entries[path.relative_to(folder).as_posix()] = (
            path.is_dir(),
            size,
            stat.st_mtime_ns,
        )
    return entries


def _mount(*args):
    return (
        subprocess.run(
            ["mount", *map(str, args)], capture_output=True, text=True
        ).returncode
        == 0
    )


def _umount(folder):
    if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@contextlib.contextmanager
def read_only(folder: Path, *, required: bool = True):
    """Make ``folder`` read-only; yield how: "mount", "chmod" or "none" (impossible)."""
    folder = Path(folder)
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in (folder, *folder.rglob("*"))}
        for path, mode in modes.items():
            path.chmod(mode & ~0o222)
        try:
            yield "chmod"
        finally:
            for path, mode in modes.items():
                path.chmod(mode)
        return
    if shutil.which("mount") and _mount("--bind", folder, folder):
        if _mount("-o", "remount,ro,bind", folder):
            try:
                assert not os.access(folder, os.W_OK)
                yield "mount"
            finally:
                _umount(folder)
            return
        _umount(folder)
    if required:
        pytest.skip(
            "cannot make a folder read-only for root here (mount not permitted)"
        )
    yield "none"


@pytest.fixture
def big_tmp(tmp_path):
    """``tmp_path``, deleted after the test whatever the outcome (dataset copies)."""
    yield tmp_path
    shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.fixture
def no_output_variable(monkeypatch):
    """No user output folder set (the CRDS set-up is restored by tests/conftest.py)."""
    monkeypatch.delenv(OUTPUT_DIR_VARIABLE, raising=False)
    yield


@pytest.fixture(scope="module")
def workshop(tmp_path_factory):
    """Three processes loading the dataset at once from an empty cache."""
    base = tmp_path_factory.mktemp("workshop")
    cache, meeting = base / "cache", base / "meeting"
    meeting.mkdir()
    script = base / "worker.py"
    script.write_text(WORKER)
    n = 3
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
        ),
    }
    processes = []
    for i in range(n):
        log = open(base / f"worker{i}.log", "w")
        args = [
            sys.executable,
            str(script),
            str(cache),
            str(meeting),
            str(base / f"result{i}.json"),
            str(n),
        ]
        processes.append(
            (
                subprocess.Popen(
                    args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=base
                ),
                log,
            )
        )
    codes = []
    for process, log in processes:
        codes.append(process.wait(timeout=600))
        log.close()
    results = [
        json.loads((base / f"result{i}.json").read_text())
        if (base / f"result{i}.json").exists()
        else None
        for i in range(n)
    ]
    builds = (
        (meeting / "builds").read_text().splitlines()
        if (meeting / "builds").exists()
        else []
    )
    logs = [(base / f"worker{i}.log").read_text()[-3000:] for i in range(n)]
    directory = cache / ds.dataset_directory_name()
    yield types.SimpleNamespace(
        cache=cache,
        directory=directory,
        codes=codes,
        results=results,
        builds=builds,
        logs=logs,
    )
    shutil.rmtree(base, ignore_errors=True)


# 1. Three processes at once on an empty cache -----------------------------------------


def test_three_processes_at_once_build_once_and_all_succeed(workshop):
    assert workshop.codes == [0, 0, 0], "\n---\n".join(workshop.logs)
    assert {r["directory"] for r in workshop.results} == {str(workshop.directory)}
    assert all(
        r["manifest"] == workshop.results[0]["manifest"] for r in workshop.results
    )
    assert len(workshop.builds) == 1, workshop.builds  # generated exactly once
    # ... into a temporary sibling, renamed into place when complete.
    assert Path(workshop.builds[0].split()[1]).name.startswith(
        f".{workshop.directory.name}.building-"
    )
    assert _siblings(workshop.directory, "building") == []
    assert check_demo_dataset(workshop.directory, verify=True) is None


# 2. The user's outputs are outside the dataset; a rebuild deletes only generated files


def test_rebuild_keeps_the_notebook_outputs(workshop, no_output_variable):
    data = get_tutorial_data("demo", cache_dir=workshop.cache)
    work = data.work_dir
    assert work == workshop.cache / "notebook_outputs" / "demo"
    assert not work.is_relative_to(data.demo.directory)
    (work / "my_spectrum.txt").write_text("my result")
    # Where older versions put the outputs (inside the dataset): kept too.
    legacy = data.demo.directory / "notebook_outputs" / "direct_cal.fits"
    legacy.parent.mkdir()
    legacy.write_bytes(b"an output of an older version")
    # A build interrupted by a killed process: cleaned up.
    stale = workshop.directory.with_name(f".{workshop.directory.name}.building-killed")
    (stale / "reference_files").mkdir(parents=True)
    inode = workshop.directory.stat().st_ino

    rebuilt = load_demo_dataset(workshop.cache, rebuild=True)

    assert (
        rebuilt.directory == workshop.directory
        and rebuilt.directory.stat().st_ino != inode
    )
    assert (work / "my_spectrum.txt").read_text() == "my result"
    kept = rebuilt.directory / "notebook_outputs" / "direct_cal.fits"
    assert kept.read_bytes() == b"an output of an older version"
    assert check_demo_dataset(rebuilt.directory) is None
    assert (
        _siblings(workshop.directory, "building")
        == _siblings(workshop.directory, "old")
        == []
    )
    shutil.rmtree(kept.parent)


# 3. Damaged files and manifests -------------------------------------------------------


def test_truncated_file_is_found_and_the_dataset_rebuilt(workshop):
    name = FILES["wfss_cal"]
    path = workshop.directory / name
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.truncate(size - 2880)
    assert check_demo_dataset(workshop.directory).startswith(
        f"{name} has {size - 2880} bytes"
    )
    dataset = load_demo_dataset(workshop.cache)
    assert (
        dataset.wfss_cal.stat().st_size
        == dataset.manifest["files"][name]["bytes"]
        == size
    )
    assert check_demo_dataset(dataset.directory, verify=True) is None


def _damaged_copy(workshop, folder: Path) -> Path:
    """A copy of the dataset in a cache of its own, with one byte of data changed."""
    copy = folder / "cache" / workshop.directory.name
    shutil.copytree(workshop.directory, copy)
    path = copy / FILES["wfss_cal"]
    with open(path, "r+b") as fh:
        fh.seek(path.stat().st_size // 2)
        byte = fh.read(1)
        fh.seek(-1, os.SEEK_CUR)
        fh.write(bytes([byte[0] ^ 0xFF]))
    return copy


def test_altered_bytes_found_with_verify_and_a_read_only_copy_refused(
    workshop, big_tmp
):
    copy = _damaged_copy(workshop, big_tmp)
    name = FILES["wfss_cal"]
    assert check_demo_dataset(copy) is None  # same size: only the checksum sees it
    assert check_demo_dataset(copy, verify=True) == (
        f"{name} does not match its SHA-256 in the manifest (altered)"
    )
    with read_only(copy.parent):
        assert load_demo_dataset(copy.parent).directory == copy
        expected = (
            f"{re.escape(str(copy))}.*{re.escape(name)} does not match.*not writable"
        )
        with pytest.raises(InvalidInputFileError, match=expected):
            load_demo_dataset(copy.parent, verify=True)
    truth = copy / FILES["truth"]
    with open(truth, "r+b") as fh:
        fh.truncate(100)
    with read_only(copy.parent):
        expected = f"{re.escape(FILES['truth'])} has 100 bytes.*ask for a fresh copy"
        with pytest.raises(InvalidInputFileError, match=expected):
            load_demo_dataset(copy.parent)


_DAMAGED_MANIFESTS = {
    "not JSON": lambda m: "{",
    "a list": lambda m: [],
    "no 'files'": lambda m: {k: v for k, v in m.items() if k != "files"},
    "no 'grismconf_file'": lambda m: {
        k: v for k, v in m.items() if k != "grismconf_file"
    },
    "version a string": lambda m: {**m, "version": str(DEMO_VERSION)},
    "seed a boolean": lambda m: {**m, "seed": True},
    "files a list": lambda m: {**m, "files": list(m["files"])},
    "a size as text": lambda m: {
        **m,
        "files": {k: {**v, "bytes": str(v["bytes"])} for k, v in m["files"].items()},
    },
    "an entry a number": lambda m: {**m, "files": {**m["files"], FILES["truth"]: 3}},
    "no checksum": lambda m: {
        **m,
        "files": {k: {"bytes": v["bytes"]} for k, v in m["files"].items()},
    },
    "a path outside": lambda m: {
        **m,
        "files": {**m["files"], "../elsewhere.fits": m["files"][FILES["truth"]]},
    },
    "a file unlisted": lambda m: {
        **m,
        "files": {k: v for k, v in m["files"].items() if k != FILES["wfss_cal"]},
    },
    "grismconf_file a number": lambda m: {**m, "grismconf_file": 3},
}


@pytest.mark.parametrize("damage", list(_DAMAGED_MANIFESTS))
def test_malformed_manifest_is_a_problem_not_a_crash(workshop, damage):
    path = workshop.directory / MANIFEST_NAME
    original = path.read_text()
    damaged = _DAMAGED_MANIFESTS[damage](json.loads(original))
    try:
        path.write_text(damaged if isinstance(damaged, str) else json.dumps(damaged))
        problem = check_demo_dataset(workshop.directory)
        assert isinstance(problem, str) and MANIFEST_NAME in problem
    finally:
        path.write_text(original)
    assert check_demo_dataset(workshop.directory) is None


@pytest.mark.parametrize(
    "key, value", [("files", None), ("version", "1")], ids=["missing key", "wrong type"]
)
def test_malformed_manifest_means_rebuild(workshop, key, value):
    path = workshop.directory / MANIFEST_NAME
    manifest = json.loads(path.read_text())
    if value is None:
        del manifest[key]
    else:
        manifest[key] = value
    path.write_text(json.dumps(manifest))
    dataset = load_demo_dataset(workshop.cache)
    assert (
        check_demo_dataset(dataset.directory) is None
        and dataset.manifest["version"] == DEMO_VERSION
    )
    files = {
        p.relative_to(dataset.directory).as_posix()
        for p in dataset.directory.rglob("*")
        if p.is_file()
    }
    assert files == {
        *dataset.manifest["files"],
        MANIFEST_NAME,
    }  # nothing left of the old one
    assert _siblings(workshop.directory, "old") == []


# 4. A copy elsewhere, read-only -------------------------------------------------------


def test_relocated_read_only_copy_works_as_is(
    workshop, big_tmp, monkeypatch, no_output_variable
):
    from stdatamodels.jwst import datamodels

    from wfss_helpers import geometry as trace
    from wfss_helpers.data_sources.pipeline import calibrate_imaging, wcs_reference_files

    room = big_tmp / "instructor_copy"
    copy = room / workshop.directory.name
    shutil.copytree(workshop.directory, copy)
    away = workshop.directory.with_name("renamed_original")
    os.rename(workshop.directory, away)
    monkeypatch.setenv("XDG_CACHE_HOME", str(big_tmp / "student_cache"))
    monkeypatch.chdir(big_tmp)
    try:
        # Nothing in the copy names the folder it was generated in.
        generated_in = str(workshop.cache).encode()
        for path in copy.rglob("*"):
            if path.is_file():
                assert generated_in not in path.read_bytes(), path
        with read_only(room, required=False) as how:
            before = _snapshot(copy)
            data = get_tutorial_data("demo", cache_dir=room)
            assert data.demo.directory == copy
            assert os.environ["CRDS_PATH"] == str((copy / "crds_offline").resolve())
            work = data.work_dir
            assert not work.is_relative_to(copy)
            if how != "none":  # a read-only cache: the outputs go to the user's cache
                assert (
                    work
                    == big_tmp
                    / "student_cache"
                    / "wfss_helpers"
                    / "notebook_outputs"
                    / "demo"
                )

            config = trace.load_grism_config(
                data.wfss_cal
            )  # R_PHOTOM -> the copy's sensitivity
            assert np.nanmax(config.SENS["+1"](np.linspace(3.2, 3.9, 8))) > 0
            for cal in (data.wfss_cal, data.direct_cal):
                with datamodels.open(cal) as model:
                    files = wcs_reference_files(model)
                found = [
                    Path(files[key])
                    for key in ("distortion", "specwcs")
                    if key in files
                ]
                assert len(found) == (2 if cal == data.wfss_cal else 1)
                assert all(
                    path.parent == copy / "reference_files" and path.is_file()
                    for path in found
                )
            # The steps run with the read-only offline CRDS cache (as notebook 2 does).
            calibrate_imaging(
                data.direct_rate,
                data.reference_files["imaging"],
                output=work / "direct_cal.fits",
                overwrite=True,
            ).close()
            assert load_demo_dataset(room, verify=True).directory == copy
            after = _snapshot(copy)
        assert (
            after == before
        )  # the loader, CRDS set-up and steps wrote nothing in the copy
    finally:
        os.rename(away, workshop.directory)


def test_reference_files_found_beside_the_data(workshop, monkeypatch, tmp_path):
    from wfss_helpers.geometry import reference_files
    from wfss_helpers.geometry.reference_files import local_reference_file

    monkeypatch.setattr(reference_files, "_REFERENCE_FOLDERS", [])  # no dataset loaded yet
    monkeypatch.setenv("CRDS_PATH", str(tmp_path))  # not the demo's CRDS cache
    name = next(workshop.directory.joinpath("reference_files").iterdir()).name
    expected = workshop.directory / "reference_files" / name
    assert local_reference_file(f"crds://{name}") is None
    assert (
        local_reference_file(f"crds://{name}", also_in=[workshop.directory]) == expected
    )
    monkeypatch.setenv(
        "CRDS_PATH", str(workshop.directory / "crds_offline")
    )  # offline: beside it
    assert local_reference_file(f"crds://{name}") == expected
    monkeypatch.setenv("CRDS_PATH", str(tmp_path))
    load_demo_dataset(workshop.cache)  # a loaded dataset registers its folder
    assert local_reference_file(f"crds://{name}") == expected


# 5. A full disk -----------------------------------------------------------------------


def test_full_disk_fails_clearly_and_leaves_nothing(big_tmp, monkeypatch):
    small = big_tmp / "small_disk"
    small.mkdir()
    mounted = (
        os.geteuid() == 0
        and shutil.which("mount")
        and _mount("-t", "tmpfs", "-o", "size=50m", "tmpfs", small)
    )
    if not mounted:
        # Last resort, where no small filesystem can be mounted: a pretended full disk.
        monkeypatch.setattr(
            ds.shutil,
            "disk_usage",
            lambda path: shutil._ntuple_diskusage(50e6, 50e6, 0),
        )
    cache = small / "cache"
    crds_before = os.environ.get("CRDS_PATH")
    try:
        with pytest.raises(NotEnoughSpaceError, match="Not enough free space") as info:
            load_demo_dataset(cache)
        message = str(info.value)
        assert (
            str(cache) in message
            and "needs 1.5 GB free" in message
            and info.value.errno == 28
        )
        assert [p.name for p in cache.iterdir()] == [
            f".{ds.dataset_directory_name()}.lock"
        ]
        if not mounted:
            pytest.skip(
                "a real full disk needs a tmpfs mount (the free-space check was tested)"
            )
        # Enough space by the check, but the disk fills up during the build.
        monkeypatch.setattr(ds, "REQUIRED_FREE_BYTES", 10_000_000)
        with pytest.raises(
            NotEnoughSpaceError, match="filled up while generating"
        ) as info:
            load_demo_dataset(cache)
        assert str(cache) in str(info.value) and "partial files were removed" in str(
            info.value
        )
        assert [p.name for p in cache.iterdir()] == [
            f".{ds.dataset_directory_name()}.lock"
        ]
        assert shutil.disk_usage(small).used < 1_000_000
        assert (
            os.environ.get("CRDS_PATH") == crds_before
        )  # not left in the removed folder
    finally:
        if mounted:
            _umount(small)


# 6. A relative cache variable ---------------------------------------------------------


def test_relative_cache_variable_is_fixed_when_first_read(tmp_path, monkeypatch):
    first, other = tmp_path / "first", tmp_path / "other"
    first.mkdir()
    other.mkdir()
    monkeypatch.chdir(first)
    monkeypatch.setenv(CACHE_VARIABLE, "relative_cache")
    path = default_cache_dir()
    assert path == first / "relative_cache"
    assert os.environ[CACHE_VARIABLE] == str(path)  # children (kernels) inherit it
    monkeypatch.chdir(other)  # a notebook that changes directory
    assert default_cache_dir() == path
    assert notebook_output_dir("demo") == path / "notebook_outputs" / "demo"
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "from wfss_helpers.demo.dataset import default_cache_dir as d; print(d())",
        ],
        cwd=other,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdout.strip() == str(path), child.stderr
    monkeypatch.setenv(OUTPUT_DIR_VARIABLE, "my_outputs")
    assert notebook_output_dir("demo") == other / "my_outputs"
    monkeypatch.chdir(first)
    assert notebook_output_dir("real") == other / "my_outputs"
