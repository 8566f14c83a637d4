"""The field helpers take exposure objects (:class:`~wfss_helpers.exposure.DirectImage`,
:class:`~wfss_helpers.exposure.WFSSExposure`) wherever they take a path or a data model,
and give bit for bit the same result; ``extract_field`` opens an exposure once per call
(a path once, an exposure object not at all).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from astropy.io import fits

from wfss_helpers.exposure import DirectImage, WFSSExposure
from wfss_helpers.extraction import dispersed_sky_profile
from wfss_helpers.field import (
    detect_direct_sources,
    extract_field,
    model_field,
    refine_field_model,
)
from wfss_helpers.geometry import load_grism_config


@pytest.fixture(scope="module")
def field(demo):
    """Sources, the GRISMR first-guess model, its sky and the sky-subtracted arrays,
    all from the demo files given as paths."""
    sources = detect_direct_sources(demo.direct_cal)
    first = model_field(sources, demo.wfss_cal, load_grism_config(demo.wfss_cal),
                        orders=[1])
    with fits.open(demo.wfss_cal) as hdul:
        sci, err, dq = (np.array(hdul[n].data) for n in ("SCI", "ERR", "DQ"))
    sky = dispersed_sky_profile(sci, dispersion_axis="x", dq=dq,
                                mask=first.image() > 0.01)
    clean = {"data": sci - sky.image, "err": err, "dq": dq}
    return {"sources": sources, "first": first, "sky": sky, "clean": clean}


def _same_model(a, b):
    """Two field models are the same, bit for bit."""
    assert a.ids == b.ids and a.orders == b.orders and a.iteration == b.iteration
    np.testing.assert_array_equal(a.image(), b.image())
    for source_id in a.ids:
        for x, y in zip(a.spectra[source_id], b.spectra[source_id]):
            np.testing.assert_array_equal(x, y)


def _same_extraction(a, b):
    """Two field extractions are the same, bit for bit."""
    assert [(r.source_id, r.order, r.method) for r in a.spectra] == [
        (r.source_id, r.order, r.method) for r in b.spectra]
    for x, y in zip(a.spectra, b.spectra):
        np.testing.assert_array_equal(x.spectrum.flux, y.spectrum.flux)
        np.testing.assert_array_equal(x.spectrum.uncertainty.array,
                                      y.spectrum.uncertainty.array)
        np.testing.assert_array_equal(x.spectrum.meta["flags"],
                                      y.spectrum.meta["flags"])
    assert list(a.skipped["reason"]) == list(b.skipped["reason"])
    assert a.warnings == b.warnings and a.grism == b.grism


def test_detect_direct_sources_takes_a_direct_image(demo, field):
    with DirectImage.open(demo.direct_cal) as direct:
        found = detect_direct_sources(direct)
    reference = field["sources"]
    np.testing.assert_array_equal(found.image, reference.image)
    np.testing.assert_array_equal(found.background, reference.background)
    np.testing.assert_array_equal(found.segmentation.data, reference.segmentation.data)
    for name in reference.catalog.colnames:
        np.testing.assert_array_equal(found.catalog[name], reference.catalog[name])


def test_model_field_takes_an_exposure_and_its_configuration(demo, field):
    sources = field["sources"]
    with WFSSExposure.open(demo.wfss_cal) as exposure:
        own = model_field(sources, exposure, orders=[1])  # config: exposure.config
        given = model_field(sources, exposure, load_grism_config(demo.wfss_cal),
                            orders=[1])
    _same_model(own, field["first"])
    _same_model(given, field["first"])


def test_model_field_without_a_configuration_says_what_to_pass(demo, field):
    from stdatamodels.jwst import datamodels

    with pytest.raises(TypeError, match="grism configuration.*WFSSExposure"):
        model_field(field["sources"], demo.wfss_cal)
    with datamodels.open(str(demo.wfss_cal)) as model:
        with pytest.raises(TypeError, match="grism configuration.*WFSSExposure"):
            model_field(field["sources"], model)


def test_refine_field_model_takes_an_exposure(demo, field):
    first, clean, sky = field["first"], field["clean"], field["sky"]
    with WFSSExposure.open(demo.wfss_cal) as exposure:
        # The sky given to subtract: the exposure as a path and as an object.
        _same_model(refine_field_model(first, exposure, sky=sky),
                    refine_field_model(first, demo.wfss_cal, sky=sky))
        # The sky already subtracted: the arrays alone and the exposure with them.
        _same_model(refine_field_model(first, exposure.with_data(clean)),
                    refine_field_model(first, clean))


def _count_opens(monkeypatch):
    """Count every FITS file opened (a path, or a data model read from one)."""
    opened = []
    real_open = fits.open

    def counting_open(*args, **kwargs):
        opened.append(args[0] if args else kwargs.get("name"))
        return real_open(*args, **kwargs)

    monkeypatch.setattr(fits, "open", counting_open)
    return opened


def test_extract_field_takes_an_exposure_opened_once(demo, field, monkeypatch):
    model = refine_field_model(field["first"], field["clean"])
    exposure = WFSSExposure.open(demo.wfss_cal)
    clean = exposure.with_data(field["clean"])
    opened = _count_opens(monkeypatch)
    from_exposure = extract_field(model, clean)
    assert opened == []  # an exposure object is not opened again
    _same_extraction(from_exposure, extract_field(model, field["clean"]))
    # A path is opened once for the whole field (its sky is not subtracted: it warns).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        del opened[:]
        from_path = extract_field(model, demo.wfss_cal, methods="box")
        assert len(opened) == 1, opened
        del opened[:]
        from_object = extract_field(model, exposure, methods="box")
        assert opened == []
    _same_extraction(from_path, from_object)
    exposure.close()
