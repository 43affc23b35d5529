"""The coordinator's durable state with a real process: a lost state file re-admits nobody; a stop says ``offline`` (SO-C13).

Real processes: Redis and ``han_coordinator`` on the simulated radio. No worker: the
test publishes signed commands itself, as the relay does, and reads the coordinator's
signed reports where they wait on the broker.
"""

from __future__ import annotations

import json
import os
import uuid

import pytest

from han import broker
from han.protocol import CoordinatorIdentity, command_build, report_verify
from han.services.head_end_keys import head_end_signing_key
from tests.conftest import wait_for
from tests.han.conftest import install_code_for, random_eui64
from tests.han.queued_reports import events_for, queued_reports
from tests.han.test_relay_processes import processes, redis_url  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.redis]

NAME = "gw-state"


def _command(identity: CoordinatorIdentity, command_type: str, body: dict, secret: bytes | None = None) -> dict:
    return command_build(
        signing_key=head_end_signing_key(),
        command_type=command_type,
        command_id=str(uuid.uuid4()),
        coordinator=identity.name,
        recipient_public_hex=identity.box_public_hex,
        body=body,
        secret=secret,
        ttl_seconds=600,
    )


def _send_and_wait(redis_url: str, envelope: dict, event: str) -> list[str]:  # noqa: F811
    broker.command_publish(coordinator_name=NAME, envelope=envelope)
    wait_for(lambda: event in events_for(queued_reports(redis_url), envelope["command_id"]), timeout=30, interval=0.2)
    return events_for(queued_reports(redis_url), envelope["command_id"])


@pytest.mark.objective("SO-C13")
def test_deleting_the_coordinators_state_does_not_let_a_captured_permit_join_readmit_a_removed_device(
    tmp_path,
    processes,  # noqa: F811
    redis_url,  # noqa: F811
):
    import zigpy.util

    identity = CoordinatorIdentity.generate(NAME)
    keys = tmp_path / "keys"
    identity.save(keys / f"{NAME}.key")
    code, eui64 = install_code_for(), random_eui64()
    devices = tmp_path / "devices.json"
    devices.write_text(json.dumps([{"eui64": eui64, "install_code": code, "device_type": "ihd"}]))
    link_key = bytes(zigpy.util.convert_install_code(bytes.fromhex(code)))
    processes.coordinator(NAME, devices)

    captured = _command(identity, "permit_join", {"eui64": eui64, "permit_seconds": 30}, link_key)
    assert "interviewed" in _send_and_wait(redis_url, captured, "interviewed")
    _send_and_wait(redis_url, _command(identity, "remove", {"eui64": eui64}), "removed")  # the customer removed it

    processes.stop("coordinator")  # SIGTERM

    for lost in keys.glob(f"{NAME}.s*"):  # the replay guard's file, whatever it is called (.state.db*, .seen, .seq)
        lost.unlink()
    processes.coordinator(NAME, devices)
    replayed = _send_and_wait(redis_url, captured, "rejected")
    assert replayed == ["permitted", "joined", "interviewed", "rejected"], replayed

    # A fresh command from the head-end (issued now) is served as usual.
    again = _command(identity, "permit_join", {"eui64": eui64, "permit_seconds": 30}, link_key)
    assert _send_and_wait(redis_url, again, "interviewed") == ["permitted", "joined", "interviewed"]
    assert {os.stat(path).st_mode & 0o777 for path in keys.glob(f"{NAME}.state.db*")} == {0o600}
    assert not (keys / f"{NAME}.seen").exists()
    log = (tmp_path / "coordinator.log").read_text(errors="replace")
    assert "its durable state was missing" in log
    assert "was issued before this coordinator's state was created" in log

    # Each graceful stop (SIGTERM) said so, signed by the coordinator.
    processes.stop("coordinator")
    wait_for(lambda: [r["event"] for r in queued_reports(redis_url)].count("offline") == 2, timeout=15)
    for offline in (r for r in queued_reports(redis_url) if r["event"] == "offline"):
        report_verify(report=offline, verify_public_hex=identity.verify_public_hex)


def test_a_coordinator_started_for_the_first_time_takes_the_commands_that_waited_for_it(
    tmp_path,
    processes,  # noqa: F811
    redis_url,  # noqa: F811
):
    """The "not before" time applies only to a state that was lost: a new gateway gets its queued work (BF-HAN-1)."""
    identity = CoordinatorIdentity.generate(NAME)
    identity.save(tmp_path / "keys" / f"{NAME}.key")
    devices = tmp_path / "devices.json"
    devices.write_text("[]")
    waiting = _command(identity, "remove", {"eui64": random_eui64()})
    broker.command_publish(coordinator_name=NAME, envelope=waiting)
    processes.coordinator(NAME, devices)
    wait_for(lambda: "removed" in events_for(queued_reports(redis_url), waiting["command_id"]), timeout=30)
