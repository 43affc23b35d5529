"""Every load-control event carries an explicit start; a gateway refuses an ended or late "start now" event (SO-U4, SO-C13)."""

from __future__ import annotations

import pytest

from han import drlc
from han.coordinator.simulated import SimulatedDevice
from han.install_codes import install_code_parse
from han.models import DeviceState, DeviceType, JobState
from han.services.commissioning import device_commission
from han.services.device_control import device_load_control_request
from han.services.relay import report_record
from tests.han.conftest import install_code_for, opened_command, random_eui64
from tests.han.drive import CoordinatorDriver, detail, events

EVENT = {"device_class": drlc.device_class_bits(["hvac"]), "duration_minutes": 30, "criticality": 3}


def _event(**fields) -> drlc.LoadControlEvent:
    return drlc.LoadControlEvent(**{"issuer_event_id": 1, **EVENT, **fields})


@pytest.mark.objective("SO-U4")
def test_the_gateway_timing_rule():
    now = drlc.utc_now()
    assert drlc.event_timing_refusal(_event(start_time=0), start_now=False, now=now) == "event_without_start"
    assert drlc.event_timing_refusal(_event(start_time=now - 31 * 60), start_now=False, now=now) == "event_ended"
    assert drlc.event_timing_refusal(_event(start_time=now - 301), start_now=True, now=now) == "event_stale"
    assert drlc.event_timing_refusal(_event(start_time=now - 299), start_now=True, now=now) is None
    # A scheduled event that began ten minutes ago and is still running may go on: only "start now" ages out at 5 minutes.
    assert drlc.event_timing_refusal(_event(start_time=now - 600), start_now=False, now=now) is None
    assert drlc.event_timing_refusal(_event(start_time=now + 3600), start_now=False, now=now) is None


@pytest.fixture
def thermostat():
    return SimulatedDevice(eui64=random_eui64(), install_code=install_code_for(), device_type="pct", manufacturer="Acme", model="T-9")


@pytest.fixture
def driver(identity, thermostat):
    running = CoordinatorDriver(identity, [thermostat])
    yield running
    running.close()


@pytest.fixture
def device(alice_network, thermostat, ivan, captured, driver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        device = device_commission(
            network=alice_network,
            parsed=install_code_parse(code=thermostat.install_code, eui64=thermostat.eui64),
            device_type=DeviceType.THERMOSTAT,
            actor=ivan,
        )
    for report in driver.send([e for _, e in captured], until=lambda r: "interviewed" in events(r)):
        report_record(report=report)
    device.refresh_from_db()
    assert device.state == DeviceState.VERIFIED
    captured.clear()
    return device


@pytest.mark.django_db
@pytest.mark.objective("SO-U4")
def test_a_start_now_event_carries_its_issue_time_in_the_signed_envelope(
    device, alice, identity, captured, django_capture_on_commit_callbacks
):
    before = drlc.utc_now()
    with django_capture_on_commit_callbacks(execute=True):
        job = device_load_control_request(device=device, event=EVENT, actor=alice)
    ((_, envelope),) = captured
    body = opened_command(envelope, identity).body
    assert body["start_now"] is True
    assert before <= body["event"]["start_time"] <= drlc.utc_now()
    assert body["event"] == job.parameters["event"]


def _relay_with(job, captured, callbacks, **changes):
    """Relay ``job`` as if the head-end had issued it with ``changes`` (an older start): signed as usual."""
    job.parameters = {**job.parameters, "event": {**job.parameters["event"], **changes.pop("event", {})}, **changes}
    job.save(update_fields=["parameters"])
    for callback in callbacks:
        callback()
    return captured[-1][1]


@pytest.mark.django_db
@pytest.mark.objective("SO-U4")
@pytest.mark.objective("SO-C13")
@pytest.mark.parametrize(
    "age_seconds, start_now, reason",
    [(301, True, "event_stale"), (31 * 60, False, "event_ended")],
)
def test_the_gateway_refuses_a_late_event_and_the_job_shows_failed_with_the_reason(
    age_seconds, start_now, reason, device, alice, thermostat, captured, driver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        job = device_load_control_request(device=device, event=EVENT, actor=alice)
    envelope = _relay_with(job, captured, callbacks, event={"start_time": drlc.utc_now() - age_seconds}, start_now=start_now)

    reports = driver.send([envelope], until=lambda r: "failed" in events(r))
    assert events(reports) == ["failed"] and detail(reports[0])["reason"] == reason
    for report in reports:
        report_record(report=report)

    job.refresh_from_db()
    assert job.state == JobState.FAILED and job.detail == drlc.TIMING_REFUSALS[reason]
    assert thermostat.drlc_event is None  # the device never heard of it
