"""Helpers for the JWST NIRCam wide-field slitless spectroscopy (WFSS) tutorial.

Where things live:

* :mod:`wfss_helpers.demo_data` - the embedded demo dataset (generated offline, cached);
  :mod:`wfss_helpers.demo_instrument` and :mod:`wfss_helpers.demo_scene` make it.
* :mod:`wfss_helpers.crds_config` and :mod:`wfss_helpers.pipeline` - CRDS set-up and the
  jwst calibration steps (AssignWcs, FlatField, Photom).
* :mod:`wfss_helpers.flux_calibration` - sensitivity curves and the conversion to F_lambda.
"""

__version__ = "0.1.0"
