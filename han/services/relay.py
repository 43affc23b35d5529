"""The head-end side of the coordinator command path (SO-C13, SO-C14, SO-U4, SO-U5, BF-HAN-1).

``job_relay`` turns a ``CommissioningJob`` into one signed envelope (key
material sealed to the destination coordinator) and puts it on that
coordinator's queue. ``report_record`` checks a coordinator's signed report
and moves the job and its device forward. Neither ever logs or returns a key.
"""

from __future__ import annotations

import copy
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import InterfaceError, OperationalError, transaction
from django.db.models import BinaryField, Case, DateTimeField, F, PositiveBigIntegerField, PositiveIntegerField, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from amiportal.audit.services import audit_append, audit_append_many
from amiportal.crypto.envelope import SealedValueError
from amiportal.premises.selectors import current_account_ids, current_agreement
from han import broker, drlc
from han.models import STATE_PATH, CommissioningJob, Coordinator, Device, DeviceState, JobKind, JobState
from han.protocol import CommandRejected, command_build, report_detail_open, report_verify
from han.services.head_end_keys import head_end_box_key, head_end_public_key_hex, head_end_signing_key  # noqa: F401 (re-exported)
from han.services.keys import link_key_open, network_key_open
from han.services.report_checks import (
    ReportWindow,
    command_expires_at,
    is_fresh,
    report_outlived_command,
    report_sequence,
    report_signed_at,
)

logger = logging.getLogger(__name__)

PERMIT_SECONDS = 60
COMMAND_TTL_SECONDS = 24 * 3600  # a coordinator that is down for a day still gets its work
RELAY_BATCH = 50  # jobs one relay runner takes along when several are waiting
COMMAND_LIFETIME = timedelta(seconds=COMMAND_TTL_SECONDS)

COMMAND_TYPE_FOR_KIND = {
    JobKind.NETWORK_CONFIGURE: "network_configure",
    JobKind.COMMISSION: "permit_join",
    JobKind.RESTORE: "permit_join",
    JobKind.REMOVE: "remove",
    JobKind.LOAD_CONTROL: "load_control",
    JobKind.STATUS_READ: "device_status_read",
}
DEVICE_COMMAND_KINDS = (JobKind.LOAD_CONTROL, JobKind.STATUS_READ)
# Report Event Status values after which the device is following the event.
_LOAD_CONTROL_ACCEPTED = ("received", "started", "completed", "opted_in")

FAILURE_MESSAGES = {
    "timed_out": (
        "The device did not join in time. Check that it is powered, in range and in pairing mode,"
        " and that the install code is this device's; then retry."
    ),
    "rejected": "The gateway refused the command",
    "key_unavailable": "The escrowed key could not be opened, so nothing was sent. Enter the install code again.",
    "not_on_this_network": "The device answered on a network that is not this premise's.",
    **drlc.TIMING_REFUSALS,
}


def job_enqueue(*, job: CommissioningJob) -> None:
    """Relay after the transaction that created the job commits, never inside it."""
    from han.tasks import han_job_relay_task

    transaction.on_commit(lambda: han_job_relay_task.delay(job.pk))


def _account_id(job: CommissioningJob, batch: _Batch | None = None) -> int | None:
    premise_id = job.network.premise_id
    if batch is not None and premise_id in batch.account_ids:
        return batch.account_ids[premise_id]
    agreement = current_agreement(premise=job.network.premise)
    account_id = agreement.account_id if agreement else None
    if batch is not None:
        batch.account_ids[premise_id] = account_id
    return account_id


def _account_ids_load(*, premise_ids: set[int], batch: _Batch) -> None:
    """The accounts of several premises' current agreements in one query (``current_account_ids``)."""
    wanted = premise_ids - batch.account_ids.keys()
    if wanted:
        batch.account_ids.update(current_account_ids(premise_ids=wanted))


@dataclass
class _Advance:
    """A device's furthest forward move asked for so far in a batch, written once when the batch is flushed."""

    state: DeviceState
    fields: dict[str, Any]
    audit_index: int | None = None  # an entry of ``_Batch.audits`` that stands only if the move happens


