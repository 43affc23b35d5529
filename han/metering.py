"""Smart Energy Metering (cluster 0x0702) as a status read sees it: what is read, and what it means in units.

Plain Python on purpose: the coordinator reads ``METERING_ATTRIBUTES`` (zigpy's own
Metering cluster encodes and decodes them); the head-end turns what came back into
values with units (``metering_result``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

METERING_CLUSTER = 0x0702
# What a status read asks a device that serves the Metering cluster (zigpy's attribute names).
METERING_ATTRIBUTES = ("current_summ_delivered", "instantaneous_demand", "unit_of_measure", "multiplier", "divisor")

# Metering UnitofMeasure (SE 1.x D.3.2.2.4.1, zigpy's MeteringUnitofMeasure): what summation and demand are counted in.
METERING_UNITS = {
    0: ("kWh", "kW"),
    1: ("m³", "m³/h"),
    2: ("ft³", "ft³/h"),
    3: ("ccf", "ccf/h"),
    4: ("US gal", "US gal/h"),
    5: ("imp gal", "imp gal/h"),
    6: ("BTU", "BTU/h"),
    7: ("L", "L/h"),
    8: ("kPa (gauge)", "kPa (gauge)"),
    9: ("kPa (absolute)", "kPa (absolute)"),
    10: ("mcf", "mcf/h"),
    11: ("", ""),
}
_METERING_RANGES = {
    "current_summ_delivered": (0, 2**48 - 1),
    "instantaneous_demand": (-(2**23), 2**23 - 1),
    "unit_of_measure": (0, 255),
    "multiplier": (0, 2**24 - 1),
    "divisor": (0, 2**24 - 1),
}


def metering_result(raw: Any) -> dict[str, Any] | None:
    """A status read's Metering attributes as the device sent them, plus their values in units.

    The raw attributes are kept as read (a meter's own counters); ``summation_delivered`` and
    ``demand`` apply the device's multiplier and divisor. Anything out of the attribute's
    range is dropped rather than trusted.
    """
    if not isinstance(raw, dict):
        return None
    values = {
        name: raw[name]
        for name, (low, high) in _METERING_RANGES.items()
        if isinstance(raw.get(name), int) and not isinstance(raw.get(name), bool) and low <= raw[name] <= high
    }
    if not values:
        return None
    unit = values.get("unit_of_measure", 0) & 0x7F  # the top bit says BCD formatting, not another unit
    summation_unit, demand_unit = METERING_UNITS.get(unit, ("", ""))
    multiplier, divisor = values.get("multiplier", 1), values.get("divisor", 1)
    scaled = {}
    for name, key in (("current_summ_delivered", "summation_delivered"), ("instantaneous_demand", "demand")):
        if name in values and divisor:
            scaled[key] = str((Decimal(values[name]) * multiplier / divisor).normalize() + 0)
    return {
        **values,
        **scaled,
        "summation_unit": summation_unit,
        "demand_unit": demand_unit,
    }
