"""Units as utilities measure them, with exact conversions.

Every unit has an exact Decimal size in its quantity's base: joules for energy, litres for
volume. Readings are stored as whole numbers of a meter's *stored* unit, chosen so that a
meter's own readings convert exactly (a meter read in m³ stores litres, one read in ft³ or
CCF stores thousandths of a cubic foot, one read in gallons thousandths of a gallon). Volume
and energy meet only through a gas tariff's calorific value (``GasEnergy``).

Sources for the exact factors: NIST Special Publication 811 (2008), appendix B.8 (foot,
U.S. gallon, British thermal unit (IT), therm (U.S.)); the kilowatt hour is 3.6 MJ exactly.
The ESPI codes are ``UnitSymbolKind`` in ESPI 4.0 (espi.xsd).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from amiportal.premises.models import MeterKind

ENERGY, VOLUME = "energy", "volume"


@dataclass(frozen=True)
class Unit:
    code: str  # how files and forms name it: "m3", "ccf"
    symbol: str  # how people read it: "m³", "CCF"
    quantity: str  # ENERGY or VOLUME
    size: Decimal  # in joules (energy) or litres (volume)
    stored: str  # the code of the whole-number unit a meter read in this unit stores


_FOOT3_LITRES = Decimal("28.316846592")  # (0.3048 m)³, exact
_US_GALLON_LITRES = Decimal("3.785411784")  # 231 in³, exact
_THERM_JOULES = Decimal("105480400")  # therm (U.S.), NIST SP 811 B.8
_BTU_JOULES = Decimal("1055.05585262")  # British thermal unit (IT), NIST SP 811 B.8

UNITS: dict[str, Unit] = {
    unit.code: unit
    for unit in (
        Unit("Wh", "Wh", ENERGY, Decimal(3600), "Wh"),
        Unit("kWh", "kWh", ENERGY, Decimal(3_600_000), "Wh"),
        Unit("J", "J", ENERGY, Decimal(1), "Wh"),
        Unit("MJ", "MJ", ENERGY, Decimal(1_000_000), "Wh"),
        Unit("btu", "Btu", ENERGY, _BTU_JOULES, "mtherm"),
        Unit("mtherm", "mtherm", ENERGY, _THERM_JOULES / 1000, "mtherm"),
        Unit("therm", "therms", ENERGY, _THERM_JOULES, "mtherm"),
        Unit("L", "litres", VOLUME, Decimal(1), "L"),
        Unit("m3", "m³", VOLUME, Decimal(1000), "L"),
        Unit("mft3", "thousandths of ft³", VOLUME, _FOOT3_LITRES / 1000, "mft3"),
        Unit("ft3", "ft³", VOLUME, _FOOT3_LITRES, "mft3"),
        Unit("ccf", "CCF", VOLUME, _FOOT3_LITRES * 100, "mft3"),
        Unit("mgal", "thousandths of a gallon", VOLUME, _US_GALLON_LITRES / 1000, "mgal"),
        Unit("gal", "gallons", VOLUME, _US_GALLON_LITRES, "mgal"),
        Unit("kgal", "thousand gallons", VOLUME, _US_GALLON_LITRES * 1000, "mgal"),
        Unit("impgal", "imperial gallons", VOLUME, Decimal("4.54609"), "L"),
    )
}

# The units a meter of each kind may be read in; the first is the kind's default (a meter
# without a ``MeterUnit`` row). Electricity is always kWh; gas in energy or volume; water in volume.
METER_UNITS: dict[str, tuple[str, ...]] = {
    MeterKind.ELECTRIC: ("kWh",),
    MeterKind.GAS: ("therm", "m3", "ft3", "ccf"),
    MeterKind.WATER: ("L", "m3", "gal", "ft3", "ccf"),
}

# The units a tariff of each commodity may price per; the first is the form's default.
TARIFF_UNITS: dict[str, tuple[str, ...]] = {
    MeterKind.ELECTRIC: ("kWh",),
    MeterKind.GAS: ("therm", "kWh", "m3", "ccf", "ft3"),
    MeterKind.WATER: ("m3", "L", "gal", "kgal", "ccf"),
}

# The units a file may give each kind of meter's readings in (then converted to the meter's stored unit).
INPUT_UNITS: dict[str, frozenset[str]] = {
    MeterKind.ELECTRIC: frozenset({"Wh", "kWh", "J", "MJ"}),
    # Gas: therms (and Btu) or volume. Wh and kWh are refused: a gas meter's file in Wh is far more
    # often an electricity file sent to the wrong meter than a gas file in electrical units.
    MeterKind.GAS: frozenset(code for code, unit in UNITS.items() if unit.quantity == VOLUME or unit.stored == "mtherm"),
    MeterKind.WATER: frozenset(code for code, unit in UNITS.items() if unit.quantity == VOLUME),
}

# What a file's unit says about the meter that produced it (for a meter with no readings yet).
_METER_UNIT_FOR_INPUT = {
    "Wh": "kWh",
    "kWh": "kWh",
    "mtherm": "therm",
    "therm": "therm",
    "L": "L",
    "m3": "m3",
    "mft3": "ft3",
    "ft3": "ft3",
    "ccf": "ccf",
    "mgal": "gal",
    "gal": "gal",
}

# ESPI UnitSymbolKind code -> (unit code, the finer unit the parser gives whole numbers in)
ESPI_UOM: dict[int, str] = {
    72: "Wh",
    31: "J",
    169: "therm",
    132: "btu",
    42: "m3",
    166: "m3",  # m3uncompensated
    167: "m3",  # m3compensated (corrected to standard conditions by the meter)
    119: "ft3",
    120: "ft3",  # ft3compensated
    134: "L",
    128: "gal",
    130: "impgal",
}
# How a stored unit is written in ESPI: (uom, powerOfTenMultiplier). Litres as m³ × 10⁻³, as the
# writer has always given water (and gas read in m³ now).
ESPI_FOR_STORED = {"Wh": (72, 0), "mtherm": (169, -3), "L": (42, -3), "mft3": (119, -3), "mgal": (128, -3)}
# The finer unit a parser gives whole numbers in, so that a powerOfTenMultiplier of -3 stays exact.
FINE_UNIT = {"Wh": "Wh", "kWh": "Wh", "J": "J", "MJ": "J", "btu": "btu", "therm": "mtherm", "mtherm": "mtherm", "L": "L", "m3": "L"}
FINE_UNIT |= {"ft3": "mft3", "mft3": "mft3", "ccf": "mft3", "gal": "mgal", "mgal": "mgal", "kgal": "mgal", "impgal": "impgal"}


class UnknownUnit(ValueError):
    """A unit this portal does not know; the message names it."""


def unit_get(code: str) -> Unit:
    unit = UNITS.get(code)
    if unit is None:
        shown = code if len(code) <= 20 else code[:20] + "…"
        raise UnknownUnit(f"unit {shown!r} is not one this portal knows ({', '.join(UNITS)})")
    return unit


def espi_unit(uom: int) -> str | None:
    """The unit code for an ESPI ``uom``, or None when it is not energy or volume this portal stores."""
    return ESPI_UOM.get(uom)


def stored_unit(meter_unit: str) -> str:
    """The whole-number unit readings of a meter read in ``meter_unit`` are stored in."""
    return UNITS[meter_unit].stored


def meter_unit_for_input(kind: str, input_unit: str) -> str | None:
    """The meter unit a file's ``input_unit`` suggests for a ``kind`` meter, if that kind may be read in it."""
    found = _METER_UNIT_FOR_INPUT.get(input_unit)
    allowed = METER_UNITS.get(kind, ())
    if found is None or found in allowed:
        return found
    # Litres of gas come from a meter read in m³ (a parser gives m³ as whole litres): the kind's unit stored alike.
    return next((unit for unit in allowed if UNITS[unit].stored == UNITS[found].stored), None)


