"""A coordinator that stops, and one that was retired, seen by the head-end through real processes (BF-HAN-1, SO-U4).

Real processes: a redis-server of the test's own, a Celery worker and the coordinator. The
test database is shared with them, so these tests commit.
"""

from __future__ import annotations

import json
import time

import pytest

from amiportal.audit.models import AuditEntry
from han import broker
from han.models import Coordinator, DeviceState, DeviceType
from han.protocol import CoordinatorIdentity, report_build
from han.selectors import coordinator_is_online
from han.services.head_end_keys import head_end_box_public_key_hex
from han.services.networks import coordinator_register, coordinator_replace
from han.services.report_guards import RETIRED_REASON
from tests.conftest import signed_in, wait_for
from tests.faults.processes import elapsed_since, figures
from tests.han.live import live_verified_device

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def _online(name: str) -> bool:
    return coordinator_is_online(Coordinator.objects.get(name=name))


def _signed(identity: CoordinatorIdentity, event: str, *, seq: int, command_id: str | None = None) -> dict:
    return report_build(
        identity=identity, event=event, command_id=command_id, detail={}, seq=seq, head_end_box_public_hex=head_end_box_public_key_hex()
    )


@pytest.mark.objective("BF-HAN-1")
def test_a_coordinator_that_stops_is_shown_offline_within_45_s_and_at_once_when_it_says_so(alice, ivan, tmp_path, fault_processes):
    name = "gw-beat"
    live_verified_device(
        processes=fault_processes,
        tmp_path=tmp_path,
        name=name,
        premise=alice.customer_account.agreements.get().premise,
        installer=ivan,
        simulated_type="ihd",
        device_type=DeviceType.IN_HOME_DISPLAY,
        model="D-1",
    )
    assert _online(name)
    fault_processes.kill("coordinator")  # no goodbye: only its heartbeats stop
    killed = time.monotonic()
    wait_for(lambda: not _online(name), timeout=60, interval=0.5)
    offline_after = elapsed_since(killed)
    assert offline_after <= 48, "its last fresh heartbeat, 30 s apart, plus 15 s (not 90 s)"
    page = signed_in(ivan).get("/han/installer/").content.decode()
    assert page  # the installer's pages render with the coordinator offline

    # Back again; then it says it is stopping (a signed "offline" report): offline at once.
    fault_processes.coordinator(name, tmp_path / "devices.json")
    wait_for(lambda: _online(name), timeout=40)
    identity = CoordinatorIdentity.load(tmp_path / "keys" / f"{name}.key")
    high = Coordinator.objects.get(name=name).report_seq_high
    sent = time.monotonic()
    broker.reports_send([_signed(identity, "offline", seq=high + 50)])
    wait_for(lambda: not _online(name), timeout=20, interval=0.2)
    figures("coordinator stopped", offline_after_kill_s=offline_after, offline_after_report_s=elapsed_since(sent))


@pytest.mark.objective("SO-U4")
def test_reports_from_a_retired_coordinator_are_refused_and_audited(alice, ivan, olga, tmp_path, fault_processes):
    name = "gw-retired"
    premise = alice.customer_account.agreements.get().premise
    device, _ = live_verified_device(
        processes=fault_processes,
        tmp_path=tmp_path,
        name=name,
        premise=premise,
        installer=ivan,
        simulated_type="ihd",
        device_type=DeviceType.IN_HOME_DISPLAY,
        model="D-2",
    )
    old = Coordinator.objects.get(name=name)
    spare = CoordinatorIdentity.generate("gw-spare")
    replacement = coordinator_register(name=spare.name, box_public_key=spare.box_public_hex, verify_public_key=spare.verify_public_hex)
    coordinator_replace(network=device.network, coordinator=replacement, actor=olga)
    old.refresh_from_db()
    assert not old.is_active
    seen_before = old.last_seen_at

    # The retired gateway (or whoever holds its key now) keeps signing: a heartbeat and a join for the device.
    identity = CoordinatorIdentity.load(tmp_path / "keys" / f"{name}.key")
    job = device.jobs.order_by("-pk").first()
    broker.reports_send(
        [
            _signed(identity, "online", seq=old.report_seq_high + 10),
            _signed(identity, "joined", seq=old.report_seq_high + 11, command_id=str(job.command_id)),
        ]
    )
    refusals = AuditEntry.objects.filter(action="han.report_refused", target=f"coordinator:{name}")

    def refused_reasons():
        return [json.loads(payload)["reason"] for payload in refusals.values_list("payload", flat=True)]

    wait_for(lambda: refused_reasons().count(RETIRED_REASON) >= 2, timeout=30)
    old.refresh_from_db()
    device.refresh_from_db()
    assert old.last_seen_at == seen_before  # not proof of life
    # Its key is on its way to the replacement gateway; the retired one's "joined" moved nothing.
    assert device.state in (DeviceState.REGISTERED, DeviceState.KEY_RELAYED)
