"""The spectra file: every source, grism and order in one file that specutils reads.

Synthetic spectra with known values (NaN and masked entries, both grisms, orders +1 and
+2, with and without a contamination model) are written, read back with specutils'
own ``SpectrumList.read``, and compared column by column; the ECSV summary is read back
with ``Table.read``; refused calls give clear messages and leave files alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy import units as u
from astropy.nddata import StdDevUncertainty, VarianceUncertainty
from astropy.table import Table
from specutils import Spectrum, SpectrumList

import wfss_helpers.field.spectra_file as sf
from wfss_helpers.field.spectra_file import (
    FLAM_UNIT,
    FORMAT,
    SourceSpectrum,
    read_spectra,
    write_spectra,
)
from wfss_helpers.field import summary_table

PACKAGE = Path(sf.__file__).parents[1]


def make_spectrum(n, start, *, seed, contamination=True, nan_at=(), masked_at=()):
    """A flux_calibrate-like Spectrum with known values."""
    rng = np.random.default_rng(seed)
    wavelength = np.linspace(start, start + 1.0, n) * u.micron
    flux = rng.normal(2e-19, 1e-20, n)
    error = np.full(n, 1e-20) * (1 + np.arange(n) / n)
    mask = np.zeros(n, dtype=bool)
    flags = np.zeros(n, dtype=np.uint16)
    for i in nan_at:
        flux[i] = error[i] = np.nan
        mask[i] = True
        flags[i] |= 1  # BAD_PIXEL
    for i in masked_at:
        mask[i] = True
        flags[i] |= 2  # OFF_DETECTOR
    flags[n // 2 : n // 2 + 3] |= 4  # OTHER_ORDER
    flags[-1] |= 16  # MODELLED_CONTAMINATION
    meta = {
        "flags": flags,
        "contaminated": (flags & (4 | 8 | 16)) != 0,
        "contaminants": ("order +2 of this source",),
        "centring_offset": 0.25 * seed,
        "rate_err_source": "ERR",
    }
    if contamination:
        meta["contamination"] = np.linspace(1e-21, 5e-21, n) * FLAM_UNIT
    return Spectrum(
        flux=flux * FLAM_UNIT,
        spectral_axis=wavelength,
        uncertainty=StdDevUncertainty(error * FLAM_UNIT),
        mask=mask,
        meta=meta,
    )


@pytest.fixture
def entries():
    return [
        SourceSpectrum(
            make_spectrum(40, 3.0, seed=1, nan_at=(0, 1), masked_at=(39,)),
            source_id=101,
            ra=53.16 * u.deg,
            dec=-27.78 * u.deg,
            grism="GRISMR",
            order="+1",
        ),
        SourceSpectrum(
            make_spectrum(35, 3.05, seed=2, nan_at=(10,)),
            source_id=101,
            ra=53.16 * u.deg,
            dec=-27.78 * u.deg,
            grism="GRISMC",
            order=1,
        ),
        {
            "spectrum": make_spectrum(20, 2.0, seed=3, contamination=False),
            "source_id": np.int64(202),
            "ra": 53.17,
            "dec": -27.79,
            "grism": "grismr",
            "order": "2",
            "method": "optimal",
        },
        SourceSpectrum(
            make_spectrum(25, 2.1, seed=4, masked_at=(0, 24)),
            source_id=202,
            ra=(53.17 * u.deg).to(u.arcsec),
            dec=-27.79 * u.deg,
            grism="GRISMC",
            order="+2",
        ),
    ]


EXPECTED_IDS = [
    (101, "GRISMR", "+1", "box"),
    (101, "GRISMC", "+1", "box"),
    (202, "GRISMR", "+2", "optimal"),
    (202, "GRISMC", "+2", "box"),
]


def _assert_same(original, read):
    """Every column, unit and identifier of ``read`` equals ``original``."""
    spectrum = original.spectrum
    assert read.spectral_axis.unit == u.micron
    np.testing.assert_array_equal(
        read.spectral_axis.value, spectrum.spectral_axis.value
    )
    assert read.flux.unit == FLAM_UNIT
    np.testing.assert_array_equal(read.flux.value, spectrum.flux.to_value(FLAM_UNIT))
    assert isinstance(read.uncertainty, StdDevUncertainty)
    assert read.uncertainty.unit == FLAM_UNIT
    np.testing.assert_array_equal(
        read.uncertainty.quantity.to_value(FLAM_UNIT),
        spectrum.uncertainty.quantity.to_value(FLAM_UNIT),
    )
    assert read.mask.dtype == bool
    np.testing.assert_array_equal(read.mask, spectrum.mask)
    meta = read.meta
    assert meta["flags"].dtype == np.uint16
    np.testing.assert_array_equal(meta["flags"], spectrum.meta["flags"])
    assert meta["contaminated"].dtype == bool
    np.testing.assert_array_equal(meta["contaminated"], spectrum.meta["contaminated"])
    assert meta["contamination"].unit == FLAM_UNIT
    if "contamination" in spectrum.meta:
        assert meta["contamination_modelled"] is True
        np.testing.assert_array_equal(
            meta["contamination"].value,
            spectrum.meta["contamination"].to_value(FLAM_UNIT),
        )
    else:
        assert meta["contamination_modelled"] is False
        assert np.isnan(meta["contamination"].value).all()
    assert type(meta["source_id"]) is int and meta["source_id"] == original.source_id
    for key in ("ra", "dec"):
        assert meta[key].unit == u.deg
        assert meta[key].value == pytest.approx(getattr(original, key).value, abs=1e-12)
    for key in ("grism", "order", "method"):
        assert meta[key] == getattr(original, key)
    assert meta["centring_offset"] == spectrum.meta["centring_offset"]
    assert meta["rate_err_source"] == "ERR"


def test_every_column_round_trips_through_specutils(entries, tmp_path):
    path = write_spectra(tmp_path / "field_spectra.fits", entries)
    assert path == tmp_path / "field_spectra.fits"
    spectra = SpectrumList.read(path, format=FORMAT)
    assert isinstance(spectra, SpectrumList) and len(spectra) == 4
    records = [sf._as_record(entry, i) for i, entry in enumerate(entries)]
    assert [record.key for record in records] == EXPECTED_IDS
    for record, spectrum in zip(records, spectra):
        _assert_same(record, spectrum)
    # the masked and NaN entries came back as written
    assert np.isnan(spectra[0].flux[:2]).all() and spectra[0].mask[[0, 1, 39]].all()
    assert spectra[0].meta["flags"][0] == 1 and spectra[0].meta["flags"][39] == 2 | 16


def test_format_is_found_without_naming_it(entries, tmp_path):
    path = write_spectra(tmp_path / "field.fits", entries)
    spectra = SpectrumList.read(path)
    assert [s.meta["source_id"] for s in spectra] == [101, 101, 202, 202]
    assert [s.meta["order"] for s in read_spectra(path)] == ["+1", "+1", "+2", "+2"]
    with pytest.raises(ValueError, match=r"holds 4 spectra.*SpectrumList\.read"):
        Spectrum.read(path)
    single = write_spectra(tmp_path / "one.fits", entries[:1])
    _assert_same(entries[0], Spectrum.read(single))


def test_each_extension_is_also_a_tabular_fits_spectrum(entries, tmp_path):
    path = write_spectra(tmp_path / "field.fits", entries)
    plain = Spectrum.read(path, format="tabular-fits", hdu=2)
    np.testing.assert_array_equal(
        plain.flux.to_value(FLAM_UNIT), entries[1].spectrum.flux.to_value(FLAM_UNIT)
    )
    np.testing.assert_array_equal(
        plain.uncertainty.quantity.to_value(FLAM_UNIT),
        entries[1].spectrum.uncertainty.quantity.to_value(FLAM_UNIT),
    )
    np.testing.assert_array_equal(plain.mask, entries[1].spectrum.mask)


def test_a_list_read_back_writes_the_same_file_again(entries, tmp_path):
    first = SpectrumList.read(write_spectra(tmp_path / "a.fits", entries))
    first.write(tmp_path / "b.fits", format=FORMAT)
    write_spectra(tmp_path / "c.fits", first)
    records = [sf._as_record(entry, i) for i, entry in enumerate(entries)]
    for name in ("b.fits", "c.fits"):
        again = read_spectra(tmp_path / name)
        for record, spectrum in zip(records, again):
            _assert_same(record, spectrum)


def test_other_flambda_units_and_uncertainty_types_are_converted(tmp_path):
    spectrum = make_spectrum(10, 3.0, seed=5)
    si = u.W / u.m**2 / u.micron
    converted = Spectrum(
        flux=spectrum.flux.to(si),
        spectral_axis=spectrum.spectral_axis.to(u.AA),
        uncertainty=VarianceUncertainty(spectrum.uncertainty.quantity.to(si) ** 2),
        mask=spectrum.mask,
        meta=spectrum.meta,
    )
    entry = SourceSpectrum(converted, 7, 10.0, 20.0, "GRISMR", "+1")
    read = SpectrumList.read(write_spectra(tmp_path / "si.fits", [entry]))[0]
    assert read.flux.unit == FLAM_UNIT and read.spectral_axis.unit == u.micron
    np.testing.assert_allclose(read.flux.value, spectrum.flux.value, rtol=1e-12)
    np.testing.assert_allclose(
        read.spectral_axis.value, spectrum.spectral_axis.value, rtol=1e-12
    )
    np.testing.assert_allclose(
        read.uncertainty.array, spectrum.uncertainty.array, rtol=1e-12
    )


def test_missing_contaminated_is_derived_from_flags(tmp_path):
    spectrum = make_spectrum(12, 3.0, seed=6)
    expected = spectrum.meta.pop("contaminated")
    entry = SourceSpectrum(spectrum, 1, 10.0, 20.0, "GRISMC", 1)
    read = read_spectra(write_spectra(tmp_path / "derived.fits", [entry]))[0]
    np.testing.assert_array_equal(read.meta["contaminated"], expected)


def test_summary_round_trips_as_ecsv_with_units(entries, tmp_path):
    table = summary_table(entries)
    assert len(table) == 4
    path = tmp_path / "field_spectra.ecsv"
    table.write(path, format="ascii.ecsv")
    back = Table.read(path, format="ascii.ecsv")
    assert back.colnames == table.colnames
    assert back["ra"].unit == u.deg and back["dec"].unit == u.deg
    assert back["wavelength_min"].unit == u.micron
    assert back["median_flux"].unit == FLAM_UNIT
    assert back["median_snr"].unit is None
    assert back["contamination_fraction"].description.startswith("sum(contamination)")
    assert list(back["source_id"]) == [101, 101, 202, 202]
    assert list(back["grism"]) == ["GRISMR", "GRISMC", "GRISMR", "GRISMC"]
    assert list(back["order"]) == ["+1", "+1", "+2", "+2"]
    assert list(back["method"]) == ["box", "box", "optimal", "box"]
    assert list(back["n_entries"]) == [40, 35, 20, 25]
    assert list(back["n_valid"]) == [37, 34, 20, 23]
    assert list(back["n_masked"]) == [3, 1, 0, 2]
    for name in table.colnames:
        if table[name].dtype.kind == "f":
            np.testing.assert_array_equal(back[name], table[name])
        else:
            assert list(back[name]) == list(table[name])

    first = entries[0].spectrum
    valid = ~first.mask
    wavelength = first.spectral_axis.value[valid]
    assert back["wavelength_min"][0] == wavelength.min()
    assert back["wavelength_max"][0] == wavelength.max()
    flux = first.flux.value[valid]
    snr = flux / first.uncertainty.array[valid]
    assert back["median_snr"][0] == pytest.approx(np.median(snr))
    assert back["n_flagged"][0] == np.count_nonzero(first.meta["flags"])
    assert back["contaminated_fraction"][0] == pytest.approx(
        first.meta["contaminated"][valid].mean()
    )
    contamination = first.meta["contamination"].value[valid]
    assert back["contamination_fraction"][0] == pytest.approx(
        contamination.sum() / (flux + contamination).sum()
    )
    assert np.isnan(back["contamination_fraction"][2])  # no contamination model

    # the same summary from the spectra read back
    spectra = read_spectra(write_spectra(tmp_path / "field.fits", entries))
    again = summary_table(spectra)
    for name in table.colnames:
        if table[name].dtype.kind == "f":
            np.testing.assert_allclose(again[name], table[name], rtol=1e-12)
        else:
            assert list(again[name]) == list(table[name])


def _with(spectrum, **changes):
    kwargs = {
        "flux": spectrum.flux,
        "spectral_axis": spectrum.spectral_axis,
        "uncertainty": spectrum.uncertainty,
        "mask": spectrum.mask,
        "meta": dict(spectrum.meta),
    }
    meta = changes.pop("meta", {})
    kwargs.update(changes)
    kwargs["meta"].update(meta)
    for key in [key for key, value in kwargs["meta"].items() if value is None]:
        del kwargs["meta"][key]
    return Spectrum(**kwargs)


def _entry(spectrum, **changes):
    entry = {
        "spectrum": spectrum,
        "source_id": 5,
        "ra": 10.0,
        "dec": 20.0,
        "grism": "GRISMR",
        "order": "+1",
    }
    entry.update(changes)
    return entry


GOOD = make_spectrum(10, 3.0, seed=7)

REFUSALS = [
    ("empty list", [], ValueError, "spectra is empty"),
    (
        "flux in Jy",
        [_entry(_with(GOOD, flux=GOOD.flux.value * u.Jy, uncertainty=None))],
        ValueError,
        "not F_lambda",
    ),
    (
        "flags of another length",
        [_entry(_with(GOOD, meta={"flags": np.zeros(9, np.uint16)}))],
        ValueError,
        r"meta\['flags'\] has shape \(9,\) but the spectrum has 10 entries",
    ),
    (
        "contamination of another length",
        [_entry(_with(GOOD, meta={"contamination": np.zeros(11) * FLAM_UNIT}))],
        ValueError,
        r"meta\['contamination'\] has shape \(11,\)",
    ),
    (
        "contamination without a unit",
        [_entry(_with(GOOD, meta={"contamination": np.zeros(10)}))],
        TypeError,
        "must be an astropy Quantity in F_lambda",
    ),
    (
        "contamination in DN/s",
        [_entry(_with(GOOD, meta={"contamination": np.zeros(10) * u.DN / u.s}))],
        ValueError,
        "not F_lambda",
    ),
    (
        "no flags",
        [_entry(_with(GOOD, meta={"flags": None}))],
        ValueError,
        "spectrum.meta has no 'flags'",
    ),
    (
        "float flags",
        [_entry(_with(GOOD, meta={"flags": np.zeros(10)}))],
        TypeError,
        "integer bitmask",
    ),
    (
        "no uncertainty",
        [_entry(_with(GOOD, uncertainty=None))],
        ValueError,
        "spectrum has no uncertainty",
    ),
    ("unknown grism", [_entry(GOOD, grism="F444W")], ValueError, "grism must be one"),
    ("order as text", [_entry(GOOD, order="first")], ValueError, "order must be an"),
    ("source id as float", [_entry(GOOD, source_id=5.0)], TypeError, "source_id must"),
    ("RA as text", [_entry(GOOD, ra="10:00:00")], TypeError, "ra must be one angle"),
    ("Dec in pixels", [_entry(GOOD, dec=3 * u.pix)], ValueError, "is not an angle"),
    ("Dec beyond the pole", [_entry(GOOD, dec=95.0)], ValueError, r"\[-90, 90\]"),
    ("NaN RA", [_entry(GOOD, ra=np.nan)], ValueError, "must be finite"),
    (
        "the same spectrum twice",
        [_entry(GOOD), _entry(GOOD)],
        ValueError,
        r"spectra\[0\] and spectra\[1\] are both source 5",
    ),
    ("a dict with a typo", [{**_entry(GOOD), "grsm": "GRISMR"}], ValueError, "'grsm'"),
    ("a bare Spectrum", [GOOD], ValueError, "does not say which source"),
    ("an array", [np.zeros(10)], TypeError, "give SourceSpectrum records"),
]


@pytest.mark.parametrize("case", REFUSALS, ids=[case[0] for case in REFUSALS])
def test_bad_input_is_refused_with_a_clear_message(case, tmp_path):
    _, spectra, exception, pattern = case
    for call in (
        lambda: write_spectra(tmp_path / "out.fits", spectra),
        lambda: summary_table(spectra),
    ):
        with pytest.raises(exception, match=pattern) as info:
            call()
        origin = Path(info.traceback[-1].path)
        assert PACKAGE in origin.parents, f"raised from {origin}, not wfss_helpers"
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary file left


def test_an_existing_file_is_not_modified_when_refused(entries, tmp_path):
    path = write_spectra(tmp_path / "field.fits", entries[:2])
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="already exists.*overwrite=True"):
        write_spectra(path, entries)
    with pytest.raises(FileExistsError, match="already exists"):
        SpectrumList.read(path).write(path, format=FORMAT)
    bad = [_entry(_with(GOOD, flux=GOOD.flux.value * u.Jy, uncertainty=None))]
    with pytest.raises(ValueError, match="not F_lambda"):
        write_spectra(path, bad, overwrite=True)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["field.fits"]

    write_spectra(path, entries, overwrite=True)
    assert len(read_spectra(path)) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["field.fits"]


def test_reading_something_else_is_refused_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_spectra(tmp_path / "missing.fits")
    other = tmp_path / "plain.fits"
    GOOD.write(other, format="tabular-fits")
    with pytest.raises(ValueError, match="is not a wfss-helpers-spectra file"):
        read_spectra(other)
