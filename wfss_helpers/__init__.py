"""Helpers for the JWST NIRCam wide-field slitless spectroscopy (WFSS) tutorial.

The folders follow the flow of a WFSS analysis, lowest layer first; each imports only
from the layers above it in this list (``tests/test_package_layout.py`` checks it, and
that there is no import cycle):

* :mod:`wfss_helpers.checks` - checks of arguments and input files, with errors that say
  how to fix them;
* :mod:`wfss_helpers.geometry` - trace geometry and positions: the grism configuration,
  :class:`~wfss_helpers.geometry.trace.GrismTrace` (DISPX/DISPY/DISPL, their inverses,
  bounding boxes), an order's sensitivity, direct-image pixel -> sky -> WFSS position;
* :mod:`wfss_helpers.exposure` - one exposure, opened and checked once:
  :class:`~wfss_helpers.exposure.WFSSExposure` (SCI/ERR/DQ, filter, grism, gWCS,
  configuration, the traces of its sources) and
  :class:`~wfss_helpers.exposure.DirectImage`;
* :mod:`wfss_helpers.extraction` - one source's spectrum from one exposure: the
  dispersed sky, box and optimal extraction, flux calibration, emission-line fits;
* :mod:`wfss_helpers.field` - a whole field: the forward model, contamination, the
  extraction of every source, the file of all the spectra;
* :mod:`wfss_helpers.data_sources` - where data and calibration come from: MAST
  downloads, the CRDS set-up, the jwst calibration steps, the pipeline's own WFSS
  extraction (Spec2);
* :mod:`wfss_helpers.demo` - the embedded demo: a self-made NIRCam-like instrument, a
  synthetic sky, the dataset made from them and its cache;
* :mod:`wfss_helpers.tutorial_data` - the one switch between the embedded demo data and
  the real data of JWST program 01076 (``WFSS_TUTORIAL_DATA=demo|real``);
* :mod:`wfss_helpers.plotting` - the tutorial's figures.

Each folder's ``__init__`` re-exports the public names of its modules, so
``from wfss_helpers.extraction import box_extract`` works wherever ``box_extract``
lives inside the folder.
"""

__version__ = "0.1.0"
