"""Preferences per kind and channel: audited, at once, and a value not offered changes nothing."""

from __future__ import annotations

import types

import pytest

from amiportal.audit.models import AuditEntry
from amiportal.notifications import kinds
from amiportal.notifications.kinds import Message
from amiportal.notifications.models import AlertThresholds, Delivery, Preference
from amiportal.notifications.selectors import preferences_table
from amiportal.notifications.services.sending import notifications_send
from tests.conftest import signed_in
from tests.notifications.test_sending import _to

pytestmark = pytest.mark.django_db

# What the page posts with every default left as it is.
DEFAULTS = {
    "pref:critical_peak:inbox": "on",
    "pref:critical_peak:email": "on",
    "pref:bill_to_date:inbox": "on",
    "pref:bill_to_date:email": "on",
    "pref:usage_spike:inbox": "on",
    "pref:consent_expiry:inbox": "on",
    "pref:consent_expiry:email": "on",
    "bill_to_date_dollars": "",
    "usage_multiple": "2",
}


def _post(user, **changes):
    data = {**DEFAULTS, **changes}
    return signed_in(user).post("/customer/notifications/preferences/", {k: v for k, v in data.items() if v is not None}, follow=True)


def test_the_account_page_offers_each_kind_and_channel_and_says_why_the_display_is_off(alice):
    html = signed_in(alice).get("/customer/").content.decode()
    assert 'id="notification-preferences"' in html
    assert 'name="pref:critical_peak:email" checked' in html
    assert 'name="pref:usage_spike:email"' in html and 'name="pref:usage_spike:email" checked' not in html
    assert 'name="pref:critical_peak:display" disabled' in html
    assert "Messages to in-home displays are not available yet" in html


def test_turning_email_off_is_audited_and_applies_to_the_next_notice(alice):
    response = _post(alice, **{"pref:critical_peak:email": None, "bill_to_date_dollars": "150", "usage_multiple": "3"})
    assert "Your notification choices are saved" in response.content.decode()
    assert Preference.objects.get(user=alice, kind="critical_peak", channel="email").enabled is False
    thresholds = AlertThresholds.objects.get(user=alice)
    assert (thresholds.bill_to_date_dollars, thresholds.usage_multiple) == (150, 3)
    entry = AuditEntry.objects.get(action="notifications.preferences_changed")
    assert entry.actor_id == alice.pk and entry.customer_account_id == alice.customer_account.pk
    assert "critical_peak by email off" in entry.payload and "bill alert at 150 dollars" in entry.payload
    notifications_send(kind="critical_peak", subject="e:1", period="declared", recipients=[_to(alice)], facts=_facts())
    assert list(Delivery.objects.values_list("channel", flat=True)) == ["inbox"]
    # Shown as the customer chose, and in plain words in their account activity.
    assert 'name="pref:critical_peak:email" checked' not in signed_in(alice).get("/customer/").content.decode()
    assert (
        "You changed your notification choices: critical peak by email off" in signed_in(alice).get("/customer/activity/").content.decode()
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"pref:critical_peak:display": "on"},  # a channel not built yet
        {"pref:outage_made_up:email": "on"},  # a kind the registry does not hold
        {"pref:critical_peak:pigeon": "on"},  # a channel that does not exist
        {"usage_multiple": "7"},  # a multiple not in the list
        {"usage_multiple": "lots"},
        {"bill_to_date_dollars": "-5"},
        {"bill_to_date_dollars": "a lot"},
    ],
)
def test_a_value_not_offered_changes_nothing_and_is_audited(alice, bad):
    response = _post(alice, **{"pref:critical_peak:email": None, **bad})
    assert "Nothing was changed." in response.content.decode()
    assert not Preference.objects.exists() and not AlertThresholds.objects.exists()
    assert not AuditEntry.objects.filter(action="notifications.preferences_changed").exists()
    refused = AuditEntry.objects.get(action="notifications.preferences_refused")
    assert refused.actor_id == alice.pk


def _facts():
    from django.utils import timezone

    return {"day": timezone.localdate(), "start_hour": 16, "end_hour": 19, "tariff": "Peak Saver"}


@pytest.fixture
def safety_kind(monkeypatch):
    """A safety notice (as outages will be): CAN_TURN_OFF is False."""
    module = types.SimpleNamespace(
        NAME="outage_test",
        LABEL="Outages",
        DESCRIPTION="Power cuts at your home.",
        DEFAULT_CHANNELS=("inbox", "email"),
        CAN_TURN_OFF=False,
        render=lambda recipient, facts: Message("Power cut", "Power is off.", "Power is off"),
    )
    monkeypatch.setitem(kinds.KINDS, "outage_test", module)
    return module


def test_a_safety_notice_cannot_be_turned_off_entirely(alice, safety_kind):
    row = next(row for row in preferences_table(user=alice) if row.kind == "outage_test")
    inbox = next(cell for cell in row.cells if cell.channel == "inbox")
    assert (inbox.on, inbox.offered, inbox.why_not) == (True, False, "Safety notices always reach your portal inbox.")
    # Email may be turned off; the inbox may not: trying is refused and nothing changes.
    _post(alice, **{"pref:outage_test:email": None})
    assert Preference.objects.get(kind="outage_test", channel="email").enabled is False
    response = _post(alice, **{"pref:outage_test:inbox": ""})
    assert "is not a choice this page offers" in response.content.decode()
    Preference.objects.create(user=alice, kind="outage_test", channel="inbox", enabled=False)  # even a stray row
    notifications_send(kind="outage_test", subject="outage:1", period="start", recipients=[_to(alice)])
    assert list(Delivery.objects.values_list("channel", flat=True)) == ["inbox"]
