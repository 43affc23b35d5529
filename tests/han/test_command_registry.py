"""The registry of command types (``han.commands``): complete, the only way in, and closed to unknown types."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from amiportal.audit.models import AuditEntry
from han import drlc
from han.commands import CommandType, CoordinatorHandler, Target, command_type, command_types, coordinator_handlers
from han.commands.base import GENERIC_EVENTS
from han.coordinator.simulated import SimulatedDevice
from han.install_codes import install_code_parse
from han.models import CoordinatorCommand, DeviceState, DeviceType, JobKind, JobState
from han.protocol import command_build
from han.services.commands import coordinator_command_create
from han.services.commissioning import device_commission
from han.services.device_control import premise_load_control_request
from han.services.head_end_keys import head_end_signing_key
from han.services.relay import job_relay, report_record
from tests.conftest import signed_in
from tests.han.conftest import install_code_for, random_eui64
from tests.han.drive import CoordinatorDriver, detail, events

# --- the registry itself ---------------------------------------------------------------------------


def test_every_kind_the_code_names_is_a_registered_command_type():
    assert {each.kind for each in command_types()} >= set(JobKind.values)
    for kind in JobKind.values:
        assert command_type(kind).kind == kind
    assert dict(CoordinatorCommand._meta.get_field("kind").choices) == {each.kind: each.label for each in command_types()}


@pytest.mark.parametrize("kind_type", command_types(), ids=lambda each: each.kind)
def test_every_registered_type_declares_builder_handlers_and_events(kind_type: CommandType):
    cls = type(kind_type)
    assert cls.build is not CommandType.build, "head-end builder"
    assert cls.report_event is not CommandType.report_event, "report handler"
    assert issubclass(cls.coordinator_handler, CoordinatorHandler), "coordinator handler"
    assert cls.coordinator_handler.handle is not CoordinatorHandler.handle
    assert cls.coordinator_handler.wire_type == cls.wire_type
    assert cls.events and not set(cls.events) & set(GENERIC_EVENTS), "its own events"
    assert cls.targets and all(isinstance(target, Target) for target in cls.targets)


def test_a_coordinator_serves_every_registered_wire_type_with_one_handler_each():
    class Service:  # what a handler needs of its service at construction
        class app:
            @staticmethod
            def add_listener(listener):
                pass

    handlers = coordinator_handlers(Service())
    assert set(handlers) == {each.wire_type for each in command_types()}
    # commission and restore are one command on the wire: one handler, one permit window per device
    assert handlers[command_type("commission").wire_type] is handlers[command_type("restore").wire_type]


# --- an unknown command type: refused at the head-end and at the coordinator -------------------------


@pytest.mark.django_db
@pytest.mark.objective("SO-C13")
def test_an_unknown_command_type_is_refused_by_the_service_and_nothing_is_written_or_sent(alice_network, alice, captured):
    commands, audits = CoordinatorCommand.objects.count(), AuditEntry.objects.count()
    captured.clear()
    with pytest.raises(ValidationError, match="Unknown command type 'price_flash': nothing was sent"):
        coordinator_command_create(kind="price_flash", network=alice_network, actor=alice)
    assert (CoordinatorCommand.objects.count(), AuditEntry.objects.count(), captured) == (commands, audits, [])


@pytest.mark.django_db
@pytest.mark.objective("SO-C13")
def test_a_stored_command_of_an_unregistered_kind_fails_at_the_relay_and_nothing_is_published(alice_network, captured):
    captured.clear()
    # Written around the service (another release's row, or by hand): the relay refuses it too.
    job = CoordinatorCommand.objects.create(kind="price_flash", network=alice_network, coordinator=alice_network.coordinator)
    assert job_relay(job_id=job.pk) == "unknown command type"
    job.refresh_from_db()
    assert job.state == JobState.FAILED and job.detail == "Unknown command type 'price_flash': nothing was sent."
    assert captured == []
    entry = AuditEntry.objects.filter(action="han.command_failed", target=f"premise:{alice_network.premise_id}").get()
    payload = json.loads(entry.payload)
    assert payload["command_id"] == str(job.command_id) and payload["reason"] == "unknown_command_type"


@pytest.mark.django_db
@pytest.mark.objective("SO-U4")
def test_a_coordinator_refuses_a_signed_command_of_a_type_it_does_not_know_with_a_signed_rejected_report(alice_network, identity, captured):
    job = CoordinatorCommand.objects.create(kind="price_flash", network=alice_network, coordinator=alice_network.coordinator)
    envelope = command_build(
        signing_key=head_end_signing_key(),
        command_type="price_flash",
        command_id=str(job.command_id),
        coordinator=identity.name,
        recipient_public_hex=identity.box_public_hex,
        body={"price": 1},
        secret=None,
        ttl_seconds=60,
    )
    driver = CoordinatorDriver(identity)
    try:
        reports = driver.send([envelope], until=lambda r: bool(r))
    finally:
        driver.close()
    assert events(reports) == ["rejected"]
    assert reports[0]["sig"] and detail(reports[0]) == {"reason": "unknown command type 'price_flash'"}
    assert report_record(report=reports[0]) == "rejected"  # its signature verifies; the command fails with the reason
    job.refresh_from_db()
    assert job.state == JobState.FAILED and "unknown command type 'price_flash'" in job.detail


# --- targets ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_command_type_takes_only_the_targets_it_declares(alice_network, alice):
    with pytest.raises(ValidationError, match="targets device, not device_class"):
        coordinator_command_create(kind=JobKind.REMOVE, network=alice_network, device_class="metering", actor=alice)
    device = alice_network.devices.create(eui64=random_eui64(), device_type=DeviceType.IN_HOME_DISPLAY)
    with pytest.raises(ValidationError, match="targets premise, not device"):
        coordinator_command_create(kind=JobKind.NETWORK_CONFIGURE, network=alice_network, device=device, actor=alice)
    with pytest.raises(ValidationError, match="Unknown device class"):
        coordinator_command_create(kind=JobKind.LOAD_CONTROL, network=alice_network, device_class="toasters", actor=alice)
    with pytest.raises(ValidationError, match="No devices that take load control events"):
        premise_load_control_request(network=alice_network, event=EVENT, actor=alice)
    assert not CoordinatorCommand.objects.filter(kind__in=[JobKind.REMOVE, JobKind.LOAD_CONTROL]).exists()


EVENT = {"device_class": drlc.device_class_bits(["hvac", "water_heater"]), "duration_minutes": 30, "criticality": 3}


def _sim(device_type: str, model: str) -> SimulatedDevice:
    return SimulatedDevice(eui64=random_eui64(), install_code=install_code_for(), device_type=device_type, manufacturer="Acme", model=model)


def _commissioned(alice_network, ivan, captured, driver, sims, django_capture_on_commit_callbacks) -> None:
    """Each simulated device registered, joined and verified, after the premise's network was configured on the driver."""
    for sim in sims:
        with django_capture_on_commit_callbacks(execute=True):
            device_commission(
                network=alice_network,
                parsed=install_code_parse(code=sim.install_code, eui64=sim.eui64),
                device_type=sim.device_type,
                actor=ivan,
            )
        for report in driver.send([e for _, e in captured], until=lambda r: "interviewed" in events(r)):
            report_record(report=report)
        captured.clear()  # the first pass also carried the network's configuration
    assert alice_network.devices.filter(state=DeviceState.VERIFIED).count() == len(sims)


