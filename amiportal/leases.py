"""Claim-with-lease for every queue of work kept in a table (SO-U3).

A row is claimed from its pending state by a conditional UPDATE (only one
claimant can win) and carries ``lease_expires_at``. The claimant renews the
lease while it works and releases the row to its next state when done. If the
claimant dies, nothing releases the row: ``lease_sweep`` (run by beat) finds
claims whose lease has expired and returns them to pending, or to failed once
they have used their attempts, so no row stays claimed after a crash.

The lease's expiry time doubles as its fencing token: renew and release only
touch the row while it still carries the claimant's own expiry, so a claimant
that lost its lease (swept and claimed again by another) cannot overwrite the
newer claim's outcome.

A queue whose work is announced through a broker can also give pending rows a
hand-off deadline (``handoff_seconds``): the same column then says by when a
worker should have claimed the row. A row still pending after that (the broker
was unreachable when the work was enqueued, or lost the message) is returned by
the sweep like an expired claim, without counting an attempt, so work enqueued
during a broker outage is sent once the broker is back.

A model takes part by having a state field, a nullable ``lease_expires_at``
and an integer attempts counter, and by declaring one ``LeasedQueue``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import models, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone


@dataclass(frozen=True)
class LeasedQueue:
    model: type[models.Model]
    pending: str
    claimed: str
    failed: str
    lease_seconds: int
    max_attempts: int
    state_field: str = "state"
    lease_field: str = "lease_expires_at"
    attempts_field: str = "attempts"
    handoff_seconds: int | None = None  # pending rows must be claimed by then, or the sweep hands them out again


@dataclass(frozen=True)
class Lease:
    pk: Any
    expires_at: datetime


@dataclass
class SweepResult:
    returned: list[Any] = field(default_factory=list)  # back to pending: their work should be enqueued again
    failed: list[Any] = field(default_factory=list)
    stranded: list[Any] = field(default_factory=list)  # pending past their hand-off: their work should be enqueued again

    @property
    def to_enqueue(self) -> list[Any]:
        return [*self.returned, *self.stranded]


def lease_handoff_deadline(queue: LeasedQueue, *, wait_seconds: float = 0, now: datetime | None = None) -> datetime | None:
    """When a row handed to the broker now (to run after ``wait_seconds``) counts as lost; None without hand-offs."""
    if queue.handoff_seconds is None:
        return None
    return (now or timezone.now()) + timedelta(seconds=wait_seconds + queue.handoff_seconds)


def _held(queue: LeasedQueue, lease: Lease):
    return queue.model.objects.filter(pk=lease.pk, **{queue.state_field: queue.claimed, queue.lease_field: lease.expires_at})


def lease_claim(queue: LeasedQueue, *, pk: Any, now: datetime | None = None) -> Lease | None:
    """Claim one pending row; None when it is not pending (someone else has it, or it is done)."""
    expires_at = (now or timezone.now()) + timedelta(seconds=queue.lease_seconds)
    claimed = queue.model.objects.filter(pk=pk, **{queue.state_field: queue.pending}).update(
        **{queue.state_field: queue.claimed, queue.lease_field: expires_at}
    )
    return Lease(pk=pk, expires_at=expires_at) if claimed else None


def lease_renew(queue: LeasedQueue, *, lease: Lease, now: datetime | None = None) -> Lease | None:
    """Extend a lease still held; None when it was lost (expired and swept)."""
    expires_at = (now or timezone.now()) + timedelta(seconds=queue.lease_seconds)
    if _held(queue, lease).update(**{queue.lease_field: expires_at}):
        return Lease(pk=lease.pk, expires_at=expires_at)
    return None


def lease_release(queue: LeasedQueue, *, lease: Lease, state: str, **changes: Any) -> bool:
    """End a claim: move the row to ``state`` with ``changes``. False when the lease was lost meanwhile."""
    return bool(_held(queue, lease).update(**{queue.state_field: state, queue.lease_field: None, **changes}))


@transaction.atomic
def lease_sweep(queue: LeasedQueue, *, now: datetime | None = None) -> SweepResult:
    """Return expired claims to pending, counting the lost attempt; to failed once attempts are used up.

    With hand-offs, pending rows past their deadline (or without one) are returned too, and every
    returned row gets a new deadline, so a sweep while the broker is still down is repeated later.
    """
    now = now or timezone.now()
    expired = list(
        queue.model.objects.select_for_update(no_key=True, skip_locked=True)
        .filter(**{queue.state_field: queue.claimed, f"{queue.lease_field}__lt": now})
        .values_list("pk", queue.attempts_field)
    )
    result = SweepResult()
    for pk, attempts in expired:
        (result.failed if attempts + 1 >= queue.max_attempts else result.returned).append(pk)
    deadline = lease_handoff_deadline(queue, now=now)
    if expired:
        queue.model.objects.filter(pk__in=[pk for pk, _ in expired]).update(
            **{
                queue.state_field: Case(
                    When(**{f"{queue.attempts_field}__gte": queue.max_attempts - 1}, then=Value(queue.failed)),
                    default=Value(queue.pending),
                ),
                queue.attempts_field: F(queue.attempts_field) + 1,
                # Without hand-offs both branches are NULL: say so plainly (PostgreSQL types a CASE of NULLs as text).
                queue.lease_field: None
                if deadline is None
                else Case(
                    When(**{f"{queue.attempts_field}__gte": queue.max_attempts - 1}, then=Value(None)),
                    default=Value(deadline),
                    output_field=queue.model._meta.get_field(queue.lease_field),
                ),
            }
        )
    if deadline is not None:
        lapsed = Q(**{f"{queue.lease_field}__lt": now}) | Q(**{f"{queue.lease_field}__isnull": True})
        pending = queue.model.objects.select_for_update(no_key=True, skip_locked=True).filter(lapsed, **{queue.state_field: queue.pending})
        result.stranded = [pk for pk in pending.values_list("pk", flat=True) if pk not in result.returned]
        queue.model.objects.filter(pk__in=result.stranded).update(**{queue.lease_field: deadline})
    return result
