"""Head-end checks on coordinator reports beyond signature and sequence number (SO-U4, BF-HAN-1).

- A retired coordinator (``is_active`` false: replaced at its premise, or taken out of service)
  is refused whatever it signs, and the refusal is audited: its key may be in someone's hands now.
- An ``offline`` report (a coordinator stopping gracefully) marks it offline at once, until a
  later fresh report says otherwise.
- A rejection because an envelope expired on the coordinator's queue fails nothing: the sweeper
  (``han.services.sweeper``) owns that deadline and sends a fresh envelope, or fails the command.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest

from han.models import Coordinator

RETIRED_REASON = "coordinator is retired"
EXPIRED_ENVELOPE = "command has expired"  # han.protocol.command_open's words


def coordinator_retired(coordinator: Coordinator) -> bool:
    return not coordinator.is_active


def retired_refusal_entry(*, coordinator: Coordinator, event: Any, seq: Any) -> dict[str, Any]:
    """The audit entry of a report refused because its coordinator is retired."""
    return {
        "action": "han.report_refused",
        "actor_label": "han-relay",
        "target": f"coordinator:{coordinator.name}",
        "payload": {"reason": RETIRED_REASON, "event": str(event)[:40], "seq": seq if isinstance(seq, int) else None},
    }


def coordinator_offline_record(*, coordinator: Coordinator, signed_at: datetime) -> None:
    """Offline from ``signed_at`` (never moved back by an older offline report)."""
    at = Value(signed_at)
    Coordinator.objects.filter(pk=coordinator.pk).update(offline_at=Greatest(Coalesce(F("offline_at"), at), at))


def rejection_is_expired_envelope(detail: dict[str, Any]) -> bool:
    return str(detail.get("reason", "")).strip() == EXPIRED_ENVELOPE
