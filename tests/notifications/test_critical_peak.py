"""Critical-peak notices: the customers on the tariff, once each, by their chosen channels (SO-C1, SO-C2, SO-C5)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from amiportal.notifications.kinds import critical_peak
from amiportal.notifications.models import Delivery, Notification
from tests.conftest import signed_in
from tests.notifications.world import cpp_tariff, declare, home_of, plain_tariff

pytestmark = pytest.mark.django_db


def _declare_on_the_page(client, tariff, day):
    return client.post("/operator/critical-peak/", {"tariff": tariff.pk, "day": day.isoformat(), "start_hour": 16, "end_hour": 19})


@pytest.mark.objective("SO-C1")
@pytest.mark.objective("SO-C5")
def test_olga_declares_and_only_customers_on_the_tariff_hear_once_each(
    alice, bob, peter, olga, eager, mailoutbox, django_capture_on_commit_callbacks
):
    tariff = cpp_tariff(alice)
    plain_tariff(bob)
    day = timezone.localdate() + timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        response = _declare_on_the_page(signed_in(olga), tariff, day)
    assert response.status_code == 302
    notice = Notification.objects.get()
    assert (notice.user, notice.premise, notice.period) == (alice, home_of(alice), "declared")
    assert "4 pm to 7 pm CST" in notice.title and "Peak Saver" in notice.body
    assert sorted(notice.deliveries.values_list("channel", "state")) == [("email", "delivered"), ("inbox", "delivered")]
    assert [mail.to for mail in mailoutbox] == [[alice.email]]
    assert "4 pm to 7 pm CST" in mailoutbox[0].body and mailoutbox[0].alternatives[0][1] == "text/html"
    # Peter lived in Alice's home before her; Bob is on another tariff: neither hears of it.
    assert not Notification.objects.filter(user__in=[bob, peter]).exists()

    # Sent again (a retried task, a second worker): nothing new, no second mail.
    with django_capture_on_commit_callbacks(execute=True):
        result = critical_peak.declared_send(event_id=notice.subject.split(":")[1])
    assert result.stored == 0 and Notification.objects.count() == 1 and len(mailoutbox) == 1


def test_with_email_turned_off_the_next_notice_arrives_only_in_the_portal(
    alice, olga, eager, mailoutbox, django_capture_on_commit_callbacks
):
    tariff = cpp_tariff(alice)
    response = signed_in(alice).post(
        "/customer/notifications/preferences/",
        {
            "pref:critical_peak:inbox": "on",
            "pref:bill_to_date:inbox": "on",
            "pref:bill_to_date:email": "on",
            "pref:usage_spike:inbox": "on",
            "pref:consent_expiry:inbox": "on",
            "pref:consent_expiry:email": "on",
            "usage_multiple": "2",
        },
    )
    assert response.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        declare(tariff, timezone.localdate() + timedelta(days=2), olga)
    notice = Notification.objects.get(user=alice)
    assert list(notice.deliveries.values_list("channel", flat=True)) == ["inbox"]
    assert mailoutbox == []


@pytest.mark.objective("SO-C2")
@pytest.mark.parametrize("persona", ["alice", "ivan", "trent"])
def test_only_operators_can_declare_an_event_that_customers_hear_of(persona, request, alice, eager, django_capture_on_commit_callbacks):
    tariff = cpp_tariff(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = _declare_on_the_page(signed_in(request.getfixturevalue(persona)), tariff, timezone.localdate() + timedelta(days=1))
    assert response.status_code in (403, 404)
    assert not Notification.objects.exists()


def test_the_morning_reminder_goes_once_from_6_am_local_until_the_event_ends(alice, olga):
    tariff = cpp_tariff(alice)
    day = date(2026, 12, 8)
    event = declare(tariff, day, olga)
    chicago_5am = datetime(2026, 12, 8, 11, 0, tzinfo=UTC)  # CST is UTC-6
    assert critical_peak.morning_send(now=chicago_5am) == 0
    assert critical_peak.morning_send(now=chicago_5am + timedelta(hours=1, minutes=30)) == 1
    assert critical_peak.morning_send(now=chicago_5am + timedelta(hours=3)) == 0
    notice = Notification.objects.get(period="morning")
    assert notice.subject == f"critical_peak_event:{event.pk}" and notice.title.startswith("Critical-peak prices today")
    assert notice.deliveries.get(channel="email").state == Delivery.State.PENDING
    after_the_event = datetime(2026, 12, 9, 2, 0, tzinfo=UTC)  # 8 pm in Chicago
    Notification.objects.all().delete()
    assert critical_peak.morning_send(now=after_the_event) == 0