@dataclass
class _Batch:
    """What one transaction of reports shares: the audit entries to append at its end, and look-ups."""

    now: datetime
    audits: list[dict[str, Any]] = field(default_factory=list)
    account_ids: dict[int, int | None] = field(default_factory=dict)
    coordinators: dict[str, Coordinator | None] = field(default_factory=dict)
    # Coordinator id -> the signed time of its latest fresh report in this batch (proof of life).
    seen_at: dict[int, datetime] = field(default_factory=dict)
    # Coordinator id -> its report numbers (loaded from its row, which the batch holds locked).
    windows: dict[int, ReportWindow] = field(default_factory=dict)
    coordinator_names: dict[int, str] = field(default_factory=dict)
    jobs: dict[tuple[int, str], CommissioningJob | None] = field(default_factory=dict)
    # Reports checked while preloading (keyed by ``id(report)``): each signature is verified and its
    # sealed detail opened once; the opened detail is kept here, never written back into the report.
    details: dict[int, dict[str, Any]] = field(default_factory=dict)
    # Device moves and finished jobs, written together by ``flush`` (a device's permitted, joined and
    # interviewed usually arrive in one batch: one UPDATE instead of four).
    advances: dict[int, _Advance] = field(default_factory=dict)
    done_jobs: set[int] = field(default_factory=set)

    def audit(self, **entry: Any) -> int:
        self.audits.append(entry)
        return len(self.audits) - 1

    def flush(self) -> None:
        """Write the pending device moves and finished jobs. Before any other write that depends on them."""
        for device_id, move in self.advances.items():
            earlier = STATE_PATH[: STATE_PATH.index(move.state)]
            moved = Device.objects.filter(pk=device_id, state__in=earlier).update(state=move.state, **move.fields)
            if not moved and move.audit_index is not None:
                self.audits[move.audit_index] = None  # a repeated report (a redelivered task): audited the first time
        self.advances = {}
        if self.done_jobs:
            CommissioningJob.objects.filter(pk__in=self.done_jobs).update(state=JobState.DONE, detail="")
            self.done_jobs = set()

    def discard_pending(self) -> None:
        self.advances = {}
        self.done_jobs = set()

    def window(self, coordinator: Coordinator) -> ReportWindow:
        self.coordinator_names[coordinator.pk] = coordinator.name
        if coordinator.pk not in self.windows:
            self.windows[coordinator.pk] = ReportWindow.from_stored(high=coordinator.report_seq_high, window=coordinator.report_seq_window)
        return self.windows[coordinator.pk]

    def was_seen(self, coordinator: Coordinator, signed_at: datetime) -> None:
        if signed_at > self.seen_at.get(coordinator.pk, signed_at - timedelta(seconds=1)):
            self.seen_at[coordinator.pk] = signed_at

    def finish(self) -> None:
        """Appended last, so the audit chain's lock is held only for one insert at the end of the transaction."""
        self.flush()
        _coordinators_write(self)
        audit_append_many(entries=[entry for entry in self.audits if entry is not None])
        self.audits = []


def _advance(device_id: int, to: DeviceState, batch: _Batch | None = None, *, audit_index: int | None = None, **fields: Any) -> bool:
    """Move a device forward along the commissioning path only; late or repeated reports change nothing.

    With a ``batch`` the move is recorded and written by ``batch.flush()``, merged with the
    device's other moves in the batch (the furthest state wins; the intermediate states were
    never visible outside the transaction anyway), and the return value is only "asked for".
    """
    if batch is None:
        earlier = STATE_PATH[: STATE_PATH.index(to)]
        return bool(Device.objects.filter(pk=device_id, state__in=earlier).update(state=to, **fields))
    pending = batch.advances.get(device_id)
    if pending is not None and STATE_PATH.index(to) <= STATE_PATH.index(pending.state):
        return False
    batch.advances[device_id] = _Advance(
        state=to,
        fields={**(pending.fields if pending else {}), **fields},
        audit_index=audit_index if audit_index is not None else (pending.audit_index if pending else None),
    )
    return True


