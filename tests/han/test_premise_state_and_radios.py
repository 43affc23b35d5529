"""The premise state devices pull, set from the head-end; and the radio each coordinator runs (SO-U19).

A ``premise_state`` command carries the price, the scheduled events and the last message to
the coordinator, signed like every command; the coordinator's heartbeat names its radio, and
a radio that cannot restrict a join to the keyed device is refused for commissioning at the
coordinator and at the head-end, with nothing sent.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from amiportal.audit.models import AuditEntry
from han.coordinator.radios import JOIN_REFUSALS
from han.coordinator.service import CoordinatorService
from han.coordinator.simulated import SimulatedControllerApplication, SimulatedNetwork
from han.install_codes import install_code_parse
from han.models import Coordinator, CoordinatorCommand, Device, DeviceState, DeviceType, JobKind, JobState
from han.protocol import ReplayGuard
from han.services.commissioning import device_commission
from han.services.head_end_keys import head_end_box_public_key_hex, head_end_public_key_hex
from han.services.premise_state import premise_state_publish
from han.services.relay import report_record
from tests.han.conftest import opened_command
from tests.han.drive import CoordinatorDriver, detail, events
from tests.han.se_frames import NOW

PRICE = {"provider_id": 1, "issuer_event_id": 100, "price": 1234, "rate_label": "Peak"}
EVENT = {"issuer_event_id": 3000, "device_class": 1, "start_time": NOW, "duration_minutes": 30, "criticality": 3}
MESSAGE = {"message_id": 7, "text": "Peak prices 5-8 pm"}


@pytest.mark.django_db
def test_the_premise_state_reaches_the_coordinator_signed_and_the_job_is_done(
    alice_network, identity, captured, django_capture_on_commit_callbacks
):
    captured.clear()  # the network's configuration
    with django_capture_on_commit_callbacks(execute=True):
        job = premise_state_publish(network=alice_network, price=PRICE, events=[EVENT], message=MESSAGE)
    ((_, envelope),) = captured
    command = opened_command(envelope, identity)
    assert (command.type, command.secret) == ("premise_state", None)
    assert command.body == {"price": PRICE, "events": [EVENT], "message": MESSAGE}

    driver = CoordinatorDriver(identity)
    try:
        reports = driver.send([envelope], until=lambda r: "premise_state_set" in events(r))
        state = driver.service.premise_state
        assert state.price_answer(now=NOW)["price"] == 1234
        assert [e.issuer_event_id for e in state.events] == [3000]
        assert state.message_answer(now=NOW)["message"] == "Peak prices 5-8 pm"
    finally:
        driver.close()
    assert detail(reports[-1]) == {"price": True, "events": 1, "message": True}
    for report in reports:
        report_record(report=report)
    job.refresh_from_db()
    assert (job.kind, job.state) == (JobKind.PREMISE_STATE, JobState.DONE)
    assert AuditEntry.objects.filter(action="han.premise_state_set", target=f"premise:{alice_network.premise_id}").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "parts, reason",
    [
        ({"price": {"provider_id": 1, "issuer_event_id": 1}}, "price needs price"),
        ({"price": {**PRICE, "price_tier": 16}}, "price_tier must be a whole number from 0 to 15"),
        ({"events": [{**EVENT, "start_time": 0}]}, "needs its start_time"),
        ({"events": [{**EVENT, "criticality": 12}]}, "criticality must be 1"),
        ({"message": {"message_id": 1, "text": "x" * 81}}, "text must be 1 to 80 characters"),
    ],
)
def test_a_bad_premise_state_is_refused_and_nothing_is_queued(alice_network, captured, parts, reason):
    before = CoordinatorCommand.objects.count()
    captured.clear()
    with pytest.raises(ValidationError, match=reason):
        premise_state_publish(network=alice_network, **parts)
    assert CoordinatorCommand.objects.count() == before and captured == []


def _service(identity, app, radio_type, reports):
    return CoordinatorService(
        identity=identity,
        head_end_public_hex=head_end_public_key_hex(),
        head_end_box_public_hex=head_end_box_public_key_hex(),
        app=app,
        replay_guard=ReplayGuard(),
        consumer=object(),
        send_report=reports.append,
        radio_type=radio_type,
    )


def _sent(reports, count=1, timeout=5.0):
    deadline = time.monotonic() + timeout
    while len(reports) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return reports


@pytest.mark.django_db
def test_the_heartbeat_names_the_radio_and_the_head_end_keeps_it(alice_network, identity):
    reports: list[dict] = []

    async def beat():
        app = await SimulatedControllerApplication.new(SimulatedControllerApplication.default_config(), auto_form=True)
        service = _service(identity, app, "znp", reports)
        service.report("online", None, service._heartbeat_detail())
        await app.shutdown()

    asyncio.run(beat())
    (heartbeat,) = _sent(reports)
    assert detail(heartbeat) == {"radio": "znp", "se_frames_rejected": {}}
    report_record(report=heartbeat)
    assert Coordinator.objects.get(name=identity.name).radio_type == "znp"


@pytest.mark.django_db
@pytest.mark.parametrize("radio", ["zigate", "deconz"])
def test_a_radio_that_cannot_restrict_joins_is_refused_at_submission_and_nothing_is_written(
    alice_network, ivan, captured, sim_device, radio
):
    captured.clear()
    Coordinator.objects.filter(pk=alice_network.coordinator_id).update(radio_type=radio)
    alice_network.coordinator.refresh_from_db()
    with pytest.raises(ValidationError, match="commission on another radio"):
        device_commission(
            network=alice_network,
            parsed=install_code_parse(code=sim_device.install_code, eui64=sim_device.eui64),
            device_type=DeviceType.IN_HOME_DISPLAY,
            actor=ivan,
        )
    assert not Device.objects.filter(eui64=sim_device.eui64).exists()
    assert captured == []


@pytest.mark.django_db
def test_a_zigate_coordinator_refuses_a_permit_and_its_radio_admits_nobody(
    alice_network, identity, ivan, captured, sim_device, django_capture_on_commit_callbacks
):
    captured.clear()
    with django_capture_on_commit_callbacks(execute=True):
        device = device_commission(
            network=alice_network,
            parsed=install_code_parse(code=sim_device.install_code, eui64=sim_device.eui64),
            device_type=DeviceType.IN_HOME_DISPLAY,
            actor=ivan,
        )
    ((_, envelope),) = captured
    reports: list[dict] = []

    async def handle():
        app = await SimulatedControllerApplication.new(SimulatedControllerApplication.default_config(), auto_form=True)
        app.sim_network = SimulatedNetwork([sim_device])
        await _service(identity, app, "zigate", reports).handle(envelope)
        await asyncio.sleep(0.1)  # a join, had the key been given to the radio, takes 10 ms
        permitted = dict(app._permitted)
        await app.shutdown()
        return permitted

    assert asyncio.run(handle()) == {}  # the link key never reached the radio
    assert not sim_device.joined
    (failed,) = _sent(reports)
    assert events(reports) == ["failed"]
    assert detail(failed) == {"reason": "radio_cannot_restrict_joins", "message": JOIN_REFUSALS["zigate"]}
    report_record(report=failed)
    device.refresh_from_db()
    assert device.state == DeviceState.FAILED and "ZiGate cannot admit a device" in device.failure_reason


def test_the_coordinator_takes_its_radio_from_its_configuration(monkeypatch):
    monkeypatch.setenv("AMI_HAN_RADIO", "zwave")
    with pytest.raises(CommandError, match="AMI_HAN_RADIO='zwave' is not one of"):
        call_command("han_coordinator", "--name", "gw-x")
    monkeypatch.setenv("AMI_HAN_RADIO", "znp")
    monkeypatch.delenv("AMI_HAN_RADIO_PATH", raising=False)
    with pytest.raises(CommandError, match="The znp radio needs its serial port: set AMI_HAN_RADIO_PATH"):
        call_command("han_coordinator", "--name", "gw-x")
    # --radio overrides the configuration
    with pytest.raises(CommandError, match="Unknown radio type 'zwave'"):
        call_command("han_coordinator", "--name", "gw-x", "--radio", "zwave")
