"""The unit each meter is read in (``MeterUnit``, else its kind's default), for every reader and writer of its readings."""

from __future__ import annotations

from amiportal.premises.models import Meter
from billing.models import MeterUnit
from billing.units import ESPI_FOR_STORED, METER_UNITS, stored_unit


def meter_unit(meter: Meter) -> str:
    """The unit the meter is read in: its ``MeterUnit``, else its kind's default (kWh, therms, litres)."""
    if len(METER_UNITS[meter.kind]) == 1:
        return METER_UNITS[meter.kind][0]  # electricity is always kWh: no query
    found = MeterUnit.objects.filter(meter_id=meter.pk).values_list("unit", flat=True).first()
    return found or METER_UNITS[meter.kind][0]


def meter_stored_unit(meter: Meter) -> str:
    """The whole-number unit the meter's readings are stored in (Wh, mtherm, L, mft3, mgal)."""
    return stored_unit(meter_unit(meter))


def espi_reading_unit(meter: Meter) -> tuple[int, int]:
    """(uom, powerOfTenMultiplier) of the meter's stored readings in an ESPI ReadingType."""
    return ESPI_FOR_STORED[meter_stored_unit(meter)]
