"""The head-end's deadlines for HAN commands, held in the database and enforced by one beat task (BF-HAN-1, SO-U3).

Nothing about a command's progress lives only in a process's memory. Each job carries:

- a claim with a lease (``amiportal.leases``) while a relay runner sends it; a runner that dies
  leaves it "relaying" only until the lease lapses (``AMI_HAN_RELAY_LEASE_SECONDS``), whatever
  the broker's visibility timeout;
- a hand-off deadline while it is pending: if the broker was unreachable when its task was sent
  (or lost the message), the sweeper sends it again once the deadline passes;
- once relayed, its envelope's expiry (``COMMAND_TTL_SECONDS``): a command still unanswered then is
  sent again in a fresh envelope (new expiry, same command id, so the coordinator's replay guard
  still drops a second copy of one it had), up to ``AMI_HAN_COMMAND_ATTEMPTS`` envelopes in all;
- once its coordinator reports the permit window open, when that window ends plus a grace
  (``permit_ends_at``): a device that has not finished joining by then is failed with
  ``timed_out``, so Retry works, even if the coordinator restarted and forgot the window.

``han_commands_sweep`` applies all four; beat runs it every few seconds. It is idempotent: each
step is a conditional update over rows it holds with ``SKIP LOCKED``, so two sweeps at once
never act on one job twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from amiportal.audit.services import audit_append
from amiportal.leases import LeasedQueue, lease_handoff_deadline, lease_sweep
from han.models import CoordinatorCommand, DeviceState, JobKind, JobState

logger = logging.getLogger(__name__)

QUEUED_NOTICE = "Queued — will be sent when the message service is back."
# Failures decided by the head-end's own deadlines (their words: amiportal/portal/activity/han.py).
DEADLINE_MESSAGES = {
    "not_sent": "The command could not be handed to the message service after {attempts} attempts. Retry when it is back.",
    "no_answer": "The gateway did not take the command in {attempts} attempts. Check that it is online, then retry.",
    "interview_timed_out": "The device joined but did not finish its interview in time. Check that it is powered, then retry.",
}
_JOINED = (DeviceState.JOINED, DeviceState.INTERVIEWED)


def relay_queue() -> LeasedQueue:
    return LeasedQueue(
        model=CoordinatorCommand,
        pending=JobState.PENDING,
        claimed=JobState.RELAYING,
        failed=JobState.FAILED,
        lease_seconds=settings.AMI_HAN_RELAY_LEASE_SECONDS,
        max_attempts=settings.AMI_HAN_COMMAND_ATTEMPTS,
        handoff_seconds=settings.AMI_HAN_RELAY_LEASE_SECONDS,
    )


def job_handoff_mark(*, job_ids: list[int], now: datetime | None = None) -> None:
    """Give pending jobs their hand-off deadline: a worker should have claimed them by then."""
    CoordinatorCommand.objects.filter(pk__in=job_ids, state=JobState.PENDING).update(
        lease_expires_at=lease_handoff_deadline(relay_queue(), now=now)
    )


def job_task_send(*, job_id: int) -> bool:
    """Put the job's relay task on the broker; if the broker is unreachable, mark the job queued (the sweeper sends it).

    Runs after the submitting transaction committed: the device and its job are saved either way.
    """
    from han.tasks import han_job_relay_task

    try:
        han_job_relay_task.delay(job_id)
    except Exception as exc:  # kombu's OperationalError, a refused connection, a timeout: all mean "not handed over"
        logger.warning("message service unreachable (%s): HAN job %s waits for the sweeper", type(exc).__name__, job_id)
        CoordinatorCommand.objects.filter(pk=job_id, state=JobState.PENDING).update(detail=QUEUED_NOTICE)
        return False
    return True


def jobs_task_send(*, job_ids: list[int]) -> int:
    """Put relay tasks for many jobs on the broker, ``RELAY_BATCH`` job ids to a task; how many tasks were handed over.

    Each task relays its ids in turn (``han_jobs_relay_task``), and the first claim already takes
    the other pending jobs along, so a thousand jobs are twenty messages, not a thousand. A chunk
    the broker would not take is marked queued in one update; the sweeper sends it.
    """
    from han.services.relay import RELAY_BATCH
    from han.tasks import han_jobs_relay_task

    sent = 0
    for start in range(0, len(job_ids), RELAY_BATCH):
        chunk = job_ids[start : start + RELAY_BATCH]
        try:
            han_jobs_relay_task.delay(chunk)
        except Exception as exc:  # as in job_task_send: anything here means "not handed over"
            logger.warning("message service unreachable (%s): %s HAN jobs wait for the sweeper", type(exc).__name__, len(chunk))
            CoordinatorCommand.objects.filter(pk__in=chunk, state=JobState.PENDING).update(detail=QUEUED_NOTICE)
        else:
            sent += 1
    return sent


def job_is_queued(*, job: CoordinatorCommand | None) -> bool:
    """True while the job waits for the message service (its task could not be handed over)."""
    return job is not None and job.state == JobState.PENDING and job.detail == QUEUED_NOTICE


def permit_window_record(*, job_id: int, opened_at: datetime) -> None:
    """The coordinator opened the permit window at ``opened_at`` (its signed report): the head-end's deadline for the join."""
    ends = opened_at + timedelta(seconds=settings.AMI_HAN_PERMIT_SECONDS + settings.AMI_HAN_PERMIT_GRACE_SECONDS)
    CoordinatorCommand.objects.filter(pk=job_id, state=JobState.RELAYED, kind__in=(JobKind.COMMISSION, JobKind.RESTORE)).update(
        permit_ends_at=ends
    )


