"""Declaring the unit a meter is read in (a gas meter in m³, a water meter in gallons)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from amiportal.audit.services import audit_append
from amiportal.premises.models import Meter
from billing.models import IntervalReading, MeterUnit
from billing.units import METER_UNITS, UNITS, stored_unit


@transaction.atomic
def meter_unit_set(*, meter: Meter, unit: str, actor=None) -> MeterUnit | None:
    """Read ``meter`` in ``unit`` from now on (``billing.units.METER_UNITS`` for its kind).

    Refused once the meter has readings stored in another unit: they are whole numbers of the
    old stored unit, and reinterpreting them would change every figure already shown and billed.
    """
    allowed = METER_UNITS[meter.kind]
    if unit not in allowed:
        raise ValidationError(f"A {meter.kind} meter is read in {', '.join(UNITS[code].symbol for code in allowed)}, not {unit!r}.")
    Meter.objects.select_for_update(no_key=True).filter(pk=meter.pk).first()  # as ingest locks it
    current = MeterUnit.objects.filter(meter=meter).values_list("unit", flat=True).first() or allowed[0]
    if current == unit:
        return MeterUnit.objects.filter(meter=meter).first()
    if stored_unit(current) != stored_unit(unit) and IntervalReading.objects.filter(meter=meter, channel__in=(1, 2)).exists():
        raise ValidationError(f"Meter {meter.serial_number} already has readings in {UNITS[current].symbol}; its unit cannot change.")
    row, _ = MeterUnit.objects.update_or_create(meter=meter, defaults={"unit": unit})
    audit_append(
        action="billing.meter_unit_set",
        actor=actor,
        actor_label=None if actor else "system",
        target=f"meter:{meter.pk}",
        payload={"unit": unit, "was": current},
    )
    return row
