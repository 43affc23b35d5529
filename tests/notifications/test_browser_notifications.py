"""In Debian's Chromium: Alice reads a critical-peak notice in her inbox, marks it read, and turns its email off."""

from __future__ import annotations

import pytest
from django.utils import timezone

from amiportal.notifications.models import Preference
from amiportal.notifications.services.sending import notifications_send
from tests.notifications.test_preferences import _facts
from tests.notifications.test_sending import _to
from tests.test_browser import page  # noqa: F401  (the Chromium page fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_alice_reads_her_inbox_and_turns_critical_peak_email_off(page, alice, password):  # noqa: F811
    notifications_send(kind="critical_peak", subject="critical_peak_event:1", period="declared", recipients=[_to(alice)], facts=_facts())
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill(alice.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/customer/")
    assert page.get_by_test_id("unread-count").inner_text() == "1"

    page.get_by_role("link", name="Notifications: 1 unread").click()
    page.wait_for_url("**/customer/notifications/")
    title = f"Critical-peak prices on {timezone.localdate():%A} {timezone.localdate().day}"
    assert page.get_by_role("heading", name=title).is_visible()
    page.get_by_role("button", name="Mark read: Critical-peak prices").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("unread-count").inner_text() == "0"

    page.goto("/customer/")
    display = page.get_by_label("In-home display for critical-peak price events")
    assert display.is_disabled() and not display.is_checked()
    assert page.get_by_text("Messages to in-home displays are not available yet").first.is_visible()
    email = page.get_by_label("Email for critical-peak price events")
    assert email.is_checked()
    email.uncheck()
    page.get_by_role("button", name="Save notification choices").click()
    page.wait_for_load_state()
    assert page.get_by_text("Your notification choices are saved").is_visible()
    assert not page.get_by_label("Email for critical-peak price events").is_checked()
    assert Preference.objects.get(user=alice, kind="critical_peak", channel="email").enabled is False
