"""A local CRDS cache that stands in for the real JWST CRDS, built from the demo instrument.

In "real data" mode (``reference_files=None`` in :mod:`wfss_helpers.data_sources.pipeline`) the jwst steps
get no overrides: CRDS itself chooses every reference file they declare. The real CRDS
cannot be reached from the test machines, so :func:`build_local_crds_cache` writes a *real*
CRDS cache directory whose rules (a pipeline context) select the demo instrument's reference
files for the demo exposures. Nothing in CRDS or jwst is mocked: CRDS loads the rules,
verifies their checksums, computes the best references and locates the files exactly as it
does with a cache synced from https://jwst-crds.stsci.edu.

Notes
-----
**Layout.** The one ``crds sync`` creates, in CRDS's "instrument" sub-directory mode::

    <cache>/
      config/jwst/server_config          last server info (a Python dict literal)
      config/jwst/ref_cache_subdir_mode  "instrument"
      config/jwst/bad_files.txt          empty list of scientifically invalid files
      mappings/jwst/jwst_9001.pmap       pipeline context: NIRCAM -> instrument context
      mappings/jwst/jwst_nircam_9001.imap
      mappings/jwst/jwst_nircam_<reftype>_9001.rmap   one per NIRCam reference type
      references/jwst/nircam/jwst_nircam_<reftype>_900N.asdf|fits

**server_config.** CRDS writes it after each successful contact with its server
(``crds.core.heavy_client.cache_server_info``) and reads it back when the server cannot be
reached (``load_server_info``): a user whose cache was synced online and whose network then
fails has exactly this file. Its ``operational_context`` and ``latest_context`` name the
stand-in's pipeline context, :data:`CONTEXT`; ``bad_files_list`` is empty (CRDS checks every
selected mapping and file against it); ``force_remote_mode`` is False, so best references
are computed locally from the cached rules.

**Mappings.** Three levels, each a Python-syntax ``header``/``selector`` file:

* ``jwst_9001.pmap`` (``mapping = 'PIPELINE'``, parkey ``META.INSTRUMENT.NAME``) selects the
  NIRCam instrument context. Other instruments are absent: asking for one fails with
  "Unknown instrument", as it should.
* ``jwst_nircam_9001.imap`` (``mapping = 'INSTRUMENT'``, parkey ``REFTYPE``) lists **every**
  reference type the steps of the real-data mode declare (AssignWcs, FlatField and Photom
  of the calibration; SourceCatalog, Background, Extract2d, SourceType, WfssContam and
  Extract1d of notebook 5's Spec2 run) and their step-parameter types
  (``pars-<step>``, :data:`STEPS_WITH_PARAMETER_REFERENCES`). For CRDS a type
  missing from the imap is not "not applicable" but an error: bestrefs answers
  "NOT FOUND Unknown reference type" and ``crds.getreferences`` raises ``CrdsLookupError``
  (which ``wfss_helpers.data_sources.pipeline`` reports as ``CRDSUnavailableError``). The NIRSpec-only
  types (camera, chromcorr, collimator, disperser, fore, fpa, msa, ote, ifufore, ifupost,
  ifuslicer, fflat, sflat, dflat) are ``'N/A'`` at the instrument level, the way the real
  JWST imaps declare types that do not apply to an instrument.
* One rmap per NIRCam type (``mapping = 'REFERENCE'``, ``classes = ('Match', 'UseAfter')``,
  parkeys of the kind the real NIRCam rmaps use, then ``META.OBSERVATION.DATE``/``TIME``).
  The types the demo instrument has select its files by exposure type, detector, channel,
  filter, pupil or module, then by date (``UseAfter`` 2022-01-01): besides the
  calibration's, ``wavelengthrange`` and ``bkg`` (per grism) for the WFSS exposures, and
  the imaging ``apcorr`` and ``abvegaoffset`` that SourceCatalogStep reads. The types a
  real NIRCam context has but the demo does not (filteroffset, regions, area, extract1d,
  the WFSS apcorr and the ``pars-*`` types) select ``'N/A'`` for the demo exposures: CRDS
  answers "NOT FOUND n/a", stpipe turns that into ``"N/A"`` and the steps skip the file
  (stpipe then uses the steps' default parameters; Extract1dStep applies no aperture
  correction). The specwcs rmap is ``'N/A'`` for ``NRC_IMAGE`` because AssignWcs asks for
  a specwcs on the direct image too; the wavelengthrange rmap likewise.
* photom is selected by ``EXP_TYPE``: the imaging table for ``NRC_IMAGE``, the WFSS
  sensitivity table for ``NRC_WFSS``. ``calibrate_wfss`` runs PhotomStep with
  ``PUPIL = CLEAR`` (its imaging-flat trick) but ``EXP_TYPE = NRC_WFSS``, so CRDS records the
  WFSS table in ``R_PHOTOM``, which grismconf reads later. The flat rmap gives the imaging
  flat (``PUPIL = CLEAR``) to both exposure types, the same trick, and the same flat to a
  grism exposure flat-fielded as it is (``PUPIL = GRISMR``/``GRISMC``), as the Spec2
  steps of notebook 5 do.

**Checksums.** CRDS verifies the ``sha1sum`` header of every mapping it loads:
``crds.core.rmap.Mapping.from_string`` raises ``ChecksumError`` on a mismatch unless
``CRDS_IGNORE_MAPPING_CHECKSUM`` is set, which CRDS documents as a switch "during
development". The mappings are therefore written with a correct checksum computed by CRDS's
own code: each is parsed with ``ignore_checksum=True`` and written back with
``Mapping.write`` (what ``crds checksum``, i.e. ``crds.refactoring.checksum``, does; it drops
comments), then re-loaded with verification on.

**Reference files.** The demo files are re-saved under CRDS-style names
(``jwst_nircam_<reftype>_<serial>``) with the datamodel classes, so that their ``FILENAME``
keyword (``meta.filename``) is the CRDS name, as in real CRDS files. CRDS itself locates a
reference by name only (in ``references/jwst/nircam``) and downloads nothing that is there.

**What CRDS does with it.** After ``configure_online_crds(crds_path=cache,
server_url="http://127.0.0.1:9")`` (port 9 on loopback is closed) CRDS

1. calls ``get_server_info`` on the server, gets "connection refused" and falls back to
   ``config/jwst/server_config`` (``heavy_client.get_config_info``: status ``"cache"``,
   connected False);
2. calls ``get_build_context`` (JWST's default context is the build context of the installed
   jwst) and twice ``get_default_context``, is refused each time and falls back to the
   cached ``latest_context``, :data:`CONTEXT`;
3. computes the best references locally from the cached mappings and finds every selected
   file in the cache, so it downloads nothing and never rewrites ``server_config``.

Every network attempt goes to 127.0.0.1:9 (seven connection attempts, with crds 14.0.3, for a whole
``calibrate_imaging`` + ``calibrate_wfss`` run: stpipe's ``get_context_used`` evaluates the
context a second time under a different cache key). ``crds`` reads ``CRDS_SERVER_URL`` only
when it is imported and caches the server info and context for the life of the process;
``wfss_helpers.data_sources.crds.configure_online_crds`` therefore also applies the new server to
an already imported ``crds`` and forgets those cached answers (the test relies on it: the
session's demo build has used CRDS serverless before).
"""

