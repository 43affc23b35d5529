"""The registry of notification kinds: one module per kind (see kinds/base.py for what each holds).

Adding a kind (outage, prepay balance, DR event) touches its own module, its tests, and KINDS.
"""

from __future__ import annotations

import logging

from amiportal.notifications.kinds import bill_to_date, consent_expiry, critical_peak, usage_spike
from amiportal.notifications.kinds.base import KindModule, Message, Recipient, UnknownKind

__all__ = ["KINDS", "KindModule", "Message", "Recipient", "UnknownKind", "kind_get"]

logger = logging.getLogger(__name__)

KINDS: dict[str, KindModule] = {module.NAME: module for module in (critical_peak, bill_to_date, usage_spike, consent_expiry)}  # type: ignore[misc]


def kind_get(name: str) -> KindModule:
    """The kind's module; an unknown name is refused with the reason, logged once (by this refusal)."""
    try:
        return KINDS[name]
    except KeyError:
        logger.error("notification refused: kind %r is not in the registry (known: %s)", name, ", ".join(sorted(KINDS)))
        raise UnknownKind(f"{name!r} is not a notification kind; known kinds: {', '.join(sorted(KINDS))}.") from None