def _coordinators_write(batch: _Batch) -> None:
    """One UPDATE for every coordinator the batch heard from: report numbers, counters, and when each was last seen.

    ``last_seen_at`` comes from the reports' own signed times, only from fresh ones, and never moves back.
    Replays are audited once per coordinator and batch, with their numbers. One statement (``CASE`` per
    column) however many coordinators a batch carries: a process hosting many simulated premises sends
    batches from all of them.
    """
    windows = {pk: window for pk, window in batch.windows.items() if window.changed}
    ids = windows.keys() | batch.seen_at.keys()
    if not ids:
        return
    for coordinator_id, window in windows.items():
        if window.replayed:
            batch.audit(
                action="han.reports_replayed",
                actor_label="han-relay",
                target=f"coordinator:{batch.coordinator_names[coordinator_id]}",
                payload={"count": window.replayed, "sequence_numbers": window.replayed_numbers[:20]},
            )

    def per_coordinator(values: dict[int, Any], field_name: str, output_field) -> Case:
        whens = [When(pk=pk, then=Value(value, output_field=output_field)) for pk, value in values.items()]
        return Case(*whens, default=F(field_name), output_field=output_field)

    fields: dict[str, Any] = {}
    if windows:
        fields["report_seq_high"] = per_coordinator({pk: w.high for pk, w in windows.items()}, "report_seq_high", PositiveBigIntegerField())
        fields["report_seq_window"] = per_coordinator(
            {pk: w.stored_window() for pk, w in windows.items()}, "report_seq_window", BinaryField()
        )
        for counter, attribute in (("replayed_reports", "replayed"), ("stale_heartbeats", "stale_heartbeats"), ("late_reports", "late")):
            counts = {pk: getattr(w, attribute) for pk, w in windows.items() if getattr(w, attribute)}
            if counts:
                fields[counter] = Case(
                    *[When(pk=pk, then=F(counter) + count) for pk, count in counts.items()],
                    default=F(counter),
                    output_field=PositiveIntegerField(),
                )
    if batch.seen_at:
        seen = per_coordinator(batch.seen_at, "last_seen_at", DateTimeField())
        fields["last_seen_at"] = Greatest(Coalesce(F("last_seen_at"), seen), seen)
    Coordinator.objects.filter(pk__in=ids).update(**fields)


def _fail(job: CommissioningJob, reason: str, message: str, batch: _Batch | None = None) -> None:
    if batch is not None:
        batch.flush()  # a move or a finished job recorded earlier in the batch comes first, as it happened
    CommissioningJob.objects.filter(pk=job.pk).exclude(state=JobState.DONE).update(state=JobState.FAILED, detail=message[:300])
    if job.device_id and job.kind in (JobKind.COMMISSION, JobKind.RESTORE):
        Device.objects.filter(pk=job.device_id, state__in=STATE_PATH[:-1]).update(state=DeviceState.FAILED, failure_reason=message[:300])
    entry = {
        "action": "han.command_failed",
        "actor_label": "han-relay",
        "target": f"device:{job.device.uid}" if job.device_id else f"premise:{job.network.premise_id}",
        "customer_account_id": _account_id(job, batch),
        "payload": {"command_id": str(job.command_id), "kind": job.kind, "reason": reason, "coordinator": job.coordinator.name},
    }
    if batch is not None:
        batch.audit(**entry)
    else:
        audit_append(**entry)


def _secret_and_body(job: CommissioningJob) -> tuple[bytes | None, dict[str, Any]]:
    if job.kind == JobKind.NETWORK_CONFIGURE:
        network = job.network
        return network_key_open(network=network), {
            "pan_id": network.pan_id,
            "extended_pan_id": network.extended_pan_id,
            "channel": network.channel,
        }
    device = job.device
    if job.kind == JobKind.REMOVE:
        return None, {"eui64": device.eui64}
    if job.kind in DEVICE_COMMAND_KINDS:
        return None, {**job.parameters, "eui64": device.eui64}
    return link_key_open(device=device), {
        "eui64": device.eui64,
        "device_type": device.device_type,
        "permit_seconds": PERMIT_SECONDS,
        "restore": job.kind == JobKind.RESTORE,
    }