from __future__ import annotations

import pprint
from pathlib import Path

__all__ = [
    "CONTEXT",
    "IMAP",
    "SERIAL",
    "STANDIN_REFERENCE_NAMES",
    "STEPS_WITH_PARAMETER_REFERENCES",
    "build_local_crds_cache",
]

#: Serial number of the stand-in's mappings (real JWST contexts are in the 0000-2999 range).
SERIAL = 9001
#: The stand-in's pipeline context, recorded by the steps in ``CRDS_CTX``.
CONTEXT = f"jwst_{SERIAL:04d}.pmap"
#: The stand-in's NIRCam instrument context.
IMAP = f"jwst_nircam_{SERIAL:04d}.imap"

#: CRDS-style names of the demo reference files in the stand-in, by demo key.
STANDIN_REFERENCE_NAMES = {
    "distortion": "jwst_nircam_distortion_9001.asdf",
    "specwcs": "jwst_nircam_specwcs_9001.asdf",
    "specwcs_grismc": "jwst_nircam_specwcs_9002.asdf",
    "flat": "jwst_nircam_flat_9001.fits",
    "photom_imaging": "jwst_nircam_photom_9001.fits",
    "photom_wfss": "jwst_nircam_photom_9002.fits",
    "wavelengthrange": "jwst_nircam_wavelengthrange_9001.asdf",
    "bkg": "jwst_nircam_bkg_9001.fits",
    "bkg_grismc": "jwst_nircam_bkg_9002.fits",
    "apcorr": "jwst_nircam_apcorr_9001.fits",
    "abvegaoffset": "jwst_nircam_abvegaoffset_9001.asdf",
}

