"""Inbox, unread count, history, and operators' statistics: each sees only what is theirs (SO-C5)."""

from __future__ import annotations

import pytest

from amiportal.notifications.models import Notification
from amiportal.notifications.services.sending import notifications_send
from tests.conftest import signed_in
from tests.notifications.test_preferences import _facts
from tests.notifications.test_sending import _to

pytestmark = pytest.mark.django_db


def _notify(*users, subject="critical_peak_event:1"):
    notifications_send(kind="critical_peak", subject=subject, period="declared", recipients=[_to(u) for u in users], facts=_facts())


def test_the_header_counts_unread_notices_and_marking_read_clears_them(alice):
    _notify(alice)
    _notify(alice, subject="critical_peak_event:2")
    client = signed_in(alice)
    assert 'data-testid="unread-count">2<' in client.get("/customer/").content.decode()
    notice = Notification.objects.filter(user=alice).first()
    assert client.post(f"/customer/notifications/{notice.pk}/read/").status_code == 302
    page = client.get("/customer/notifications/").content.decode()
    assert 'data-testid="unread-count">1<' in page and "Critical-peak prices on" in page
    client.post("/customer/notifications/read-all/")
    assert 'data-testid="unread-count">0<' in client.get("/customer/notifications/").content.decode()


@pytest.mark.objective("SO-C5")
def test_nothing_about_alice_reaches_bob_or_peter(alice, bob, peter):
    _notify(alice)
    notice = Notification.objects.get(user=alice)
    for other in (bob, peter):
        client = signed_in(other)
        for url in ("/customer/notifications/", "/customer/notifications/history/", "/customer/"):
            html = client.get(url).content.decode()
            assert notice.title not in html, (other, url)
        assert 'data-testid="unread-count">0<' in client.get("/customer/").content.decode()
        assert client.post(f"/customer/notifications/{notice.pk}/read/").status_code == 404
    notice.refresh_from_db()
    assert notice.read_at is None


def test_history_shows_each_channel_and_whether_it_was_delivered_and_read(alice):
    _notify(alice)
    html = signed_in(alice).get("/customer/notifications/history/").content.decode()
    assert "Portal inbox: Delivered" in html and "Email: Waiting to be sent" in html and "Not yet" in html
    assert "CST" in html  # times in the customer's own zone


def test_operators_see_counts_per_kind_but_no_customer_text(alice, bob, olga):
    _notify(alice, bob)
    html = signed_in(olga).get("/operator/notifications/").content.decode()
    assert "Critical-peak price events" in html
    assert "<td>2</td>" in html
    assert "Critical-peak prices on" not in html and alice.email not in html and "Peak Saver" not in html
