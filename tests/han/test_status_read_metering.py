"""A status read carries the Smart Energy Metering attributes of a device that serves that cluster."""

from __future__ import annotations

import pytest
from django.urls import reverse

from amiportal.audit.models import AuditEntry
from han.coordinator.simulated import SimulatedDevice
from han.install_codes import install_code_parse
from han.metering import metering_result
from han.models import DeviceState, DeviceType, JobState
from han.services.commissioning import device_commission
from han.services.device_control import device_status_request
from han.services.relay import reports_record
from han.templatetags.han_format import metering_summary
from tests.conftest import signed_in
from tests.han.conftest import install_code_for, random_eui64
from tests.han.drive import CoordinatorDriver, events

pytestmark = pytest.mark.django_db


def _verified(network, simulated, device_type, actor, captured, driver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        parsed = install_code_parse(code=simulated.install_code, eui64=simulated.eui64)
        device = device_commission(network=network, parsed=parsed, device_type=device_type, actor=actor)
    reports_record(reports=driver.send([e for _, e in captured], until=lambda r: "interviewed" in events(r)))
    device.refresh_from_db()
    assert device.state == DeviceState.VERIFIED
    captured.clear()
    return device


def _status_read(device, actor, captured, driver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        read = device_status_request(device=device, actor=actor)
    reports_record(reports=driver.send([captured[0][1]], until=lambda r: "status_read" in events(r)))
    read.refresh_from_db()
    assert read.state == JobState.DONE
    return read


def test_a_meter_answers_a_status_read_with_its_metering_attributes(
    alice_network, identity, ivan, alice, olga, captured, django_capture_on_commit_callbacks
):
    meter = SimulatedDevice(
        eui64=random_eui64(), install_code=install_code_for(), device_type="metering", model="M-3", summation_wh=1_234_567, demand_w=512
    )
    driver = CoordinatorDriver(identity, [meter])
    try:
        device = _verified(alice_network, meter, DeviceType.METERING, ivan, captured, driver, django_capture_on_commit_callbacks)
        read = _status_read(device, alice, captured, driver, django_capture_on_commit_callbacks)
    finally:
        driver.close()

    metering = read.result["metering"]
    # Read over the air from the simulated meter, in the types zigpy's Metering cluster defines.
    assert metering["current_summ_delivered"] >= 1_234_567
    assert metering["instantaneous_demand"] == 512
    assert (metering["unit_of_measure"], metering["multiplier"], metering["divisor"]) == (0, 1, 1000)
    assert metering["demand"] == "0.512" and metering["demand_unit"] == "kW"
    assert metering["summation_unit"] == "kWh" and metering["summation_delivered"].startswith("1234.5")
    assert read.result["model"] == "M-3"

    # Olga sees it with the command on the premise's network page, once she has recorded why (SO-C5, SO-C7).
    olga_client = signed_in(olga)
    url = reverse("han:operator_network", args=[alice_network.pk])
    gate = olga_client.get(url).content.decode()
    assert "kWh delivered" not in gate and "Why do you need this customer" in gate
    olga_client.post(url, {"reason": "Case 7781: customer reports a wrong display"})
    page = olga_client.get(url).content.decode()
    assert f"Meter: {metering['summation_delivered']} kWh delivered, demand 0.512 kW" in page
    account_id = alice.customer_account.pk
    assert AuditEntry.objects.filter(action="staff.customer_data_opened", actor_id=olga.pk, customer_account_id=account_id).exists()
    assert AuditEntry.objects.filter(action="han.staff_network_viewed", actor_id=olga.pk, customer_account_id=account_id).exists()


def test_a_device_without_a_metering_server_reads_without_metering(
    alice_network, identity, ivan, alice, captured, django_capture_on_commit_callbacks
):
    thermostat = SimulatedDevice(eui64=random_eui64(), install_code=install_code_for(), device_type="pct", model="T-9")
    driver = CoordinatorDriver(identity, [thermostat])
    try:
        device = _verified(alice_network, thermostat, DeviceType.THERMOSTAT, ivan, captured, driver, django_capture_on_commit_callbacks)
        read = _status_read(device, alice, captured, driver, django_capture_on_commit_callbacks)
    finally:
        driver.close()
    assert read.result["model"] == "T-9"
    assert read.result["metering"] is None


@pytest.mark.parametrize(
    "raw, expected",
    [
        ({"current_summ_delivered": 5, "multiplier": 2, "divisor": 10, "unit_of_measure": 1}, ("1", "m³")),
        ({"current_summ_delivered": 2**48, "divisor": 1000}, (None, "kWh")),  # out of range: dropped, not trusted
        ({"current_summ_delivered": 7, "divisor": 0}, (None, "kWh")),  # no divisor: raw value only
    ],
)
def test_metering_values_are_range_checked_and_scaled_by_the_devices_own_multiplier_and_divisor(raw, expected):
    result = metering_result(raw)
    assert (result.get("summation_delivered"), result["summation_unit"]) == expected
    assert metering_result("garbage") is None and metering_result({"divisor": True}) is None
    assert metering_summary(None) == ""