#: The steps that run in real-data mode (notebook 2's calibration, notebook 5's Spec2
#: steps and source catalog): each asks CRDS for ``pars-<step class, lower case>``.
STEPS_WITH_PARAMETER_REFERENCES = (
    "AssignWcsStep",
    "FlatFieldStep",
    "PhotomStep",
    "SourceCatalogStep",
    "BackgroundStep",
    "Extract2dStep",
    "SourceTypeStep",
    "WfssContamStep",
    "Extract1dStep",
)

# Reference types of AssignWcs, FlatField and Photom that only NIRSpec (and MIRI MRS) use:
# declared N/A for NIRCam at the instrument level.
_NA_AT_INSTRUMENT_LEVEL = (
    "camera",
    "chromcorr",
    "collimator",
    "dflat",
    "disperser",
    "fflat",
    "fore",
    "fpa",
    "ifufore",
    "ifupost",
    "ifuslicer",
    "msa",
    "ote",
    "sflat",
    # Extract1dStep's types of NIRISS SOSS and of optimal (PSF) extraction.
    "pastasoss",
    "specprofile",
    "speckernel",
    "psf",
)

_USEAFTER = ("META.OBSERVATION.DATE", "META.OBSERVATION.TIME")
# Valid for any JWST observation (the demo's reference files carry USEAFTER 2022-01-01).
_USEAFTER_DATE = "2022-01-01 00:00:00"
_DEMO_EXP_TYPES = "NRC_IMAGE|NRC_WFSS"


def _rmap_specs(detector, filter_, grism, module):
    """Rules of each NIRCam reference type: (parkeys, file extension, description, selections).

    A selection maps a tuple of parkey values (``'|'`` separates alternatives, ``'N/A'``
    means "any value") either to a demo key (a file, chosen by observation date) or to
    ``'N/A'`` (the type does not apply).
    """
    return {
        "distortion": (
            ("META.EXPOSURE.TYPE", "META.INSTRUMENT.DETECTOR", "META.INSTRUMENT.CHANNEL", "META.INSTRUMENT.PUPIL"),
            ".asdf",
            "Distortion",
            {(_DEMO_EXP_TYPES, detector, "LONG", "CLEAR|GRISMR|GRISMC"): "distortion"},
        ),
        "specwcs": (
            ("META.EXPOSURE.TYPE", "META.INSTRUMENT.PUPIL", "META.INSTRUMENT.FILTER", "META.INSTRUMENT.MODULE"),
            ".asdf",
            "Wide Field Slitless Spectral World Coordinate System",
            {
                ("NRC_WFSS", "GRISMR", filter_, module): "specwcs",
                ("NRC_WFSS", "GRISMC", filter_, module): "specwcs_grismc",
                ("NRC_IMAGE", "N/A", "N/A", "N/A"): "N/A",
            },
        ),
        "filteroffset": (
            ("META.EXPOSURE.TYPE", "META.INSTRUMENT.DETECTOR"),
            ".asdf",
            "Filter Offset (the demo instrument has none)",
            {(_DEMO_EXP_TYPES, detector): "N/A"},
        ),
        "wavelengthrange": (
            ("META.EXPOSURE.TYPE",),
            ".asdf",
            "Wavelength Range (of each WFSS order; AssignWcs asks for it too)",
            {("NRC_WFSS",): "wavelengthrange", ("NRC_IMAGE",): "N/A"},
        ),
        "bkg": (
            ("META.EXPOSURE.TYPE", "META.INSTRUMENT.FILTER", "META.INSTRUMENT.PUPIL"),
            ".fits",
            "WFSS background (the dispersed sky's normalised shape), per grism",
            {
                ("NRC_WFSS", filter_, "GRISMR"): "bkg",
                ("NRC_WFSS", filter_, "GRISMC"): "bkg_grismc",
                ("NRC_IMAGE", "N/A", "N/A"): "N/A",
            },
        ),
        "apcorr": (
            ("META.EXPOSURE.TYPE", "META.INSTRUMENT.FILTER"),
            ".fits",
            "Aperture correction: imaging (SourceCatalogStep); none for WFSS in the demo",
            {("NRC_IMAGE", filter_): "apcorr", ("NRC_WFSS", "N/A"): "N/A"},
        ),
        "abvegaoffset": (
            ("META.EXPOSURE.TYPE",),
            ".asdf",
            "AB to Vega magnitude offset (SourceCatalogStep)",
            {("NRC_IMAGE",): "abvegaoffset", ("NRC_WFSS",): "N/A"},
        ),
        "extract1d": (
            ("META.EXPOSURE.TYPE",),
            ".json",
            "Extract1d parameters (not used for WFSS, whose box comes from Extract2d)",
            {(_DEMO_EXP_TYPES,): "N/A"},
        ),
        "regions": (
            ("META.EXPOSURE.TYPE", "META.SUBARRAY.NAME", "META.INSTRUMENT.DETECTOR"),
            ".asdf",
            "Regions (not used by these exposure types)",
            {(_DEMO_EXP_TYPES, "N/A", detector): "N/A"},
        ),
        "flat": (
            ("META.INSTRUMENT.DETECTOR", "META.INSTRUMENT.FILTER", "META.INSTRUMENT.PUPIL", "META.EXPOSURE.TYPE"),
            ".fits",
            "Flat Field (imaging flat, also served to the WFSS exposure presented with PUPIL=CLEAR)",
            {
                (detector, filter_, "CLEAR", _DEMO_EXP_TYPES): "flat",
                # calwebb_spec2 flat-fields a grism exposure as it is (PUPIL = GRISMR/C).
                (detector, filter_, "GRISMR|GRISMC", "NRC_WFSS"): "flat",
            },
        ),
        "photom": (
            ("META.INSTRUMENT.DETECTOR", "META.EXPOSURE.TYPE"),
            ".fits",
            "Absolute Calibration",
            {
                (detector, "NRC_IMAGE"): "photom_imaging",
                (detector, "NRC_WFSS"): "photom_wfss",
            },
        ),
        "area": (
            ("META.INSTRUMENT.DETECTOR", "META.EXPOSURE.TYPE"),
            ".fits",
            "Pixel Area Map (the demo instrument has none)",
            {(detector, _DEMO_EXP_TYPES): "N/A"},
        ),
        **{
            f"pars-{step.lower()}": (
                ("META.EXPOSURE.TYPE",),
                ".asdf",
                f"{step} runtime parameters (defaults)",
                {(_DEMO_EXP_TYPES,): "N/A"},
            )
            for step in STEPS_WITH_PARAMETER_REFERENCES
        },
    }


