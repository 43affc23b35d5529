"""Sending one delivery on its channel: claimed on a lease, retried with backoff, never blocking the others.

Each delivery is its own row in a leased queue (``amiportal.leases``): a worker claims it,
makes one attempt, and releases it to delivered, or back to pending with the time of its next
attempt (exponential backoff with jitter), or to failed after the last attempt. A worker that
dies leaves a lease that expires; the sweeper (beat, every minute) returns such rows and hands
out every pending delivery whose time has come.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from amiportal.leases import LeasedQueue, lease_claim, lease_release, lease_sweep
from amiportal.notifications.channels import CHANNELS, ChannelError
from amiportal.notifications.models import Delivery

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_FIRST_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600
SWEEP_LIMIT = 20000


def delivery_queue() -> LeasedQueue:
    return LeasedQueue(
        model=Delivery,
        pending=Delivery.State.PENDING,
        claimed=Delivery.State.SENDING,
        failed=Delivery.State.FAILED,
        lease_seconds=settings.AMI_NOTIFICATION_LEASE_SECONDS,
        max_attempts=MAX_ATTEMPTS,
    )


def retry_delay(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min ... up to an hour, each with up to a quarter more at random (no thundering herd)."""
    base = min(BACKOFF_FIRST_SECONDS * 2 ** (attempts - 1), BACKOFF_MAX_SECONDS)
    return timedelta(seconds=base * (1 + random.random() / 4))


def delivery_send(*, delivery_id: int, now: datetime | None = None) -> str:
    """One attempt at one delivery. Returns what happened; never raises for a channel's failure."""
    queue = delivery_queue()
    lease = lease_claim(queue, pk=delivery_id, now=now)
    if lease is None:
        return "not pending"
    delivery = Delivery.objects.select_related("notification__user").filter(pk=delivery_id).first()
    if delivery is None:
        return "gone"
    attempts = delivery.attempts + 1
    try:
        CHANNELS[delivery.channel].deliver(delivery.notification)
        error = ""
    except ChannelError as failure:
        error = str(failure)
    except Exception as failure:  # a bug in one channel must not stop the chunk's other deliveries
        logger.exception("notification delivery %s on %s failed unexpectedly", delivery_id, delivery.channel)
        error = f"{type(failure).__name__}"
    if not error:
        lease_release(queue, lease=lease, state=Delivery.State.DELIVERED, attempts=attempts, delivered_at=timezone.now(), last_error="")
        return "delivered"
    final = attempts >= MAX_ATTEMPTS
    released = lease_release(
        queue,
        lease=lease,
        state=Delivery.State.FAILED if final else Delivery.State.PENDING,
        attempts=attempts,
        last_error=error[:300],
        next_attempt_at=None if final else (now or timezone.now()) + retry_delay(attempts),
    )
    if not released:
        return "lease lost"
    return "failed" if final else "retry later"


def deliveries_sweep(*, now: datetime | None = None) -> int:
    """Return expired claims, then hand out the pending deliveries whose time has come. Returns how many."""
    from amiportal.notifications.services.sending import deliveries_enqueue

    now = now or timezone.now()
    lease_sweep(delivery_queue(), now=now)
    with transaction.atomic():
        due = list(
            Delivery.objects.select_for_update(no_key=True, skip_locked=True)
            .filter(state=Delivery.State.PENDING)
            .exclude(next_attempt_at__gt=now)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:SWEEP_LIMIT]
        )
        # Not handed out again by the next sweep while these wait in the broker.
        Delivery.objects.filter(pk__in=due).update(next_attempt_at=now + timedelta(seconds=settings.AMI_NOTIFICATION_LEASE_SECONDS))
        transaction.on_commit(lambda: deliveries_enqueue(due))
    return len(due)
