"""The head-end's own deadlines and report guards, at the service level (BF-HAN-1, SO-U4).

The relay runs inline with its envelopes captured (tests/han/conftest.py ``captured``); reports
are signed with the coordinator's own key, as its process signs them. The same faults with real
processes: tests/faults/test_han_faults.py and tests/faults/test_han_coordinator_faults.py.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerOperationalError

from amiportal.audit.models import AuditEntry
from han.commands.commission import Commission
from han.install_codes import install_code_parse
from han.models import Coordinator, CoordinatorCommand, Device, DeviceState, DeviceType, JobKind, JobState, WorkOrder
from han.protocol import report_build
from han.selectors import coordinator_is_online
from han.services.commissioning import device_commission, device_commission_retry, device_install_code_correct, device_remove
from han.services.head_end_keys import head_end_box_public_key_hex
from han.services.relay import job_relay, report_record
from han.services.report_guards import RETIRED_REASON
from han.services.sweeper import QUEUED_NOTICE, han_commands_sweep
from tests.conftest import signed_in
from tests.han.conftest import install_code_for, random_eui64

pytestmark = pytest.mark.django_db


class _Reports:
    """Signed reports of one coordinator, numbered as its process numbers them."""

    def __init__(self, identity) -> None:
        self.identity = identity
        self.seq = 100

    def signed(self, event, *, command_id=None, detail=None, seq=None, at=None):
        if seq is None:
            self.seq += 1
            seq = self.seq
        return report_build(
            identity=self.identity,
            event=event,
            command_id=command_id,
            detail=detail or {},
            seq=seq,
            head_end_box_public_hex=head_end_box_public_key_hex(),
            now=at,
        )


def _commission(network, actor, on_commit, *, code=None, eui64=None):
    parsed = install_code_parse(code=code or install_code_for(), eui64=eui64 or random_eui64())
    with on_commit(execute=True):
        return device_commission(network=network, parsed=parsed, device_type=DeviceType.IN_HOME_DISPLAY, actor=actor)


def _job(device) -> CoordinatorCommand:
    return CoordinatorCommand.objects.filter(device=device).order_by("-pk").first()


def _permitted(device, identity, reports: _Reports) -> CoordinatorCommand:
    job = _job(device)
    assert report_record(report=reports.signed("permitted", command_id=str(job.command_id), detail={"eui64": device.eui64})) == "permitted"
    job.refresh_from_db()
    return job


@pytest.mark.objective("SO-U4")
def test_a_retired_coordinators_report_is_refused_and_audited(alice_network, identity):
    Coordinator.objects.filter(name=identity.name).update(is_active=False)
    assert report_record(report=_Reports(identity).signed("online")) == "retired"
    refusal = AuditEntry.objects.get(action="han.report_refused", target=f"coordinator:{identity.name}")
    assert json.loads(refusal.payload)["reason"] == RETIRED_REASON
    assert Coordinator.objects.get(name=identity.name).last_seen_at is None


@pytest.mark.objective("SO-U4")
def test_a_late_timed_out_report_never_fails_a_device_that_joined(
    alice_network, identity, captured, ivan, django_capture_on_commit_callbacks
):
    device = _commission(alice_network, ivan, django_capture_on_commit_callbacks)
    reports = _Reports(identity)
    job = _permitted(device, identity, reports)
    report_record(report=reports.signed("joined", command_id=str(job.command_id), detail={"eui64": device.eui64, "nwk": 0x1001}))
    # Signed before the join (a lower number, never seen), applied after it: it must not undo the join.
    late = reports.signed("failed", command_id=str(job.command_id), detail={"reason": "timed_out"}, seq=reports.seq - 5)
    assert report_record(report=late) == "failed"
    device.refresh_from_db()
    assert device.state == DeviceState.JOINED
    assert report_record(report=late) == "replayed"  # and the same report again is a replay


def test_the_permit_window_is_held_by_the_head_end_and_the_sweep_fails_the_device_once(
    alice_network, identity, captured, ivan, django_capture_on_commit_callbacks
):
    device = _commission(alice_network, ivan, django_capture_on_commit_callbacks)
    job = _permitted(device, identity, _Reports(identity))
    window = settings.AMI_HAN_PERMIT_SECONDS + settings.AMI_HAN_PERMIT_GRACE_SECONDS
    assert abs((job.permit_ends_at - timezone.now()).total_seconds() - window) < 5

    assert han_commands_sweep(now=job.permit_ends_at - timedelta(seconds=1))["timed_out"] == 0
    assert han_commands_sweep(now=job.permit_ends_at + timedelta(seconds=1))["timed_out"] == 1
    assert not any(han_commands_sweep(now=job.permit_ends_at + timedelta(seconds=2)).values())  # idempotent
    device.refresh_from_db()
    assert (device.state, device.failure_reason) == (DeviceState.FAILED, Commission.failure_messages["timed_out"])
    assert AuditEntry.objects.filter(action="han.command_failed", target=f"device:{device.uid}").count() == 1


def test_retry_gets_a_device_out_of_waiting_after_its_deadline_even_before_the_sweep(
    alice_network, identity, captured, ivan, django_capture_on_commit_callbacks
):
    device = _commission(alice_network, ivan, django_capture_on_commit_callbacks)
    job = _permitted(device, identity, _Reports(identity))
    CoordinatorCommand.objects.filter(pk=job.pk).update(permit_ends_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        device_commission_retry(device=device, actor=ivan)
    device.refresh_from_db()
    assert device.state == DeviceState.KEY_RELAYED
    assert list(device.jobs.values_list("state", flat=True).order_by("pk")) == [JobState.FAILED, JobState.RELAYED]


def test_a_new_install_code_replaces_the_failed_registration_and_discards_the_old_key(
    alice_network, identity, captured, ivan, django_capture_on_commit_callbacks
):
    eui64 = random_eui64()
    device = _commission(alice_network, ivan, django_capture_on_commit_callbacks, eui64=eui64)
    old_sealed = Device.objects.get(pk=device.pk).link_key_sealed
    job = _permitted(device, identity, _Reports(identity))
    CoordinatorCommand.objects.filter(pk=job.pk).update(permit_ends_at=timezone.now() - timedelta(seconds=1))

    # Re-submitting the radio with another code after the deadline: the same row, a new key.
    again = _commission(alice_network, ivan, django_capture_on_commit_callbacks, eui64=eui64)
    assert again.pk == device.pk
    device.refresh_from_db()
    assert device.state == DeviceState.KEY_RELAYED and device.link_key_sealed not in ("", old_sealed)
    corrected = AuditEntry.objects.get(action="han.device_install_code_corrected", target=f"device:{device.uid}")
    assert json.loads(corrected.payload)["old_key_discarded"] is True

    # A code for another radio (the EUI-64 was wrong too) supersedes the row: the old one is removed, its key shredded.
    Device.objects.filter(pk=device.pk).update(state=DeviceState.FAILED)
    other = install_code_parse(code=install_code_for(), eui64=random_eui64())
    with django_capture_on_commit_callbacks(execute=True):
        replacement = device_install_code_correct(device=device, parsed=other, actor=ivan)
    device.refresh_from_db()
    assert replacement.pk != device.pk and replacement.eui64 == other.eui64
    assert (device.state, device.link_key_sealed) == (DeviceState.DECOMMISSIONED, "")


def test_an_unanswered_envelope_is_sent_again_fresh_with_the_same_command_id_then_fails(
    alice_network, identity, captured, ivan, django_capture_on_commit_callbacks, settings
):
    settings.AMI_HAN_COMMAND_ATTEMPTS = 2
    device = _commission(alice_network, ivan, django_capture_on_commit_callbacks)
    job, first = _job(device), captured[-1][1]
    later = job.expires_at + timedelta(seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert han_commands_sweep(now=later)["resent"] == 2  # the network's configuration too
    second = captured[-1][1]
    assert second["command_id"] == first["command_id"] == str(job.command_id)
    assert second["expires_at"] >= first["expires_at"]
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.RELAYED, 2)
    # The gateway refuses the first copy as expired: that fails nothing, the fresh copy is on its way.
    expired = _Reports(identity).signed("rejected", command_id=str(job.command_id), detail={"reason": "command has expired"})
    assert report_record(report=expired) == "expired"
    assert han_commands_sweep(now=job.expires_at + timedelta(seconds=1))["no_answer"] == 2
    device.refresh_from_db()
    assert device.state == DeviceState.FAILED
    assert device.failure_reason == "The gateway did not take the command in 2 attempts. Check that it is online, then retry."


def test_a_claim_whose_runner_died_is_returned_by_the_sweep_when_its_lease_lapses(
    alice_network, identity, captured, ivan, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):  # the task never reaches a worker
        device = device_commission(
            network=alice_network,
            parsed=install_code_parse(code=install_code_for(), eui64=random_eui64()),
            device_type=DeviceType.THERMOSTAT,
            actor=ivan,
        )
    job = _job(device)
    lease = timezone.now() + timedelta(seconds=settings.AMI_HAN_RELAY_LEASE_SECONDS)
    CoordinatorCommand.objects.filter(pk=job.pk).update(state=JobState.RELAYING, lease_expires_at=lease)  # a runner claimed it, then died
    assert job_relay(job_id=job.pk) == "claimed by another runner"
    assert han_commands_sweep(now=lease - timedelta(seconds=1))["returned"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert han_commands_sweep(now=lease + timedelta(seconds=1))["returned"] == 1
    job.refresh_from_db()
    assert job.state == JobState.RELAYED and captured[-1][1]["command_id"] == str(job.command_id)


def test_removing_a_device_whose_key_never_left_cancels_it_and_sends_nothing(
    alice_network, identity, captured, alice, ivan, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        device = device_commission(
            network=alice_network,
            parsed=install_code_parse(code=install_code_for(), eui64=random_eui64()),
            device_type=DeviceType.THERMOSTAT,
            actor=ivan,
        )
    sent = len(captured)
    with django_capture_on_commit_callbacks(execute=True):
        device_remove(device=device, actor=alice)
    assert len(captured) == sent
    assert not device.jobs.filter(kind=JobKind.REMOVE).exists()
    assert _job(device).state == JobState.FAILED
    removed = AuditEntry.objects.get(action="han.device_removed", target=f"device:{device.uid}")
    assert json.loads(removed.payload)["sent_to_gateway"] is False


def test_an_offline_report_shows_the_coordinator_offline_at_once_and_silence_after_45_s(alice_network, identity):
    reports = _Reports(identity)
    report_record(report=reports.signed("online"))
    coordinator = Coordinator.objects.get(name=identity.name)
    assert coordinator_is_online(coordinator)
    Coordinator.objects.filter(pk=coordinator.pk).update(last_seen_at=timezone.now() - timedelta(seconds=44))
    assert coordinator_is_online(Coordinator.objects.get(pk=coordinator.pk))
    Coordinator.objects.filter(pk=coordinator.pk).update(last_seen_at=timezone.now() - timedelta(seconds=46))
    assert not coordinator_is_online(Coordinator.objects.get(pk=coordinator.pk))

    report_record(report=reports.signed("online"))
    assert report_record(report=reports.signed("offline")) == "offline"
    assert not coordinator_is_online(Coordinator.objects.get(pk=coordinator.pk))
    report_record(report=reports.signed("online", at=timezone.now().timestamp() + 1))  # back: a later heartbeat
    assert coordinator_is_online(Coordinator.objects.get(pk=coordinator.pk))


@pytest.mark.django_db(transaction=True)  # the relay task is sent when the submission commits, as in production
def test_the_installer_sees_queued_when_the_broker_is_down_and_nothing_is_half_written(alice_network, ivan, monkeypatch):
    def broker_down(*args, **kwargs):
        raise BrokerOperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr("han.tasks.han_relay_pending_task.delay", broker_down)
    work_order = WorkOrder.objects.create(premise=alice_network.premise, installer=ivan, summary="Install a display")
    url = reverse("han:installer_work_order", args=[work_order.pk])
    eui64 = random_eui64()
    response = signed_in(ivan).post(url, {"install_code": install_code_for(), "eui64": eui64, "device_type": "ihd"}, follow=True)
    assert response.status_code == 200
    assert QUEUED_NOTICE in response.content.decode()
    device = Device.objects.get(eui64=eui64)
    assert device.state == DeviceState.REGISTERED and device.link_key_sealed
    assert _job(device).detail == QUEUED_NOTICE


def test_beat_runs_the_han_command_sweeper_every_few_seconds():
    from datetime import timedelta as delta

    from amiportal.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["han-commands-sweep"]
    assert entry["task"] == "han.tasks.han_commands_sweep_task" and entry["task"] in app.tasks
    assert entry["schedule"] <= delta(seconds=10)
