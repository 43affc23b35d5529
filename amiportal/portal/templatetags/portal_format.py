import json
import zoneinfo
from datetime import UTC, datetime

from django import template

register = template.Library()


@register.filter
def audit_payload(text: str) -> str:
    """Show an audit payload as 'key: value' pairs instead of raw JSON."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        return text
    if not data:
        return ""
    return "; ".join(f"{key.replace('_', ' ')}: {value}" for key, value in sorted(data.items()))


@register.filter
def action_label(action: str) -> str:
    return action.replace("_", " ").replace(".", ": ", 1)


@register.filter
def local_time(value: datetime | None, zone: str = "") -> str:
    """A moment in the reader's zone, with the zone named: "3 Dec 2026, 09:14 CST"."""
    if value is None:
        return ""
    try:
        tz = zoneinfo.ZoneInfo(zone) if zone else UTC
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = UTC
    local = value.astimezone(tz)
    return f"{local:%-d %b %Y, %H:%M} {local.tzname()}"
