"""The helpers on the real NIRCam grism configurations (V4 and V9; F356W and F444W;
modules A and B; GRISMR and GRISMC; orders +1 and +2), which nobody on this team wrote.

Three checks per configuration and order:

* **round trips** wavelength -> pixel along the dispersion -> wavelength, for sources
  all over the detector, to 1e-9 micron;
* **painted spectra**: an independent forward model (:func:`paint_spectrum`, built on
  ``grismconf.Config`` alone: ``DISPX``/``DISPY``/``DISPL`` and ``SENS``, none of the
  helpers) paints a known F_lambda; box extraction + flux calibration must give it back
  to 1% in the band interior, for a source at the centre and near each detector edge;
* **bounding boxes** near every edge, clipped as an independent sampling of the trace
  says.

The configurations live outside the repository, in ``../shared/data/nircam_grismconf``
(beside the repository's folder); the tests are skipped where that folder is absent.
``benchmarks/real_configurations.py`` prints the same checks as a table.

Only modules that existed before the GrismTrace refactoring are imported at module
level, so that the benchmark can use :func:`paint_spectrum` against older versions of
the helpers too.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from wfss_helpers import extraction
from wfss_helpers.extraction import flux_calibration
from wfss_helpers import geometry as trace

#: The folder shared beside the repository, and the configurations in it.
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CONFIG_DIR = SHARED / "data" / "nircam_grismconf"
CONFIG_FILES = sorted(CONFIG_DIR.glob("V*/*.conf")) if CONFIG_DIR.is_dir() else []
ORDERS = ("+1", "+2")
DETECTOR_SHAPE = (2048, 2048)

pytestmark = pytest.mark.skipif(
    not CONFIG_FILES,
    reason=(
        "The real NIRCam grism configurations are not on this machine: "
        f"{CONFIG_DIR} is absent (they live in the shared folder beside the "
        "repository)."
    ),
)

#: Aperture and box used for the painted spectra (pixels across the dispersion).
HALF_HEIGHT = 5.0
BOX_HALF_HEIGHT = 15.0
#: Gaussian blur of the painted trace (pixels) and its flat background (DN/s/pixel).
BLUR_SIGMA = 1.0
BACKGROUND = 0.25
#: Band interior: sensitivity above this fraction of its peak, away from the ends.
INTERIOR_SENSITIVITY = 0.2
INTERIOR_T = (0.02, 0.98)
EDGE_GAP = 10  # entries kept away from the ends of the band and of what was extracted


def config_label(path: Path) -> str:
    """``"V9/NIRCAM_F356W_modA_R"`` for a configuration file."""
    return f"{path.parent.name}/{path.stem}"


def read_config(path):
    """``grismconf.Config`` of a ``.conf`` file, quietly (grismconf prints, warns)."""
    import contextlib
    import io

    import grismconf

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        return grismconf.Config(str(path))


def true_flambda(wavelength_um):
    """The painted spectrum, erg/s/cm²/Å: a power law with a gentle ripple.

    The ripple (period 0.3 micron, ~30 pixels) makes a wrong wavelength scale visible.
    """
    w = np.asarray(wavelength_um, dtype=float)
    return 2e-18 * (w / 4.0) ** -2 * (1.0 + 0.05 * np.sin(2 * np.pi * w / 0.3))


def _polynomial(config, name, order, x0, y0, t):
    t = np.asarray(t, dtype=float)
    values = np.asarray(getattr(config, name)(order, x0, y0, t), dtype=float)
    return values * np.ones_like(t)


def paint_spectrum(
    config,
    order,
    x0,
    y0,
    flambda=true_flambda,
    *,
    image=None,
    shape=DETECTOR_SHAPE,
    samples_per_pixel=20,
    blur_sigma=BLUR_SIGMA,
):
    """Paint one source's order onto an image, from grismconf alone (not the helpers).

    ``t`` is cut into bins ~1/``samples_per_pixel`` pixel long along the trace; each
    bin deposits ``F_lambda * S * dlambda`` (DN/s; ``dlambda`` the span of ``DISPL``
    over the bin, in Å) at ``(x0 + DISPX, y0 + DISPY)`` of its centre, shared
    bilinearly among the four nearest pixels; the painted trace is then blurred with a
    Gaussian of ``blur_sigma`` pixels (in a padded canvas, so nothing folds back at the
    detector edges). What falls off the detector is lost, as on the sky.

    Parameters
    ----------
    config : grismconf.Config
    order : str
        grismconf's name of the order (``"+1"``).
    x0, y0 : float
        Undispersed source position (0-based pixels).
    flambda : callable, optional
        F_lambda (erg/s/cm²/Å) of a wavelength in micron.
    image : numpy.ndarray, optional
        Image to add to (default a new one of ``shape``, zero).
    shape : tuple of int, optional
    samples_per_pixel : float, optional
    blur_sigma : float, optional

    Returns
    -------
    numpy.ndarray
        The image, DN/s.
    """
    from scipy.ndimage import gaussian_filter

    image = np.zeros(shape) if image is None else image
    coarse = np.linspace(0.0, 1.0, 1001)
    dx = _polynomial(config, "DISPX", order, x0, y0, coarse)
    dy = _polynomial(config, "DISPY", order, x0, y0, coarse)
    length = float(np.sum(np.hypot(np.diff(dx), np.diff(dy))))
    n_bins = max(int(np.ceil(length * samples_per_pixel)), 10)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    t = 0.5 * (edges[:-1] + edges[1:])
    wavelength = _polynomial(config, "DISPL", order, x0, y0, t)
    dlambda = np.abs(np.diff(_polynomial(config, "DISPL", order, x0, y0, edges))) * 1e4
    rate = flambda(wavelength) * config.SENS[order](wavelength) * dlambda
    x = x0 + _polynomial(config, "DISPX", order, x0, y0, t)
    y = y0 + _polynomial(config, "DISPY", order, x0, y0, t)
    pad = int(np.ceil(6 * blur_sigma)) + 2
    x_lo, y_lo = int(np.floor(x.min())) - pad, int(np.floor(y.min())) - pad
    x_hi, y_hi = int(np.floor(x.max())) + pad + 1, int(np.floor(y.max())) + pad + 1
    if x_hi < 0 or y_hi < 0 or x_lo >= shape[1] or y_lo >= shape[0]:
        return image  # entirely off the detector
    canvas = np.zeros((y_hi - y_lo + 1, x_hi - x_lo + 1))
    i, j = np.floor(x - x_lo).astype(int), np.floor(y - y_lo).astype(int)
    wx, wy = x - x_lo - i, y - y_lo - j
    for dj, weight_y in ((0, 1.0 - wy), (1, wy)):
        for di, weight_x in ((0, 1.0 - wx), (1, wx)):
            np.add.at(canvas, (j + dj, i + di), rate * weight_x * weight_y)
    if blur_sigma:
        canvas = gaussian_filter(canvas, blur_sigma, mode="constant")
    ys = slice(max(y_lo, 0), min(y_hi, shape[0] - 1) + 1)
    xs = slice(max(x_lo, 0), min(x_hi, shape[1] - 1) + 1)
    rows = slice(ys.start - y_lo, ys.stop - y_lo)
    columns = slice(xs.start - x_lo, xs.stop - x_lo)
    image[ys, xs] += canvas[rows, columns]
    return image


def dispersion_axis(config, order, x0, y0):
    """Independent of the helpers: the axis along which the trace moves most."""
    t = np.linspace(0.0, 1.0, 65)
    span_x = np.ptp(_polynomial(config, "DISPX", order, x0, y0, t))
    span_y = np.ptp(_polynomial(config, "DISPY", order, x0, y0, t))
    return "x" if span_x >= span_y else "y"


def edge_positions(config, order, *, distance=30.0, inside=12.0):
    """A source at the centre and one near each detector edge.

    Each edge source sits ``distance`` pixels from its edge; if its trace centre would
    then run closer than ``inside`` pixels to an edge across the dispersion (the
    aperture would leave the detector), the source moves across the dispersion until it
    does not.
    """
    ny, nx = DETECTOR_SHAPE
    centre = ((nx - 1) / 2, (ny - 1) / 2)
    wanted = {
        "centre": centre,
        "left": (distance, centre[1]),
        "right": (nx - 1 - distance, centre[1]),
        "bottom": (centre[0], distance),
        "top": (centre[0], ny - 1 - distance),
    }
    positions = {}
    t = np.linspace(0.0, 1.0, 201)
    for name, (x0, y0) in wanted.items():
        axis = dispersion_axis(config, order, x0, y0)
        cross = "y" if axis == "x" else "x"
        source = {"x": x0, "y": y0}
        offset = _polynomial(config, f"DISP{cross.upper()}", order, x0, y0, t)
        size = nx if cross == "x" else ny
        low, high = source[cross] + offset.min(), source[cross] + offset.max()
        if low < inside:
            source[cross] += inside - low
        elif high > size - 1 - inside:
            source[cross] -= high - (size - 1 - inside)
        positions[name] = (source["x"], source["y"])
    return positions


def expected_box(config, order, x0, y0, half_height, shape=DETECTOR_SHAPE):
    """Independent of the helpers: the clipped box of a trace, and whether it was.

    Returns None if the box would lie entirely off the detector.
    """
    t = np.linspace(0.0, 1.0, 201)
    x = x0 + _polynomial(config, "DISPX", order, x0, y0, t)
    y = y0 + _polynomial(config, "DISPY", order, x0, y0, t)
    margin = {"x": 0.0, "y": 0.0}
    margin["y" if dispersion_axis(config, order, x0, y0) == "x" else "x"] = half_height
    raw = (
        int(np.floor(x.min() - margin["x"] + 0.5)),
        int(np.floor(x.max() + margin["x"] + 0.5)),
        int(np.floor(y.min() - margin["y"] + 0.5)),
        int(np.floor(y.max() + margin["y"] + 0.5)),
    )
    ny, nx = shape
    box = (max(raw[0], 0), min(raw[1], nx - 1), max(raw[2], 0), min(raw[3], ny - 1))
    if box[0] > box[1] or box[2] > box[3]:
        return None
    return box, box != raw


def recovered_ratio(config, order, x0, y0, *, use_trace=True):
    """Paint, extract, calibrate: recovered/true F_lambda in the band interior.

    Returns
    -------
    dict
        ``entries`` (length of the extracted spectrum), ``ratio`` (recovered/true
        F_lambda of the interior entries), ``ratio_in_band`` (the same wherever the
        sensitivity is high, ends included), ``angstrom_per_pixel`` (median), ``bbox``.
        With ``use_trace`` (and a version of the helpers that has it) the extraction
        takes a ``GrismTrace``; otherwise ``config, order, x0, y0`` (the old call).
    """
    image = np.full(DETECTOR_SHAPE, BACKGROUND)
    paint_spectrum(config, order, x0, y0, image=image)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # boxes clipped at the edges are expected here
        if use_trace and hasattr(trace, "GrismTrace"):
            args = (trace.GrismTrace(config, order, x0, y0),)
        else:
            args = (config, order, x0, y0)
        ext = extraction.box_extract(
            {"data": image},
            *args,
            half_height=HALF_HEIGHT,
            box_half_height=BOX_HALF_HEIGHT,
        )
        spectrum = flux_calibration.flux_calibrate(ext, config)
    from scipy.ndimage import binary_erosion

    wave = spectrum.spectral_axis.to_value("micron")
    flux = spectrum.flux.value
    # Band interior: high sensitivity, t away from the order's ends, away from the ends
    # of what was extracted (the detector edge or the box end).
    sens = config.SENS[order](wave)
    t_of = np.asarray(ext.t)[np.argsort(ext.wavelength.value)]
    peak = np.max(config.SENS_data[order][1])
    in_band = (sens > INTERIOR_SENSITIVITY * peak) & ~np.asarray(spectrum.mask)
    interior = in_band & (t_of > INTERIOR_T[0]) & (t_of < INTERIOR_T[1])
    # Away from the ends of each stretch of band and of what was extracted (the detector
    # edge or the box end): the painted trace is blurred along the dispersion too, which
    # matters where the sensitivity falls to zero within a few pixels.
    interior = binary_erosion(interior, np.ones(2 * EDGE_GAP + 1, dtype=bool))
    return {
        "entries": int(wave.size),
        "ratio": flux[interior] / true_flambda(wave[interior]),
        "ratio_in_band": flux[in_band] / true_flambda(wave[in_band]),
        "angstrom_per_pixel": (
            float(np.median(ext.dispersion.value)) if wave.size else np.nan
        ),
        "bbox": ext.bbox,
    }


CASES = [(path, order) for path in CONFIG_FILES for order in ORDERS]
IDS = [f"{config_label(path)}{order}" for path, order in CASES]


@pytest.fixture(scope="module")
def configs():
    return {path: read_config(path) for path in CONFIG_FILES}


def test_all_configurations_are_here():
    # 2 versions x 2 filters x 2 modules x 2 grisms, sensitivity tables beside them.
    assert len(CONFIG_FILES) == 16
    assert {path.stem[-1] for path in CONFIG_FILES} == {"R", "C"}


@pytest.mark.parametrize(("path", "order"), CASES, ids=IDS)
def test_dispersion_axis_and_direction(configs, path, order):
    config = configs[path]
    grism_axis = {"R": "x", "C": "y"}[path.stem[-1]]
    for x0, y0 in [(100.0, 100.0), (1024.0, 1024.0), (1900.0, 300.0)]:
        tr = trace.GrismTrace(config, order, x0, y0)
        assert tr.dispersion_axis == grism_axis
        assert tr.dispersion_axis == dispersion_axis(config, order, x0, y0)
        name = f"DISP{grism_axis.upper()}"
        along = _polynomial(config, name, order, x0, y0, [0.0, 1.0])
        assert tr.direction == np.sign(along[1] - along[0])
    if grism_axis == "x":
        # Module B GRISMR disperses toward -x, module A toward +x (order +1).
        module = "B" if "_modB_" in path.name else "A"
        expected = {"A": 1, "B": -1}[module]
        if order == "+1":
            assert tr.direction == expected


@pytest.mark.parametrize(("path", "order"), CASES, ids=IDS)
def test_round_trip_across_the_detector(configs, path, order):
    config = configs[path]
    worst = 0.0
    for x0 in np.linspace(0.0, 2047.0, 6):
        for y0 in np.linspace(0.0, 2047.0, 6):
            tr = trace.GrismTrace(config, order, x0, y0)
            lam = np.linspace(*tr.wavelength_range.value, 41)
            pixel = tr.pixel_at_wavelength(lam)
            back = tr.wavelength_at_pixel(pixel).to_value("micron")
            worst = max(worst, float(np.max(np.abs(back - lam))))
            # The pixel is where grismconf's forward polynomials put that wavelength.
            t = tr.t_from_wavelength(lam)
            np.testing.assert_allclose(
                _polynomial(config, "DISPL", order, x0, y0, t), lam, atol=1e-10
            )
            axis = "X" if tr.dispersion_axis == "x" else "Y"
            start = x0 if axis == "X" else y0
            forward = start + _polynomial(config, f"DISP{axis}", order, x0, y0, t)
            np.testing.assert_allclose(forward, pixel, atol=1e-7)
    assert worst < 1e-9


@pytest.mark.parametrize(("path", "order"), CASES, ids=IDS)
def test_bounding_boxes_near_every_edge(configs, path, order):
    config = configs[path]
    for name, (x0, y0) in edge_positions(config, order).items():
        expected = expected_box(config, order, x0, y0, BOX_HALF_HEIGHT)
        if expected is None:
            with pytest.raises(ValueError, match="falls entirely off"):
                trace.trace_bounding_box(config, order, x0, y0, BOX_HALF_HEIGHT)
            continue
        box = trace.trace_bounding_box(config, order, x0, y0, BOX_HALF_HEIGHT)
        limits, clipped = expected
        assert (box.x_min, box.x_max, box.y_min, box.y_max) == limits, name
        assert box.clipped == clipped, name


@pytest.mark.parametrize(("path", "order"), CASES, ids=IDS)
def test_painted_spectra_are_recovered(configs, path, order):
    config = configs[path]
    peak = np.max(config.SENS_data[order][1])
    measured = 0
    positions = edge_positions(config, order)
    for name, (x0, y0) in positions.items():
        if expected_box(config, order, x0, y0, BOX_HALF_HEIGHT) is None:
            # The order misses the detector (NIRCam's order +2 with these files): the
            # helpers say so instead of extracting nothing.
            with pytest.raises(ValueError, match="falls entirely off"):
                recovered_ratio(config, order, x0, y0)
            continue
        result = recovered_ratio(config, order, x0, y0)
        tr = trace.GrismTrace(config, order, x0, y0)
        # ~10 Å/px for order +1, ~5 for order +2; thousands along the wrong axis.
        assert result["angstrom_per_pixel"] < 30, name
        if result["ratio"].size == 0:
            # Only where the band interior is off the detector (e.g. a source at the
            # edge the trace runs away from).
            pixels = result["bbox"].pixels(tr.dispersion_axis)
            sens = config.SENS[order](tr.wavelength_at_pixel(pixels).value)
            assert np.all(sens <= INTERIOR_SENSITIVITY * peak)
            continue
        measured += 1
        worst = float(np.max(np.abs(result["ratio"] - 1.0)))
        assert worst < 0.01, f"{name}: recovered/true off by {worst:.4f}"
    if any(expected_box(config, order, x0, y0, 0) for x0, y0 in positions.values()):
        assert measured >= 3
