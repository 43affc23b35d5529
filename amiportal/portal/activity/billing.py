"""Usage and billing records."""

from __future__ import annotations

from amiportal.portal.activity.names import Event, Names

AREAS = ("billing",)
FALLBACK = "Your usage or billing records changed."


def staff_usage_viewed(event: Event, names: Names) -> str:
    where = names.premise(event)
    return f"{names.actor(event)} looked at your usage{f' at {where}' if where else ''}."


PHRASES = {"billing.staff_usage_viewed": staff_usage_viewed}
