"""Which unit each meter of a batch stores its readings in, and the unit a new meter takes from its first file."""

from __future__ import annotations

from operator import attrgetter

from amiportal.premises.models import Meter
from billing.models import IntervalReading, MeterUnit
from billing.services.ingest.report import RawReading
from billing.units import METER_UNITS, UNITS, meter_unit_for_input, stored_unit

_METER_AND_UNIT = attrgetter("meter", "unit")


def meter_stored_units(meters: dict[str, Meter], rows: list[RawReading]) -> tuple[dict[int, str], dict[int, tuple[str, str, str]]]:
    """(stored unit by meter id, meters that take a unit from this batch: id -> (serial, unit, symbol)).

    A meter is read in its ``MeterUnit``, or its kind's default unit. A meter with neither a
    ``MeterUnit`` nor any reading, whose rows in this batch all suggest one other unit (a gas
    meter's first file in m³), takes that unit: the caller stores it only if the batch writes.
    Called with the meters row-locked, so two first batches cannot both decide.
    """
    declared = dict(MeterUnit.objects.filter(meter_id__in=[m.pk for m in meters.values()]).values_list("meter_id", "unit"))
    units_by_meter: dict[str, set[str]] = {}
    for serial, unit in set(map(_METER_AND_UNIT, rows)):
        units_by_meter.setdefault(serial, set()).add(unit)
    stored: dict[int, str] = {}
    adopted: dict[int, tuple[str, str, str]] = {}
    for serial, meter in meters.items():
        unit = declared.get(meter.pk)
        if unit is None:
            unit = METER_UNITS[meter.kind][0]
            suggested = {meter_unit_for_input(meter.kind, code) for code in units_by_meter.get(serial, ())}
            if len(suggested) == 1 and None not in suggested:
                candidate = suggested.pop()
                if candidate != unit:
                    if not IntervalReading.objects.filter(meter_id=meter.pk, channel__in=(1, 2)).exists():
                        unit = candidate
                        adopted[meter.pk] = (serial, unit, UNITS[unit].symbol)
        stored[meter.pk] = stored_unit(unit)
    return stored, adopted