def _rmap_name(reftype):
    return f"jwst_nircam_{reftype}_{SERIAL:04d}.rmap"


_DERIVED_FROM = "made by hand by tests/crds_standin.py"


def _rmap_text(reftype, parkeys, file_ext, description, selections):
    lines = ["Match({"]
    for key, target in selections.items():
        if target == "N/A":
            lines.append(f"    {key!r} : 'N/A',")
        else:
            lines.append(f"    {key!r} : UseAfter({{")
            lines.append(f"        {_USEAFTER_DATE!r} : {STANDIN_REFERENCE_NAMES[target]!r},")
            lines.append("    }),")
    lines.append("})")
    header = {
        "classes": ("Match", "UseAfter"),
        "derived_from": _DERIVED_FROM,
        "file_ext": file_ext,
        "filekind": reftype.upper(),
        "filetype": reftype.upper(),
        "instrument": "NIRCAM",
        "mapping": "REFERENCE",
        "name": _rmap_name(reftype),
        "observatory": "JWST",
        "parkey": (tuple(parkeys), _USEAFTER),
        "sha1sum": "0" * 40,
        "suffix": reftype,
        "text_descr": description,
    }
    return f"header = {pprint.pformat(header, sort_dicts=True)}\n\nselector = " + "\n".join(lines) + "\n"


def _imap_text(reftypes):
    header = {
        "derived_from": _DERIVED_FROM,
        "instrument": "NIRCAM",
        "mapping": "INSTRUMENT",
        "name": IMAP,
        "observatory": "JWST",
        "parkey": ("REFTYPE",),
        "sha1sum": "0" * 40,
    }
    selector = {reftype.upper(): _rmap_name(reftype) for reftype in reftypes}
    selector.update({reftype.upper(): "N/A" for reftype in _NA_AT_INSTRUMENT_LEVEL})
    return f"header = {pprint.pformat(header)}\n\nselector = {pprint.pformat(selector)}\n"


