"""Template filters for HAN pages: how device readings read to a person."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def metering_summary(metering: Any) -> str:
    """'1234.567 kWh delivered, demand 0.512 kW' from a status read's ``metering`` result."""
    if not isinstance(metering, dict):
        return ""
    parts = []
    if metering.get("summation_delivered") is not None:
        parts.append(f"{metering['summation_delivered']} {metering.get('summation_unit', '')}".strip() + " delivered")
    if metering.get("demand") is not None:
        parts.append(f"demand {metering['demand']} {metering.get('demand_unit', '')}".strip())
    return "Meter: " + ", ".join(parts) if parts else ""


@register.filter
def status_read_outcome(outcome: Any) -> str:
    """One device's part of a status read to a class: its model and meter reading, or that it did not answer."""
    if not isinstance(outcome, dict):
        return ""
    if outcome.get("outcome") != "reading":
        return f"no answer ({outcome.get('message') or outcome.get('failed') or 'unknown'})"
    parts = [" ".join(str(outcome.get(key) or "") for key in ("manufacturer", "model")).strip() or "answered"]
    if metering := metering_summary(outcome.get("metering")):
        parts.append(metering)
    return "; ".join(parts)
