"""The embedded demo dataset: find it in the cache, or have it generated, and read its truth.

:func:`load_demo_dataset` returns a :class:`DemoDataset` (the paths of a synthetic NIRCam
WFSS dataset and its ground truth), generating it on first use with
:func:`wfss_helpers.demo.build.build_demo_dataset`.

The cache
---------
The dataset lives in ``<cache>/nircam_wfss_demo_v<VERSION>_seed<SEED>/``, where
``<cache>`` is :func:`default_cache_dir` (``$WFSS_HELPERS_CACHE``, or the user cache
directory) unless a folder is given. It is made to be shared, copied and mounted
read-only (one copy prebuilt for a whole classroom):

* **one build at a time**: a process that has to generate the dataset takes a file
  lock (``<cache>/.nircam_wfss_demo_v<VERSION>_seed<SEED>.lock``); others wait for it
  and then use its result. The dataset is generated into a temporary sibling folder
  and renamed into place only when complete, so nobody ever sees, or deletes, a build
  in progress;
* **checked on every load**: ``manifest.json`` (written last) lists every file with its
  size and SHA-256. Sizes are checked on every load; checksums with ``verify=True``. A
  damaged, incomplete or outdated dataset is generated again if the cache is writable,
  and refused, naming the file, if it is not;
* **read-only and relocatable**: loading a complete dataset writes nothing, and nothing
  in it records where it was generated (the calibrated files name their reference
  files as ``crds://<file name>``, found in the dataset's ``reference_files/`` folder),
  so a copy anywhere, even on a read-only disk, works as it is;
* **nothing of yours inside**: the notebooks write their outputs outside the dataset
  (:attr:`wfss_helpers.tutorial_data.TutorialData.work_dir`), and a rebuild deletes only
  the files the generator made; anything else found in the old folder is moved into the
  new one.

Generating needs :data:`REQUIRED_FREE_BYTES` (1.5 GB) of free space in the cache (the
dataset itself is a few hundred MB; ``manifest.json`` has its exact size).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import shutil
import uuid
from pathlib import Path

import numpy as np

from ..checks.files import NotEnoughSpaceError, out_of_space
from .calibration_files import REFERENCE_FILE_NAMES
from .manifest import (
    DEMO_SEED,
    DEMO_VERSION,
    FILES,
    MANIFEST_NAME,
    DemoDataset,
    _file_sha256,
    dataset_from_directory,
)

__all__ = [
    "CACHE_VARIABLE",
    "REQUIRED_FREE_BYTES",
    "NotEnoughSpaceError",
    "check_demo_dataset",
    "dataset_directory_name",
    "default_cache_dir",
    "load_demo_dataset",
    "path_from_environment",
]

log = logging.getLogger(__name__)

#: Environment variable naming the cache folder.
CACHE_VARIABLE = "WFSS_HELPERS_CACHE"
#: Free space needed to generate the dataset (well under 1 GB of files), with margin.
REQUIRED_FREE_BYTES = 1_500_000_000
#: How long a process waits for another one generating the same dataset (seconds).
LOCK_TIMEOUT_SECONDS = 1800
#: Keys every manifest has, with their types.
_MANIFEST_KEYS = {
    "version": int,
    "seed": int,
    "label": str,
    "grismconf_file": str,
    "generation_seconds": (int, float),
    "total_bytes": int,
    "files": dict,
    "data_sha256": dict,
}


def path_from_environment(variable: str) -> Path | None:
    """The folder named by an environment variable, as an absolute path fixed once.

    A relative value is relative to the current directory *at the moment the variable is
    first read*. It is then replaced in the environment by the absolute path, so that
    later reads (after an ``os.chdir``, e.g. in a notebook) and the processes this one
    starts (e.g. notebook kernels) all use the same folder. ``~`` is expanded.

    Parameters
    ----------
    variable : str
        Name of the environment variable.

    Returns
    -------
    pathlib.Path or None
        None if the variable is unset or empty.
    """
    value = os.environ.get(variable)
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = Path(os.path.abspath(path))
        os.environ[variable] = str(path)
        log.info("$%s=%r is relative: using %s from now on", variable, value, path)
    return path


def default_cache_dir() -> Path:
    """Where the demo dataset lives: ``$WFSS_HELPERS_CACHE`` or the user cache folder.

    A relative ``$WFSS_HELPERS_CACHE`` is relative to the current directory when it is
    first read, and fixed then (see :func:`path_from_environment`).

    Returns
    -------
    pathlib.Path
        An absolute path.
    """
    path = path_from_environment(CACHE_VARIABLE)
    if path is not None:
        return path
    import pooch

    return Path(os.path.abspath(pooch.os_cache("wfss_helpers")))


def dataset_directory_name(seed: int = DEMO_SEED) -> str:
    """Name of the dataset's folder in the cache (generator version and seed)."""
    return f"nircam_wfss_demo_v{DEMO_VERSION}_seed{seed}"


