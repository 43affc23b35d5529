"""What every notification kind module provides, and the values they pass around.

A kind module has:
- ``NAME`` (registry key), ``LABEL`` and ``DESCRIPTION`` (the customer's preferences page);
- ``DEFAULT_CHANNELS``: channels it goes to when the customer has not chosen;
- ``CAN_TURN_OFF``: False for safety notices (outages, disconnection warnings): the portal
  inbox then stays on whatever the customer chooses, so they can never be switched off entirely;
- ``render(recipient, facts) -> Message``: the text in plain words, times in the premise's zone;
- its audience rule and trigger (``*_send`` functions), which pick recipients only through the
  occupancy selectors of ``amiportal.premises.selectors``: the one who lives there now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

DISPLAY_TEXT_LIMIT = 64


class UnknownKind(ValueError):
    """A kind the registry does not hold."""


@dataclass(frozen=True)
class Recipient:
    """Who gets one notification, and about which premise (None when it is about the account)."""

    user_id: int
    account_id: int | None
    premise_id: int | None
    zone: str = "America/Chicago"
    facts: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    display_text: str
    link: str = ""

    def __post_init__(self) -> None:
        if len(self.display_text) > DISPLAY_TEXT_LIMIT:
            raise ValueError(f"display text is longer than {DISPLAY_TEXT_LIMIT} characters: {self.display_text!r}")


class KindModule(Protocol):
    NAME: str
    LABEL: str
    DESCRIPTION: str
    DEFAULT_CHANNELS: tuple[str, ...]
    CAN_TURN_OFF: bool

    def render(self, recipient: Recipient, facts: dict[str, Any]) -> Message: ...
