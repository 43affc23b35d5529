"""Replayed and stale reports through real processes: Redis broker, a Celery worker, the coordinator (SO-U4, SO-C7, SO-U8).

Whoever can write to the broker can put a report on it. The reports below are signed with the
live coordinator's own key (the test holds its key file), so only the rules on report numbers and
signed times stand between them and the device. The test database is shared with the
subprocesses, so these tests commit.
"""

from __future__ import annotations

import time

import pytest

from han import broker
from han.install_codes import install_code_parse
from han.models import Coordinator, Device, DeviceState, DeviceType
from han.protocol import CoordinatorIdentity, report_build
from han.services.commissioning import device_commission
from han.services.head_end_keys import head_end_box_public_key_hex
from tests.conftest import wait_for
from tests.han.conftest import install_code_for, random_eui64
from tests.han.live import live_verified_device
from tests.han.test_relay_processes import processes, redis_url  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def _state(device: Device) -> str:
    device.refresh_from_db()
    return device.state


def _gateway(name: str) -> Coordinator:
    return Coordinator.objects.get(name=name)


@pytest.mark.objective("SO-U4")
@pytest.mark.objective("SO-C7")
@pytest.mark.objective("SO-U8")
def test_a_replayed_or_stale_report_does_not_change_a_device_through_the_real_worker(alice, ivan, tmp_path, processes):  # noqa: F811
    name = "gw-replay"
    premise = alice.customer_account.agreements.get().premise
    live_verified_device(
        processes=processes,
        tmp_path=tmp_path,
        name=name,
        premise=premise,
        installer=ivan,
        simulated_type="ihd",
        device_type=DeviceType.IN_HOME_DISPLAY,
        model="IHD-1",
    )
    identity = CoordinatorIdentity.load(tmp_path / "keys" / f"{name}.key")
    gateway = _gateway(name)
    assert gateway.report_seq_high > 0 and gateway.last_seen_at is not None  # the live coordinator's numbered reports

    # A second device that is not in range: the gateway permits it, and it waits there (a minute) for a join.
    device = device_commission(
        network=premise.han_network,
        parsed=install_code_parse(code=install_code_for(), eui64=random_eui64()),
        device_type=DeviceType.IN_HOME_DISPLAY,
        actor=ivan,
    )
    wait_for(lambda: _state(device) == DeviceState.PERMITTED, timeout=30)
    command_id = str(device.jobs.get().command_id)
    interview = {"eui64": device.eui64, "nwk": 0x2002, "pan_id": premise.han_network.pan_id, "endpoints": [], "model": "IHD-2"}

    def send(event: str, *, seq: int, age_seconds: float = 0, detail: dict | None = None) -> None:
        report = report_build(
            identity=identity,
            event=event,
            command_id=command_id,
            detail=detail or {},
            seq=seq,
            now=time.time() - age_seconds,
            head_end_box_public_hex=head_end_box_public_key_hex(),
        )
        broker.reports_send([report])

    # 1. A signed interview carrying a number the head-end has already seen: a replay.
    send("interviewed", seq=gateway.report_seq_high, detail=interview)
    wait_for(lambda: _gateway(name).replayed_reports == 1, timeout=30)
    assert _state(device) == DeviceState.PERMITTED

    # 2. A new number, but signed 25 hours ago: older than its command's lifetime.
    fresh_numbers = iter(range(gateway.report_seq_high + 300, gateway.report_seq_high + 400))
    send("interviewed", seq=next(fresh_numbers), age_seconds=25 * 3600, detail=interview)
    wait_for(lambda: _gateway(name).late_reports == 1, timeout=30)
    assert _state(device) == DeviceState.PERMITTED

    # 3. A day-old heartbeat is not proof of life.
    seen_before = _gateway(name).last_seen_at
    send("online", seq=next(fresh_numbers), age_seconds=24 * 3600)
    wait_for(lambda: _gateway(name).stale_heartbeats == 1, timeout=30)
    assert _gateway(name).last_seen_at >= seen_before

    # The same interview, new and fresh, verifies the device: the path works, and only the rules refused the others.
    send("interviewed", seq=next(fresh_numbers), detail=interview)
    wait_for(lambda: _state(device) == DeviceState.VERIFIED, timeout=30)
    logs = processes.logs()
    assert "was seen before (replay)" in logs and "is stale" in logs
