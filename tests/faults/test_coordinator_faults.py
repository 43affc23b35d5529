"""The coordinator process under faults: its broker killed, itself killed mid permit window (BF-HAN-1).

Real processes: a redis-server of the test's own (killed and started again), a Celery
worker and ``han_coordinator`` on the simulated radio, against the test database. The
test database is shared with the processes, so these tests commit.
"""

from __future__ import annotations

import json
import time

import pytest

from han.coordinator.reports import ReportSender
from han.install_codes import install_code_parse
from han.models import Device, DeviceState, DeviceType
from han.protocol import CoordinatorIdentity
from han.services.commissioning import device_commission, device_commission_retry
from han.services.networks import coordinator_register, han_network_create
from tests.conftest import wait_for
from tests.faults.processes import elapsed_since, figures
from tests.han.conftest import install_code_for, random_eui64
from tests.han.queued_reports import queued_reports

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

OUTAGE_SECONDS = 8


def _state(device: Device) -> str:
    device.refresh_from_db()
    return device.state


def _gateway(tmp_path, name: str, premise, devices: list[dict]):
    identity = CoordinatorIdentity.generate(name)
    identity.save(tmp_path / "keys" / f"{name}.key")
    devices_file = tmp_path / "devices.json"
    devices_file.write_text(json.dumps(devices))
    coordinator = coordinator_register(name=name, box_public_key=identity.box_public_hex, verify_public_key=identity.verify_public_hex)
    return han_network_create(premise=premise, coordinator=coordinator), devices_file


def _commission(network, code: str, eui64: str, installer) -> Device:
    parsed = install_code_parse(code=code, eui64=eui64)
    return device_commission(network=network, parsed=parsed, device_type=DeviceType.IN_HOME_DISPLAY, actor=installer)


@pytest.mark.objective("BF-HAN-1")
def test_a_coordinator_outlives_its_broker_and_commissions_the_next_device_when_it_is_back(
    alice, ivan, tmp_path, fault_processes, own_broker
):
    first, second = (install_code_for(), random_eui64()), (install_code_for(), random_eui64())
    network, devices = _gateway(
        tmp_path,
        "gw-outage",
        alice.customer_account.agreements.get().premise,
        [{"eui64": eui64, "install_code": code, "device_type": "ihd"} for code, eui64 in (first, second)],
    )
    fault_processes.worker()
    coordinator = fault_processes.coordinator("gw-outage", devices)
    device = _commission(network, *first, ivan)
    wait_for(lambda: _state(device) == DeviceState.VERIFIED, timeout=60)

    own_broker.stop()
    time.sleep(OUTAGE_SECONDS)
    assert coordinator.poll() is None, "the coordinator is still running without its broker"
    own_broker.start()
    back = time.monotonic()

    device = _commission(network, *second, ivan)
    wait_for(lambda: _state(device) == DeviceState.VERIFIED, timeout=90, interval=0.5)
    log = (tmp_path / "coordinator.log").read_text(errors="replace")
    figures("coordinator's broker down 8 s", still_running=coordinator.poll() is None, next_device_verified_after_s=elapsed_since(back))
    assert coordinator.poll() is None
    assert log.count("command consumer: broker unreachable") == 1, "one line per outage, not one per attempt"
    assert log.count("command consumer: broker back after") == 1
    assert "Traceback" not in log


def test_reports_made_while_the_broker_is_down_are_kept_and_sent_in_order_when_it_is_back(own_broker):
    """The process's report sender, on the real broker client (``broker.reports_send``) and a real redis-server."""
    sender = ReportSender(linger_seconds=0.01)
    try:
        sender.submit({"n": 0})
        wait_for(lambda: len(queued_reports(own_broker.url)) == 1, timeout=20)
        own_broker.stop()
        for n in range(1, 6):
            sender.submit({"n": n})
            time.sleep(0.3)
        time.sleep(9)  # longer than the sender's old five attempts (7.5 s of waiting), after which it dropped the batch
        own_broker.start()  # empty: it lost what it held, as a crashed broker does
        wait_for(lambda: len(queued_reports(own_broker.url)) == 5, timeout=60, interval=0.3)
        assert [report["n"] for report in queued_reports(own_broker.url)] == [1, 2, 3, 4, 5]
    finally:
        sender.close(timeout=5)


def test_the_report_sender_keeps_a_bounded_backlog_dropping_the_oldest():
    """Bounded: an outage that lasts for ever must not eat the gateway's memory; what is kept stays in order."""
    attempts: list[list[dict]] = []
    broker_up = False

    def send(batch):
        attempts.append(batch)
        if not broker_up:
            raise ConnectionError("broker down")

    sender = ReportSender(send_batch=send, linger_seconds=0.01, max_pending=3)
    sender.submit({"n": 0})
    wait_for(lambda: sender.outage.ongoing, timeout=5, interval=0.01)
    for n in range(1, 8):
        sender.submit({"n": n})
    broker_up = True
    sender.close(timeout=20)
    sent = attempts[-1] if len(attempts[-1]) > 1 else [r for batch in attempts[-2:] for r in batch]
    assert [r["n"] for r in attempts[0]] == [0]
    assert [r["n"] for r in sent][-3:] == [5, 6, 7]
    assert sender.dropped == 4


@pytest.mark.objective("BF-HAN-1")
def test_a_coordinator_killed_during_a_permit_window_fails_the_device_at_restart_and_retry_verifies_it(
    alice, ivan, tmp_path, fault_processes
):
    code, eui64 = install_code_for(), random_eui64()
    network, devices = _gateway(tmp_path, "gw-killed", alice.customer_account.agreements.get().premise, [])  # not in range yet
    fault_processes.worker()
    fault_processes.coordinator("gw-killed", devices)
    device = _commission(network, code, eui64, ivan)
    wait_for(lambda: _state(device) == DeviceState.PERMITTED, timeout=60)  # "Gateway waiting for the device"

    fault_processes.kill("coordinator")  # SIGKILL mid window: nothing is flushed or reported
    devices.write_text(json.dumps([{"eui64": eui64, "install_code": code, "device_type": "ihd"}]))  # now it is in range
    restarted = time.monotonic()
    fault_processes.coordinator("gw-killed", devices)
    wait_for(lambda: _state(device) == DeviceState.FAILED, timeout=60)
    device.refresh_from_db()
    assert "restarted" in device.failure_reason
    failed_after = elapsed_since(restarted)

    device_commission_retry(device=device, actor=ivan)
    wait_for(lambda: _state(device) == DeviceState.VERIFIED, timeout=60)
    figures("coordinator SIGKILLed in a permit window", failed_after_restart_s=failed_after, verified_after_retry=True)