def _loaded(directory: Path, manifest: dict) -> DemoDataset:
    """The dataset, its reference files made findable by name in this process."""
    from ..geometry.reference_files import register_reference_folder

    register_reference_folder(directory / "reference_files")
    return dataset_from_directory(directory, manifest)


def _read_manifest(directory: Path):
    """The manifest as a dict; None if missing, unreadable or not a JSON object."""
    try:
        manifest = json.loads((Path(directory) / MANIFEST_NAME).read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def _is_listed_name(name) -> bool:
    """A manifest entry: a relative POSIX path inside the dataset."""
    if not isinstance(name, str) or not name or "\\" in name:
        return False
    parts = name.split("/")
    return not name.startswith("/") and all(
        part not in ("", ".", "..") for part in parts
    )


def _manifest_problem(manifest, seed) -> str | None:
    """What makes a manifest unusable (missing key, wrong type, other version, seed)."""
    if manifest is None:
        return f"its {MANIFEST_NAME} is missing, unreadable or not valid JSON"
    for key, kind in _MANIFEST_KEYS.items():
        if key not in manifest:
            return f"its {MANIFEST_NAME} has no {key!r} entry"
        if isinstance(manifest[key], bool) or not isinstance(manifest[key], kind):
            return (
                f"its {MANIFEST_NAME} has a {type(manifest[key]).__name__} as {key!r}"
            )
    if manifest["version"] != DEMO_VERSION:
        version = manifest["version"]
        return f"it was made by generator version {version}, not {DEMO_VERSION}"
    if manifest["seed"] != seed:
        return f"it was made with seed {manifest['seed']}, not {seed}"
    for name, entry in manifest["files"].items():
        if not _is_listed_name(name) or name == MANIFEST_NAME:
            return f"its {MANIFEST_NAME} lists an invalid file name {name!r}"
        size = entry.get("bytes") if isinstance(entry, dict) else None
        checksum = entry.get("sha256") if isinstance(entry, dict) else None
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            return f"its {MANIFEST_NAME} has no valid size for {name}"
        if not isinstance(checksum, str) or len(checksum) != 64:
            return f"its {MANIFEST_NAME} has no valid SHA-256 for {name}"
    needed = [
        *FILES.values(),
        f"grismconf/{manifest['grismconf_file']}",
        *(f"reference_files/{name}" for name in REFERENCE_FILE_NAMES.values()),
    ]
    for name in needed:
        if name not in manifest["files"]:
            return f"its {MANIFEST_NAME} does not list {name}"
    return None


def _inspect(directory: Path, seed: int, verify: bool):
    """``(manifest, problem)``: problem is None for a complete, intact dataset."""
    if not directory.is_dir():
        return None, "it does not exist"
    manifest = _read_manifest(directory)
    problem = _manifest_problem(manifest, seed)
    if problem is not None:
        return manifest, problem
    for name, entry in manifest["files"].items():
        path = directory / name
        try:
            size = path.stat().st_size
        except OSError:
            return manifest, f"{name} is missing"
        if not path.is_file():
            return manifest, f"{name} is not a file"
        if size != entry["bytes"]:
            return manifest, (
                f"{name} has {size} bytes where its manifest says {entry['bytes']} "
                "(truncated or altered)"
            )
    if verify:
        for name, entry in manifest["files"].items():
            if _file_sha256(directory / name) != entry["sha256"]:
                return (
                    manifest,
                    f"{name} does not match its SHA-256 in the manifest (altered)",
                )
    return manifest, None


def check_demo_dataset(
    directory, *, seed: int = DEMO_SEED, verify: bool = False
) -> str | None:
    """What is wrong with a demo dataset folder, or None if it is complete and intact.

    Reads only: checks the manifest, and that every file it lists is there with its
    size and, with ``verify=True``, its SHA-256.

    Parameters
    ----------
    directory : str or pathlib.Path
        A dataset folder (``<cache>/nircam_wfss_demo_v<VERSION>_seed<SEED>``).
    seed : int, optional
        The seed it must have been made with.
    verify : bool, optional
        Also compare checksums (reads every file: about a second).

    Returns
    -------
    str or None
        The first problem found, naming the file, or None.
    """
    return _inspect(Path(directory), seed, verify)[1]


def _cache_directory(cache_dir) -> Path:
    if cache_dir is None:
        return default_cache_dir()
    if not isinstance(cache_dir, (str, os.PathLike)):
        raise TypeError(
            "The demo-data cache directory must be a path, got "
            f"{type(cache_dir).__name__} {cache_dir!r}."
        )
    path = Path(os.path.abspath(Path(cache_dir).expanduser()))
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(
            f"Cannot use {path} as the demo-data cache directory: it is a file. Choose "
            "another directory."
        )
    return path


def _space_help() -> str:
    return (
        f"Generating it needs {REQUIRED_FREE_BYTES / 1e9:.1f} GB free (the dataset, "
        "plus margin). Free some space there, or set "
        f"${CACHE_VARIABLE} (or cache_dir=) to a folder on a disk with more room."
    )


def _check_free_space(cache_dir: Path):
    free = shutil.disk_usage(cache_dir).free
    if free < REQUIRED_FREE_BYTES:
        raise NotEnoughSpaceError(
            errno.ENOSPC,
            f"Not enough free space to generate the demo dataset in {cache_dir}: "
            f"{free / 1e6:.0f} MB free. " + _space_help(),
        )


def _remove_tree(path: Path):
    """Delete a folder we made, also when its write permissions were taken away."""

    def make_writable_and_retry(function, name, _):
        try:
            os.chmod(os.path.dirname(name), 0o700)
            if os.path.isdir(name) and not os.path.islink(name):
                os.chmod(name, 0o700)
            function(name)
        except OSError as err:
            log.warning("Could not delete %s (%s)", name, err.strerror)

    shutil.rmtree(path, onerror=make_writable_and_retry)


#: The environment variables that configure CRDS.
_CRDS_VARIABLES = (
    "CRDS_PATH",
    "CRDS_SERVER_URL",
    "CRDS_OBSERVATORY",
    "STPIPE_DISABLE_CRDS_STEPPARS",
)


def _restore_crds(settings: dict):
    from ..data_sources.crds import _apply_to_loaded_crds

    for name, value in settings.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    _apply_to_loaded_crds(settings.get("CRDS_SERVER_URL"))


def _build_beside(directory: Path, seed: int) -> Path:
    """Generate the dataset into a new hidden sibling of ``directory``; return that."""
    from .build import build_demo_dataset

    building = directory.with_name(
        f".{directory.name}.building-{uuid.uuid4().hex[:12]}"
    )
    crds_settings = {name: os.environ.get(name) for name in _CRDS_VARIABLES}
    try:
        build_demo_dataset(building, seed=seed)
    except BaseException as err:
        full = (
            out_of_space(err) or shutil.disk_usage(directory.parent).free < 16_000_000
        )
        _remove_tree(building)
        _restore_crds(
            crds_settings
        )  # the generator pointed CRDS into the removed folder
        if full and isinstance(err, Exception):
            raise NotEnoughSpaceError(
                errno.ENOSPC,
                f"The disk holding {directory.parent} filled up while generating the "
                f"demo dataset ({type(err).__name__}: {err}); the partial files were "
                "removed. " + _space_help(),
            ) from err
        raise
    problem = _inspect(building, seed, False)[1]
    if problem is not None:  # never expected: a generator and loader out of step
        _remove_tree(building)
        raise RuntimeError(
            f"The demo generator made an incomplete dataset ({problem}): "
            "wfss_helpers.demo.build and wfss_helpers.demo.dataset disagree. Please "
            "report this; reinstalling wfss_helpers may help."
        )
    return building


def _generated_names(manifest) -> set:
    """Files a manifest says the generator made (an empty set for a broken manifest)."""
    files = manifest.get("files") if isinstance(manifest, dict) else None
    names = (
        {name for name in files if isinstance(name, str)}
        if isinstance(files, dict)
        else set()
    )
    return names | set(FILES.values()) | {MANIFEST_NAME, f".{MANIFEST_NAME}.partial"}


def _retire(old: Path, directory: Path, manifest: dict):
    """Delete an old dataset moved aside, moving what the generator did not make into
    ``directory`` (the new dataset) at the same place."""
    generated = _generated_names(manifest) | _generated_names(_read_manifest(old))
    kept = []
    for root, _, names in os.walk(old):
        for name in names:
            path = Path(root) / name
            relative = path.relative_to(old).as_posix()
            if relative in generated or relative.startswith(".relocating-"):
                continue
            target = directory / relative
            while target.exists() or target.is_symlink():
                target = target.with_name(f"kept-{uuid.uuid4().hex[:6]}-{name}")
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(path, target)
            kept.append(target.relative_to(directory).as_posix())
    if kept:
        log.warning(
            "Kept %d file(s) not made by the generator, found in the old demo "
            "dataset: now in %s: %s",
            len(kept),
            directory,
            ", ".join(kept[:10]),
        )
    _remove_tree(old)


def _put_in_place(built: Path, directory: Path) -> dict:
    """Rename a complete build to ``directory``.

    An old dataset there is moved aside first, then deleted (all but the files the
    generator did not make, which are moved into the new one).
    """
    manifest = _read_manifest(built)
    if directory.exists() or directory.is_symlink():
        aside = directory.with_name(f".{directory.name}.old-{uuid.uuid4().hex[:12]}")
        try:
            os.rename(directory, aside)
        except OSError as err:
            _remove_tree(built)
            raise PermissionError(
                f"Cannot replace the demo dataset at {directory} ({err.strerror}): is "
                "it a read-only copy, or mounted? Set $WFSS_HELPERS_CACHE (or "
                "cache_dir=) to a folder you can write to."
            ) from err
    os.rename(built, directory)
    # The generator pointed CRDS at its (temporary) folder: point it at the final one.
    crds_path = os.environ.get("CRDS_PATH", "")
    if crds_path.startswith(str(built.resolve())) or crds_path.startswith(str(built)):
        from ..data_sources.crds import configure_offline_crds

        configure_offline_crds(directory / "crds_offline")
    for old in sorted(directory.parent.glob(f".{directory.name}.old-*")):
        _retire(old, directory, manifest)
    return manifest


def _remove_old_leftovers(cache_dir: Path, directory: Path, manifest: dict):
    """Delete old datasets that an interrupted rebuild left beside ``directory``.

    A rebuild moves the old dataset aside (``.<name>.old-<12 hex digits>``), renames
    the new one into place and then deletes the old one; a process killed in between
    leaves it (some 600 MB) behind. Only folders named exactly so are touched, and only
    when no build holds the lock (a running build retires them itself); files in them
    that the generator did not make are moved into ``directory``, as a rebuild does.
    """
    pattern = re.compile(re.escape(f".{directory.name}.old-") + "[0-9a-f]{12}")
    leftovers = [
        path
        for path in directory.parent.glob(f".{directory.name}.old-*")
        if pattern.fullmatch(path.name) and path.is_dir() and not path.is_symlink()
    ]
    if not leftovers:
        return
    from filelock import FileLock, Timeout

    lock = FileLock(cache_dir / f".{directory.name}.lock")
    try:
        lock.acquire(timeout=0)
    except (Timeout, OSError):
        return  # a build is running, or the cache is read-only: leave them
    try:
        for old in leftovers:
            log.info("Removing %s, left by an interrupted rebuild", old)
            try:
                _retire(old, directory, manifest)
            except OSError as err:
                log.warning(
                    "Could not remove %s (%s): delete it by hand to free the space.",
                    old,
                    err.strerror,
                )
    finally:
        lock.release()


class _BuildLock:
    """The cache's file lock for one dataset, telling the user when it has to wait."""

    def __init__(self, cache_dir: Path, name: str):
        from filelock import FileLock

        self.path = cache_dir / f".{name}.lock"
        self.lock = FileLock(self.path)

    def __enter__(self):
        from filelock import Timeout

        try:
            self.lock.acquire(timeout=0)
        except Timeout:
            log.warning(
                "Another process is generating the demo dataset in %s; waiting for it.",
                self.path.parent,
            )
            try:
                self.lock.acquire(timeout=LOCK_TIMEOUT_SECONDS)
            except Timeout:
                raise TimeoutError(
                    f"Waited {LOCK_TIMEOUT_SECONDS} s for another process generating "
                    f"the demo dataset in {self.path.parent}. If no such process is "
                    f"running any more, delete {self.path} and try again."
                ) from None
        return self

    def __exit__(self, *exc):
        self.lock.release()
        return False


def _require_writable(cache_dir: Path, directory: Path, problem: str | None):
    """Raise a clear error if the dataset must be (re)generated but cannot be.

    ``problem`` is what is wrong with the dataset, None for a rebuild asked for.
    """
    from ..checks.files import InvalidInputFileError, writable_directory

    try:
        writable_directory(cache_dir, "demo-data cache")
    except PermissionError:
        how = (
            f"Set ${CACHE_VARIABLE} (or cache_dir=) to a folder you can write to: the "
            "dataset is generated there in about 20 s."
        )
        if problem is None:
            raise PermissionError(
                f"Cannot regenerate the demo dataset in {cache_dir}: that folder is "
                "not writable. " + how
            ) from None
        if directory.exists():
            raise InvalidInputFileError(
                f"The demo dataset at {directory} cannot be used: {problem}. Its "
                "folder is not writable, so it cannot be generated again here: ask for "
                "a fresh copy. " + how
            ) from None
        raise PermissionError(
            f"There is no demo dataset in {cache_dir}, and that folder is not "
            "writable. " + how
        ) from None


def load_demo_dataset(
    cache_dir=None,
    *,
    seed: int = DEMO_SEED,
    rebuild: bool = False,
    verify: bool = False,
) -> DemoDataset:
    """Return the demo dataset, generating it first if it is not in the cache.

    A complete dataset is only read, never written, so it can be shared read-only. One
    that is missing, incomplete, damaged (a file of the wrong size, or with
    ``verify=True`` the wrong checksum), outdated or with a malformed manifest is
    generated again, if the cache is writable, by one process at a time (others wait for
    it), in a temporary folder renamed into place when complete.

    Parameters
    ----------
    cache_dir : str or pathlib.Path, optional
        Parent directory of the dataset; default :func:`default_cache_dir`. The dataset
        itself goes into a sub-directory named after the generator version and seed. A
        relative path is relative to the current directory.
    seed : int, optional
        Seed of the scene and noise. The same seed gives identical files.
    rebuild : bool, optional
        Regenerate even if a complete dataset exists. Only the generator's files are
        deleted; anything else in the old folder is moved into the new one.
    verify : bool, optional
        Also check every file's SHA-256 against the manifest (about a second).

    Returns
    -------
    DemoDataset

    Raises
    ------
    wfss_helpers.checks.files.InvalidInputFileError
        If the dataset is damaged and the cache is not writable (the message names the
        file).
    PermissionError
        If there is no dataset and the cache is not writable.
    NotEnoughSpaceError
        If the cache's disk lacks :data:`REQUIRED_FREE_BYTES` of free space, or fills
        up while generating (the partial files are removed).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(
            f"The demo seed must be an integer, got {type(seed).__name__} {seed!r}."
        )
    seed = int(seed)
    cache_dir = _cache_directory(cache_dir)
    directory = cache_dir / dataset_directory_name(seed)
    if rebuild:
        problem = None
    else:
        manifest, problem = _inspect(directory, seed, verify)
        if problem is None:
            _remove_old_leftovers(cache_dir, directory, manifest)
            return _loaded(directory, manifest)
    _require_writable(cache_dir, directory, problem)
    with _BuildLock(cache_dir, directory.name):
        if not rebuild:
            # Another process may have generated it while we waited for the lock.
            manifest, problem = _inspect(directory, seed, verify)
            if problem is None:
                return _loaded(directory, manifest)
        if directory.exists() and problem is not None:
            log.warning(
                "Generating the demo dataset again at %s: %s.", directory, problem
            )
        else:
            log.info("Generating the demo dataset at %s", directory)
        for stale in directory.parent.glob(f".{directory.name}.building-*"):
            _remove_tree(stale)  # left by an interrupted process: we hold the lock
        _check_free_space(cache_dir)
        manifest = _put_in_place(_build_beside(directory, seed), directory)
    return _loaded(directory, manifest)


def main(argv=None):
    """Command line: generate (or find, or check) the demo dataset; print its files."""
    import argparse

    parser = argparse.ArgumentParser(
        description="Generate the embedded NIRCam WFSS demo dataset."
    )
    parser.add_argument(
        "--cache-dir",
        default=None,
        help=f"parent directory (default: ${CACHE_VARIABLE} or the user cache)",
    )
    parser.add_argument("--seed", type=int, default=DEMO_SEED)
    parser.add_argument(
        "--rebuild", action="store_true", help="regenerate even if cached"
    )
    parser.add_argument(
        "--verify", action="store_true", help="also check every file's SHA-256"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    dataset = load_demo_dataset(
        args.cache_dir, seed=args.seed, rebuild=args.rebuild, verify=args.verify
    )
    print(f"Demo dataset: {dataset.directory}")
    print(
        f"  generated in {dataset.manifest['generation_seconds']} s, "
        f"{dataset.manifest['total_bytes'] / 1e6:.0f} MB"
    )
    for key in FILES:
        print(f"  {key:12s} {getattr(dataset, key).name}")
    print(f"  grismconf    {dataset.grismconf_file.relative_to(dataset.directory)}")


if __name__ == "__main__":
    main()
