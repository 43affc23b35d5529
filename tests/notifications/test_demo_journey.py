"""The "Done when" journey on the demo data: olga declares a critical-peak event in the operator console;
the demo customers on that tariff get it in the inbox and by mail once each, the others nothing; a customer
turns the email off and the next notice arrives only in the portal (SO-C1, SO-C2, SO-C5)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from amiportal.notifications.models import Notification
from billing.models import Tariff
from tests.conftest import add_totp, signed_in

pytestmark = pytest.mark.django_db


@pytest.mark.objective("SO-C1")
@pytest.mark.objective("SO-C5")
def test_demo_customers_on_the_tariff_hear_once_and_can_turn_email_off(settings, eager, mailoutbox, django_capture_on_commit_callbacks):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    users = get_user_model().objects
    olga, alice = users.get(email="olga@demo.ami"), users.get(email="alice@demo.ami")
    add_totp(olga)
    tariff = Tariff.objects.get(code="RES-TOU")
    line = next(line for line in out.getvalue().splitlines() if line.strip().startswith(f"{tariff.name}:"))
    expected = sorted(email.strip() for email in line.split(":", 1)[1].split(","))
    assert "alice@demo.ami" in expected and "bob@demo.ami" not in expected

    def declare(days_ahead):
        day = timezone.localdate() + timedelta(days=days_ahead)
        with django_capture_on_commit_callbacks(execute=True):
            response = signed_in(olga).post(
                "/operator/critical-peak/", {"tariff": tariff.pk, "day": day.isoformat(), "start_hour": 15, "end_hour": 18}
            )
        assert response.status_code == 302

    declare(5)
    assert sorted(Notification.objects.values_list("user__email", flat=True)) == expected
    assert sorted(mail.to[0] for mail in mailoutbox) == expected
    assert 'data-testid="unread-count">1<' in signed_in(alice).get("/customer/notifications/").content.decode()

    choices = {"pref:critical_peak:inbox": "on", "usage_multiple": "2"}
    assert signed_in(alice).post("/customer/notifications/preferences/", choices).status_code == 302
    mailoutbox.clear()
    declare(6)
    assert Notification.objects.filter(user=alice).count() == 2
    assert "alice@demo.ami" not in [mail.to[0] for mail in mailoutbox]
    assert len(mailoutbox) == len(expected) - 1