def _jobs():
    return CoordinatorCommand.objects.select_related("network__premise", "coordinator", "device")


def _deadline_fail(job: CoordinatorCommand, reason: str) -> None:
    from han.commands import UnknownCommandType, command_type
    from han.services.relay import FAILURE_MESSAGES, _fail

    try:
        own = command_type(job.kind).failure_messages  # "timed_out" is the commission type's words
    except UnknownCommandType:
        own = {}
    message = DEADLINE_MESSAGES.get(reason) or own.get(reason) or FAILURE_MESSAGES.get(reason, "The command did not finish in time.")
    _fail(job, reason, message.format(attempts=job.attempts))


def job_deadline_pass(*, job: CoordinatorCommand) -> str:
    """Act on one relayed job whose deadline passed (the caller holds its row): fail it, or send it again."""
    if job.permit_ends_at is not None:
        joined = job.device_id is not None and job.device.state in _JOINED
        reason = "interview_timed_out" if joined else "timed_out"
        _deadline_fail(job, reason)
        return reason
    if job.attempts >= settings.AMI_HAN_COMMAND_ATTEMPTS:
        _deadline_fail(job, "no_answer")
        return "no_answer"
    CoordinatorCommand.objects.filter(pk=job.pk, state=JobState.RELAYED).update(
        state=JobState.PENDING, lease_expires_at=lease_handoff_deadline(relay_queue())
    )
    audit_append(
        action="han.command_resent",
        actor_label="han-sweeper",
        target=f"device:{job.device.uid}" if job.device_id else f"premise:{job.network.premise_id}",
        payload={"command_id": str(job.command_id), "kind": job.kind, "envelopes_sent": job.attempts, "coordinator": job.coordinator.name},
    )
    transaction.on_commit(lambda: job_task_send(job_id=job.pk))
    return "resent"


def _overdue(now: datetime):
    from django.db.models import Q

    return Q(state=JobState.RELAYED) & (Q(permit_ends_at__lt=now) | Q(permit_ends_at__isnull=True, expires_at__lt=now))


def job_overdue_settle(*, device_id: int, now: datetime | None = None) -> int:
    """Apply the sweep's rule now to one device's overdue commands (Retry and re-submission call it first)."""
    now = now or timezone.now()
    settled = 0
    with transaction.atomic():
        for job in _jobs().select_for_update(of=("self",)).filter(_overdue(now), device_id=device_id):
            job_deadline_pass(job=job)
            settled += 1
    return settled


def han_commands_sweep(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Hand out lapsed claims and hand-offs again; fail closed permit windows; re-send or fail unanswered envelopes."""
    now = now or timezone.now()
    counts = {"returned": 0, "stranded": 0, "not_sent": 0, "timed_out": 0, "interview_timed_out": 0, "resent": 0, "no_answer": 0}
    with transaction.atomic():
        swept = lease_sweep(relay_queue(), now=now)
        counts["returned"], counts["stranded"] = len(swept.returned), len(swept.stranded)
        for job in _jobs().filter(pk__in=swept.failed):
            # The lease sweep has already moved it to failed: say why, and fail its device so Retry works.
            _deadline_fail(job, "not_sent")
            counts["not_sent"] += 1
        for job_id in swept.to_enqueue:
            transaction.on_commit(lambda job_id=job_id: job_task_send(job_id=job_id))
    with transaction.atomic():
        overdue = _jobs().select_for_update(of=("self",), skip_locked=True).filter(_overdue(now)).order_by("pk")[:limit]
        for job in overdue:
            counts[job_deadline_pass(job=job)] += 1
    if any(counts.values()):
        logger.info("HAN command sweep: %s", ", ".join(f"{k}={v}" for k, v in counts.items() if v))
    return counts