@pytest.mark.django_db
@pytest.mark.objective("BF-DR-1")
def test_one_load_control_command_reaches_every_load_control_device_of_the_premise_and_records_each_outcome(
    alice_network, identity, ivan, alice, olga, captured, django_capture_on_commit_callbacks
):
    thermostat, water_heater, pool_pump, display = (
        _sim("pct", "T-9"),
        _sim("load_control", "WH-1"),
        _sim("smart_appliance", "Dish-2"),  # takes load control, but not for this event's device classes
        _sim("ihd", "IHD-9"),  # no load control: not targeted
    )
    driver = CoordinatorDriver(identity, [thermostat, water_heater, pool_pump, display])
    try:
        _commissioned(
            alice_network, ivan, captured, driver, [thermostat, water_heater, pool_pump, display], django_capture_on_commit_callbacks
        )
        captured.clear()
        with django_capture_on_commit_callbacks(execute=True):
            job = premise_load_control_request(network=alice_network, event=EVENT, actor=alice)
        ((_, envelope),) = captured  # one command for the premise
        assert envelope["type"] == "load_control"
        targeted = {each["eui64"] for each in job.parameters["devices"]}
        assert targeted == {thermostat.eui64, water_heater.eui64, pool_pump.eui64}
        reports = driver.send([envelope], until=lambda r: events(r).count("load_control_reported") >= 3)
        assert {detail(r)["eui64"] for r in reports if r["event"] == "load_control_reported"} == targeted
        for report in reports:
            report_record(report=report)
    finally:
        driver.close()

    job.refresh_from_db()
    assert job.device_id is None and job.state == JobState.DONE
    outcomes = {eui64: each["event_status"] for eui64, each in job.result["devices"].items()}
    assert outcomes[thermostat.eui64] in ("received", "started") and outcomes[water_heater.eui64] in ("received", "started")
    assert outcomes[pool_pump.eui64] == "rejected"
    assert job.detail == "1 of 3 devices did not follow the event."
    assert thermostat.drlc_event is not None and water_heater.drlc_event is not None and display.drlc_event is None
    requested = AuditEntry.objects.get(action="han.load_control_requested", target=f"premise:{alice_network.premise_id}")
    assert set(json.loads(requested.payload)["eui64s"]) == targeted
    reported = [
        e
        for e in AuditEntry.objects.filter(action="han.load_control_reported")
        if json.loads(e.payload)["command_id"] == str(job.command_id)
    ]
    assert len(reported) >= 3

    # The operator's network page shows it as one command to the class, with its outcome.
    client = signed_in(olga)
    url = reverse("han:operator_network", args=[alice_network.pk])
    client.post(url, {"reason": "Case 9001: load control audit"})
    page = client.get(url).content.decode()
    assert "Load control event to 3 load_control devices" in page and "1 of 3 devices did not follow the event." in page


