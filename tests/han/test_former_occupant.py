"""A former occupant reaches nothing of the home's network now (issue 9, finding 1; SO-C4, SO-C13, SO-C15).

Peter lived in Alice's home before her. He may read his own period's usage there, but
the devices, their keys and the gateway belong to whoever lives there now.
"""

import pytest
from django.urls import reverse

from amiportal.audit.models import AuditEntry
from amiportal.premises.selectors import premises_occupied_now
from han.models import Device, DeviceState
from tests.conftest import signed_in
from tests.han.conftest import install_code_for, random_eui64
from tests.thirdparty.devices import stepped_up

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_device(alice, alice_network, sim_device, captured, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        stepped_up(alice).post(
            reverse("han:customer_device_add"),
            {"network": alice_network.pk, "install_code": sim_device.install_code, "eui64": sim_device.eui64, "device_type": "ihd"},
        )
    return Device.objects.get()


def _refusals(user, attempted: str):
    entries = AuditEntry.objects.filter(action="han.customer_access_refused", actor_id=user.pk)
    return entries.filter(payload__contains=f'"attempted":"{attempted}"')


@pytest.mark.objective("SO-C4")
def test_a_former_occupant_does_not_occupy_the_home_now(alice, peter):
    home = alice.customer_account.agreements.get().premise
    assert list(premises_occupied_now(user=alice)) == [home]
    assert list(premises_occupied_now(user=peter)) == []


@pytest.mark.objective("SO-C4")
def test_the_former_occupant_does_not_see_the_current_occupants_devices(peter, alices_device):
    page = signed_in(peter).get(reverse("han:customer_devices"))
    assert page.status_code == 200
    assert alices_device.eui64.upper() not in page.content.decode()


@pytest.mark.objective("SO-C13")
def test_the_former_occupant_cannot_read_a_devices_status_and_the_attempt_is_his(alice, peter, alices_device):
    response = signed_in(peter).get(reverse("han:customer_device_status", args=[alices_device.uid]))
    assert response.status_code == 404
    entry = _refusals(peter, "device_status").get()
    assert entry.customer_account_id == peter.customer_account.pk != alice.customer_account.pk


@pytest.mark.objective("SO-C13")
def test_the_former_occupant_cannot_remove_a_device_and_its_key_survives(alice, peter, alices_device, captured):
    sent_before = len(captured)
    # Even with a fresh step-up (removal is a sensitive action), the device is not his to see.
    response = signed_in(peter, stepped_up=True).post(reverse("han:customer_device_remove", args=[alices_device.uid]))
    assert response.status_code == 404
    alices_device.refresh_from_db()
    assert alices_device.state != DeviceState.DECOMMISSIONED and alices_device.link_key_sealed
    assert len(captured) == sent_before, "nothing may be sent to the gateway"
    assert not AuditEntry.objects.filter(action="han.device_removed").exists()
    assert _refusals(peter, "device_remove").get().customer_account_id == peter.customer_account.pk


@pytest.mark.objective("SO-C13")
@pytest.mark.objective("SO-C15")
def test_the_former_occupant_cannot_add_a_device_even_after_step_up(alice, peter, alice_network, captured):
    client = stepped_up(peter)
    form_page = client.get(reverse("han:customer_device_add")).content.decode()
    assert alice_network.premise.address_line not in form_page
    response = client.post(
        reverse("han:customer_device_add"),
        {"network": alice_network.pk, "install_code": install_code_for(), "eui64": random_eui64(), "device_type": "ihd"},
    )
    assert response.status_code == 404
    assert not Device.objects.exists()
    assert not [envelope for _, envelope in captured if envelope.get("type") == "permit_join"]
    assert _refusals(peter, "device_add").get().customer_account_id == peter.customer_account.pk
    assert not AuditEntry.objects.filter(action="han.device_commission_requested").exists()
