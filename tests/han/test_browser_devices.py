"""In Debian's Chromium: a customer adds a device and removes one, each behind a fresh password check (SO-C4, SO-C6).

The relay to the gateway runs inline and its envelopes are captured (tests/han/conftest.py
``captured``); the journey asserts what the customer sees and what is stored and audited.
"""

from __future__ import annotations

import time
from importlib import import_module

import pytest
from django.conf import settings

from amiportal.accounts.services.two_factor import SESSION_STEP_UP_AT
from amiportal.audit.models import AuditEntry
from han.models import Device, DeviceState
from tests.han.conftest import install_code_for, random_eui64
from tests.test_browser import page  # noqa: F401  (the Chromium page fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, password):  # noqa: F811
    page.goto("/")
    page.get_by_label("Email address").fill("alice@example.test")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/customer/")


def _confirm_with_password(page, password, action_words: str):  # noqa: F811
    page.wait_for_url("**/accounts/step-up/**")
    assert f"To {action_words}, we need a fresh check." in page.get_by_role("main").inner_text()
    assert "Enter your password." in page.get_by_role("main").inner_text()
    page.get_by_label("Confirm it's you").fill(password)
    page.get_by_role("button", name="Continue").click()


def _make_step_up_stale(page) -> None:  # noqa: F811
    """As if the last check were eleven minutes ago (the window is ten)."""
    session_key = next(cookie["value"] for cookie in page.context.cookies() if cookie["name"] == "sessionid")
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)  # the server reads it through its cache
    session[SESSION_STEP_UP_AT] = time.time() - 11 * 60
    session.save()


@pytest.mark.objective("SO-C4")
def test_customer_adds_a_device_then_removes_it_each_after_confirming_their_password(
    page,  # noqa: F811
    alice,
    password,
    alice_network,
    captured,
):
    _sign_in(page, password)
    page.goto("/han/devices/")
    page.get_by_role("link", name="Add a device").click()

    _confirm_with_password(page, password, "add a device to your home's network")
    page.wait_for_url("**/han/devices/add/")
    assert "Confirmed. You can now add a device to your home's network." in page.locator(".messages").inner_text()

    code, eui64 = install_code_for(), random_eui64()
    page.get_by_label("Install code or QR payload").fill(code)
    page.get_by_label("Device EUI-64").fill(eui64)
    page.get_by_label("Device type").select_option("ihd")
    page.get_by_label("Name (optional)").fill("Hall display")
    page.get_by_role("button", name="Add device").click()
    page.wait_for_url("**/han/devices/")
    assert "Hall display is being connected to your home's network." in page.locator(".messages").inner_text()
    assert page.get_by_role("cell", name="Hall display").first.is_visible()
    assert eui64.upper() in page.get_by_role("table").inner_text()

    device = Device.objects.get(eui64=eui64)
    assert device.added_by == alice and device.network == alice_network
    assert device.link_key_sealed and code not in device.link_key_sealed
    assert captured and captured[-1][1]["type"] == "permit_join"
    assert AuditEntry.objects.filter(
        action="han.device_commission_requested", actor_id=alice.pk, customer_account_id=alice.customer_account.pk
    ).exists()

    # Later: the check has gone stale, so removing asks again and changes nothing until confirmed.
    _make_step_up_stale(page)
    page.get_by_role("button", name="Remove Hall display").click()
    _confirm_with_password(page, password, "remove a device from your home's network and destroy its key")
    page.wait_for_url("**/han/devices/")
    device.refresh_from_db()
    assert device.state != DeviceState.DECOMMISSIONED and device.link_key_sealed
    assert "You can now remove a device" in page.locator(".messages").inner_text()

    page.get_by_role("button", name="Remove Hall display").click()
    # One click only asks (a page, no script): nothing is removed until the customer confirms.
    page.wait_for_url("**/remove/")
    assert page.get_by_role("heading", level=1).inner_text() == "Remove Hall display?"
    device.refresh_from_db()
    assert device.state != DeviceState.DECOMMISSIONED and device.link_key_sealed
    page.get_by_role("button", name="Remove Hall display").click()
    page.wait_for_url("**/han/devices/")
    assert "Hall display was removed and its key destroyed." in page.locator(".messages").inner_text()
    assert "Hall display" not in page.get_by_role("table").inner_text()
    device.refresh_from_db()
    assert device.state == DeviceState.DECOMMISSIONED and device.link_key_sealed == ""
    assert captured[-1][1]["type"] == "remove"
    removed = AuditEntry.objects.get(action="han.device_removed")
    assert (removed.actor_id, removed.customer_account_id) == (alice.pk, alice.customer_account.pk)
    assert AuditEntry.objects.filter(action="auth.step_up_succeeded", actor_id=alice.pk).count() == 2
