"""The embedded demo: a self-made NIRCam-like grism instrument, a synthetic sky, a
dataset.

* :mod:`wfss_helpers.demo.instrument` - the demo grism (trace polynomials,
  sensitivity, PSF, sky, distortion, flat);
* :mod:`wfss_helpers.demo.calibration_files` - the reference files and grismconf
  ``.conf`` files the demo instrument is written as;
* :mod:`wfss_helpers.demo.scene` - the synthetic sources and sky, rendered into rate
  files;
* :mod:`wfss_helpers.demo.build` - generation of the dataset from nothing;
* :mod:`wfss_helpers.demo.dataset` - the cached dataset: loading, locking, its ground
  truth.

Everything here is a **demo made for teaching, not a JWST calibration**.
"""
