"""Consent expiry reminders, moved into the notification centre: once per consent and end date."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from amiportal.notifications.kinds import consent_expiry
from amiportal.notifications.models import Notification
from tests.conftest import signed_in
from tests.thirdparty import world

pytestmark = pytest.mark.django_db


@pytest.fixture
def application(trent):
    world.current_agreement()
    return world.register(trent)


def test_reminder_is_sent_once_before_expiry_to_the_customer_only(
    alice, bob, trent, application, eager, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.AMI_TP_REMINDER_DAYS = 30
    soon = world.grant(application, alice, days=10)
    # One live consent per customer and application: the one that ends later is another application's.
    world.grant(world.register(trent, name="Solar Planner"), alice, days=200)
    with django_capture_on_commit_callbacks(execute=True):
        assert consent_expiry.reminders_send() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert consent_expiry.reminders_send() == 0
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [alice.email]
    assert f"/customer/access/{soon.pk}/extend/" in mailoutbox[0].body
    assert "Energy Insights" in signed_in(alice).get("/customer/notifications/").content.decode()
    assert not Notification.objects.filter(user=bob).exists()


def test_a_re_consent_to_a_new_end_date_is_reminded_again(alice, application, settings):
    settings.AMI_TP_REMINDER_DAYS = 30
    consent = world.grant(application, alice, days=10)
    assert consent_expiry.reminders_send() == 1
    consent.expires_at = timezone.now() + timedelta(days=20)
    consent.save(update_fields=["expires_at"])
    assert consent_expiry.reminders_send() == 1
    assert Notification.objects.filter(kind="consent_expiry", user=alice).count() == 2
