"""The customer's notification choices."""

from __future__ import annotations

from amiportal.portal.activity.names import Event, Names

AREAS = ("notifications",)
FALLBACK = "Your notification choices were recorded."


def preferences_changed(event: Event, names: Names) -> str:
    changed = event.payload.get("changed")
    if not isinstance(changed, list) or not changed or not all(isinstance(item, str) for item in changed):
        return "You changed your notification choices."
    return f"You changed your notification choices: {'; '.join(item.replace('_', ' ') for item in changed)}."


def preferences_refused(event: Event, names: Names) -> str:
    return "A change to your notification choices was refused: it was not one the page offers. Nothing changed."


PHRASES = {"notifications.preferences_changed": preferences_changed, "notifications.preferences_refused": preferences_refused}
