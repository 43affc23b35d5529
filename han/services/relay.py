"""The head-end side of the coordinator command path (SO-C13, SO-C14, SO-U4, SO-U5, BF-HAN-1).

``job_relay`` claims a ``CoordinatorCommand``, has its command type (``han.commands``)
build the body and secret, signs and seals them into one envelope (key material
sealed to the destination coordinator) and puts it on that coordinator's queue.
``report_record`` checks a coordinator's signed report (signature, sequence number,
freshness, its command, the command's lifetime) and hands it to the command type's
report handler through a ``ReportContext``. Neither ever logs or returns a key.
Nothing here knows one kind of command from another.
"""

from __future__ import annotations

import copy
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from amiportal.audit.services import audit_append, audit_append_many
from amiportal.compiled_queries import AnyOf, CompiledQuery, model_columns, model_from_row
from amiportal.crypto.envelope import SealedValueError
from amiportal.leases import lease_claim
from amiportal.premises.models import Premise
from amiportal.premises.selectors import current_account_ids, current_agreement
from han import broker
from han.commands import UnknownCommandType, command_type
from han.models import STATE_PATH, Coordinator, CoordinatorCommand, Device, DeviceState, HanNetwork, JobState
from han.protocol import CommandRejected, command_build, report_detail_open, report_verify
from han.services.batch_writes import CoordinatorRow, DeviceMove, coordinators_write, devices_move, jobs_done, jobs_relayed
from han.services.head_end_keys import head_end_box_key, head_end_public_key_hex, head_end_signing_key  # noqa: F401 (re-exported)
from han.services.live_demand import live_demand_record
from han.services.radios import coordinator_radio_record
from han.services.report_checks import (
    ReportWindow,
    command_expires_at,
    is_fresh,
    report_outlived_command,
    report_sequence,
    report_signed_at,
)
from han.services.report_guards import (
    coordinator_offline_record,
    coordinator_retired,
    rejection_is_expired_envelope,
    retired_refusal_entry,
)
from han.services.sweeper import permit_window_record

logger = logging.getLogger(__name__)

# An envelope lives minutes, not a day: one still unanswered by then is sent again, fresh (same command
# id), by the sweeper (han.services.sweeper), up to AMI_HAN_COMMAND_ATTEMPTS envelopes in all.
COMMAND_TTL_SECONDS = settings.AMI_HAN_COMMAND_TTL_SECONDS  # 10 minutes unless configured
RELAY_BATCH = 50  # jobs one relay runner takes along when several are waiting
COMMAND_LIFETIME = timedelta(seconds=COMMAND_TTL_SECONDS)

# What every command type shares; each type adds its own (``CommandType.failure_messages``).
FAILURE_MESSAGES = {
    "rejected": "The gateway refused the command",
    "key_unavailable": "The escrowed key could not be opened, so nothing was sent. Enter the install code again.",
}
# Failures that can only happen after the device joined: they alone may fail a joined device.
POST_JOIN_FAILURES = ("interview_failed", "not_on_this_network", "interview_timed_out")


def job_enqueue(*, job: CoordinatorCommand) -> None:
    """Relay after the transaction that created the job commits, never inside it.

    The job has a hand-off deadline (``han.services.sweeper``; ``coordinator_command_create`` writes
    it with the row, one UPDATE less per command): if the broker is unreachable when the task is
    sent, the submission still commits, the job is marked queued, and the sweeper sends it once
    the broker is back.
    """
    from han.services.sweeper import job_handoff_mark, job_task_send

    if job.lease_expires_at is None:
        job_handoff_mark(job_ids=[job.pk])
    transaction.on_commit(lambda: job_task_send(job_id=job.pk))


def jobs_enqueue(*, job_ids: list[int]) -> None:
    """``job_enqueue`` for many jobs created together (a command to a grid area): one hand-off mark, and
    after the commit one wake-up of the relay (``han.services.relay_wakeup``): its runner relays them
    all, ``RELAY_BATCH`` to a pass, whatever the area's size."""
    from han.services.relay_wakeup import relay_wake
    from han.services.sweeper import job_handoff_mark

    if not job_ids:
        return
    job_handoff_mark(job_ids=job_ids)
    ids = list(job_ids)
    transaction.on_commit(lambda: relay_wake(job_ids=ids))


