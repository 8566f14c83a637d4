"""Benchmark: time and peak memory of ``extract_field`` for both grisms, and how often
it opens the exposure; optionally against an earlier commit, side by side.

Run::

    python benchmarks/extract_field_cost.py                   # this checkout
    python benchmarks/extract_field_cost.py --baseline 623d87b  # and that commit

Each measurement runs in a fresh process (so peak memory is that of the workflow alone):
the demo field of notebook 6 is modelled as the notebook does
(``detect_direct_sources``, ``model_field``, the dispersed sky, two
``refine_field_model``), then ``extract_field`` runs on both grisms, box and optimal
(best of 3 wall-clock times). Printed per run:

* seconds of ``extract_field`` for GRISMR + GRISMC (best of 3 each, summed);
* the peak resident size (VmHWM) of the whole process, and the growth of the peak
  during the ``extract_field`` calls alone (VmHWM is reset first through
  ``/proc/self/clear_refs``; Linux; it varies from run to run with what the allocator
  kept), and tracemalloc's peak of one call per grism (deterministic);
* how many times one ``extract_field`` call given the exposure *as a path* (the route
  a user who copies one cell takes) opened that file with ``astropy.io.fits.open``
  (``datamodels.open`` uses it too) and with ``stdatamodels``' ``datamodels.open``;
* in the folder layout, ``extract_field`` given a ``WFSSExposure`` (opened once, its
  sky-subtracted arrays attached with ``with_data``).

``--baseline REF`` checks REF out into a temporary ``git worktree`` and runs the same
measurement on it with the same interpreter, so both columns come from one run on one
machine. The code below uses only calls that both layouts accept; the import paths are
tried in the new layout first, then in the flat one of commit 623d87b and before.
The demo data only. Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent(
    r"""
    import json, sys, time, warnings
    from pathlib import Path
    import numpy as np

    def vm(name):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return float(line.split()[1]) / 1024.0
        return float("nan")

    try:  # the layout of this project after issue 18
        from wfss_helpers.extraction import dispersed_sky_profile, subtract_background
        from wfss_helpers.field import (detect_direct_sources, extract_field,
                                        model_field, refine_field_model)
        from wfss_helpers.geometry import load_grism_config
        from wfss_helpers.tutorial_data import get_tutorial_data
        layout = "folders"
    except ImportError:  # the flat layout before it
        from wfss_helpers.background import dispersed_sky_profile, subtract_background
        from wfss_helpers.field_extraction import extract_field
        from wfss_helpers.forward_model import (detect_direct_sources, model_field,
                                                refine_field_model)
        from wfss_helpers.trace import load_grism_config
        from wfss_helpers.tutorial_data import get_tutorial_data
        layout = "flat"
    from stdatamodels.jwst import datamodels

    warnings.simplefilter("ignore")
    data = get_tutorial_data(mode="demo")
    direct = datamodels.open(data.direct_cal)
    sources = detect_direct_sources(direct)
    prepared = {}
    for grism, path, axis in (("GRISMR", data.wfss_cal, "x"),
                              ("GRISMC", data.grismc_cal, "y")):
        exposure = datamodels.open(path)
        model = model_field(sources, exposure, load_grism_config(path))
        sky = dispersed_sky_profile(exposure.data, dispersion_axis=axis,
                                    dq=exposure.dq, mask=model.image() > 0.01)
        clean = subtract_background(exposure.data, sky, err=exposure.err,
                                    dq=exposure.dq)
        for _ in range(2):
            model = refine_field_model(model, clean)
        prepared[grism] = (model, clean, path)
        exposure.close()
    before = vm("VmHWM")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    base = vm("VmRSS")
    seconds, spectra = {}, {}
    for grism, (model, clean, path) in prepared.items():
        best = np.inf
        for _ in range(3):
            start = time.perf_counter()
            result = extract_field(model, clean, grism=grism)
            best = min(best, time.perf_counter() - start)
        seconds[grism], spectra[grism] = best, len(result.spectra)
    during = vm("VmHWM") - base
    # Python-level peak of one call per grism (tracemalloc: numpy's buffers included;
    # deterministic, unlike the resident size).
    import tracemalloc
    traced = {}
    for grism, (model, clean, path) in prepared.items():
        tracemalloc.start()
        extract_field(model, clean, grism=grism)
        traced[grism] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    # The same, given the exposure object (the folder layout only): opened once, its
    # sky-subtracted arrays attached with with_data().
    seconds_exposure = {}
    if layout == "folders":
        from wfss_helpers.exposure import WFSSExposure
        for grism, (model, clean, path) in prepared.items():
            exposure = WFSSExposure.open(path).with_data(clean)
            best = np.inf
            for _ in range(3):
                start = time.perf_counter()
                extract_field(model, exposure, grism=grism)
                best = min(best, time.perf_counter() - start)
            seconds_exposure[grism] = best
    # Opens of the exposure by one call given a path (its sky is not subtracted: the
    # call warns, which does not matter for counting).
    from astropy.io import fits
    real_open, real_fits = datamodels.open, fits.open
    calls, fits_calls = [], []
    def counting_open(*args, **kwargs):
        calls.append(args[0] if args else None)
        return real_open(*args, **kwargs)
    def counting_fits(*args, **kwargs):
        fits_calls.append(args[0] if args else None)
        return real_fits(*args, **kwargs)
    datamodels.open, fits.open = counting_open, counting_fits
    model, clean, path = prepared["GRISMR"]
    try:
        extract_field(model, path, grism="GRISMR")
    except Exception as error:  # noqa: BLE001 - reported, not hidden
        calls.append(f"raised {type(error).__name__}")
    finally:
        datamodels.open, fits.open = real_open, real_fits
    json.dump({"layout": layout, "seconds": seconds, "spectra": spectra,
               "seconds_exposure": seconds_exposure, "traced_mb": traced,
               "peak_mb": max(before, vm("VmHWM")), "extract_peak_growth_mb": during,
               "opens_with_path": len([c for c in calls
                                       if not str(c).startswith("raised")]),
               "fits_opens_with_path": sum(Path(str(path)).name in str(c)
                                           for c in fits_calls),
               "path_call": [str(c) for c in calls if str(c).startswith("raised")]},
              sys.stdout)
    """
)


def measure(source_root: Path) -> dict:
    """Run the measurement in a fresh process with ``source_root`` first on the path."""
    env = dict(os.environ, PYTHONPATH=str(source_root))
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, cwd=source_root,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"The measurement in {source_root} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def describe(name: str, result: dict) -> str:
    total = sum(result["seconds"].values())
    per = ", ".join(f"{g} {t:.3f} s ({result['spectra'][g]} spectra)"
                    for g, t in result["seconds"].items())
    return (f"{name} ({result['layout']} layout): extract_field {per}; both grisms "
            f"{total:.3f} s; process peak {result['peak_mb']:.0f} MB; peak growth "
            f"during extract_field {result['extract_peak_growth_mb']:.0f} MB (traced "
            "peak "
            f"of one call: "
            + ", ".join(f"{g} {m:.0f} MB" for g, m in result["traced_mb"].items())
            + "); "
            f"one call given a path opens it {result['fits_opens_with_path']}x with "
            f"fits.open, {result['opens_with_path']}x with datamodels.open"
            + (f"; given a WFSSExposure: both grisms "
               f"{sum(result['seconds_exposure'].values()):.3f} s"
               if result.get("seconds_exposure") else ""))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline",
                        help="a git commit to measure beside this checkout")
    args = parser.parse_args(argv)
    print(f"Python {sys.version.split()[0]}; {os.cpu_count()} cores; load average "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    results = {}
    if args.baseline:
        with tempfile.TemporaryDirectory() as tmp:
            tree = Path(tmp) / "baseline"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach",
                            str(tree), args.baseline], check=True, capture_output=True)
            try:
                results[f"baseline {args.baseline}"] = measure(tree)
            finally:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                                str(tree)], check=False, capture_output=True)
    results["this checkout"] = measure(ROOT)
    for name, result in results.items():
        print(describe(name, result), flush=True)
    if len(results) == 2:
        old, new = results.values()
        ratio = sum(old["seconds"].values()) / sum(new["seconds"].values())
        print(f"time ratio baseline / this checkout: {ratio:.2f}; peak "
              f"{old['peak_mb']:.0f} -> {new['peak_mb']:.0f} MB")


if __name__ == "__main__":
    main()
