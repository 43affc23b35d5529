"""What a premise's devices pull from their coordinator: the current price, the scheduled events, the last message.

Smart Energy devices ask their ESI (here the coordinator) for these when they join, wake
or miss a broadcast: GetCurrentPrice (Price 0x0700), GetScheduledEvents (DRLC 0x0701) and
GetLastMessage (Messaging 0x0703). The head-end sets them with a ``premise_state`` command;
the coordinator keeps them here, per premise network (one ``PremiseState`` per coordinator),
and ``han.coordinator.smart_energy`` answers from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from han import drlc

UNTIL_CHANGED = 0xFFFF  # a duration of 0xFFFF minutes: until a newer one replaces it (SE 1.4 D.4.2.4.1.1)
MAX_RATE_LABEL = 12  # octets (D.4.2.4.1.1)
MAX_EVENTS = 32

# PublishPrice fields the head-end sets, with their ranges; the coordinator fills in the current time.
_PRICE_FIELDS: dict[str, tuple[int, int, int | None]] = {
    # name: (low, high, default; None = required)
    "provider_id": (0, 0xFFFFFFFF, None),
    "issuer_event_id": (0, 0xFFFFFFFF, None),
    "price": (0, 0xFFFFFFFF, None),
    "unit_of_measure": (0, 0xFF, 0),  # Metering UnitofMeasure: 0 = kWh
    "currency": (0, 0xFFFF, 840),  # ISO 4217 numeric code
    "price_trailing_digit": (0, 15, 2),  # digits after the decimal point
    "price_tier": (0, 15, 1),
    "number_of_price_tiers": (0, 15, 1),
    "register_tier": (0, 15, 1),
    "start_time": (0, 0xFFFFFFFF, 0),  # UTCTime, 0 = now
    "duration_minutes": (0, 0xFFFF, UNTIL_CHANGED),
}
_MESSAGE_FIELDS: dict[str, tuple[int, int, int | None]] = {
    "message_id": (0, 0xFFFFFFFF, None),
    "message_control": (0, 0xFF, 0),
    "start_time": (0, 0xFFFFFFFF, 0),
    "duration_minutes": (0, 0xFFFF, UNTIL_CHANGED),
}
MAX_MESSAGE = 80  # characters: what SE displays are required to show (D.5.2.3.1.1)


class PremiseStateError(ValueError):
    """A price, an event list or a message that cannot be published as it is."""


def _numbers(data: Any, fields: dict[str, tuple[int, int, int | None]], what: str) -> dict[str, int]:
    if not isinstance(data, dict):
        raise PremiseStateError(f"{what} must be an object")
    values = {}
    for name, (low, high, default) in fields.items():
        value = data.get(name, default)
        if value is None:
            raise PremiseStateError(f"{what} needs {name}")
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise PremiseStateError(f"{what}: {name} must be a whole number from {low} to {high}")
        values[name] = value
    return values


def _current(start_time: int, duration_minutes: int, now: int) -> bool:
    """Whether something that starts at ``start_time`` (0 = when it was set) for ``duration_minutes`` still applies."""
    return duration_minutes == UNTIL_CHANGED or start_time == 0 or start_time + 60 * duration_minutes > now


@dataclass
class PremiseState:
    price: dict[str, Any] | None = None
    events: list[drlc.LoadControlEvent] = field(default_factory=list)
    message: dict[str, Any] | None = None

    def update(self, *, price: dict | None = None, events: list | None = None, message: dict | None = None) -> None:
        """Replace what is given (None leaves a part as it is; ``{}`` or ``[]`` clears it). All or nothing."""
        new_price = self.price if price is None else (self._price(price) if price else None)
        new_events = self.events if events is None else self._events(events)
        new_message = self.message if message is None else (self._message(message) if message else None)
        self.price, self.events, self.message = new_price, new_events, new_message

    @staticmethod
    def _price(data: dict) -> dict[str, Any]:
        values = _numbers(data, _PRICE_FIELDS, "price")
        label = data.get("rate_label", "")
        if not isinstance(label, str) or len(label.encode()) > MAX_RATE_LABEL:
            raise PremiseStateError(f"price: rate_label must be text of at most {MAX_RATE_LABEL} bytes")
        return {**values, "rate_label": label}

    @staticmethod
    def _events(data: Any) -> list[drlc.LoadControlEvent]:
        if not isinstance(data, list) or len(data) > MAX_EVENTS:
            raise PremiseStateError(f"events must be a list of at most {MAX_EVENTS} load control events")
        try:
            events = [drlc.LoadControlEvent.from_dict(item) if isinstance(item, dict) else None for item in data]
        except drlc.FrameError as exc:
            raise PremiseStateError(f"events: {exc}") from None
        if None in events:
            raise PremiseStateError("events must be objects")
        if any(e.start_time == 0 for e in events):  # "now" would mean a different time to every device that asks
            raise PremiseStateError("events: every scheduled event needs its start_time (UTCTime)")
        return sorted(events, key=lambda e: (e.start_time, e.issuer_event_id))

    @staticmethod
    def _message(data: dict) -> dict[str, Any]:
        values = _numbers(data, _MESSAGE_FIELDS, "message")
        text = data.get("text", "")
        if not isinstance(text, str) or not text or len(text) > MAX_MESSAGE or len(text.encode()) > 0xFE:
            raise PremiseStateError(f"message: text must be 1 to {MAX_MESSAGE} characters")
        return {**values, "text": text}

    # --- answers ------------------------------------------------------------------------------

    def price_answer(self, *, now: int) -> dict[str, Any] | None:
        """PublishPrice's fields (``han.zigbee_se.Price``) for GetCurrentPrice; None when no price applies now."""
        p = self.price
        if p is None or not _current(p["start_time"], p["duration_minutes"], now):
            return None
        return {
            "provider_id": p["provider_id"],
            "rate_label": p["rate_label"].encode(),
            "issuer_event_id": p["issuer_event_id"],
            "current_time": now,
            "unit_of_measure": p["unit_of_measure"],
            "currency": p["currency"],
            "price_trailing_digit_and_price_tier": p["price_trailing_digit"] << 4 | p["price_tier"],
            "number_of_price_tiers_and_register_tier": p["number_of_price_tiers"] << 4 | p["register_tier"],
            "start_time": p["start_time"],
            "duration_in_minutes": p["duration_minutes"],
            "price": p["price"],
        }

    def events_answer(self, *, start_time: int, number_of_events: int, min_issuer_event_id: int | None, now: int) -> list:
        """The events GetScheduledEvents asks for: active at or starting after ``start_time`` (0 = now), oldest first."""
        since = start_time or now
        events = [
            e for e in self.events if e.end_time(now) > since and (min_issuer_event_id is None or e.issuer_event_id >= min_issuer_event_id)
        ]
        return events[:number_of_events] if number_of_events else events

    def message_answer(self, *, now: int) -> dict[str, Any] | None:
        """DisplayMessage's fields (``han.zigbee_se.Messaging``) for GetLastMessage; None when there is none now."""
        m = self.message
        if m is None or not _current(m["start_time"], m["duration_minutes"], now):
            return None
        return {
            "message_id": m["message_id"],
            "message_control": m["message_control"],
            "start_time": m["start_time"],
            "duration_in_minutes": m["duration_minutes"],
            "message": m["text"],
        }
