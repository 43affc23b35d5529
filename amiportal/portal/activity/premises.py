"""Moving in and out of a premise."""

from __future__ import annotations

from datetime import date

from amiportal.portal.activity.names import Event, Names

AREAS = ("premise",)
FALLBACK = "The record of the homes on your account changed."


def _day(value) -> str:
    try:
        return f"{date.fromisoformat(value):%-d %b %Y}"
    except (TypeError, ValueError):
        return "the recorded day"


def move_in(event: Event, names: Names) -> str:
    return f"Your service at {names.premise(event) or 'a home'} starts on {_day(event.payload.get('move_in'))}."


def move_out(event: Event, names: Names) -> str:
    return f"Your service at {names.premise(event) or 'a home'} ends on {_day(event.payload.get('move_out'))}."


PHRASES = {"premise.move_in": move_in, "premise.move_out": move_out}
