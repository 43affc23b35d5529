"""What Alice reads in her Account activity about her home network: devices by name, people by role, no raw ids."""

from __future__ import annotations

import pytest

from amiportal.audit.models import AuditEntry
from han.install_codes import install_code_parse
from han.models import DeviceType
from han.services.commissioning import device_commission, device_remove
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db

RAW_MARKERS = ("device:", "han.", "key sealed", "key_sealed", "command_id", "eui64", "coordinator:", "True")


def activity_table(user) -> str:
    html = signed_in(user).get("/customer/activity/").content.decode()
    return html[html.index("<table") : html.index("</table>")]


def commission(network, sim_device, actor, on_commit, *, label: str):
    parsed = install_code_parse(code=sim_device.install_code, eui64=sim_device.eui64)
    with on_commit(execute=True):
        return device_commission(network=network, parsed=parsed, device_type=DeviceType.THERMOSTAT, label=label, actor=actor)


@pytest.mark.objective("SO-C13")
def test_alice_reads_who_added_and_removed_which_device_in_words(
    alice, bob, ivan, alice_network, sim_device, captured, django_capture_on_commit_callbacks
):
    device = commission(alice_network, sim_device, ivan, django_capture_on_commit_callbacks, label="Thermostat")
    with django_capture_on_commit_callbacks(execute=True):
        device_remove(device=device, actor=alice)
    address = alice_network.premise.address_line
    table = activity_table(alice)
    assert f"Ivan (installer) added a device &#x27;Thermostat&#x27; to your home network at {address}." in table
    assert f"You removed a device &#x27;Thermostat&#x27; from your home network at {address}; its security key was destroyed." in table
    assert "The utility sent your home&#x27;s gateway the key a device &#x27;Thermostat&#x27; needs to join, signed and encrypted." in table
    assert AuditEntry.objects.filter(action="han.command_relayed", customer_account_id=alice.customer_account.pk).exists()
    for raw in RAW_MARKERS:
        assert raw not in table, raw
    assert "Thermostat" not in activity_table(bob)


def test_another_customer_acting_on_alices_home_is_never_named(alice, bob, alice_network, sim_device, django_capture_on_commit_callbacks):
    # However it came about (the occupancy holes are closed elsewhere), Alice must not learn Bob's name or email.
    commission(alice_network, sim_device, bob, django_capture_on_commit_callbacks, label="Porch charger")
    table = activity_table(alice)
    assert "Someone else added a device &#x27;Porch charger&#x27;" in table
    assert "Bob" not in table and "bob@example.test" not in table
