"""Storing notifications once per natural key, choosing their channels, and queuing the deliveries.

Any number of senders (a view, beat, two workers racing) may send the same key: the rows go in
by INSERT ... ON CONFLICT DO NOTHING under the natural-key constraints, each tagged with the
sender's batch token, so each sender goes on with exactly the rows it stored and a repeat is a
no-op. Deliveries are queued only after the transaction commits, in chunks (one task per chunk,
each delivery claimed on its own lease, so one failing address never holds up another).
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from amiportal.notifications.channels import CHANNELS
from amiportal.notifications.kinds import Recipient, kind_get
from amiportal.notifications.models import Delivery, Notification
from amiportal.notifications.selectors import channels_chosen
from amiportal.notifications.services.storing import deliveries_insert, notifications_insert_new

logger = logging.getLogger(__name__)

TASK_CHUNK = 500


@dataclass
class SendResult:
    stored: int = 0  # new notifications (a repeat of a key stores none)
    queued: int = 0  # deliveries waiting for a worker
    delivered: int = 0  # deliveries done on storing (portal inbox)
    refused: Counter = field(default_factory=Counter)  # (channel, reason) -> count


def _notifications(kind, subject: str, period: str, recipients: Iterable[Recipient], facts: dict[str, Any], batch, now) -> list[tuple]:
    rows = []
    for recipient in recipients:
        message = kind.render(recipient, facts)
        rows.append(
            (
                kind.NAME,
                subject,
                recipient.premise_id,
                period,
                recipient.user_id,
                recipient.account_id,
                message.title,
                message.body,
                message.display_text,
                message.link,
                now,
                batch,
            )
        )
    return rows


def _deliveries(kind, batch, now: datetime) -> tuple[list[tuple], Counter]:
    """Delivery rows (storing.DELIVERY_COLUMNS) for the notifications this sender stored, by each customer's choices."""
    stored = list(Notification.objects.filter(batch=batch).values_list("pk", "user_id", "user__email"))
    chosen = channels_chosen(kind=kind, user_ids_query=Notification.objects.filter(batch=batch).values("user_id"))
    retry_net = now + timedelta(seconds=settings.AMI_NOTIFICATION_LEASE_SECONDS)
    pending, delivered, refused_state = Delivery.State.PENDING, Delivery.State.DELIVERED, Delivery.State.REFUSED
    rows, refused = [], Counter()
    for pk, user_id, email in stored:
        target = _Target(email)
        for name in chosen(user_id):
            channel = CHANNELS[name]
            missing = channel.missing_target(target)
            if missing:
                refused[(name, missing)] += 1
                rows.append((pk, name, refused_state, 0, None, missing, None))
            elif channel.IMMEDIATE:
                rows.append((pk, name, delivered, 0, None, "", now))
            else:
                # next_attempt_at: if the queued task is lost, the sweeper sends it after this.
                rows.append((pk, name, pending, 0, retry_net, "", None))
    return rows, refused


@dataclass(frozen=True)
class _Target:
    """What a channel needs to know of a user to tell whether it can reach them."""

    email: str


def notifications_send(
    *,
    kind: str,
    subject: str,
    period: str,
    recipients: Iterable[Recipient],
    facts: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> SendResult:
    """Store one notification per recipient under (kind, subject, premise, period), once; queue its deliveries.

    An unknown kind raises ``UnknownKind``. A chosen channel that cannot reach the customer (no
    email address) gets a refused delivery with the reason, logged once per call.
    """
    module = kind_get(kind)
    now = now or timezone.now()
    batch = uuid.uuid4()
    result = SendResult()
    with transaction.atomic():
        notifications_insert_new(_notifications(module, subject, period, recipients, facts or {}, batch, now))
        rows, result.refused = _deliveries(module, batch, now)
        deliveries_insert(rows)
        result.stored = Notification.objects.filter(batch=batch).count()
        pending = list(
            Delivery.objects.filter(notification__batch=batch, state=Delivery.State.PENDING).order_by("pk").values_list("pk", flat=True)
        )
        result.queued = len(pending)
        result.delivered = sum(1 for row in rows if row[2] == Delivery.State.DELIVERED)
        transaction.on_commit(lambda: deliveries_enqueue(pending))
    for (channel, reason), count in result.refused.items():
        logger.warning("notification %s %s: %d not sent by %s: %s", kind, subject, count, channel, reason)
    return result


def deliveries_enqueue(delivery_ids: list[int]) -> int:
    """Hand the deliveries to workers, a chunk per task; returns the number of tasks."""
    from amiportal.notifications.tasks import deliveries_send_task

    chunks = [delivery_ids[start : start + TASK_CHUNK] for start in range(0, len(delivery_ids), TASK_CHUNK)]
    for chunk in chunks:
        deliveries_send_task.delay(chunk)
    return len(chunks)