def _account_id(job: CoordinatorCommand, batch: _Batch | None = None) -> int | None:
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
    jobs: dict[tuple[int, str], CoordinatorCommand | None] = field(default_factory=dict)
    # Reports checked while preloading (keyed by ``id(report)``): each signature is verified and its
    # sealed detail opened once; the opened detail is kept here, never written back into the report.
    details: dict[int, dict[str, Any]] = field(default_factory=dict)
    # Device moves and finished jobs, written together by ``flush`` (a device's permitted, joined and
    # interviewed usually arrive in one batch: one UPDATE instead of four).
    advances: dict[int, _Advance] = field(default_factory=dict)
    done_jobs: set[int] = field(default_factory=set)
    # Job id -> when its coordinator opened the permit window; written by ``flush`` unless the job finished in the batch.
    permit_windows: dict[int, datetime] = field(default_factory=dict)

    def audit(self, **entry: Any) -> int:
        self.audits.append(entry)
        return len(self.audits) - 1

    def flush(self) -> None:
        """Write the pending device moves and finished jobs. Before any other write that depends on them."""
        if self.advances:
            moved = devices_move([DeviceMove(device_id, move.state, move.fields) for device_id, move in self.advances.items()])
            for device_id, move in self.advances.items():
                if device_id not in moved and move.audit_index is not None:
                    self.audits[move.audit_index] = None  # a repeated report (a redelivered task): audited the first time
        self.advances = {}
        for job_id, opened_at in self.permit_windows.items():
            if job_id not in self.done_jobs:
                permit_window_record(job_id=job_id, opened_at=opened_at)
        self.permit_windows = {}
        if self.done_jobs:
            jobs_done(sorted(self.done_jobs))
            self.done_jobs = set()

    def discard_pending(self) -> None:
        self.advances = {}
        self.permit_windows = {}
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
    Replays are audited once per coordinator and batch, with their numbers. One statement however many
    coordinators a batch carries (a process hosting many simulated premises sends batches from all of
    them): on PostgreSQL one ``UPDATE ... FROM (VALUES ...)`` row per coordinator, elsewhere a ``CASE``
    per column.
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

    coordinators_write([CoordinatorRow(pk=pk, window=windows.get(pk), seen_at=batch.seen_at.get(pk)) for pk in sorted(ids)])


def _fail(job: CoordinatorCommand, reason: str, message: str, batch: _Batch | None = None) -> None:
    if batch is not None:
        batch.flush()  # a move or a finished job recorded earlier in the batch comes first, as it happened
    CoordinatorCommand.objects.filter(pk=job.pk).exclude(state=JobState.DONE).update(state=JobState.FAILED, detail=message[:300])
    if job.device_id and _commissions_device(job):
        # A failure from before the join (a late timed_out, a replayed report) never overrides a device that joined.
        failable = STATE_PATH[:-1] if reason in POST_JOIN_FAILURES else STATE_PATH[: STATE_PATH.index(DeviceState.JOINED)]
        Device.objects.filter(pk=job.device_id, state__in=failable).update(state=DeviceState.FAILED, failure_reason=message[:300])
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


