"""What the Account activity page reads: the customer's own entries, worded, and the zone to show times in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F

from amiportal.audit.models import AuditEntry
from amiportal.portal.activity.names import Event, Names
from amiportal.portal.activity.registry import sentence
from amiportal.premises.models import ServiceAgreement

FALLBACK_ZONE = "UTC"


@dataclass(frozen=True)
class ActivityItem:
    seq: int
    at: datetime
    text: str


def activity_describe(*, viewer, entries: list[AuditEntry], zone: str = FALLBACK_ZONE) -> list[ActivityItem]:
    """Word a page of the viewer's own entries (from ``audit_entries_for_customer``), in one query per kind of name.

    ``zone`` is the reader's (``customer_timezone_name``): days inside sentences are theirs.
    """
    events = [Event.of(entry) for entry in entries]
    names = Names.load(viewer=viewer, events=events, zone=zone)
    return [ActivityItem(seq=e.entry.seq, at=e.entry.occurred_at, text=sentence(e, names)) for e in events]


def customer_timezone_name(*, user) -> str:
    """The zone of the home the customer lives in now, else of the last one they lived in; UTC with none."""
    agreement = (
        ServiceAgreement.objects.filter(account__user=user)
        .select_related("premise")
        .order_by(F("move_out").desc(nulls_first=True), "-move_in")
        .first()
    )
    return agreement.premise.timezone if agreement else FALLBACK_ZONE
