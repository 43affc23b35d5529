"""In Debian's Chromium: an installer corrects a wrong install code after the device timed out (BF-HAN-1, BF-HAN-3).

The relay runs inline with its envelopes captured (tests/han/conftest.py ``captured``); the
device's failure comes from the head-end's own permit-window deadline (``han_commands_sweep``).
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from amiportal.audit.models import AuditEntry
from han.commands.commission import Commission
from han.install_codes import install_code_parse
from han.models import CoordinatorCommand, Device, DeviceState, DeviceType, WorkOrder
from han.protocol import report_build
from han.services.commissioning import device_commission
from han.services.head_end_keys import head_end_box_public_key_hex
from han.services.relay import report_record
from han.services.sweeper import han_commands_sweep
from tests.conftest import current_code
from tests.han.conftest import install_code_for, random_eui64
from tests.test_browser import page  # noqa: F401  (the Chromium page fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _timed_out_device(network, identity, installer) -> Device:
    """Commissioned with a wrong code: the gateway opened its window, the device never joined, the deadline passed."""
    eui64 = random_eui64()
    device = device_commission(
        network=network,
        parsed=install_code_parse(code=install_code_for(), eui64=eui64),
        device_type=DeviceType.IN_HOME_DISPLAY,
        label="Hall display",
        actor=installer,
    )
    job = CoordinatorCommand.objects.get(device=device)
    permitted = report_build(
        identity=identity,
        event="permitted",
        command_id=str(job.command_id),
        detail={"eui64": eui64},
        seq=1,
        head_end_box_public_hex=head_end_box_public_key_hex(),
    )
    assert report_record(report=permitted) == "permitted"
    job.refresh_from_db()
    assert han_commands_sweep(now=job.permit_ends_at + timedelta(seconds=1))["timed_out"] == 1
    device.refresh_from_db()
    assert device.state == DeviceState.FAILED
    return device


@pytest.mark.objective("BF-HAN-3")
def test_installer_corrects_a_wrong_install_code_and_the_device_is_sent_again(
    page,  # noqa: F811
    ivan,
    password,
    alice_network,
    identity,
    captured,
):
    work_order = WorkOrder.objects.create(premise=alice_network.premise, installer=ivan, summary="Install in-home display")
    device = _timed_out_device(alice_network, identity, ivan)
    old_sealed = device.link_key_sealed

    page.goto(f"/han/installer/work-orders/{work_order.pk}/")
    page.get_by_label("Email address").fill("ivan@example.test")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/two-factor/verify/**")
    page.get_by_label("Code from your authenticator app").fill(current_code())
    page.get_by_role("button", name="Verify").click()
    page.wait_for_load_state()
    page.goto(f"/han/installer/work-orders/{work_order.pk}/")
    table = page.get_by_role("table").inner_text()
    assert "Failed" in table and Commission.failure_messages["timed_out"] in table

    page.get_by_role("link", name="Correct install code").click()
    page.wait_for_url("**/install-code/")
    assert device.eui64.upper() in page.get_by_role("main").inner_text()
    page.get_by_label("Install code or QR payload").fill("not a code")
    page.get_by_role("button", name="Replace install code").click()
    assert page.locator(".field-error").first.is_visible()  # a clear refusal; nothing changed
    assert Device.objects.get(pk=device.pk).link_key_sealed == old_sealed

    new_code = install_code_for()
    page.get_by_label("Install code or QR payload").fill(new_code)
    page.get_by_role("button", name="Replace install code").click()
    page.wait_for_url(f"**/han/installer/work-orders/{work_order.pk}/")
    assert f"New install code for {device.eui64.upper()} escrowed and sent to the gateway." in page.locator(".messages").inner_text()
    assert "Key sent to the gateway" in page.get_by_role("table").inner_text()

    device.refresh_from_db()
    assert device.state == DeviceState.KEY_RELAYED
    assert device.link_key_sealed not in ("", old_sealed) and new_code.lower() not in device.link_key_sealed.lower()
    assert Device.objects.filter(eui64=device.eui64).count() == 1  # the same registration, corrected
    assert captured[-1][1]["type"] == "permit_join"
    corrected = AuditEntry.objects.get(action="han.device_install_code_corrected", actor_id=ivan.pk)
    assert json.loads(corrected.payload)["old_key_discarded"] is True