def job_relay(*, job_id: int) -> str:
    """Claim a pending job, sign and seal its command, hand it to the coordinator's queue.

    Safe to run twice: the claim admits one runner; a runner that died after
    claiming leaves the job ``relaying``, and the retry sends the same command
    id again, which the coordinator's replay guard drops if the first copy
    arrived. Either way the coordinator acts once.

    The runner also takes along up to ``RELAY_BATCH - 1`` other pending jobs
    (claimed with ``SKIP LOCKED``, so two runners never take the same one) and
    relays them in the same pass: one envelope each, signed and sealed to its
    own coordinator, one transaction and one audit append for all of them. That
    transaction holds their rows from the claim to the commit, so their own tasks
    wait for it and then find them handled (before, a task could find its job
    ``relaying`` while the runner was still sending it, and send it a second
    time). A runner that dies before its commit leaves them ``pending``, and
    their own tasks send them.
    """
    claimed = CommissioningJob.objects.filter(pk=job_id, state=JobState.PENDING).update(state=JobState.RELAYING, attempts=F("attempts") + 1)
    if not claimed:
        state = CommissioningJob.objects.filter(pk=job_id).values_list("state", flat=True).first()
        if state is None:
            return "gone"
        if state != JobState.RELAYING:
            return "already handled"  # usually: another runner took it along
        # "relaying": a runner is sending it right now (it holds the row until it commits), or one died after
        # claiming it. Wait for the row, then look again: only a job still "relaying" is ours to send.
        with transaction.atomic():
            state = CommissioningJob.objects.select_for_update().filter(pk=job_id).values_list("state", flat=True).first()
        if state != JobState.RELAYING:
            return "already handled" if state else "gone"
    with transaction.atomic():
        job = _JOBS.select_for_update(of=("self",)).filter(pk=job_id, state=JobState.RELAYING).first()
        if job is None:
            return "already handled"
        # Newest first: the tasks next in the queue are the oldest jobs' own, so they find their job free and
        # relay in parallel (another pool process) instead of waiting for this transaction to let go of it.
        others = list(
            CommissioningJob.objects.select_for_update(skip_locked=True)
            .filter(state=JobState.PENDING)
            .exclude(pk=job.pk)
            .order_by("-pk")
            .values_list("pk", flat=True)[: RELAY_BATCH - 1]
        )
        if others:
            CommissioningJob.objects.filter(pk__in=others).update(state=JobState.RELAYING, attempts=F("attempts") + 1)
        jobs = [job, *_JOBS.filter(pk__in=others).order_by("pk")]
        batch = _Batch(now=timezone.now().replace(microsecond=0))  # the envelopes' issued_at, in whole seconds
        _account_ids_load(premise_ids={each.network.premise_id for each in jobs}, batch=batch)
        outcomes, relayed = {}, []
        for each in jobs:
            outcome = _relay_one(each, batch)
            outcomes[each.pk] = outcome
            if outcome == "relayed":
                relayed.append(each)
        if relayed:
            CommissioningJob.objects.filter(pk__in=[j.pk for j in relayed], state=JobState.RELAYING).update(
                state=JobState.RELAYED, expires_at=batch.now + COMMAND_LIFETIME
            )
            device_ids = [j.device_id for j in relayed if j.device_id and j.kind in (JobKind.COMMISSION, JobKind.RESTORE)]
            earlier = STATE_PATH[: STATE_PATH.index(DeviceState.KEY_RELAYED)]
            Device.objects.filter(pk__in=device_ids, state__in=earlier).update(state=DeviceState.KEY_RELAYED)
        audit_append_many(entries=batch.audits)  # last: the audit chain's lock is held only for this insert and the commit
    for each in relayed:
        logger.info("relayed %s command %s to %s", COMMAND_TYPE_FOR_KIND[JobKind(each.kind)], each.command_id, each.coordinator.name)
    return outcomes[job.pk]


_JOBS = CommissioningJob.objects.select_related("network__premise", "coordinator", "device")


