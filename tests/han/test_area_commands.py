"""Status reads to a device class, at one premise and at every premise of a grid area (issue 12)."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from amiportal.audit.models import AuditEntry
from amiportal.premises.grid_services import GridPath, grid_location_set
from han.commands import command_type
from han.coordinator.simulated import SimulatedDevice
from han.install_codes import install_code_parse
from han.models import AreaRequest, Coordinator, CoordinatorCommand, DeviceState, HanNetwork, JobKind, JobState
from han.protocol import CoordinatorIdentity
from han.services.areas import area_command_create
from han.services.commissioning import device_commission
from han.services.device_control import premise_status_request
from han.services.keys import network_key_generate_sealed
from han.services.relay import RELAY_BATCH, report_record
from han.services.relay_wakeup import relay_wakeup_clear
from tests.conftest import signed_in
from tests.factories import PremiseFactory
from tests.han.conftest import install_code_for, random_eui64
from tests.han.drive import CoordinatorDriver, detail, events

pytestmark = pytest.mark.django_db

AREA = GridPath("SUB-N", "F-7", "T-70")


def _sim(device_type: str, model: str, **extra) -> SimulatedDevice:
    return SimulatedDevice(
        eui64=random_eui64(), install_code=install_code_for(), device_type=device_type, manufacturer="Acme", model=model, **extra
    )


def _commissioned(network, ivan, captured, driver, sims, django_capture_on_commit_callbacks) -> None:
    for sim in sims:
        with django_capture_on_commit_callbacks(execute=True):
            device_commission(
                network=network, parsed=install_code_parse(code=sim.install_code, eui64=sim.eui64), device_type=sim.device_type, actor=ivan
            )
        for report in driver.send([e for _, e in captured], until=lambda r: "interviewed" in events(r)):
            report_record(report=report)
        captured.clear()
    assert network.devices.filter(state=DeviceState.VERIFIED).count() == len(sims)


def _network(premise, name: str) -> HanNetwork:
    """A premise's network on a gateway of its own, written directly (only the head-end's choice of premises is under test)."""
    identity = CoordinatorIdentity.generate(name)
    coordinator = Coordinator.objects.create(
        name=identity.name, box_public_key=identity.box_public_hex, verify_public_key=identity.verify_public_hex
    )
    network = HanNetwork(premise=premise, coordinator=coordinator, pan_id=0x1A2B, extended_pan_id="00:11:22:33:44:55:66:77", channel=15)
    network.network_key_sealed = network_key_generate_sealed(network=network)
    network.save()
    return network


def _placed(premise, olga, path: GridPath = AREA):
    grid_location_set(premise=premise, path=path, actor=olga)
    return premise


def _nothing_written():
    return (
        CoordinatorCommand.objects.count(),
        AreaRequest.objects.count(),
        AuditEntry.objects.filter(action__startswith="han.area").count(),
    )


# --- 1. a status read to a device class at one premise -------------------------------------------------


def test_a_status_read_to_a_class_reads_each_device_and_records_each_outcome(
    alice_network, identity, ivan, alice, olga, captured, django_capture_on_commit_callbacks
):
    meter, evse, thermostat = (
        _sim("metering", "M-3", summation_wh=1_234_567, demand_w=512),
        _sim("evse", "EV-1"),
        _sim("pct", "T-9"),  # no Metering server: not in the class
    )
    gone = _sim("metering", "M-4")
    driver = CoordinatorDriver(identity, [meter, evse, thermostat, gone])
    try:
        _commissioned(alice_network, ivan, captured, driver, [meter, evse, thermostat, gone], django_capture_on_commit_callbacks)
        driver.app.devices.pop(gone.ieee)  # the gateway lost it; the head-end still lists it
        with django_capture_on_commit_callbacks(execute=True):
            job = premise_status_request(network=alice_network, device_class="metering", actor=olga)
        ((_, envelope),) = captured  # one command for the premise
        assert envelope["type"] == "device_status_read"
        assert {each["eui64"] for each in job.parameters["devices"]} == {meter.eui64, evse.eui64, gone.eui64}
        reports = driver.send([envelope], until=lambda r: len(r) >= 3)
        assert {detail(r)["eui64"] for r in reports} == {meter.eui64, evse.eui64, gone.eui64}
        for report in reports:
            report_record(report=report)
    finally:
        driver.close()

    job.refresh_from_db()
    assert job.device_id is None and job.state == JobState.DONE
    assert job.detail == "1 of 3 devices did not answer."
    devices = job.result["devices"]
    assert devices[meter.eui64]["outcome"] == "reading" and devices[meter.eui64]["metering"]["demand"] == "0.512"
    assert devices[evse.eui64]["outcome"] == "reading" and devices[evse.eui64]["model"] == "EV-1"
    assert devices[gone.eui64]["outcome"] == "no_answer" and devices[gone.eui64]["failed"] == "not_joined"
    assert AuditEntry.objects.filter(action="han.device_status_read").count() >= 3

    # Olga sees each device's outcome where single status reads show (behind the reason gate).
    client = signed_in(olga)
    url = reverse("han:operator_network", args=[alice_network.pk])
    client.post(url, {"reason": "Case 4410: meter check"})
    page = client.get(url).content.decode()
    assert "Device status read to 3 metering devices" in page and "1 of 3 devices did not answer." in page
    assert f"{meter.eui64.upper()}</code>: Acme M-3; Meter: " in page and "demand 0.512 kW" in page
    assert f"{gone.eui64.upper()}</code>: no answer (The device is not on this gateway" in page


def test_a_status_read_to_a_class_with_no_such_device_is_refused_with_nothing_written(alice_network, olga):
    before = CoordinatorCommand.objects.count()
    with pytest.raises(ValidationError, match="No devices that meter energy"):
        premise_status_request(network=alice_network, device_class="metering", actor=olga)
    with pytest.raises(ValidationError, match="Unknown device class"):
        premise_status_request(network=alice_network, device_class="toasters", actor=olga)
    assert CoordinatorCommand.objects.count() == before


# --- 2. commands to a grid area -------------------------------------------------------------------------


def test_an_area_status_read_reaches_each_premises_coordinator_and_skips_the_rest(
    alice_network, identity, ivan, alice, bob, olga, captured, django_capture_on_commit_callbacks
):
    meter = _sim("metering", "M-3", summation_wh=42_000, demand_w=100)
    display = _sim("ihd", "IHD-9")
    driver = CoordinatorDriver(identity, [meter, display])
    try:
        _commissioned(alice_network, ivan, captured, driver, [meter, display], django_capture_on_commit_callbacks)
        _placed(alice_network.premise, olga)
        _placed(bob.customer_account.agreements.get().premise, olga)  # no HAN network: skipped
        empty = _network(_placed(PremiseFactory(), olga), "gw-empty")  # a network, but no verified device: skipped
        elsewhere = _network(_placed(PremiseFactory(), olga, GridPath("SUB-N", "F-8", "T-80")), "gw-elsewhere")  # another feeder

        with django_capture_on_commit_callbacks(execute=True):
            area = area_command_create(kind=JobKind.STATUS_READ, substation="SUB-N", feeder="F-7", device_class="all", actor=olga)
        assert (area.premises_in_area, area.commands_created) == (3, 1)
        assert area.skipped == {"no_han_network": 1, "no_device_in_class": 1}
        ((gateway, envelope),) = captured  # relayed after the commit, to Alice's gateway only
        assert gateway == alice_network.coordinator.name
        assert not CoordinatorCommand.objects.filter(network__in=[empty, elsewhere]).exists()
        reports = driver.send([envelope], until=lambda r: events(r).count("status_read") >= 2)
        for report in reports:
            report_record(report=report)
    finally:
        driver.close()

    (command,) = area.commands.all()
    assert command.state == JobState.DONE and command.detail == ""
    assert {eui64: each["outcome"] for eui64, each in command.result["devices"].items()} == {
        meter.eui64: "reading",
        display.eui64: "reading",
    }
    entry = AuditEntry.objects.get(action="han.area_command_requested")
    payload = json.loads(entry.payload)
    assert entry.actor_id == olga.pk and payload["area"] == {"substation": "SUB-N", "feeder": "F-7", "transformer": None}
    assert (payload["premises_in_area"], payload["commands_created"], payload["skipped"]) == (3, 1, area.skipped)

    page = signed_in(olga).get(reverse("han:operator_area_request", args=[area.pk])).content.decode()
    assert "3 premises in SUB-N / F-7: 1 got a device status read to every device." in page
    assert "1 skipped: no HAN network." in page and "1 skipped: no device of that class on its network." in page
    assert alice_network.premise.service_point_id in page and "Done" in page


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"substation": "NOPE"}, "No substation 'NOPE'"),
        ({"feeder": "F-9"}, "No feeder 'F-9' on substation 'SUB-N'"),
        ({"feeder": None, "transformer": "T-70"}, "name the feeder too"),
        ({"transformer": "T-99"}, "No transformer 'T-99'"),
        ({"substation": ""}, "Name a substation"),
        ({"kind": JobKind.LOAD_CONTROL}, "A load control event cannot be sent to a grid area"),
        ({"kind": JobKind.REMOVE}, "targets device, not device_class"),
        ({"kind": "bogus"}, "Unknown command type 'bogus'"),
        ({"device_class": "toasters"}, "Unknown device class 'toasters'"),
    ],
)
def test_bad_area_input_is_refused_with_a_clear_message_and_nothing_written(alice_network, olga, changes, message):
    _placed(alice_network.premise, olga)
    before = _nothing_written()
    arguments = {"kind": JobKind.STATUS_READ, "substation": "SUB-N", "feeder": "F-7", "device_class": "metering", **changes}
    with pytest.raises(ValidationError, match=message):
        area_command_create(**arguments, actor=olga)
    assert _nothing_written() == before


def test_an_area_with_no_premise_is_refused(olga):
    premise = _placed(PremiseFactory(), olga)
    _placed(premise, olga, GridPath("SUB-N", "F-8", "T-80"))  # moved away: F-7 / T-70 still exists, now empty
    before = _nothing_written()
    with pytest.raises(ValidationError, match="No premise is placed in this area"):
        area_command_create(kind=JobKind.STATUS_READ, substation="SUB-N", feeder="F-7", device_class="all", actor=olga)
    assert _nothing_written() == before


def test_only_area_capable_types_may_go_to_an_area_and_load_control_is_not_one_yet():
    assert command_type(JobKind.STATUS_READ).area_capable
    assert not command_type(JobKind.LOAD_CONTROL).area_capable  # ROADMAP: demand response to areas, later


def test_an_area_of_many_premises_is_written_and_handed_over_in_batches(olga, monkeypatch, django_capture_on_commit_callbacks):
    """Submission cost does not grow with the area: one query per kind of row, and one relay task for the whole area."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    sent: list[tuple] = []
    monkeypatch.setattr("han.tasks.han_relay_pending_task.delay", lambda *args: sent.append(args))

    def area_of(size: int, substation: str) -> tuple[int, AreaRequest]:
        for n in range(size):
            premise = _placed(PremiseFactory(), olga, GridPath(substation, "F-1", "T-1"))
            network = _network(premise, f"gw-{substation.lower()}-{n}")
            network.devices.create(eui64=random_eui64(), device_type="ihd", state=DeviceState.VERIFIED, link_key_sealed="x")
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
            area = area_command_create(kind=JobKind.STATUS_READ, substation=substation, device_class="all", actor=olga)
        return len(queries), area

    small_queries, small = area_of(3, "SUB-S")
    sent.clear()
    relay_wakeup_clear()  # the runner the small area woke has started (the recorded task never ran)
    large_queries, large = area_of(RELAY_BATCH + 5, "SUB-L")
    assert (small.commands_created, large.commands_created) == (3, RELAY_BATCH + 5)
    assert large_queries == small_queries  # no per-premise round trips at submission
    assert sent == [()]  # one wake-up of the relay, whose runner finds every pending command itself
    assert set(large.commands.values_list("state", flat=True)) == {JobState.PENDING}
    assert not large.commands.filter(lease_expires_at__isnull=True).exists()  # every one has its hand-off deadline