def _commissions_device(job: CoordinatorCommand) -> bool:
    """Whether the job walks its device along the commissioning path (``CommandType.commissions_device``)."""
    try:
        return command_type(job.kind).commissions_device
    except UnknownCommandType:
        return False


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
    transaction holds their rows from the claim to the commit, so another runner
    waits for it and then finds them handled (before, a task could find its job
    ``relaying`` while the runner was still sending it, and send it a second
    time). A runner that dies before its commit leaves them ``pending`` with their
    hand-off deadline, and the sweeper hands them out again.

    Runners are woken once for many commands (``han.services.relay_wakeup``).
    """
    from han.services.sweeper import relay_queue

    # A claim with a lease (amiportal.leases): a runner that dies after this leaves the job "relaying" only
    # until the lease lapses; the sweeper then hands it out again, whatever the broker's visibility timeout.
    lease = lease_claim(relay_queue(), pk=job_id)
    if lease is None:
        state = CoordinatorCommand.objects.filter(pk=job_id).values_list("state", flat=True).first()
        if state is None:
            return "gone"
        # "relaying": another runner holds its lease (the sweeper returns it if that runner died);
        # anything else: usually another runner took it along.
        return "claimed by another runner" if state == JobState.RELAYING else "already handled"
    with transaction.atomic():
        job = _claimed_job_load(job_id=job_id, lease_expires_at=lease.expires_at)
        if job is None:
            return "lease lost"  # swept meanwhile: the sweeper counted the attempt and handed it out again
        # Newest first: the tasks next in the queue are the oldest jobs' own, so they find their job free and
        # relay in parallel (another pool process) instead of waiting for this transaction to let go of it.
        others = [pk for (pk,) in _OTHERS_PENDING.rows(job_id=job.pk)]
        if others:
            CoordinatorCommand.objects.filter(pk__in=others).update(state=JobState.RELAYING)
        jobs = [job, *_jobs_load(others)]
        batch = _Batch(now=timezone.now().replace(microsecond=0))  # the envelopes' issued_at, in whole seconds
        _account_ids_load(premise_ids={each.network.premise_id for each in jobs}, batch=batch)
        outcomes, relayed = {}, []
        for each in jobs:
            outcome = _relay_one(each, batch)
            outcomes[each.pk] = outcome
            if outcome == "relayed":
                relayed.append(each)
        if relayed:
            # Each counts one envelope more (the sweeper sends a fresh one when this one expires unanswered).
            jobs_relayed([j.pk for j in relayed], expires_at=batch.now + COMMAND_LIFETIME)
            device_ids = [j.device_id for j in relayed if j.device_id and _commissions_device(j)]
            devices_move([DeviceMove(device_id, DeviceState.KEY_RELAYED, {}) for device_id in device_ids])  # forward only
        audit_append_many(entries=batch.audits)  # last: the audit chain's lock is held only for this insert and the commit
    for each in relayed:
        logger.info("relayed %s command %s to %s", command_type(each.kind).wire_type, each.command_id, each.coordinator.name)
    return outcomes[job.pk]


_JOBS = CoordinatorCommand.objects.select_related("network__premise", "coordinator", "device")

# ``_JOBS`` compiled once per process (Django building this four-way join cost a runner pass more than PostgreSQL
# answering it): every column of the job and of each related row, made into the instances ``_JOBS`` gives.
_JOB_ROWS = (
    ("", CoordinatorCommand),
    ("network__", HanNetwork),
    ("network__premise__", Premise),
    ("coordinator__", Coordinator),
    ("device__", Device),
)
_JOB_ROW_COLUMNS = [column for prefix, model in _JOB_ROWS for column in model_columns(model, prefix)]
_CLAIMED_JOB = CompiledQuery(
    lambda job_id, lease_expires_at: (
        _JOBS.select_for_update(no_key=True, of=("self",))
        .filter(pk=job_id, state=JobState.RELAYING, lease_expires_at=lease_expires_at)
        .order_by("pk")
        .values_list(*_JOB_ROW_COLUMNS)[:1]
    ),
    "job_id",
    "lease_expires_at",
    types={"lease_expires_at": datetime},
)
_JOBS_BY_ID = CompiledQuery(
    lambda job_ids: _JOBS.filter(AnyOf("pk", job_ids)).order_by("pk").values_list(*_JOB_ROW_COLUMNS),
    "job_ids",
    types={"job_ids": list},
)


def _job_from_row(row: tuple) -> CoordinatorCommand:
    parts, at = {}, 0
    for prefix, model in _JOB_ROWS:
        width = len(model._meta.concrete_fields)
        parts[prefix] = row[at : at + width]
        at += width
    alias = connection.alias
    job = model_from_row(CoordinatorCommand, alias, parts[""])
    network = model_from_row(HanNetwork, alias, parts["network__"])
    HanNetwork._meta.get_field("premise").set_cached_value(network, model_from_row(Premise, alias, parts["network__premise__"]))
    CoordinatorCommand._meta.get_field("network").set_cached_value(job, network)
    CoordinatorCommand._meta.get_field("coordinator").set_cached_value(job, model_from_row(Coordinator, alias, parts["coordinator__"]))
    device = model_from_row(Device, alias, parts["device__"]) if job.device_id is not None else None
    CoordinatorCommand._meta.get_field("device").set_cached_value(job, device)
    return job


def _claimed_job_load(*, job_id: int, lease_expires_at: datetime) -> CoordinatorCommand | None:
    """The job this runner claimed, locked, if its lease is still this one (``_JOBS``; compiled on PostgreSQL)."""
    if connection.vendor != "postgresql":
        return (
            _JOBS.select_for_update(no_key=True, of=("self",))
            .filter(pk=job_id, state=JobState.RELAYING, lease_expires_at=lease_expires_at)
            .first()
        )
    rows = _CLAIMED_JOB.rows(job_id=job_id, lease_expires_at=lease_expires_at)
    return _job_from_row(rows[0]) if rows else None


def _jobs_load(job_ids: list[int]) -> list[CoordinatorCommand]:
    """``_JOBS`` of these ids, in primary-key order (compiled on PostgreSQL)."""
    if not job_ids:
        return []
    if connection.vendor != "postgresql":
        return list(_JOBS.filter(pk__in=job_ids).order_by("pk"))
    return [_job_from_row(row) for row in _JOBS_BY_ID.rows(job_ids=job_ids)]


# The pending jobs a runner takes along, newest first, locked (skipping those another runner holds); compiled once per process.
_OTHERS_PENDING = CompiledQuery(
    lambda job_id: (
        CoordinatorCommand.objects.select_for_update(no_key=True, skip_locked=True)
        .filter(state=JobState.PENDING)
        .exclude(pk=job_id)
        .order_by("-pk")
        .values_list("pk", flat=True)[: RELAY_BATCH - 1]
    ),
    "job_id",
)


def _relay_one(job: CoordinatorCommand, batch: _Batch) -> str:
    """Sign, seal and publish one claimed job's command; its audit entry goes into ``batch``."""
    try:
        kind = command_type(job.kind)
    except UnknownCommandType as exc:
        # A kind no module registers (a row from another release, or written by hand): refused, nothing sent.
        _fail(job, "unknown_command_type", str(exc), batch)
        return "unknown command type"
    if job.device_id and kind.commissions_device and job.device.state == DeviceState.DECOMMISSIONED:
        CoordinatorCommand.objects.filter(pk=job.pk).update(state=JobState.FAILED, detail="The device was removed before its key was sent.")
        return "device removed"
    try:
        secret, body = kind.build(job)
    except SealedValueError:
        # Fail closed: a key that does not open is never guessed at or sent. The failure and its
        # audit entry commit together, with the rest of the runner's transaction.
        _fail(job, "key_unavailable", FAILURE_MESSAGES["key_unavailable"], batch)
        return "key unavailable"
    envelope = command_build(
        signing_key=head_end_signing_key(),
        command_type=kind.wire_type,
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
            "type": kind.wire_type,
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
        batch.coordinators[name] = Coordinator.objects.select_for_update(no_key=True).filter(name=name).first()
    return batch.coordinators[name]


# What applying a report reads of its job, locked: not the device's sealed key or its interview.
_REPORT_JOBS = (
    CoordinatorCommand.objects.select_for_update(no_key=True, of=("self",))
    .select_related("network", "coordinator", "device")
    .only(
        *("id", "command_id", "kind", "state", "network_id", "coordinator_id", "device_id", "result", "parameters"),
        *("expires_at", "created_at"),
        *("network__premise_id", "network__coordinator_id", "network__pan_id"),
        *("coordinator__name", "device__uid", "device__eui64"),
    )
)


# A batch's coordinators and jobs, read with queries compiled once per process on PostgreSQL
# (``amiportal.compiled_queries``): Django building them for every batch cost more than PostgreSQL answering them.
_REPORT_COORDINATORS = CompiledQuery(
    lambda names: Coordinator.objects.select_for_update(no_key=True).filter(AnyOf("name", names)).order_by("pk"),
    "names",
    types={"names": list},
    instances=True,
)


def _report_coordinators_load(names: list[str]) -> list[Coordinator]:
    """The coordinators of these names, locked, in primary-key order (compiled once per process on PostgreSQL)."""
    if connection.vendor != "postgresql":
        return list(Coordinator.objects.select_for_update(no_key=True).filter(name__in=names).order_by("pk"))
    return _REPORT_COORDINATORS.objects(names=names)


def _loaded_attnames(model, names: set[str]) -> list[str]:
    """``names`` (field names) as attnames, in the model's column order: the order ``Model.from_db`` takes them in."""
    return [field.attname for field in model._meta.concrete_fields if field.name in names or field.attname in names]


# The jobs come back as values and are made into the instances ``_REPORT_JOBS`` gives: the same columns loaded,
# the same related rows attached (with the same columns), the rest deferred.
_JOB_ATTNAMES = _loaded_attnames(
    CoordinatorCommand,
    {"id", "command_id", "kind", "state", "network", "coordinator", "device", "result", "parameters", "expires_at", "created_at"},
)
_JOB_RELATED = {  # the job's foreign key -> the related row's columns loaded with it (besides its id, the job's key)
    "network": ["premise_id", "coordinator_id", "pan_id"],
    "coordinator": ["name"],
    "device": ["uid", "eui64"],
}
_REPORT_JOBS_COMPILED = CompiledQuery(
    lambda command_ids: (
        _REPORT_JOBS.filter(AnyOf("command_id", command_ids))
        .order_by("pk")
        .values_list(*_JOB_ATTNAMES, *(f"{name}__{column}" for name, columns in _JOB_RELATED.items() for column in columns))
    ),
    "command_ids",
    types={"command_ids": list},
)


def _report_jobs_load(command_ids: list[str]) -> list[CoordinatorCommand]:
    """``_REPORT_JOBS`` of these command ids, in primary-key order and locked, as the ORM would give them."""
    if connection.vendor != "postgresql":
        return list(_REPORT_JOBS.filter(command_id__in=command_ids).order_by("pk"))
    jobs = []
    width = len(_JOB_ATTNAMES)
    for row in _REPORT_JOBS_COMPILED.rows(command_ids=[uuid.UUID(each) for each in command_ids]):
        job = CoordinatorCommand.from_db(connection.alias, _JOB_ATTNAMES, row[:width])
        at = width
        for name, columns in _JOB_RELATED.items():
            field = CoordinatorCommand._meta.get_field(name)
            key = getattr(job, field.attname)
            values = row[at : at + len(columns)]
            at += len(columns)
            related = None
            if key is not None:
                model = field.related_model
                attnames = _loaded_attnames(model, {"id", *columns})
                by_name = dict(zip(["id", *columns], [key, *values], strict=True))
                related = model.from_db(connection.alias, attnames, [by_name[attname] for attname in attnames])
            field.set_cached_value(job, related)
        jobs.append(job)
    return jobs


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
        found = {c.name: c for c in _report_coordinators_load(sorted(names))}
        for name in names:
            batch.coordinators[name] = found.get(name)
    wanted: dict[str, int] = {}
    for report in reports:
        if not isinstance(report, dict) or report.get("event") in ("online", "offline", "metering"):
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
    jobs = _report_jobs_load(list(wanted))
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
    if coordinator_retired(coordinator):
        logger.warning("report %s from retired coordinator %s refused", str(event)[:40], coordinator.name)
        batch.audit(**retired_refusal_entry(coordinator=coordinator, event=event, seq=report.get("seq")))
        return "retired"
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
    if event == "offline":  # a graceful stop: offline now, not when its last heartbeat ages out
        coordinator_offline_record(coordinator=coordinator, signed_at=signed_at)
        return "offline"
    if event == "online":
        if not fresh:  # not proof of life: a coordinator that is down now may have signed it long ago
            window.stale_heartbeats += 1
            logger.warning("heartbeat from %s signed %s is stale", coordinator.name, signed_at.isoformat())
            return "stale"
        batch.was_seen(coordinator, signed_at)
        coordinator_radio_record(coordinator, batch.details[id(report)])
        return "online"
    if event == "metering":  # a meter's demand, relayed as it reported it: no command behind it
        if not fresh:
            return "stale"
        batch.was_seen(coordinator, signed_at)
        return live_demand_record(coordinator=coordinator, detail=batch.details[id(report)], signed_at=signed_at)
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
    if event == "duplicate":
        return "duplicate"
    detail = batch.details[id(report)]
    if event == "rejected":
        if rejection_is_expired_envelope(detail):
            return "expired"  # not a failure: the sweeper sends a fresh envelope, or fails the command at its deadline
        _fail(job, "rejected", f"{FAILURE_MESSAGES['rejected']}: {str(detail.get('reason', ''))[:200]}", batch)
        return "rejected"
    try:
        kind = command_type(job.kind)
    except UnknownCommandType:
        logger.warning("report %s from %s: its command's kind %r is not registered", event, coordinator.name, job.kind)
        return "unknown command type"
    return kind.report(
        ReportContext(command=job, coordinator=coordinator, event=str(event), detail=detail, batch=batch, signed_at=signed_at)
    )


@dataclass
class ReportContext:
    """What a command type's report handler (``CommandType.report``) gets: one verified, fresh, in-sequence report
    of one of its commands, and the few ways it may change the command, its device and the audit trail.

    Writes go through the report batch, so a batch of reports stays one transaction with one audit append.
    """

    command: CoordinatorCommand
    coordinator: Coordinator
    event: str
    detail: dict[str, Any]
    batch: _Batch
    signed_at: datetime | None = None  # the report's own signed time

    def permit_window_opened(self) -> None:
        """The gateway opened the device's permit window: the head-end's deadline for the join (``han.services.sweeper``)."""
        if self.signed_at is not None:
            self.batch.permit_windows[self.command.pk] = self.signed_at

    @property
    def now(self) -> datetime:
        return self.batch.now

    def fail(self, reason: str, message: str) -> None:
        """The command failed (and its device, for a commissioning command); audited as ``han.command_failed``."""
        _fail(self.command, reason, message, self.batch)

    def advance(self, to: DeviceState, *, audit_index: int | None = None, **fields: Any) -> bool:
        """Move the command's device forward along the commissioning path (never back); see ``_advance``."""
        return _advance(self.command.device_id, to, self.batch, audit_index=audit_index, **fields)

    def done_later(self) -> None:
        """Mark the command done when the batch is flushed, with the device moves recorded before it."""
        self.batch.done_jobs.add(self.command.pk)

    def done_and_audit(self, action: str) -> str:
        """Mark the command done now and audit ``action`` once (a repeated report changes nothing)."""
        self.batch.flush()
        if not CoordinatorCommand.objects.filter(pk=self.command.pk).exclude(state=JobState.DONE).update(state=JobState.DONE, detail=""):
            return self.event  # a repeated report: recorded the first time
        command = self.command
        self.audit(
            action=action,
            actor_label=f"coordinator:{self.coordinator.name}",
            target=f"device:{command.device.uid}" if command.device_id else f"premise:{command.network.premise_id}",
            customer_account_id=self.account_id(),
            payload={"command_id": str(command.command_id)},
        )
        return self.event

    def update(self, **fields: Any) -> None:
        """Write the command's state, detail or result; a later report in the same batch sees the new result."""
        CoordinatorCommand.objects.filter(pk=self.command.pk).update(**fields)
        if "result" in fields:
            self.command.result = fields["result"]

    def device_seen(self, **lookup: Any) -> None:
        Device.objects.filter(**lookup).update(last_seen_at=self.now)

    def audit(self, **entry: Any) -> int:
        return self.batch.audit(**entry)

    def drop_audit(self, index: int) -> None:
        self.batch.audits[index] = None

    def account_id(self) -> int | None:
        return _account_id(self.command, self.batch)
