"""Helpers for the JWST NIRCam wide-field slitless spectroscopy (WFSS) tutorial.

Where things live:

* :mod:`wfss_helpers.tutorial_data` - the one switch between the embedded demo data and
  the real data of JWST program 01076 (``WFSS_TUTORIAL_DATA=demo|real``);
* :mod:`wfss_helpers.data_sources.mast` - verified, retried downloads from MAST (real data);
* :mod:`wfss_helpers.demo` - the embedded demo: a self-made NIRCam-like instrument
  (:mod:`~wfss_helpers.demo.instrument`), a synthetic sky (:mod:`~wfss_helpers.demo.scene`)
  and the dataset made from them (:mod:`~wfss_helpers.demo.build`,
  :mod:`~wfss_helpers.demo.dataset`);
* :mod:`wfss_helpers.data_sources.crds` and :mod:`wfss_helpers.data_sources.pipeline` - CRDS set-up and the
  jwst calibration steps (AssignWcs, FlatField, Photom);
* :mod:`wfss_helpers.checks.files` - checks of input files, with errors that say how to fix them;
* :mod:`wfss_helpers.geometry.positions` - direct-image pixel -> sky -> WFSS position;
* :mod:`wfss_helpers.geometry.trace` - trace geometry: DISPX/DISPY/DISPL, their inverses, bounding boxes;
* :mod:`wfss_helpers.extraction.box` - cutout, background, box extraction;
* :mod:`wfss_helpers.extraction.flux_calibration` - sensitivity curves and the conversion to F_lambda;
* :mod:`wfss_helpers.extraction.lines` - emission-line fits;
* :mod:`wfss_helpers.plotting` - the tutorial's figures.
"""

__version__ = "0.1.0"
