"""Live demand: a meter reports its instantaneous demand through the coordinator, and only its household sees it.

The simulated meter answers Bind and Configure Reporting and sends ZCL Report Attributes as a real
Smart Energy meter does; the coordinator relays each report signed, its detail sealed to the head-end
(SO-C5, SO-U4, BF-CUST-1).
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from han.coordinator.simulated import SimulatedDevice
from han.models import DeviceDemand, DeviceType
from han.services.relay import reports_record
from tests.conftest import signed_in
from tests.han.conftest import install_code_for, random_eui64
from tests.han.drive import CoordinatorDriver, detail
from tests.han.test_status_read_metering import _verified

pytestmark = pytest.mark.django_db


def _demand_reports(reports):
    return [r for r in reports if r["event"] == "metering"]


@pytest.mark.objective("SO-C5")
def test_a_meter_reports_its_demand_and_the_household_reads_it(
    alice_network, identity, ivan, alice, bob, peter, captured, django_capture_on_commit_callbacks, tmp_path
):
    meter = SimulatedDevice(eui64=random_eui64(), install_code=install_code_for(), device_type="metering", demand_w=1520)
    driver = CoordinatorDriver(identity, [meter])
    try:
        device = _verified(alice_network, meter, DeviceType.METERING, ivan, captured, driver, django_capture_on_commit_callbacks)
        first = driver.send([], until=lambda r: bool(_demand_reports(r)))
        report = _demand_reports(first)[0]
        assert report["command_id"] is None and "instantaneous_demand" not in json.dumps(report)  # sealed to the head-end
        assert detail(report)["instantaneous_demand"] == 1520
        assert reports_record(reports=first)[-1] == "metering"
        assert DeviceDemand.objects.get(device=device).demand == Decimal("1.52")  # kW, by the meter's own divisor

        # The meter's demand changes: it reports by itself (no command), and the stored value follows.
        driver.app.sim_network.demand_file = tmp_path / "demand.json"
        (tmp_path / "demand.json").write_text(json.dumps({meter.eui64: 3875}))
        changed = driver.send([], until=lambda r: any(detail(x)["instantaneous_demand"] == 3875 for x in _demand_reports(r)))
        reports_record(reports=changed)
    finally:
        driver.close()
    demand = DeviceDemand.objects.get(device=device)
    assert str(demand.demand.normalize()) == "3.875" and demand.demand_unit == "kW"

    url = f"/han/customer/premises/{alice_network.premise_id}/live-demand.json"
    body = signed_in(alice).get(url).json()
    assert body["demand"] == "3.875" and body["unit"] == "kW" and body["age_seconds"] < 60
    assert signed_in(peter).get(url).status_code == 404  # he lived there before: not his home now
    assert signed_in(bob).get(url).status_code == 404

    # A replayed older report does not turn the clock back.
    assert reports_record(reports=first) == ["replayed"]
    assert str(DeviceDemand.objects.get(device=device).demand.normalize()) == "3.875"


def test_a_demand_report_for_another_coordinators_device_changes_nothing(
    alice_network, identity, ivan, captured, django_capture_on_commit_callbacks
):
    """A coordinator can only speak for the devices verified on its own network (SO-U4)."""
    from han.protocol import CoordinatorIdentity, ReportSequence, report_build
    from han.services.head_end_keys import head_end_box_public_key_hex
    from han.services.networks import coordinator_register

    meter = SimulatedDevice(eui64=random_eui64(), install_code=install_code_for(), device_type="metering", demand_w=700)
    driver = CoordinatorDriver(identity, [meter])
    try:
        device = _verified(alice_network, meter, DeviceType.METERING, ivan, captured, driver, django_capture_on_commit_callbacks)
    finally:
        driver.close()
    DeviceDemand.objects.filter(device=device).delete()
    other = CoordinatorIdentity.generate("gw-elsewhere")
    coordinator_register(name=other.name, box_public_key=other.box_public_hex, verify_public_key=other.verify_public_hex)
    forged = report_build(
        identity=other,
        event="metering",
        command_id=None,
        detail={"eui64": meter.eui64, "instantaneous_demand": 99999, "unit_of_measure": 0, "multiplier": 1, "divisor": 1000},
        seq=ReportSequence().next(),
        head_end_box_public_hex=head_end_box_public_key_hex(),
    )
    assert reports_record(reports=[forged]) == ["no such device"]
    assert not DeviceDemand.objects.filter(device=device).exists()


def test_the_dashboard_shows_the_live_demand_card_only_to_the_household_living_there(alice, peter, alice_network):
    premise_id = alice_network.premise_id
    page = signed_in(alice).get(f"/customer/premises/{premise_id}/usage/").content.decode()
    assert f'data-live-demand="/han/customer/premises/{premise_id}/live-demand.json"' in page
    assert "data-live-demand" not in signed_in(peter).get(f"/customer/premises/{premise_id}/usage/").content.decode()
    assert signed_in(alice).get(f"/han/customer/premises/{premise_id}/live-demand.json").json()["demand"] is None


def test_the_dashboards_one_read_of_meters_and_han_gives_what_the_orm_does(alice_network):
    """The dashboard reads the premise's meters and whether it has a HAN network together (the live-demand card)."""
    from datetime import date

    from amiportal.premises.models import Meter, MeterKind
    from billing.commodities import premise_meters_and_han
    from tests.factories import MeterFactory, PremiseFactory

    def orm(premise):
        meters = list(Meter.objects.filter(premise=premise).order_by("removed_on", "serial_number"))
        return [(m.pk, m.serial_number, m.kind, m.status, m.installed_on, m.removed_on, m.premise_id) for m in meters]

    def read(premise):
        meters, has_han = premise_meters_and_han(premise)
        return [(m.pk, m.serial_number, m.kind, m.status, m.installed_on, m.removed_on, m.premise_id) for m in meters], has_han

    with_han = alice_network.premise
    MeterFactory(premise=with_han, serial_number="AA-GAS", kind=MeterKind.GAS)
    MeterFactory(premise=with_han, serial_number="00-OLD", removed_on=date(2023, 5, 1))
    assert read(with_han) == (orm(with_han), True) and len(orm(with_han)) >= 3
    without = PremiseFactory()
    MeterFactory(premise=without, serial_number="Z1")
    MeterFactory(premise=without, serial_number="A1", kind=MeterKind.WATER)
    assert read(without) == (orm(without), False) and [row[1] for row in orm(without)] == ["A1", "Z1"]
    assert read(PremiseFactory()) == ([], False)
