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

logger = logging.getLogger(__name__)

INSERT_BATCH = 5000
TASK_CHUNK = 500


@dataclass
class SendResult:
    stored: int = 0  # new notifications (a repeat of a key stores none)
    queued: int = 0  # deliveries waiting for a worker
    delivered: int = 0  # deliveries done on storing (portal inbox)
    refused: Counter = field(default_factory=Counter)  # (channel, reason) -> count


def _notifications(
    kind, subject: str, period: str, recipients: Iterable[Recipient], facts: dict[str, Any], batch, now
) -> list[Notification]:
    rows = []
    for recipient in recipients:
        message = kind.render(recipient, facts)
        rows.append(
            Notification(
                kind=kind.NAME,
                subject=subject,
                premise_id=recipient.premise_id,
                period=period,
                user_id=recipient.user_id,
                account_id=recipient.account_id,
                title=message.title,
                body=message.body,
                display_text=message.display_text,
                link=message.link,
                created_at=now,
                batch=batch,
            )
        )
    return rows


def _deliveries(kind, batch, now: datetime) -> tuple[list[Delivery], Counter]:
    stored = list(Notification.objects.filter(batch=batch).values_list("pk", "user_id", "user__email"))
    chosen = channels_chosen(kind=kind, user_ids_query=Notification.objects.filter(batch=batch).values("user_id"))
    lease = timedelta(seconds=settings.AMI_NOTIFICATION_LEASE_SECONDS)
    rows, refused = [], Counter()
    for pk, user_id, email in stored:
        for name in chosen(user_id):
            channel = CHANNELS[name]
            missing = channel.missing_target(_Target(email))
            if missing:
                refused[(name, missing)] += 1
                rows.append(Delivery(notification_id=pk, channel=name, state=Delivery.State.REFUSED, last_error=missing))
            elif channel.IMMEDIATE:
                rows.append(Delivery(notification_id=pk, channel=name, state=Delivery.State.DELIVERED, delivered_at=now))
            else:
                # next_attempt_at: if the queued task is lost, the sweeper sends it after this.
                rows.append(Delivery(notification_id=pk, channel=name, next_attempt_at=now + lease))
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
        Notification.objects.bulk_create(
            _notifications(module, subject, period, recipients, facts or {}, batch, now), batch_size=INSERT_BATCH, ignore_conflicts=True
        )
        rows, result.refused = _deliveries(module, batch, now)
        Delivery.objects.bulk_create(rows, batch_size=INSERT_BATCH, ignore_conflicts=True)
        result.stored = Notification.objects.filter(batch=batch).count()
        pending = list(
            Delivery.objects.filter(notification__batch=batch, state=Delivery.State.PENDING).order_by("pk").values_list("pk", flat=True)
        )
        result.queued = len(pending)
        result.delivered = sum(1 for row in rows if row.state == Delivery.State.DELIVERED)
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