def test_a_broker_that_is_down_leaves_area_commands_queued_for_the_sweeper(olga, monkeypatch, django_capture_on_commit_callbacks):
    def refuse(*args):
        raise ConnectionError("broker down")

    monkeypatch.setattr("han.tasks.han_relay_pending_task.delay", refuse)
    network = _network(_placed(PremiseFactory(), olga), "gw-down")
    network.devices.create(eui64=random_eui64(), device_type="ihd", state=DeviceState.VERIFIED, link_key_sealed="x")
    with django_capture_on_commit_callbacks(execute=True):
        area = area_command_create(kind=JobKind.STATUS_READ, substation="SUB-N", device_class="all", actor=olga)
    (command,) = area.commands.all()
    assert command.state == JobState.PENDING and command.detail.startswith("Queued")


# --- the operator's pages, by persona --------------------------------------------------------------------


def test_olga_sends_a_status_read_to_an_area_from_the_grid_page_through_a_confirm_page(
    alice_network, olga, captured, django_capture_on_commit_callbacks
):
    network = _network(_placed(PremiseFactory(), olga), "gw-olga")
    network.devices.create(
        eui64=random_eui64(),
        device_type="metering",
        state=DeviceState.VERIFIED,
        link_key_sealed="x",
        interview={"endpoints": [{"id": 1, "in_clusters": [0x0702], "out_clusters": []}]},
    )
    _placed(alice_network.premise, olga)
    captured.clear()  # the network's own configuration
    client = signed_in(olga)
    grid = client.get(reverse("premises:operator_grid"), {"substation": "SUB-N", "feeder": "F-7"}).content.decode()
    form_url = reverse("han:operator_area_command")
    assert f'href="{form_url}?substation=SUB-N&amp;feeder=F-7"' in grid

    form = client.get(form_url, {"substation": "SUB-N", "feeder": "F-7"}).content.decode()
    assert 'name="device_class"' in form and 'value="status_read"' in form and "Load control event" not in form
    chosen = {"substation": "SUB-N", "feeder": "F-7", "transformer": "", "kind": "status_read", "device_class": "metering"}
    send_url = reverse("han:operator_area_command_send")
    assert f'action="{send_url}"' in form
    confirm = client.post(send_url, chosen)
    assert confirm.status_code == 200 and "Send to 2 premises" in confirm.content.decode()
    assert not AreaRequest.objects.exists()  # nothing until confirmed

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(send_url, {**chosen, "confirm": "yes"})
    area = AreaRequest.objects.get()
    assert response.status_code == 302 and response.url == reverse("han:operator_area_request", args=[area.pk])
    assert (area.commands_created, area.skipped, area.requested_by_id) == (1, {"no_device_in_class": 1}, olga.pk)
    assert [name for name, _ in captured] == ["gw-olga"]
    page = client.get(response.url).content.decode()
    assert "2 premises in SUB-N / F-7: 1 got a device status read to devices that meter energy." in page

    # Later, the area command page lists it among the earlier requests, with a link back to its progress.
    area.commands.update(state=JobState.FAILED)
    earlier = client.get(form_url).content.decode()
    assert "Earlier area requests" in earlier
    assert f'href="{reverse("han:operator_area_request", args=[area.pk])}"' in earlier
    assert "SUB-N / F-7" in earlier and "1 of 2 got a command" in earlier and "1 of 1 (1 failed)" in earlier
    assert olga.get_short_name() in earlier


