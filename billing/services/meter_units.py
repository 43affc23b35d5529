"""Declaring the unit a meter is read in (a gas meter in m³, a water meter in gallons)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from amiportal.audit.services import audit_append
from amiportal.premises.models import Meter
from billing.models import IntervalReading, MeterUnit
from billing.units import METER_UNITS, UNITS, stored_unit


@dataclass(frozen=True)
class MeterUnitChange:
    """What ``meter_unit_set`` would do: the unit now and after, and whether the meter has readings."""

    meter: Meter
    was: str
    unit: str
    has_readings: bool

    @property
    def changes(self) -> bool:
        return self.was != self.unit

    @property
    def same_stored_unit(self) -> bool:
        return stored_unit(self.was) == stored_unit(self.unit)


def meter_unit_change_checked(*, meter: Meter, unit: str) -> MeterUnitChange:
    """The change to ``unit``, or ValidationError when it is refused; writes nothing.

    Refused for a unit not valid for the meter's kind (``billing.units.METER_UNITS``), and once
    the meter has readings stored in another stored unit: they are whole numbers of the old
    stored unit, and reinterpreting them would change every figure already shown and billed.
    Readings are never rewritten.
    """
    allowed = METER_UNITS[meter.kind]
    if unit not in allowed:
        symbols = ", ".join(UNITS[code].symbol for code in allowed)
        raise ValidationError(f"{meter.get_kind_display()} meters are read in {symbols}, not {unit!r}.")
    was = MeterUnit.objects.filter(meter=meter).values_list("unit", flat=True).first() or allowed[0]
    has_readings = IntervalReading.objects.filter(meter=meter, channel__in=(1, 2)).exists()
    if was != unit and stored_unit(was) != stored_unit(unit) and has_readings:
        raise ValidationError(
            f"Meter {meter.serial_number} already has readings in {UNITS[was].symbol} (stored as whole {UNITS[stored_unit(was)].symbol}); "
            f"its unit cannot change to {UNITS[unit].symbol} (stored as whole {UNITS[stored_unit(unit)].symbol}): "
            "the stored readings would be misread. Nothing was changed."
        )
    return MeterUnitChange(meter, was, unit, has_readings)


@transaction.atomic
def meter_unit_set(*, meter: Meter, unit: str, actor=None) -> MeterUnit | None:
    """Read ``meter`` in ``unit`` from now on (``meter_unit_change_checked`` says when that is refused).

    Stored readings are not rewritten. The change is audited with the old and the new unit.
    """
    Meter.objects.select_for_update(no_key=True).filter(pk=meter.pk).first()  # as ingest locks it
    change = meter_unit_change_checked(meter=meter, unit=unit)
    if not change.changes:
        return MeterUnit.objects.filter(meter=meter).first()
    row, _ = MeterUnit.objects.update_or_create(meter=meter, defaults={"unit": unit})
    audit_append(
        action="billing.meter_unit_set",
        actor=actor,
        actor_label=None if actor else "system",
        target=f"meter:{meter.pk}",
        payload={"unit": unit, "was": change.was},
    )
    return row