def _relay_one(job: CommissioningJob, batch: _Batch) -> str:
    """Sign, seal and publish one claimed job's command; its audit entry goes into ``batch``."""
    if job.device_id and job.kind in (JobKind.COMMISSION, JobKind.RESTORE) and job.device.state == DeviceState.DECOMMISSIONED:
        CommissioningJob.objects.filter(pk=job.pk).update(state=JobState.FAILED, detail="The device was removed before its key was sent.")
        return "device removed"
    try:
        secret, body = _secret_and_body(job)
    except SealedValueError:
        # Fail closed: a key that does not open is never guessed at or sent. The failure and its
        # audit entry commit together, with the rest of the runner's transaction.
        _fail(job, "key_unavailable", FAILURE_MESSAGES["key_unavailable"], batch)
        return "key unavailable"
    command_type = COMMAND_TYPE_FOR_KIND[JobKind(job.kind)]
    envelope = command_build(
        signing_key=head_end_signing_key(),
        command_type=command_type,
        command_id=str(job.command_id),
        coordinator=job.coordinator.name,
        recipient_public_hex=job.coordinator.box_public_key,
        body=body,
        secret=secret,
        ttl_seconds=COMMAND_TTL_SECONDS,
        now=batch.now.timestamp(),
    )
    key_sealed = secret is not None
    del secret
    broker.command_publish(coordinator_name=job.coordinator.name, envelope=envelope)
    batch.audit(
        action="han.command_relayed",
        actor_label="han-relay",
        target=f"device:{job.device.uid}" if job.device_id else f"premise:{job.network.premise_id}",
        customer_account_id=_account_id(job, batch),
        payload={
            "command_id": str(job.command_id),
            "type": command_type,
            "coordinator": job.coordinator.name,
            "key_sealed_to_coordinator": key_sealed,
        },
    )
    return "relayed"


@transaction.atomic
def report_record(*, report: dict[str, Any]) -> str:
    """Apply one signed coordinator report. Unsigned, forged or foreign reports change nothing."""
    batch = _Batch(now=timezone.now())
    _reports_preload([report], batch)
    outcome = _report_apply(report, batch)
    batch.finish()
    return outcome


def reports_record(*, reports: list[Any]) -> list[str]:
    """Apply a coordinator process's batch of signed reports, in order, in one transaction.

    Each report is checked on its own (its coordinator's signature) and applied as
    ``report_record`` would, and every audit entry is still written, one per event,
    in one append at the end. If a report breaks, the batch is rolled back and
    applied again report by report, each in its own savepoint, so one bad report
    does not hold up the rest. Safe to run twice: every change is a forward-only
    state guard.
    """
    reports = reports if isinstance(reports, list) else []
    try:
        with transaction.atomic():
            batch = _Batch(now=timezone.now())
            _reports_preload(reports, batch)
            outcomes = [_report_apply(report, batch) for report in reports]
            batch.finish()
            return outcomes
    except (OperationalError, InterfaceError):
        raise  # the database went away: the task retries the whole batch
    except Exception:
        logger.exception("a batch of %d reports failed; applying them one by one", len(reports))
    with transaction.atomic():
        batch = _Batch(now=timezone.now())
        outcomes = []
        for report in reports:
            audits_before = len(batch.audits)
            windows_before = copy.deepcopy(batch.windows)
            try:
                with transaction.atomic():
                    outcomes.append(_report_apply(report, batch))
                    batch.flush()  # inside its savepoint: a report that breaks takes its own moves with it
            except (OperationalError, InterfaceError):
                raise
            except Exception:
                logger.exception("a report could not be applied")
                del batch.audits[audits_before:]  # its changes were rolled back, so are its entries
                batch.discard_pending()
                batch.jobs.clear()
                batch.windows = windows_before  # its number was not used: a retry of it is not a replay
                outcomes.append("error")
        batch.finish()
        return outcomes


def _report_coordinator(name: Any, batch: _Batch) -> Coordinator | None:
    if not name:
        return None
    name = str(name)
    if name not in batch.coordinators:
        batch.coordinators[name] = Coordinator.objects.select_for_update().filter(name=name).first()
    return batch.coordinators[name]


# What applying a report reads of its job, locked: not the device's sealed key or its interview.
_REPORT_JOBS = (
    CommissioningJob.objects.select_for_update(of=("self",))
    .select_related("network", "coordinator", "device")
    .only(
        *("id", "command_id", "kind", "state", "network_id", "coordinator_id", "device_id", "result", "parameters"),
        *("expires_at", "created_at"),
        *("network__premise_id", "network__coordinator_id", "network__pan_id"),
        *("coordinator__name", "device__uid", "device__eui64"),
    )
)


def _report_verified(report: Any, coordinator: Coordinator, batch: _Batch) -> None:
    """``report_verify`` and open its sealed detail, once per report per batch (the preload may have done it)."""
    if id(report) in batch.details:
        return
    report_verify(report=report, verify_public_hex=coordinator.verify_public_key)
    batch.details[id(report)] = report_detail_open(report=report, head_end_box_key=head_end_box_key())