def _pmap_text():
    header = {
        "derived_from": _DERIVED_FROM,
        "mapping": "PIPELINE",
        "name": CONTEXT,
        "observatory": "JWST",
        "parkey": ("META.INSTRUMENT.NAME",),
        "sha1sum": "0" * 40,
    }
    return f"header = {pprint.pformat(header)}\n\nselector = {pprint.pformat({'NIRCAM': IMAP})}\n"


def _write_mapping(path: Path, text: str):
    """Write a mapping with its correct ``sha1sum``, as ``crds checksum`` does, and verify it."""
    from crds.core import rmap

    cls = {".pmap": rmap.PipelineContext, ".imap": rmap.InstrumentContext, ".rmap": rmap.ReferenceMapping}[
        path.suffix
    ]
    # Parse (checksum not yet valid), then let CRDS write it back with its checksum.
    cls.from_string(text, path.name, ignore_checksum=True).write(str(path))
    # Reload with checksum verification on (raises crds ChecksumError if wrong).
    return cls.from_string(path.read_text(), path.name, ignore_checksum=False)


def _copy_reference(source: Path, destination: Path):
    """Copy a reference file under its CRDS name, updating its FILENAME (meta.filename)."""
    from stdatamodels.jwst import datamodels

    with datamodels.open(source) as model:
        model.save(destination)
    return destination


def _server_config(mappings, references):
    """The server info CRDS caches after contacting its server (``cache_server_info``)."""
    import crds

    return {
        "observatory": "jwst",
        "operational_context": CONTEXT,
        "latest_context": CONTEXT,
        "edit_context": CONTEXT,
        "versions_context": CONTEXT,
        "bad_files": "",
        "bad_files_list": [],
        "force_remote_mode": False,
        "last_synced": "stand-in cache written by tests/crds_standin.py",
        "crds_version": {"str": crds.__version__},
        "mappings": sorted(mappings),
        "references": sorted(references),
        # As written by CRDS after a successful contact; overridden when it is loaded back.
        "status": "server",
        "connected": True,
    }


def build_local_crds_cache(cache_dir, demo) -> Path:
    """Write a CRDS cache whose context selects the demo instrument's reference files.

    Parameters
    ----------
    cache_dir : str or pathlib.Path
        Directory of the new cache (created; existing stand-in files are replaced). Use a
        directory of its own, never a real CRDS cache.
    demo : wfss_helpers.demo.manifest.DemoDataset
        The demo dataset, whose ``reference_files`` are copied into the cache.

    Returns
    -------
    pathlib.Path
        The cache directory, to use as ``CRDS_PATH``.

    Raises
    ------
    FileExistsError
        If ``cache_dir`` holds a CRDS ``server_config`` not written by this function.
    crds.core.exceptions.ChecksumError
        If a written mapping did not pass CRDS's checksum verification (a bug here).
    """
    from astropy.io import fits

    cache = Path(cache_dir).expanduser().resolve()
    config_dir = cache / "config" / "jwst"
    mapping_dir = cache / "mappings" / "jwst"
    reference_dir = cache / "references" / "jwst" / "nircam"
    server_config = config_dir / "server_config"
    if server_config.exists() and "tests/crds_standin.py" not in server_config.read_text():
        raise FileExistsError(f"{server_config} belongs to another CRDS cache; give a new directory.")
    for directory in (config_dir, mapping_dir, reference_dir):
        directory.mkdir(parents=True, exist_ok=True)

    # The demo exposures' instrument configuration (both share detector, filter and module).
    wfss = fits.getheader(demo.wfss_rate)
    detector, filter_, grism, module = (wfss[key].strip() for key in ("DETECTOR", "FILTER", "PUPIL", "MODULE"))

    for key, name in STANDIN_REFERENCE_NAMES.items():
        _copy_reference(Path(demo.reference_files[key]), reference_dir / name)

    specs = _rmap_specs(detector, filter_, grism, module)
    mapping_names = [CONTEXT, IMAP]
    for reftype, spec in specs.items():
        _write_mapping(mapping_dir / _rmap_name(reftype), _rmap_text(reftype, *spec))
        mapping_names.append(_rmap_name(reftype))
    _write_mapping(mapping_dir / IMAP, _imap_text(specs))
    _write_mapping(mapping_dir / CONTEXT, _pmap_text())

    (config_dir / "ref_cache_subdir_mode").write_text("instrument")
    (config_dir / "bad_files.txt").write_text("")
    server_config.write_text(pprint.pformat(_server_config(mapping_names, STANDIN_REFERENCE_NAMES.values())))
    return cache
