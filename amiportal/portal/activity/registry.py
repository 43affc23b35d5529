"""Every audit action a customer may read, mapped to its wording; one module per area."""

from __future__ import annotations

from collections.abc import Callable

from amiportal.portal.activity import accounts, billing, han, notifications, premises, staff, thirdparty
from amiportal.portal.activity.names import Event, Names

Phrase = Callable[[Event, Names], str]

_AREAS = (accounts, staff, premises, han, thirdparty, billing, notifications)
PHRASES: dict[str, Phrase] = {action: phrase for area in _AREAS for action, phrase in area.PHRASES.items()}
FALLBACKS: dict[str, str] = {prefix: area.FALLBACK for area in _AREAS for prefix in area.AREAS}
GENERIC = "Something was recorded on your account."


def sentence(event: Event, names: Names) -> str:
    """The entry in plain words. An action without wording gets its area's sentence, never its payload."""
    phrase = PHRASES.get(event.entry.action)
    if phrase is None:
        return FALLBACKS.get(event.entry.action.split(".", 1)[0], GENERIC)
    try:
        return phrase(event, names)
    except (KeyError, TypeError, ValueError, AttributeError):
        # A payload of an older shape must not break the page; it still reads as plain words.
        return FALLBACKS.get(event.entry.action.split(".", 1)[0], GENERIC)