def _reports_preload(reports: list[Any], batch: _Batch) -> None:
    """Load what a batch of reports needs in three queries instead of a few per report.

    Their coordinators (one query), the jobs named by the reports whose signatures
    verify (one ``SELECT ... FOR UPDATE``, in primary-key order), and those premises'
    current accounts (one query). Anything not found here is looked up as before.
    """
    names = {str(r["coordinator"]) for r in reports if isinstance(r, dict) and r.get("coordinator")}
    names -= batch.coordinators.keys()
    if names:
        # Locked (in primary-key order, before any job): their report numbers are read and written by this batch.
        found = {c.name: c for c in Coordinator.objects.select_for_update().filter(name__in=names).order_by("pk")}
        for name in names:
            batch.coordinators[name] = found.get(name)
    wanted: dict[str, int] = {}
    for report in reports:
        if not isinstance(report, dict) or report.get("event") in ("online", "offline"):
            continue
        coordinator = batch.coordinators.get(str(report.get("coordinator")))
        if coordinator is None:
            continue
        try:
            _report_verified(report, coordinator, batch)
            command_id = str(uuid.UUID(str(report.get("command_id"))))
        except (CommandRejected, ValueError):
            continue  # refused (or looked up) one by one, as before
        if (coordinator.pk, command_id) not in batch.jobs:
            wanted[command_id] = coordinator.pk
    if not wanted:
        return
    jobs = list(_REPORT_JOBS.filter(command_id__in=list(wanted)).order_by("pk"))
    for job in jobs:
        if wanted.get(str(job.command_id)) == job.coordinator_id:
            batch.jobs[(job.coordinator_id, str(job.command_id))] = job
    _account_ids_load(premise_ids={job.network.premise_id for job in jobs}, batch=batch)


def _report_apply(report: Any, batch: _Batch) -> str:
    name = report.get("coordinator") if isinstance(report, dict) else None
    coordinator = _report_coordinator(name, batch)
    if coordinator is None:
        logger.warning("report from unknown coordinator %r ignored", name)
        return "unknown coordinator"
    try:
        _report_verified(report, coordinator, batch)
    except CommandRejected as exc:
        logger.warning("report from %s refused: %s", coordinator.name, exc)
        batch.audit(
            action="han.report_refused", actor_label="han-relay", target=f"coordinator:{coordinator.name}", payload={"reason": str(exc)}
        )
        return "refused"
    now = batch.now
    event = report.get("event")
    seq, signed_at = report_sequence(report), report_signed_at(report, now=now)
    if seq is None or signed_at is None:
        reason = "report carries no sequence number" if seq is None else "report has no signed time, or one in the future"
        logger.warning("report from %s refused: %s", coordinator.name, reason)
        batch.audit(
            action="han.report_refused",
            actor_label="han-relay",
            target=f"coordinator:{coordinator.name}",
            payload={"reason": reason, "event": str(event)[:40]},
        )
        return "refused"
    window = batch.window(coordinator)
    if not window.accept(seq):
        logger.warning("report %s from %s refused: number %d was seen before (replay)", event, coordinator.name, seq)
        return "replayed"
    fresh = is_fresh(signed_at, now=now)
    if event == "online":
        if not fresh:  # not proof of life: a coordinator that is down now may have signed it long ago
            window.stale_heartbeats += 1
            logger.warning("heartbeat from %s signed %s is stale", coordinator.name, signed_at.isoformat())
            return "stale"
        batch.was_seen(coordinator, signed_at)
        return "online"
    if event == "offline":  # a graceful stop, signed: the coordinator says it is going away
        logger.info("coordinator %s stopped (signed offline report)", coordinator.name)
        return "offline"
    if fresh:
        batch.was_seen(coordinator, signed_at)
    key = (coordinator.pk, str(report.get("command_id")))
    if key not in batch.jobs:  # a device's permitted, joined and interviewed usually arrive together
        batch.jobs[key] = _REPORT_JOBS.filter(command_id=report.get("command_id"), coordinator=coordinator).first()
    job = batch.jobs[key]
    if job is None:
        logger.warning("report %s from %s names no job of it", event, coordinator.name)
        return "no such job"
    expires = command_expires_at(expires_at=job.expires_at, created_at=job.created_at, parameters=job.parameters, lifetime=COMMAND_LIFETIME)
    if report_outlived_command(signed_at=signed_at, command_expires=expires, now=now, lifetime=COMMAND_LIFETIME):
        window.late += 1
        batch.audit(
            action="han.report_refused",
            actor_label="han-relay",
            target=f"coordinator:{coordinator.name}",
            payload={
                "reason": "report outlived its command",
                "event": str(event)[:40],
                "command_id": str(job.command_id),
                "seq": seq,
                "signed_at": signed_at.isoformat(),
            },
        )
        return "late"
    detail = batch.details[id(report)]
    if event == "duplicate":
        return "duplicate"
    if event == "rejected":
        _fail(job, "rejected", f"{FAILURE_MESSAGES['rejected']}: {str(detail.get('reason', ''))[:200]}", batch)
        return "rejected"
    if event == "failed":
        reason = str(detail.get("reason", "failed"))
        _fail(job, reason, FAILURE_MESSAGES.get(reason, str(detail.get("message", "The gateway reported a failure.")))[:300], batch)
        return "failed"
    if event in ("configured", "removed"):
        batch.flush()
        if not CommissioningJob.objects.filter(pk=job.pk).exclude(state=JobState.DONE).update(state=JobState.DONE, detail=""):
            return event  # a repeated report: recorded the first time
        batch.audit(
            action=f"han.{event}",
            actor_label=f"coordinator:{coordinator.name}",
            target=f"device:{job.device.uid}" if job.device_id else f"premise:{job.network.premise_id}",
            customer_account_id=_account_id(job, batch),
            payload={"command_id": str(job.command_id)},
        )
        return event
    if not job.device_id:
        return "ignored"
    if event in ("load_control_reported", "drlc_status", "status_read") and job.kind in DEVICE_COMMAND_KINDS:
        return _device_command_reported(job=job, coordinator=coordinator, event=event, detail=detail, batch=batch)
    device = job.device
    if event == "permitted":
        _advance(device.pk, DeviceState.PERMITTED, batch)
    elif event == "joined":
        _advance(device.pk, DeviceState.JOINED, batch, last_seen_at=now)
    elif event == "interviewed":
        return _interviewed(job=job, coordinator=coordinator, detail=detail, batch=batch)
    return event


