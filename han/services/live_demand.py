"""Live demand at the head-end: a meter's relayed demand reports kept as its latest value (SO-C5, BF-CUST-1).

A ``metering`` report is accepted only from the coordinator of the device's own premise,
only for a device verified on that network, and only if it is newer than what is stored,
so a late or replayed report never turns the clock back.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q

from han.metering import metering_result
from han.models import Coordinator, Device, DeviceDemand, DeviceState


def live_demand_record(*, coordinator: Coordinator, detail: dict[str, Any], signed_at: datetime) -> str:
    """Store the demand a coordinator relayed for one of its verified devices; an outcome word for the batch."""
    device = Device.objects.filter(
        eui64=str(detail.get("eui64", "")).lower()[:23], network__coordinator=coordinator, state=DeviceState.VERIFIED
    ).first()
    if device is None:
        return "no such device"
    values = metering_result({key: detail.get(key) for key in ("instantaneous_demand", "unit_of_measure", "multiplier", "divisor")})
    if not values or "demand" not in values:
        return "refused"
    try:
        demand = Decimal(values["demand"]).quantize(Decimal("0.000001"))
    except InvalidOperation:
        return "refused"
    if abs(demand) >= Decimal(10) ** 12:
        return "refused"
    updated = DeviceDemand.objects.filter(Q(measured_at__lt=signed_at), device=device).update(
        demand=demand, demand_unit=values["demand_unit"], measured_at=signed_at
    )
    if not updated:
        _, created = DeviceDemand.objects.get_or_create(
            device=device, defaults={"demand": demand, "demand_unit": values["demand_unit"], "measured_at": signed_at}
        )
        if not created:
            return "older"
    Device.objects.filter(pk=device.pk).update(last_seen_at=signed_at)
    return "metering"
