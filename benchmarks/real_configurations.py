"""Benchmark: the helpers on the 16 real NIRCam grism configurations, as a user would.

Run:  python benchmarks/real_configurations.py

For every configuration file in ``../shared/data/nircam_grismconf`` (beside the
repository) and orders +1 and +2, prints one row of numbers:

* ``axis``: the dispersion axis and direction the helpers use (``x+``, ``x-``, ``y+``;
  versions without :class:`~wfss_helpers.geometry.trace.GrismTrace` assume ``x``);
* ``round trip``: the largest |wavelength -> pixel -> wavelength| error in micron over
  6 x 6 source positions across the detector and 41 wavelengths each (with GrismTrace:
  pixel along the dispersion; without: ``wavelength_to_pixel`` then
  ``column_to_wavelength``, the only route the old helpers had);
* ``entries`` and ``Å/px``: length of the box-extracted spectrum of a source at the
  detector centre and its median dispersion (one entry per column for GRISMR, per row
  for GRISMC; ~10 Å/px for order +1);
* ``ratio(c)``: median recovered/true F_lambda at the centre, wherever the sensitivity
  is above 20% of its peak;
* ``worst``: largest |recovered/true - 1| over the band interior, for a source at the
  centre and near each of the four edges (``n/a``: no interior on the detector), and
  how many of the five extractions raised an error;
* ``boxes``: bounding boxes near the edges (and centre) that match an independent
  sampling of the trace, out of 5.

The spectra are painted by ``paint_spectrum`` of ``tests/test_real_configurations.py``,
which uses ``grismconf.Config`` alone, and extracted with the old call signatures
(``box_extract(data, config, order, x0, y0)``, ``flux_calibrate(extraction, config)``),
so the script runs against older versions of the helpers too::

    git worktree add /tmp/before <commit>
    PYTHONPATH=/tmp/before python benchmarks/real_configurations.py

Errors are printed as their type and the start of their message: a row of errors is the
measurement. Figures, not pass/fail; ``tests/test_real_configurations.py`` asserts.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))

import test_real_configurations as real  # noqa: E402  (after the path is set)

import wfss_helpers  # noqa: E402
from wfss_helpers import geometry as trace

HAS_TRACE = hasattr(trace, "GrismTrace")
POSITIONS = np.linspace(0.0, 2047.0, 6)


def _error(err):
    text = str(err).split(":")[0].split(";")[0]
    return f"{type(err).__name__}: {text[:38]}"


def round_trip(config, order):
    """Largest |lambda -> pixel -> lambda| (micron) across the detector, or an error."""
    worst = 0.0
    errors = set()
    for x0 in POSITIONS:
        for y0 in POSITIONS:
            lo, hi = sorted(config.DISPL(order, x0, y0, np.array([0.0, 1.0])))
            lam = np.linspace(lo, hi, 41)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    if HAS_TRACE:
                        tr = trace.GrismTrace(config, order, x0, y0)
                        back = tr.wavelength_at_pixel(tr.pixel_at_wavelength(lam))
                    else:
                        x, _ = trace.wavelength_to_pixel(config, order, x0, y0, lam)
                        back = trace.column_to_wavelength(config, order, x0, y0, x)
                worst = max(worst, float(np.max(np.abs(back.to_value("micron") - lam))))
            except Exception as err:  # noqa: BLE001 - the error is the measurement
                errors.add(_error(err))
    if errors:
        return f"{len(errors)} kind(s) of error, e.g. {sorted(errors)[0]}"
    return f"{worst:.1e}"


def axis_label(config, order):
    if not HAS_TRACE:
        return "x (assumed)"
    tr = trace.GrismTrace(config, order, 1023.5, 1023.5)
    return f"{tr.dispersion_axis}{'+' if tr.direction > 0 else '-'}"


def extraction_checks(config, order):
    """Entries, Å/px, median ratio at the centre; worst interior ratio; boxes."""
    positions = real.edge_positions(config, order)
    row = {"entries": "-", "A/px": "-", "ratio(c)": "-", "worst": "n/a"}
    worst = []
    errors = []
    boxes = 0
    for name, (x0, y0) in positions.items():
        expected = real.expected_box(config, order, x0, y0, real.BOX_HALF_HEIGHT)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                box = trace.trace_bounding_box(
                    config, order, x0, y0, real.BOX_HALF_HEIGHT
                )
            got = ((box.x_min, box.x_max, box.y_min, box.y_max), box.clipped)
        except ValueError as err:
            got = None if "falls entirely off" in str(err) else "error"
        boxes += got == expected
        if expected is None:
            if name == "centre":
                row.update({"entries": "off detector", "worst": "off detector"})
            continue
        try:
            result = real.recovered_ratio(config, order, x0, y0, use_trace=False)
        except Exception as err:  # noqa: BLE001 - the error is the measurement
            if name == "centre":
                row["entries"] = _error(err)
            errors.append(_error(err))
            continue
        if name == "centre":
            band = result["ratio_in_band"]
            row["entries"] = str(result["entries"])
            row["A/px"] = f"{result['angstrom_per_pixel']:.1f}"
            row["ratio(c)"] = f"{np.median(band):.4f}" if band.size else "none in band"
        if result["ratio"].size:
            worst.append(float(np.max(np.abs(result["ratio"] - 1.0))))
    parts = [f"{max(worst):.4f}"] if worst else []
    if errors:
        parts.append(f"{len(errors)}/{len(positions)} raised {errors[0]}")
    if parts:
        row["worst"] = "; ".join(parts)
    row["boxes"] = f"{boxes}/{len(positions)}"
    return row


def main():
    if not real.CONFIG_FILES:
        print(f"No configurations: {real.CONFIG_DIR} is absent.")
        return 1
    print(f"wfss_helpers from {Path(wfss_helpers.__file__).parent}")
    print(f"GrismTrace available: {HAS_TRACE}\n")
    columns = ("configuration", "order", "axis", "round trip (um)", "entries", "A/px",
               "ratio(c)", "worst", "boxes")
    rows = []
    start = time.perf_counter()
    for path in real.CONFIG_FILES:
        config = real.read_config(path)
        for order in real.ORDERS:
            checks = extraction_checks(config, order)
            rows.append((
                real.config_label(path), order, axis_label(config, order),
                round_trip(config, order), checks["entries"], checks["A/px"],
                checks["ratio(c)"], checks["worst"], checks.get("boxes", "-"),
            ))
    table = rows + [columns]
    widths = [max(len(str(r[i])) for r in table) for i in range(len(columns))]
    line = " | ".join(f"{c:<{w}}" for c, w in zip(columns, widths))
    print(f"| {line} |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(f"{str(c):<{w}}" for c, w in zip(r, widths)) + " |")
    print(f"\n{len(rows)} rows in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