def _interviewed(*, job: CommissioningJob, coordinator: Coordinator, detail: dict[str, Any], batch: _Batch) -> str:
    """Attachment is decided from the coordinator's interview, not from anything typed in a form."""
    device = job.device
    reported_ieee = str(detail.get("eui64", "")).lower()
    interview = {
        "eui64": reported_ieee,
        "nwk": detail.get("nwk"),
        "endpoints": detail.get("endpoints", [])[:16],
        "coordinator": coordinator.name,
        "pan_id": detail.get("pan_id"),
    }
    _advance(
        device.pk,
        DeviceState.INTERVIEWED,
        batch,
        manufacturer=str(detail.get("manufacturer") or "")[:100],
        model=str(detail.get("model") or "")[:100],
        interview=interview,
        last_seen_at=batch.now,
    )
    serves_premise = job.network.coordinator_id == coordinator.pk
    if reported_ieee != device.eui64 or not serves_premise or detail.get("pan_id") != job.network.pan_id:
        _fail(job, "not_on_this_network", FAILURE_MESSAGES["not_on_this_network"], batch)
        return "not verified"
    batch.done_jobs.add(job.pk)
    # Audited only if the move to verified happens when the batch is flushed; a repeated report
    # (a redelivered task) finds the device verified already, and its entry is dropped.
    audit_index = batch.audit(
        action="han.device_verified",
        actor_label=f"coordinator:{coordinator.name}",
        target=f"device:{device.uid}",
        customer_account_id=_account_id(job, batch),
        payload={
            "eui64": device.eui64,
            "premise_id": job.network.premise_id,
            "command_id": str(job.command_id),
            "model": str(detail.get("model") or "")[:100],
        },
    )
    if not _advance(device.pk, DeviceState.VERIFIED, batch, audit_index=audit_index, failure_reason=""):
        batch.audits[audit_index] = None  # the same report twice in one batch
    return "verified"


