"""A forward model of a WFSS field: every source's direct-image light, dispersed.

In a slitless exposure each source is imaged through the grism: its **direct image**
(the light of every one of its pixels) is spread along its **trace**, one wavelength at
a time. For one source and one order, with the trace shape taken at the source's
position, the dispersed image is the direct image *convolved* with the dispersed image
of a point source at that position (the "trace kernel": the spectrum
``F_lambda * S(lambda) * dlambda`` laid along ``DISPX``/``DISPY``). That is all the
model is:

1. **sources** from the direct image: its sky subtracted, a segmentation map
   (photutils), and each segment grown by a few pixels into the sky around it so the
   faint PSF wings come along
   (:func:`~wfss_helpers.field.footprints.source_footprints`);
2. each source's **footprint**, normalised to unit sum, convolved with its trace kernel
   for every order that reaches the detector
   (:func:`~wfss_helpers.field.dispersed_source.trace_kernel`,
   :func:`~wfss_helpers.field.dispersed_source.disperse_source`), with a spectrum:
   first a flat F_lambda at the direct-image flux
   (:func:`~wfss_helpers.field.footprints.first_guess_flambda`), then the spectrum the
   data ask for (:func:`~wfss_helpers.field.refinement.refine_field_model`);
3. the **field** is the sum of all of them
   (:class:`~wfss_helpers.field.field_model.FieldModel`); the **contamination** of one
   source is the model of everything else
   (:meth:`~wfss_helpers.field.field_model.FieldModel.contamination_image`).

The convolution is what makes it fast: one small FFT per source and order, against
the pipeline's ``WfssContamStep``, which maps every segment pixel through the gWCS at
every wavelength. The price is one approximation: the trace's shape (not its position)
is the one at the source's centre for every pixel of the footprint; over a footprint of
tens of pixels the trace polynomials change by far less than a pixel.

The direct image must be on the same pixel grid as the WFSS exposure, up to a shift
(a ``_cal`` image of the same detector, not a resampled mosaic): that is checked.

Where each step is
------------------
This module holds only this overview; the model is in the modules of
:mod:`wfss_helpers.field`, each name importable from :mod:`wfss_helpers.field` too:

* :mod:`~wfss_helpers.field.direct_sources` - step 1, the sources of the direct image
  (:func:`~wfss_helpers.field.direct_sources.detect_direct_sources`,
  :class:`~wfss_helpers.field.direct_sources.DirectImageSources`);
* :mod:`~wfss_helpers.field.footprints` - step 1, each source's footprint and its
  first-guess spectrum (:class:`~wfss_helpers.field.footprints.Footprint`);
* :mod:`~wfss_helpers.field.dispersed_source` - step 2, the trace kernel and one
  source's dispersed image in one order
  (:class:`~wfss_helpers.field.dispersed_source.DispersedSource`, ``T_RANGE``);
* :mod:`~wfss_helpers.field.field_model` - step 3, the whole field
  (:func:`~wfss_helpers.field.field_model.model_field`);
* :mod:`~wfss_helpers.field.refinement` - each source's spectrum fitted to the data;
* :mod:`~wfss_helpers.field.catalog_extraction` - every source extracted with the
  model of the others subtracted.
"""

__all__ = []