@pytest.mark.django_db
def test_a_class_command_records_a_device_the_gateway_cannot_reach_as_that_devices_outcome(
    alice_network, identity, ivan, alice, captured, django_capture_on_commit_callbacks
):
    thermostat, gone = _sim("pct", "T-9"), _sim("load_control", "WH-1")
    driver = CoordinatorDriver(identity, [thermostat, gone])
    try:
        _commissioned(alice_network, ivan, captured, driver, [thermostat, gone], django_capture_on_commit_callbacks)
        driver.app.devices.pop(gone.ieee)  # the gateway lost it (a reset radio, say); the head-end still lists it

        captured.clear()
        with django_capture_on_commit_callbacks(execute=True):
            job = premise_load_control_request(network=alice_network, event=EVENT, actor=alice)
        reports = driver.send([captured[0][1]], until=lambda r: len(r) >= 2)
        for report in reports:
            report_record(report=report)
    finally:
        driver.close()
    job.refresh_from_db()
    assert job.state == JobState.DONE and job.detail == "1 of 2 devices did not follow the event."
    assert job.result["devices"][gone.eui64]["failed"] == "not_joined"
    assert job.result["devices"][thermostat.eui64]["event_status"] in ("received", "started")


# --- a new type is one module: registered, it travels the whole path with no other change ---------------


class _PingHandler(CoordinatorHandler):
    wire_type = "ping"

    async def handle(self, command) -> None:
        self.service.report("pong", command.command_id, {"eui64": command.body["eui64"], "nonce": command.body["nonce"]})


class _Ping(CommandType):
    kind = "ping"
    label = "Ping"
    wire_type = "ping"
    targets = (Target.DEVICE,)
    events = ("pong",)
    coordinator_handler = _PingHandler

    def build(self, command):
        return None, {"eui64": command.device.eui64, "nonce": command.parameters["nonce"]}

    def report_event(self, ctx) -> str:
        if ctx.event != "pong":
            return super().report_event(ctx)
        ctx.update(state=JobState.DONE, result={"nonce": ctx.detail["nonce"]})
        return "pong"


@pytest.fixture
def ping_registered():
    from han.commands import registry

    registry.register(_Ping)
    yield
    del registry._TYPES["ping"]


@pytest.mark.django_db
def test_a_type_defined_in_one_module_travels_the_whole_path(alice_network, identity, alice, captured, ping_registered):
    device = alice_network.devices.create(eui64=random_eui64(), device_type=DeviceType.IN_HOME_DISPLAY)
    captured.clear()
    job = coordinator_command_create(kind="ping", network=alice_network, device=device, parameters={"nonce": 42}, actor=alice)
    assert job_relay(job_id=job.pk) == "relayed"
    ((_, envelope),) = captured
    driver = CoordinatorDriver(identity)
    try:
        reports = driver.send([envelope], until=lambda r: bool(r))
    finally:
        driver.close()
    assert events(reports) == ["pong"] and report_record(report=reports[0]) == "pong"
    job.refresh_from_db()
    assert (job.state, job.result, job.get_kind_display()) == (JobState.DONE, {"nonce": 42}, "Ping")


def test_an_incomplete_type_is_not_registered():
    from han.commands import registry

    class NoEvents(_Ping):
        kind = "no_events"
        events = ()

    class SecondHandlerForAWireType(_Ping):
        kind = "commission_again"
        wire_type = "permit_join"

    with pytest.raises(TypeError, match="declares no events"):
        registry.register(NoEvents)
    with pytest.raises(TypeError, match="its coordinator handler serves 'ping'"):
        registry.register(SecondHandlerForAWireType)
    assert "no_events" not in registry._TYPES and "commission_again" not in registry._TYPES