def test_an_empty_area_is_refused_before_the_confirm_page(olga):
    premise = _placed(PremiseFactory(), olga)
    _placed(premise, olga, GridPath("SUB-N", "F-8", "T-80"))  # F-7 is left with no premise
    response = signed_in(olga).post(
        reverse("han:operator_area_command_send"), {"substation": "SUB-N", "feeder": "F-7", "kind": "status_read", "device_class": "all"}
    )
    assert response.status_code == 400 and "No premise is placed in this area" in response.content.decode()
    assert not AreaRequest.objects.exists()


def test_olga_is_told_why_a_bad_area_request_is_refused(alice_network, olga):
    _placed(alice_network.premise, olga)
    response = signed_in(olga).post(
        reverse("han:operator_area_command_send"),
        {"substation": "SUB-N", "feeder": "", "transformer": "T-70", "kind": "status_read", "device_class": "all", "confirm": "yes"},
    )
    assert response.status_code == 400 and "name the feeder too" in response.content.decode()
    assert not AreaRequest.objects.exists() and not CoordinatorCommand.objects.filter(area_request__isnull=False).exists()


@pytest.mark.parametrize("persona", ["ivan", "alice", "peter", "trent", "dora"])
def test_nobody_but_an_operator_sends_to_an_area_or_sees_one(persona, request, alice_network, olga, django_capture_on_commit_callbacks):
    user = request.getfixturevalue(persona)
    _placed(alice_network.premise, olga)
    with django_capture_on_commit_callbacks(execute=True):
        area = area_command_create(kind=JobKind.STATUS_READ, substation="SUB-N", device_class="all", actor=olga)
    client = signed_in(user)
    before = _nothing_written()
    chosen = {"substation": "SUB-N", "kind": "status_read", "device_class": "all", "confirm": "yes"}
    assert client.post(reverse("han:operator_area_command_send"), chosen).status_code in (403, 404)
    assert client.get(reverse("han:operator_area_command")).status_code in (403, 404)
    assert client.get(reverse("han:operator_area_request", args=[area.pk])).status_code in (403, 404)
    assert _nothing_written() == before
