"""Waking the relay: one broker task for every command committed meanwhile, not one task per command.

A service that commits commands then calls ``relay_wake``. The first call sets the wake-up
row (``RelayWakeup``) and sends one ``han_relay_pending_task``; calls while that row says a
runner is on its way send nothing. The runner clears the row *before* it looks for pending
commands (``relay_pending``), so it finds every command committed before a call that sent
nothing, and a command committed after the clear sends a task of its own. Under a burst of
submissions this is one task per runner pass instead of one per command; the benchmark
(``bench/han_bench.py``, 2026-12-03) found 1,005 of 1,260 per-command tasks with nothing left
to do.

Safety never rests on the row: a task lost with the row set leaves its commands pending with
their hand-off deadline (``han.services.sweeper``), and a wake-up older than that deadline
counts as lost, so the next command sends a task again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from amiportal.compiled_queries import AnyOf, CompiledQuery
from han.models import CoordinatorCommand, JobState

logger = logging.getLogger(__name__)

# Runner passes of one task before it hands the rest to a fresh task (the queue stays fair to reports).
MAX_PASSES = 20

# PostgreSQL and SQLite (3.35+) alike: the row is created the first time, so a flushed test database needs nothing.
_REQUEST = (
    "INSERT INTO han_relaywakeup (id, requested_at) VALUES (1, %s) "
    "ON CONFLICT (id) DO UPDATE SET requested_at = excluded.requested_at "
    "WHERE han_relaywakeup.requested_at IS NULL OR han_relaywakeup.requested_at < %s "
    "RETURNING id"
)


def _wakeup_request() -> bool:
    """Mark a runner as asked for; False when one already is (asked less than a hand-off deadline ago)."""
    now = timezone.now()
    lost_before = now - timedelta(seconds=settings.AMI_HAN_RELAY_LEASE_SECONDS)
    with connection.cursor() as cursor:
        cursor.execute(_REQUEST, [now, lost_before])
        return cursor.fetchone() is not None


# Both run in every runner pass: written once, not built by the ORM each time (as QuerySet.update and the
# queryset in ``_oldest_pending``'s fallback would write them).
_CLEAR = "UPDATE han_relaywakeup SET requested_at = NULL WHERE id = 1"
_OLDEST_PENDING = CompiledQuery(
    lambda tried: (
        CoordinatorCommand.objects.filter(state=JobState.PENDING)
        .exclude(AnyOf("pk", tried))
        .order_by("pk")
        .values_list("pk", flat=True)[:1]
    ),
    "tried",
    types={"tried": list},
)


def relay_wakeup_clear() -> None:
    with connection.cursor() as cursor:
        cursor.execute(_CLEAR)


def _oldest_pending(tried: set[int]) -> int | None:
    """The oldest pending command not in ``tried`` (one compiled query on PostgreSQL)."""
    if connection.vendor != "postgresql":
        pending = CoordinatorCommand.objects.filter(state=JobState.PENDING).exclude(pk__in=tried)
        return pending.order_by("pk").values_list("pk", flat=True).first()
    rows = _OLDEST_PENDING.rows(tried=sorted(tried))
    return rows[0][0] if rows else None


def relay_wake(*, job_ids: list[int], force: bool = False) -> bool:
    """After the commit that made ``job_ids`` pending: see that a relay runner will find them.

    ``force`` sends a task whatever the wake-up row says: the sweeper's choice, since it hands
    out commands exactly when a task (and so perhaps the row's runner) was lost.

    False when the broker could not take the task: the jobs are then marked queued (the
    installer sees it) and the sweeper sends them once the broker is back.
    """
    from han.services.sweeper import QUEUED_NOTICE
    from han.tasks import han_relay_pending_task

    if not _wakeup_request() and not force:
        return True  # a runner is on its way and clears the row before it looks: it will take these
    try:
        han_relay_pending_task.delay()
    except Exception as exc:  # kombu's OperationalError, a refused connection, a timeout: all mean "not handed over"
        relay_wakeup_clear()
        logger.warning("message service unreachable (%s): HAN jobs %s wait for the sweeper", type(exc).__name__, job_ids)
        CoordinatorCommand.objects.filter(pk__in=job_ids, state=JobState.PENDING).update(detail=QUEUED_NOTICE)
        return False
    return True


def relay_pending() -> str:
    """The runner: relay every pending command, oldest first, a batch per pass (``job_relay`` takes others along)."""
    from han.services.relay import job_relay

    relay_wakeup_clear()  # first: a command committed from now on asks for a runner of its own
    tried: set[int] = set()
    for _ in range(MAX_PASSES):
        oldest = _oldest_pending(tried)
        if oldest is None:
            return f"{len(tried)} passes"
        tried.add(oldest)
        job_relay(job_id=oldest)
    relay_wake(job_ids=[])  # more than this task's share waits: a fresh task continues
    return f"{len(tried)} passes, more pending"
