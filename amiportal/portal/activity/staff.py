"""Utility staff opening or changing a customer's records."""

from __future__ import annotations

from amiportal.portal.activity.names import Event, Names

AREAS = ("staff", "admin")
FALLBACK = "Utility staff worked on your account."


def data_opened(event: Event, names: Names) -> str:
    reason = event.payload.get("reason")
    because = f": {reason}" if isinstance(reason, str) and reason.strip() else "."
    return f"{names.actor(event)} opened your account{because}"


def _admin(verb: str):
    def phrase(event: Event, names: Names) -> str:
        return f"{names.actor(event)} {verb} your account records in the utility's administration tool."

    return phrase


PHRASES = {
    "staff.customer_data_opened": data_opened,
    "admin.changed": _admin("changed"),
    "admin.added": _admin("added to"),
    "admin.deleted": _admin("removed something from"),
    "admin.viewed": _admin("looked at"),
    "staff.admin_customer_records_opened": data_opened,
    "admin.user_password_set": lambda event, names: (
        f"{names.actor(event)} set a new password for your sign-in in the utility's administration tool."
    ),
}
