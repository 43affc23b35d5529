"""Batched reports and relays keep every guarantee of the one-by-one path (BF-HAN-1, SO-U5, SO-U8)."""

from __future__ import annotations

import threading

import pytest

from amiportal.audit.models import AuditEntry
from amiportal.audit.selectors import audit_verify
from amiportal.audit.services import audit_append, audit_append_many
from han.coordinator.reports import BUSY_BATCH, ReportSender
from han.install_codes import install_code_parse
from han.models import Coordinator, CoordinatorCommand, Device, DeviceState, DeviceType, JobKind, JobState
from han.protocol import CoordinatorIdentity, report_build
from han.services.commissioning import device_commission
from han.services.head_end_keys import head_end_box_public_key_hex
from han.services.relay import job_relay, reports_record
from tests.han.conftest import install_code_for, random_eui64
from tests.han.drive import events, run_coordinator

pytestmark = pytest.mark.django_db


def _commission(network, sim_device, actor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return device_commission(
            network=network,
            parsed=install_code_parse(code=sim_device.install_code, eui64=sim_device.eui64),
            device_type=DeviceType.IN_HOME_DISPLAY,
            actor=actor,
        )


@pytest.mark.objective("SO-U8")
def _loaded(instance):
    """An instance's loaded fields, deferred fields and state: what a compiled read must give as the ORM does."""
    if instance is None:
        return None
    deferred = instance.get_deferred_fields()
    fields = {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields if f.attname not in deferred}
    return fields, deferred, instance._state.adding, instance._state.db


def test_entries_appended_together_chain_exactly_like_entries_appended_one_by_one():
    audit_append(action="test.first", actor_label="test")
    entries = audit_append_many(entries=[{"action": f"test.batch.{n}", "actor_label": "test", "payload": {"n": n}} for n in range(3)])
    audit_append(action="test.last", actor_label="test")
    assert [e.seq for e in entries] == [2, 3, 4]
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert actions == ["test.first", "test.batch.0", "test.batch.1", "test.batch.2", "test.last"]
    assert audit_verify().ok


@pytest.mark.objective("SO-U8")
def test_entries_appended_together_are_stored_exactly_as_they_were_hashed():
    audit_append(action="test.first", actor_label="test")
    entries = audit_append_many(
        entries=[
            {"action": "test.unicode", "actor_label": "test", "target": "x" * 250, "payload": {"name": "Zoë", "n": 1.5, "none": None}},
            {"action": "test.account", "actor_label": "test", "customer_account_id": 42, "payload": {"list": [1, "two"]}},
        ]
    )
    stored = {entry.seq: entry for entry in AuditEntry.objects.filter(seq__in=[e.seq for e in entries])}
    for entry in entries:
        row = stored[entry.seq]
        assert not entry._state.adding
        for field in AuditEntry._meta.concrete_fields:
            assert getattr(row, field.attname) == getattr(entry, field.attname), field.name
    assert stored[entries[0].seq].target == "x" * 200
    assert audit_verify().ok


@pytest.mark.objective("SO-U8")
def test_a_large_append_is_written_in_chunks_and_still_chains_in_order():
    entries = audit_append_many(entries=[{"action": "test.many", "actor_label": "test", "payload": {"n": n}} for n in range(1001)])
    assert [e.seq for e in entries] == list(range(1, 1002))
    assert list(AuditEntry.objects.values_list("seq", flat=True)) == list(range(1, 1002))
    assert audit_verify().ok


@pytest.mark.objective("SO-U5")
def test_a_batch_of_reports_verifies_a_device_and_a_forged_report_in_it_changes_nothing(
    alice_network, identity, captured, sim_device, ivan, django_capture_on_commit_callbacks
):
    device = _commission(alice_network, sim_device, ivan, django_capture_on_commit_callbacks)
    reports = run_coordinator(identity, [e for _, e in captured], [sim_device], until=lambda r: "interviewed" in events(r))
    forger = CoordinatorIdentity.generate(identity.name)  # the right name, the wrong key
    forged = report_build(
        identity=forger,
        event="failed",
        command_id=reports[-1]["command_id"],
        detail={"reason": "timed_out"},
        seq=reports[-1]["seq"] + 1,
        head_end_box_public_hex=head_end_box_public_key_hex(),
    )

    outcomes = reports_record(reports=[*reports, forged, "not a report"])

    assert outcomes[-2:] == ["refused", "unknown coordinator"]
    device.refresh_from_db()
    assert device.state == DeviceState.VERIFIED
    assert AuditEntry.objects.filter(action="han.device_verified", target=f"device:{device.uid}").count() == 1
    assert AuditEntry.objects.filter(action="han.report_refused").count() == 1
    # Applying the same batch again (a retried task) changes nothing.
    reports_record(reports=reports)
    assert AuditEntry.objects.filter(action="han.device_verified", target=f"device:{device.uid}").count() == 1
    assert audit_verify().ok


@pytest.mark.objective("SO-U5")
def test_a_device_whose_reports_arrive_together_is_written_once_and_a_repeat_in_the_batch_is_not_audited_twice(
    alice_network, identity, captured, sim_device, ivan, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    device = _commission(alice_network, sim_device, ivan, django_capture_on_commit_callbacks)
    reports = run_coordinator(identity, [e for _, e in captured], [sim_device], until=lambda r: "interviewed" in events(r))
    reports = [r for r in reports if r["event"] != "configured"]
    assert events(reports) == ["permitted", "joined", "interviewed"]

    # Coordinator, job and account in three look-ups; one UPDATE for the device's four moves, one for the job,
    # one for the coordinator (report numbers, counters, last_seen_at); the audit append (lock, head, insert,
    # in the batch's own savepoint: none of its own, amiportal.audit.services).
    with django_assert_max_num_queries(11):
        outcomes = reports_record(reports=[*reports, reports[-1], reports[1]])

    # The repeats carry numbers already seen in the batch: refused as replays, counted, and they change nothing.
    assert outcomes == ["permitted", "joined", "verified", "replayed", "replayed"]
    device.refresh_from_db()
    assert device.state == DeviceState.VERIFIED
    assert (device.manufacturer, device.model) == (sim_device.manufacturer, sim_device.model)
    assert device.interview["eui64"] == sim_device.eui64 and device.last_seen_at is not None
    assert CoordinatorCommand.objects.get(device=device).state == JobState.DONE
    assert AuditEntry.objects.filter(action="han.device_verified", target=f"device:{device.uid}").count() == 1
    assert Coordinator.objects.get(pk=alice_network.coordinator_id).replayed_reports == 2
    assert audit_verify().ok


@pytest.mark.objective("SO-U8")
def test_a_report_that_breaks_a_batch_is_set_aside_and_the_rest_are_applied_one_by_one_with_their_entries(
    alice_network, identity, captured, ivan, django_capture_on_commit_callbacks, monkeypatch
):
    from han.commands.commission import Commission
    from han.coordinator.simulated import SimulatedDevice

    sims = [SimulatedDevice(eui64=random_eui64(), install_code=install_code_for(), device_type="ihd") for _ in range(2)]
    devices = [_commission(alice_network, sim, ivan, django_capture_on_commit_callbacks) for sim in sims]
    reports = run_coordinator(identity, [e for _, e in captured], sims, until=lambda r: events(r).count("interviewed") == 2)
    reports = [r for r in reports if r["event"] != "configured"]
    broken = str(CoordinatorCommand.objects.get(device=devices[0]).command_id)
    interviewed = Commission._interviewed

    def breaks_for_one(self, ctx):
        if str(ctx.command.command_id) == broken:
            raise RuntimeError("a handler bug")
        return interviewed(self, ctx)

    monkeypatch.setattr(Commission, "_interviewed", breaks_for_one)
    outcomes = reports_record(reports=reports)

    assert sorted(outcomes) == sorted(["permitted", "joined", "error", "permitted", "joined", "verified"])
    states = {d.pk: d.state for d in Device.objects.filter(pk__in=[d.pk for d in devices])}
    assert states == {devices[0].pk: DeviceState.JOINED, devices[1].pk: DeviceState.VERIFIED}
    assert list(AuditEntry.objects.filter(action="han.device_verified").values_list("target", flat=True)) == [f"device:{devices[1].uid}"]
    assert audit_verify().ok


def test_the_compiled_read_of_a_batchs_jobs_gives_what_the_orm_gives(alice_network, sim_device, ivan, django_capture_on_commit_callbacks):
    from han.services.relay import _REPORT_JOBS, _report_coordinators_load, _report_jobs_load

    _commission(alice_network, sim_device, ivan, django_capture_on_commit_callbacks)
    jobs = list(CoordinatorCommand.objects.filter(network=alice_network).order_by("pk"))
    assert {job.kind for job in jobs} == {JobKind.NETWORK_CONFIGURE, JobKind.COMMISSION}  # one without a device, one with
    command_ids = [str(job.command_id) for job in jobs]

    got = _report_jobs_load([*command_ids, "00000000-0000-0000-0000-000000000000"])
    expected = list(_REPORT_JOBS.filter(command_id__in=command_ids).order_by("pk"))

    assert len(got) == len(expected) == 2
    for mine, theirs in zip(got, expected, strict=True):
        assert _loaded(mine) == _loaded(theirs)
        for name in ("network", "coordinator", "device"):
            assert CoordinatorCommand._meta.get_field(name).is_cached(mine)
            assert _loaded(getattr(mine, name)) == _loaded(getattr(theirs, name))
    assert [c.name for c in _report_coordinators_load([alice_network.coordinator.name, "nobody"])] == [alice_network.coordinator.name]


def test_the_compiled_reads_of_a_relay_runners_jobs_give_what_the_orm_gives(
    alice_network, sim_device, ivan, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    from han.services.relay import _JOBS, _claimed_job_load, _jobs_load

    _commission(alice_network, sim_device, ivan, django_capture_on_commit_callbacks)
    jobs = list(CoordinatorCommand.objects.filter(network=alice_network).order_by("pk"))
    assert {job.kind for job in jobs} == {JobKind.NETWORK_CONFIGURE, JobKind.COMMISSION}  # one without a device, one with

    def same(mine, theirs):
        assert _loaded(mine) == _loaded(theirs)
        for name in ("network", "coordinator", "device"):
            assert CoordinatorCommand._meta.get_field(name).is_cached(mine)
            assert _loaded(getattr(mine, name)) == _loaded(getattr(theirs, name))
        assert _loaded(mine.network.premise) == _loaded(theirs.network.premise)

    got = _jobs_load([job.pk for job in jobs] + [-1])
    expected = list(_JOBS.filter(pk__in=[job.pk for job in jobs]).order_by("pk"))
    assert len(got) == len(expected) == 2
    for mine, theirs in zip(got, expected, strict=True):
        same(mine, theirs)
    assert _jobs_load([]) == []

    lease = timezone.now() + timedelta(seconds=30)
    CoordinatorCommand.objects.filter(pk=jobs[1].pk).update(state=JobState.RELAYING, lease_expires_at=lease)
    same(_claimed_job_load(job_id=jobs[1].pk, lease_expires_at=lease), _JOBS.get(pk=jobs[1].pk))
    assert _claimed_job_load(job_id=jobs[1].pk, lease_expires_at=lease + timedelta(microseconds=1)) is None  # another lease
    assert _claimed_job_load(job_id=jobs[0].pk, lease_expires_at=lease) is None  # not relaying


def test_a_relay_takes_waiting_jobs_along_and_their_own_tasks_find_them_handled(alice_network, ivan, captured):
    devices = [
        device_commission(
            network=alice_network,
            parsed=install_code_parse(code=install_code_for(), eui64=random_eui64()),
            device_type=DeviceType.IN_HOME_DISPLAY,
            actor=ivan,
        )
        for _ in range(3)
    ]  # their relay tasks were not run: the jobs wait
    jobs = list(CoordinatorCommand.objects.filter(device__in=devices, kind=JobKind.COMMISSION).order_by("pk"))
    captured.clear()

    assert job_relay(job_id=jobs[0].pk) == "relayed"
    assert sorted(envelope["command_id"] for _, envelope in captured) == sorted(str(job.command_id) for job in jobs)
    assert all(envelope["sealed"] is not None for _, envelope in captured)  # each sealed to the coordinator
    assert [job_relay(job_id=job.pk) for job in jobs[1:]] == ["already handled", "already handled"]
    assert len(captured) == 3
    assert set(CoordinatorCommand.objects.filter(pk__in=[j.pk for j in jobs]).values_list("state", flat=True)) == {JobState.RELAYED}
    assert set(Device.objects.filter(pk__in=[d.pk for d in devices]).values_list("state", flat=True)) == {DeviceState.KEY_RELAYED}
    for job in jobs:
        assert AuditEntry.objects.filter(action="han.command_relayed", payload__contains=str(job.command_id)).count() == 1


def test_the_report_sender_batches_what_arrives_together_and_sends_the_rest_when_closed():
    sent: list[list[dict]] = []
    gate = threading.Event()

    def send(batch):
        gate.wait(5)
        sent.append(batch)

    sender = ReportSender(send_batch=send, linger_seconds=0.05)
    for n in range(5):
        sender.submit({"n": n})
    gate.set()
    sender.submit({"n": 5})
    sender.close()
    assert [report["n"] for batch in sent for report in batch] == list(range(6))  # none lost, in order
    assert sent[0][:5] == [{"n": n} for n in range(5)]  # what waited went as one batch


def test_a_quiet_sender_sends_a_lone_devices_reports_without_waiting_out_its_linger():
    sent: list[list[dict]] = []
    arrived = threading.Event()

    def send(batch):
        sent.append(batch)
        arrived.set()

    sender = ReportSender(send_batch=send, linger_seconds=60, quiet_gap_seconds=0.01)
    try:
        for event in ("permitted", "joined", "interviewed"):
            sender.submit({"event": event})
        assert arrived.wait(20), "a quiet sender held its reports for the whole linger"
        assert [report["event"] for batch in sent for report in batch] == ["permitted", "joined", "interviewed"]
    finally:
        sender.close()


def test_a_busy_sender_lingers_so_that_a_head_end_task_carries_many_reports():
    sent: list[list[dict]] = []
    first_sent, gate = threading.Event(), threading.Event()

    def send(batch):
        sent.append(batch)
        first_sent.set()
        gate.wait(20)

    sender = ReportSender(send_batch=send, linger_seconds=60, quiet_gap_seconds=0.01)
    try:
        for n in range(BUSY_BATCH):
            sender.submit({"n": n})
        assert first_sent.wait(20)
        gate.set()
        assert [len(batch) for batch in sent] == [BUSY_BATCH]  # streaming in: the sender is now busy
        sender.submit({"n": BUSY_BATCH})
        threading.Event().wait(0.5)  # a quiet sender would have sent it after 10 ms
        assert len(sent) == 1  # busy: it waits for the reports that follow (up to the linger)
    finally:
        sender.close()
    assert [report["n"] for batch in sent for report in batch] == list(range(BUSY_BATCH + 1))  # none lost at close
