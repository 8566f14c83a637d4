"""The embedded demo: a self-made NIRCam-like grism instrument, a synthetic sky, a dataset.

* :mod:`wfss_helpers.demo.instrument` - the demo grism (trace polynomials, sensitivity,
  PSF, distortion, flat) and the reference files and grismconf ``.conf`` files it writes;
* :mod:`wfss_helpers.demo.scene` - the synthetic sources and sky, rendered into rate files;
* :mod:`wfss_helpers.demo.build` - generation of the dataset from nothing;
* :mod:`wfss_helpers.demo.dataset` - the cached dataset: loading, locking, its ground truth.

Everything here is a **demo made for teaching, not a JWST calibration**.
"""