def conversion_factor(source: str, target: str) -> Decimal:
    """How many ``target`` one ``source`` is; UnknownUnit or ValueError (naming both) when they measure different things."""
    a, b = unit_get(source), unit_get(target)
    if a.quantity != b.quantity:
        raise ValueError(f"{a.symbol} ({a.quantity}) cannot be turned into {b.symbol} ({b.quantity}) without a calorific value")
    return a.size / b.size


def convert(value: Decimal | int, source: str, target: str) -> Decimal:
    """``value`` in ``source`` as an exact Decimal amount of ``target``."""
    if source == target:
        return Decimal(value)
    return Decimal(value) * conversion_factor(source, target)


def whole(amount: Decimal) -> int:
    """A stored whole number (banker's rounding, so repeated halves do not drift one way)."""
    return int(amount.to_integral_value(rounding=ROUND_HALF_EVEN))


def display(value: int | Decimal, stored: str, meter_unit: str) -> Decimal:
    """A stored amount in the meter's unit, as people read it."""
    return convert(value, stored, meter_unit)


# --- Gas: volume to energy ------------------------------------------------------------

# UK gas bills: kWh = m³ × volume correction × calorific value (MJ/m³) ÷ 3.6. The correction
# factor 1.02264 (temperature and pressure) is the one the Gas (Calculation of Thermal Energy)
# Regulations 1996 (SI 1996/439, as amended) fix; 39.5 MJ/m³ is a typical declared calorific
# value of GB natural gas (National Gas publishes the daily figures, about 37.5 to 43.0).
DEFAULT_CALORIFIC_VALUE_MJ_PER_M3 = Decimal("39.5")
DEFAULT_VOLUME_CORRECTION = Decimal("1.02264")


@dataclass(frozen=True)
class GasEnergy:
    """How much energy a litre of this tariff's gas carries, in joules.

    From a calorific value and volume correction (UK: ``mj_per_m3`` and ``correction``), or
    from a therm factor per hundred cubic feet (US bills: therms = CCF × factor, e.g. 1.037
    for 1,037 Btu per cubic foot, the U.S. average the EIA reports).
    """

    joules_per_litre: Decimal

    @classmethod
    def from_definition(cls, definition: dict) -> GasEnergy:
        therms_per_ccf = definition.get("therms_per_ccf")
        if therms_per_ccf is not None:
            return cls(Decimal(str(therms_per_ccf)) * _THERM_JOULES / UNITS["ccf"].size)
        mj = Decimal(str(definition.get("calorific_value_mj_per_m3", DEFAULT_CALORIFIC_VALUE_MJ_PER_M3)))
        correction = Decimal(str(definition.get("volume_correction", DEFAULT_VOLUME_CORRECTION)))
        return cls(mj * correction * 1_000_000 / 1000)

    def convert(self, value: Decimal | int, source: str, target: str) -> Decimal:
        """``value`` of ``source`` in ``target``, across volume and energy through this gas's energy content."""
        a, b = unit_get(source), unit_get(target)
        if a.quantity == b.quantity:
            return Decimal(value) * a.size / b.size
        if a.quantity == VOLUME:
            return Decimal(value) * a.size * self.joules_per_litre / b.size
        return Decimal(value) * a.size / self.joules_per_litre / b.size
