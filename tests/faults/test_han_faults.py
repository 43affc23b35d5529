"""The HAN command path under faults, with real processes: Redis, a Celery worker and beat, the coordinator (BF-HAN-1).

Each test kills or stops a real process (or the broker) at the worst moment and shows that the
head-end's deadlines, held in the database and enforced by the beat sweeper
(``han.services.sweeper``), get every device out of its in-between state. The test database is
shared with the processes, so these tests commit. Figures are printed with ``-s``
(docs/reliability.md, "HAN faults").
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests

from amiportal.audit.models import AuditEntry
from han.commands.commission import Commission
from han.install_codes import install_code_parse
from han.models import Coordinator, CoordinatorCommand, Device, DeviceState, DeviceType, JobKind, JobState, WorkOrder
from han.protocol import CoordinatorIdentity
from han.services.commissioning import device_commission, device_install_code_correct
from han.services.networks import coordinator_register, han_network_create
from han.services.sweeper import QUEUED_NOTICE
from tests.conftest import signed_in, wait_for
from tests.faults.processes import elapsed_since, figures
from tests.han.conftest import install_code_for, random_eui64

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

SWEEP_EVERY = 2


def _gateway(tmp_path: Path, name: str, devices: list[dict]) -> tuple[Coordinator, Path]:
    identity = CoordinatorIdentity.generate(name)
    identity.save(tmp_path / "keys" / f"{name}.key")
    path = tmp_path / f"{name}.devices.json"
    path.write_text(json.dumps(devices))
    coordinator = coordinator_register(name=name, box_public_key=identity.box_public_hex, verify_public_key=identity.verify_public_hex)
    return coordinator, path


def _state(device: Device) -> str:
    device.refresh_from_db()
    return device.state


def _configured(network) -> bool:
    return CoordinatorCommand.objects.filter(network=network, kind=JobKind.NETWORK_CONFIGURE, state=JobState.DONE).exists()


@pytest.mark.objective("BF-HAN-1")
def test_a_coordinator_restarted_during_a_permit_window_leaves_no_device_waiting_and_a_corrected_code_joins(
    alice, ivan, tmp_path, fault_processes
):
    fault_processes.env |= {"AMI_HAN_PERMIT_SECONDS": "8", "AMI_HAN_PERMIT_GRACE_SECONDS": "2"}
    right_code, wrong_code, eui64 = install_code_for(), install_code_for(), random_eui64()
    coordinator, devices = _gateway(tmp_path, "gw-permit", [{"eui64": eui64, "install_code": right_code, "device_type": "ihd"}])
    network = han_network_create(premise=alice.customer_account.agreements.get().premise, coordinator=coordinator)
    fault_processes.worker()
    fault_processes.beat("han-commands-sweep", every_seconds=SWEEP_EVERY)
    fault_processes.coordinator(coordinator.name, devices)
    wait_for(lambda: _configured(network), timeout=40)

    # The installer typed a wrong code: the gateway opens its window, the device cannot join.
    device = device_commission(
        network=network, parsed=install_code_parse(code=wrong_code, eui64=eui64), device_type=DeviceType.IN_HOME_DISPLAY, actor=ivan
    )
    wait_for(lambda: _state(device) == DeviceState.PERMITTED, timeout=30)
    time.sleep(1)  # the coordinator has acknowledged the command: a restart does not get it again
    fault_processes.kill("coordinator")  # its in-memory deadline dies with it
    fault_processes.coordinator(coordinator.name, devices)
    restarted = time.monotonic()

    wait_for(lambda: _state(device) == DeviceState.FAILED, timeout=40)
    failed_after = elapsed_since(restarted)
    job = CoordinatorCommand.objects.get(device=device)
    assert job.state == JobState.FAILED and job.permit_ends_at is not None
    failure = AuditEntry.objects.get(action="han.command_failed", target=f"device:{device.uid}")
    # The restarted gateway says at once that it lost the window (its durable state); the head-end's own
    # deadline in the database is the backstop when it cannot (a gateway that never comes back).
    reason = json.loads(failure.payload)["reason"]
    assert reason in ("gateway_restarted", "timed_out")
    if reason == "timed_out":
        assert device.failure_reason == Commission.failure_messages["timed_out"]
    else:
        assert device.failure_reason.startswith("The gateway restarted while it waited for the device")

    # The installer corrects the code: it replaces the failed registration, and the device joins.
    corrected = device_install_code_correct(device=device, parsed=install_code_parse(code=right_code, eui64=eui64), actor=ivan)
    assert corrected.pk == device.pk
    wait_for(lambda: _state(device) == DeviceState.VERIFIED, timeout=40)
    assert AuditEntry.objects.filter(action="han.device_install_code_corrected", target=f"device:{device.uid}").count() == 1
    figures("coordinator restarted in a permit window", permit_s=8, grace_s=2, failed_after_restart_s=failed_after)


@pytest.mark.objective("BF-HAN-1")
def test_a_command_unanswered_when_its_envelope_expires_is_sent_again_fresh_and_the_gateway_acts_on_it_once(
    alice, ivan, tmp_path, fault_processes
):
    fault_processes.env |= {"AMI_HAN_COMMAND_TTL_SECONDS": "5", "AMI_HAN_COMMAND_ATTEMPTS": "20"}
    code, eui64 = install_code_for(), random_eui64()
    coordinator, devices = _gateway(tmp_path, "gw-ttl", [{"eui64": eui64, "install_code": code, "device_type": "pct"}])
    network = han_network_create(premise=alice.customer_account.agreements.get().premise, coordinator=coordinator)
    parsed = install_code_parse(code=code, eui64=eui64)
    device = device_commission(network=network, parsed=parsed, device_type=DeviceType.THERMOSTAT, actor=ivan)
    job = CoordinatorCommand.objects.get(device=device)
    fault_processes.worker()
    fault_processes.beat("han-commands-sweep", every_seconds=SWEEP_EVERY)

    # The gateway is down: the first envelope expires on its queue, and a fresh one (same command id) follows.
    wait_for(lambda: CoordinatorCommand.objects.get(pk=job.pk).attempts >= 2, timeout=40)
    assert AuditEntry.objects.filter(action="han.command_resent", target=f"device:{device.uid}").exists()
    fault_processes.coordinator(coordinator.name, devices)
    wait_for(lambda: _state(device) == DeviceState.VERIFIED, timeout=60)
    job.refresh_from_db()
    assert job.state == JobState.DONE and CoordinatorCommand.objects.filter(device=device).count() == 1
    logs = fault_processes.logs()
    assert "command has expired" in logs  # the stale copies were refused by the gateway, and failed nothing
    assert logs.count(f"gw-ttl: permit_join command {job.command_id}") == 1  # it acted once
    figures("envelope expired unanswered", ttl_s=5, envelopes_sent=job.attempts)


@pytest.mark.objective("BF-HAN-1")
def test_a_command_for_a_gateway_that_never_comes_back_fails_after_its_attempts_with_a_clear_message(
    alice, ivan, tmp_path, fault_processes
):
    fault_processes.env |= {"AMI_HAN_COMMAND_TTL_SECONDS": "3", "AMI_HAN_COMMAND_ATTEMPTS": "3"}
    code, eui64 = install_code_for(), random_eui64()
    coordinator, _ = _gateway(tmp_path, "gw-gone", [])
    network = han_network_create(premise=alice.customer_account.agreements.get().premise, coordinator=coordinator)
    device = device_commission(network=network, parsed=install_code_parse(code=code, eui64=eui64), device_type=DeviceType.EVSE, actor=ivan)
    fault_processes.worker()
    fault_processes.beat("han-commands-sweep", every_seconds=SWEEP_EVERY)
    wait_for(lambda: _state(device) == DeviceState.FAILED, timeout=60)
    assert device.failure_reason == "The gateway did not take the command in 3 attempts. Check that it is online, then retry."
    assert CoordinatorCommand.objects.get(device=device).attempts == 3


@pytest.mark.objective("BF-HAN-1")
def test_a_worker_killed_mid_relay_under_the_production_visibility_timeout_is_resent_within_seconds(alice, ivan, tmp_path, fault_processes):
    """The worker dies with the job claimed; Redis would hand its task out again only after an hour (3600 s)."""
    import os
    import signal

    import psycopg
    from django.db import connection

    from tests.conftest import database_url_for_subprocess

    fault_processes.env.pop("AMI_CELERY_VISIBILITY_TIMEOUT", None)  # the production setting, 3600 s
    code, eui64 = install_code_for(), random_eui64()
    coordinator, devices = _gateway(tmp_path, "gw-kill", [{"eui64": eui64, "install_code": code, "device_type": "evse"}])
    network = han_network_create(premise=alice.customer_account.agreements.get().premise, coordinator=coordinator)
    device = device_commission(network=network, parsed=install_code_parse(code=code, eui64=eui64), device_type=DeviceType.EVSE, actor=ivan)
    job = CoordinatorCommand.objects.get(device=device)

    with psycopg.connect(database_url_for_subprocess()) as blocker:
        blocker.execute("SELECT id FROM han_coordinatorcommand WHERE id = %s FOR UPDATE", [job.pk])

        def worker_is_blocked():
            with connection.cursor() as cursor:
                cursor.execute(
                    # This test database only: other test runs on the server may be waiting on their own job rows.
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    " AND query LIKE 'UPDATE %%han_coordinatorcommand%%'"
                )
                return cursor.fetchone()[0] > 0

        first = fault_processes.worker()
        wait_for(worker_is_blocked, timeout=90)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        fault_processes.running.pop("worker")
        blocker.rollback()
    killed = time.monotonic()

    wait_for(lambda: CoordinatorCommand.objects.get(pk=job.pk).state == JobState.RELAYING)  # claimed by a dead worker
    fault_processes.worker()
    fault_processes.beat("han-commands-sweep", every_seconds=SWEEP_EVERY)
    fault_processes.coordinator(coordinator.name, devices)
    wait_for(lambda: _state(device) == DeviceState.KEY_RELAYED or device.state in (DeviceState.PERMITTED, DeviceState.VERIFIED), timeout=60)
    resent_after = elapsed_since(killed)
    wait_for(lambda: _state(device) == DeviceState.VERIFIED, timeout=60)
    assert resent_after < 45, "the lease (15 s) and the sweep, not the broker's hour"
    assert AuditEntry.objects.filter(action="han.command_relayed", target=f"device:{device.uid}").count() == 1
    assert fault_processes.logs().count(f"gw-kill: permit_join command {job.command_id}") == 1
    figures("worker killed mid relay", visibility_timeout_s=3600, lease_s=15, resent_after_kill_s=resent_after)


@pytest.mark.objective("BF-HAN-1")
@pytest.mark.objective("SO-U3")
def test_a_device_submitted_while_the_broker_is_down_is_queued_for_the_installer_and_sent_when_it_is_back(
    alice, ivan, tmp_path, fault_processes, own_broker
):
    code, eui64 = install_code_for(), random_eui64()
    coordinator, devices = _gateway(tmp_path, "gw-outage", [{"eui64": eui64, "install_code": code, "device_type": "ihd"}])
    premise = alice.customer_account.agreements.get().premise
    network = han_network_create(premise=premise, coordinator=coordinator)
    work_order = WorkOrder.objects.create(premise=premise, installer=ivan, summary="Install in-home display")
    fault_processes.worker()
    fault_processes.beat("han-commands-sweep", every_seconds=SWEEP_EVERY)
    base_url = fault_processes.web()
    fault_processes.coordinator(coordinator.name, devices)
    wait_for(lambda: _configured(network), timeout=40)
    fault_processes.kill("coordinator")  # it comes back with the broker

    client = signed_in(ivan)
    browser = requests.Session()
    browser.cookies.set("sessionid", client.cookies["sessionid"].value, domain="127.0.0.1")
    browser.cookies.set("csrftoken", client.csrf_token(), domain="127.0.0.1")
    own_broker.stop()
    outage = time.monotonic()
    page = f"{base_url}/han/installer/work-orders/{work_order.pk}/"
    form = {"csrfmiddlewaretoken": browser.cookies["csrftoken"], "install_code": code, "eui64": eui64, "device_type": "ihd"}
    answer = browser.post(page, data=form, headers={"Referer": page}, allow_redirects=False, timeout=30)
    answered_in = elapsed_since(outage)
    assert answer.status_code == 302, answer.status_code
    shown = browser.get(page, timeout=30).text
    assert QUEUED_NOTICE in shown
    device = Device.objects.get(eui64=eui64)
    assert device.state == DeviceState.REGISTERED
    assert CoordinatorCommand.objects.get(device=device).detail == QUEUED_NOTICE

    time.sleep(5)  # a little outage: the sweeper cannot reach the broker either
    own_broker.start()
    back = time.monotonic()
    wait_for(lambda: _state(device) == DeviceState.KEY_RELAYED, timeout=60)
    sent_after = elapsed_since(back)
    fault_processes.coordinator(coordinator.name, devices)
    wait_for(lambda: _state(device) == DeviceState.VERIFIED, timeout=60)
    assert AuditEntry.objects.filter(action="han.command_relayed", target=f"device:{device.uid}").count() == 1
    figures("broker down at submission", answered_s=answered_in, sent_after_broker_back_s=sent_after)