# Metering UnitofMeasure (SE 1.x D.3.2.2.4.1, zigpy's MeteringUnitofMeasure): what summation and demand are counted in.
METERING_UNITS = {
    0: ("kWh", "kW"),
    1: ("m³", "m³/h"),
    2: ("ft³", "ft³/h"),
    3: ("ccf", "ccf/h"),
    4: ("US gal", "US gal/h"),
    5: ("imp gal", "imp gal/h"),
    6: ("BTU", "BTU/h"),
    7: ("L", "L/h"),
    8: ("kPa (gauge)", "kPa (gauge)"),
    9: ("kPa (absolute)", "kPa (absolute)"),
    10: ("mcf", "mcf/h"),
    11: ("", ""),
}
_METERING_RANGES = {
    "current_summ_delivered": (0, 2**48 - 1),
    "instantaneous_demand": (-(2**23), 2**23 - 1),
    "unit_of_measure": (0, 255),
    "multiplier": (0, 2**24 - 1),
    "divisor": (0, 2**24 - 1),
}


def metering_result(raw: Any) -> dict[str, Any] | None:
    """A status read's Metering attributes as the device sent them, plus their values in units.

    The raw attributes are kept as read (a meter's own counters); ``summation_delivered`` and
    ``demand`` apply the device's multiplier and divisor. Anything out of the attribute's
    range is dropped rather than trusted.
    """
    if not isinstance(raw, dict):
        return None
    values = {
        name: raw[name]
        for name, (low, high) in _METERING_RANGES.items()
        if isinstance(raw.get(name), int) and not isinstance(raw.get(name), bool) and low <= raw[name] <= high
    }
    if not values:
        return None
    unit = values.get("unit_of_measure", 0) & 0x7F  # the top bit says BCD formatting, not another unit
    summation_unit, demand_unit = METERING_UNITS.get(unit, ("", ""))
    multiplier, divisor = values.get("multiplier", 1), values.get("divisor", 1)
    scaled = {}
    for name, key in (("current_summ_delivered", "summation_delivered"), ("instantaneous_demand", "demand")):
        if name in values and divisor:
            scaled[key] = str((Decimal(values[name]) * multiplier / divisor).normalize() + 0)
    return {
        **values,
        **scaled,
        "summation_unit": summation_unit,
        "demand_unit": demand_unit,
    }


def _device_command_reported(*, job: CommissioningJob, coordinator: Coordinator, event: str, detail: dict[str, Any], batch: _Batch) -> str:
    """A device's answer to a load-control event or a status read, as its coordinator signed it."""
    now = batch.now
    result = dict(job.result or {})
    if event == "status_read":
        result = {
            key: detail.get(key) for key in ("reachable", "manufacturer", "model", "lqi", "rssi", "load_control", "load_control_active")
        }
        result["metering"] = metering_result(detail.get("metering"))
        result["read_at"] = now.isoformat()
        CommissioningJob.objects.filter(pk=job.pk).update(state=JobState.DONE, detail="", result=result)
        action, outcome = "han.device_status_read", "read"
    else:
        status = {key: detail.get(key) for key in ("issuer_event_id", "status", "status_name", "status_time", "status_at")}
        statuses = [s for s in result.get("statuses", []) if s.get("status") != status["status"]] + [status]
        statuses.sort(key=lambda s: (s.get("status_time") or 0, s.get("status") or 0))
        result = {"statuses": statuses, "event_status": statuses[-1]["status_name"]}
        accepted = status["status_name"] in _LOAD_CONTROL_ACCEPTED
        if event == "load_control_reported":
            state = JobState.DONE if accepted else JobState.FAILED
            message = "" if accepted else f"The device refused the event ({status['status_name']})."
            CommissioningJob.objects.filter(pk=job.pk).update(state=state, detail=message, result=result)
        else:
            CommissioningJob.objects.filter(pk=job.pk).update(result=result)
        action, outcome = "han.load_control_reported", str(status["status_name"])
    job.result = result  # a later report in the same batch builds on it
    Device.objects.filter(pk=job.device_id).update(last_seen_at=now)
    batch.audit(
        action=action,
        actor_label=f"coordinator:{coordinator.name}",
        target=f"device:{job.device.uid}",
        customer_account_id=_account_id(job, batch),
        payload={"command_id": str(job.command_id), "outcome": outcome},
    )
    return outcome
