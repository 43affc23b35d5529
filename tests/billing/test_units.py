"""Units as utilities measure them: exact factors, the gas energy conversions with hand-worked figures, unknown units named."""

from decimal import Decimal

import pytest

from billing.units import ESPI_UOM, UNITS, GasEnergy, UnknownUnit, convert, meter_unit_for_input, stored_unit, unit_get, whole

NINE = Decimal("0.000000001")


def test_volume_factors_are_exact():
    assert convert(1, "m3", "L") == 1000
    assert convert(1, "ccf", "ft3") == 100
    assert convert(1, "ft3", "L") == Decimal("28.316846592")  # (0.3048 m)³
    assert convert(1, "gal", "L") == Decimal("3.785411784")  # 231 in³
    assert convert(1, "kgal", "gal") == 1000
    assert convert(2500, "mgal", "gal") == Decimal("2.5")


def test_energy_factors_are_exact():
    assert convert(1, "kWh", "Wh") == 1000
    assert convert(1, "therm", "mtherm") == 1000
    assert convert(1, "therm", "J") == 105_480_400  # therm (U.S.), NIST SP 811
    assert convert(1, "kWh", "MJ") == Decimal("3.6")


def test_volume_and_energy_do_not_mix_without_a_calorific_value():
    with pytest.raises(ValueError, match="without a calorific value"):
        convert(1, "m3", "kWh")


def test_uk_gas_100_m3_is_1122_kwh_at_the_default_calorific_value():
    # 100 m³ × 1.02264 × 39.5 MJ/m³ ÷ 3.6 MJ/kWh = 4,039.428 MJ ÷ 3.6 = 1,122.0633… kWh
    kwh = GasEnergy.from_definition({}).convert(100, "m3", "kWh")
    assert kwh.quantize(Decimal("0.0001")) == Decimal("1122.0633")
    # the same energy in therms: 4,039.428 MJ ÷ 105.4804 MJ
    therms = GasEnergy.from_definition({}).convert(100, "m3", "therm")
    assert therms.quantize(NINE) == (Decimal("4039.428") / Decimal("105.4804")).quantize(NINE)


def test_us_gas_50_ccf_is_51_85_therms_at_a_therm_factor_of_1_037():
    energy = GasEnergy.from_definition({"therms_per_ccf": "1.037"})
    assert energy.convert(50, "ccf", "therm").quantize(NINE) == Decimal("51.85")
    # from the meter's stored thousandths of a cubic foot
    assert energy.convert(5_000_000, "mft3", "therm").quantize(NINE) == Decimal("51.85")


def test_a_meter_stores_its_own_unit_exactly():
    assert [stored_unit(unit) for unit in ("kWh", "therm", "m3", "L", "ft3", "ccf", "gal")] == [
        "Wh", "mtherm", "L", "L", "mft3", "mft3", "mgal",
    ]  # fmt: skip
    assert whole(convert(3, "ccf", "mft3")) == 300_000 and whole(convert(7, "gal", "mgal")) == 7000


def test_espi_unit_codes_are_espi_4_unit_symbol_kind():
    # espi.xsd UnitSymbolKind: 72 Wh, 42 m3, 119 ft3, 128 usGal, 134 litre, 169 therm
    assert {code: ESPI_UOM[code] for code in (72, 42, 119, 128, 134, 169)} == {
        72: "Wh", 42: "m3", 119: "ft3", 128: "gal", 134: "L", 169: "therm",
    }  # fmt: skip


def test_a_file_unit_suggests_the_meter_unit_only_where_the_kind_is_read_in_it():
    assert meter_unit_for_input("gas", "L") == "m3"  # a gas meter is read in m³, which a parser gives as whole litres
    assert meter_unit_for_input("gas", "m3") == "m3" and meter_unit_for_input("water", "mgal") == "gal"
    assert meter_unit_for_input("electric", "m3") is None


def test_an_unknown_unit_is_named_in_the_error():
    with pytest.raises(UnknownUnit, match="unit 'kW' is not one this portal knows"):
        unit_get("kW")
    assert "m3" in UNITS


def test_a_utility_bills_consumption_shows_in_the_meters_own_unit():
    from billing.templatetags.billing_format import quantity

    assert quantity(12_000, "m3") == "12.0 m³"  # stored as litres
    assert quantity(4_500_000, "gal") == "4,500.0 gallons"  # stored as thousandths of a gallon
    assert quantity(2_500_000, "ccf") == "25.0 CCF"  # stored as thousandths of a ft³
    assert quantity(1500, "Wh") == "1.5 kWh" and quantity(3120, "mtherm") == "3.1 therms"
