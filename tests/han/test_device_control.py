"""Load-control events and status reads on the signed command path (SO-C13, SO-U4)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from amiportal.audit.models import AuditEntry
from han import drlc
from han.coordinator.simulated import SimulatedDevice
from han.install_codes import install_code_parse
from han.models import CoordinatorCommand, DeviceState, DeviceType, JobKind, JobState
from han.services.commissioning import device_commission
from han.services.device_control import device_load_control_request, device_status_request
from han.services.relay import report_record
from tests.han.conftest import install_code_for, opened_command, random_eui64
from tests.han.drive import CoordinatorDriver, events

# --- the DRLC frames -------------------------------------------------------------------------

events_strategy = st.builds(
    drlc.LoadControlEvent,
    issuer_event_id=st.integers(0, 0xFFFFFFFF),
    device_class=st.integers(1, 0xFFF),
    duration_minutes=st.integers(1, drlc.MAX_DURATION_MINUTES),
    criticality=st.integers(1, 9),
    start_time=st.integers(0, 0xFFFFFFFF),
    utility_enrollment_group=st.integers(0, 0xFF),
    cooling_offset=st.integers(0, 0xFF),
    heating_offset=st.integers(0, 0xFF),
    cooling_set_point=st.integers(-0x8000, 0x7FFF),
    heating_set_point=st.integers(-0x8000, 0x7FFF),
    load_adjustment_percent=st.integers(-0x80, 100),
    duty_cycle=st.one_of(st.integers(0, 100), st.just(0xFF)),
    event_control=st.integers(0, 3),
)


@given(events_strategy, st.integers(0, 255))
def test_a_load_control_event_round_trips_through_its_frame(event, tsn):
    frame = drlc.event_encode(event, tsn=tsn)
    assert len(frame) == 3 + 23
    assert frame[0] & 0b1011 == 0b1001  # cluster-specific, server to client
    assert drlc.event_decode(frame) == (tsn, event)


@given(st.binary(max_size=80))
def test_garbage_frames_give_only_frame_errors(data):
    for decode in (drlc.event_decode, drlc.report_decode):
        try:
            decode(data)
        except drlc.FrameError:
            pass


def test_a_report_event_status_frame_is_sixty_bytes_after_its_header():
    report = drlc.EventStatusReport(issuer_event_id=7, status=0x02, status_time=drlc.utc_now(), criticality_applied=3)
    frame = drlc.report_encode(report, tsn=9)
    assert len(frame) == 3 + 60
    assert drlc.report_decode(frame) == (9, report)
    assert report.status_name == "started"


@pytest.mark.parametrize(
    "field, value",
    [
        ("duration_minutes", 0),
        ("duration_minutes", 1441),
        ("criticality", 0),
        ("criticality", 10),
        ("duty_cycle", 101),
        ("device_class", 0),
    ],
)
def test_an_event_outside_the_specification_is_refused(field, value):
    fields = {"issuer_event_id": 1, "device_class": 1, "duration_minutes": 30, "criticality": 3, field: value}
    with pytest.raises(drlc.FrameError):
        drlc.LoadControlEvent(**fields)


# --- through the coordinator and the simulated device --------------------------------------------


@pytest.fixture
def thermostat():
    return SimulatedDevice(eui64=random_eui64(), install_code=install_code_for(), device_type="pct", manufacturer="Acme", model="T-9")


@pytest.fixture
def driver(identity, thermostat):
    running = CoordinatorDriver(identity, [thermostat])
    yield running
    running.close()


def _apply(reports):
    return [report_record(report=report) for report in reports]


def _verified_thermostat(alice_network, thermostat, ivan, captured, driver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        device = device_commission(
            network=alice_network,
            parsed=install_code_parse(code=thermostat.install_code, eui64=thermostat.eui64),
            device_type=DeviceType.THERMOSTAT,
            actor=ivan,
        )
    _apply(driver.send([e for _, e in captured], until=lambda r: "interviewed" in events(r)))
    device.refresh_from_db()
    assert device.state == DeviceState.VERIFIED
    captured.clear()
    return device


EVENT = {"device_class": drlc.device_class_bits(["hvac"]), "duration_minutes": 30, "criticality": 3, "cooling_offset": 20}


@pytest.mark.django_db
@pytest.mark.objective("SO-C13")
@pytest.mark.objective("BF-DR-1")
def test_a_load_control_event_reaches_the_device_and_its_status_comes_back_signed(
    alice_network, identity, thermostat, ivan, alice, captured, driver, django_capture_on_commit_callbacks
):
    device = _verified_thermostat(alice_network, thermostat, ivan, captured, driver, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        job = device_load_control_request(device=device, event=EVENT, actor=alice)
    ((_, envelope),) = captured
    assert envelope["type"] == "load_control" and opened_command(envelope, identity).secret is None
    reports = driver.send([envelope], until=lambda r: "drlc_status" in events(r))
    assert events(reports)[:2] == ["load_control_reported", "drlc_status"]
    assert all(report["sig"] for report in reports)
    _apply(reports)

    job.refresh_from_db()
    assert job.state == JobState.DONE
    assert [s["status_name"] for s in job.result["statuses"]] == ["received", "started"]
    assert job.result["event_status"] == "started"
    # The simulated device decoded the frame and follows the event until its end.
    assert thermostat.drlc_event.issuer_event_id == job.parameters["event"]["issuer_event_id"]
    assert thermostat.drlc_event.cooling_offset == 20
    assert thermostat.drlc_end - thermostat.drlc_start == 30 * 60
    assert AuditEntry.objects.filter(action="han.load_control_requested", target=f"device:{device.uid}").exists()

    # A status read goes over the air and carries the event the device is following.
    captured.clear()
    with django_capture_on_commit_callbacks(execute=True):
        read = device_status_request(device=device, actor=alice)
    _apply(driver.send([captured[0][1]], until=lambda r: "status_read" in events(r)))
    read.refresh_from_db()
    assert read.kind == JobKind.STATUS_READ and read.state == JobState.DONE
    assert read.result["model"] == "T-9" and read.result["reachable"] is True
    assert read.result["load_control_active"] is True
    assert read.result["load_control"]["issuer_event_id"] == job.parameters["event"]["issuer_event_id"]


@pytest.mark.django_db
def test_an_event_for_another_device_class_is_rejected_by_the_device(
    alice_network, thermostat, ivan, alice, captured, driver, django_capture_on_commit_callbacks
):
    device = _verified_thermostat(alice_network, thermostat, ivan, captured, driver, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        job = device_load_control_request(
            device=device, event={**EVENT, "device_class": drlc.device_class_bits(["pool_pump"])}, actor=alice
        )
    _apply(driver.send([captured[0][1]], until=lambda r: "load_control_reported" in events(r)))
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.result["event_status"] == "rejected"
    assert thermostat.drlc_event is None


@pytest.mark.django_db
def test_commands_need_a_verified_device_that_takes_load_control(alice_network, alice, ivan, captured):
    from tests.han.world import han_world

    device = han_world({"alice": alice, "ivan": ivan})["device"]  # registered, never joined
    with pytest.raises(ValidationError, match="not on this home's network"):
        device_load_control_request(device=device, event=EVENT, actor=alice)
    device.state, device.interview = DeviceState.VERIFIED, {"endpoints": [{"id": 1, "out_clusters": [0x0700]}]}
    device.save()
    with pytest.raises(ValidationError, match="does not take load control"):
        device_load_control_request(device=device, event=EVENT, actor=alice)
    device.interview = {"endpoints": [{"id": 1, "out_clusters": [0x0701]}]}
    device.save()
    with pytest.raises(ValidationError, match="duration_minutes"):
        device_load_control_request(device=device, event={**EVENT, "duration_minutes": 0}, actor=alice)
    assert not CoordinatorCommand.objects.filter(device=device).exists()
    assert [envelope["type"] for _, envelope in captured] == ["network_configure"]


@pytest.mark.django_db
def test_a_new_event_supersedes_the_one_the_device_was_following(
    alice_network, thermostat, ivan, alice, captured, driver, django_capture_on_commit_callbacks
):
    device = _verified_thermostat(alice_network, thermostat, ivan, captured, driver, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        first = device_load_control_request(device=device, event=EVENT, actor=alice)
        second = device_load_control_request(device=device, event={**EVENT, "criticality": 7}, actor=alice)
    reports = driver.send([e for _, e in captured], until=lambda r: events(r).count("drlc_status") >= 3)
    _apply(reports)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.result["event_status"] == "superseded"
    assert second.result["event_status"] == "started"
    assert thermostat.drlc_event.criticality == 7
    assert (thermostat.ieee, first.parameters["event"]["issuer_event_id"]) not in driver.service._drlc_commands
