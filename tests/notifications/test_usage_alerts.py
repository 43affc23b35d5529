"""Bill to date above the customer's amount; usage today above N times a usual day (default twice)."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest

from amiportal.notifications.kinds import bill_to_date, usage_spike
from amiportal.notifications.models import AlertThresholds, Notification
from tests.billing.helpers import ingest, readings
from tests.notifications.world import home_of, plain_tariff

pytestmark = pytest.mark.django_db

# Thursday 19 November 2026, noon in Chicago (CST, UTC-6).
NOW = datetime(2026, 11, 19, 18, 0, tzinfo=UTC)
LOCAL_MIDNIGHT = datetime(2026, 11, 19, 6, 0, tzinfo=UTC)


def _meter(user):
    return home_of(user).meters.get()


def _use(user, start, *, hours, wh_per_quarter):
    ingest(readings(_meter(user).serial_number, start, hours=hours, value=lambda moment: wh_per_quarter))


def test_a_bill_above_the_customers_amount_is_told_once_per_cycle(alice, bob):
    plain_tariff(alice, bob)  # 12 cents a kWh
    for user in (alice, bob):
        _use(user, LOCAL_MIDNIGHT - timedelta(days=2), hours=48, wh_per_quarter=1000)  # 96 kWh a day: $11.52
    AlertThresholds.objects.create(user=alice, bill_to_date_dollars=20)
    assert bill_to_date.alerts_send(now=NOW) == 1
    assert bill_to_date.alerts_send(now=NOW + timedelta(hours=1)) == 0
    notice = Notification.objects.get()
    assert notice.user == alice and notice.period == "2026-11-01"
    assert notice.title == "Your bill so far is $23.04, above the $20 you set"
    assert "Since this billing cycle began on November 1" in notice.body


def test_no_alert_below_the_amount_or_without_one(alice, bob):
    plain_tariff(alice, bob)
    for user in (alice, bob):
        _use(user, LOCAL_MIDNIGHT - timedelta(days=2), hours=48, wh_per_quarter=1000)
    AlertThresholds.objects.create(user=alice, bill_to_date_dollars=30)
    assert bill_to_date.alerts_send(now=NOW) == 0
    assert not Notification.objects.exists()


def _usual_thursdays_then_a_heavy_morning(user):
    # 24 kWh each of the last four Thursdays, then 72 kWh by noon today.
    serial = _meter(user).serial_number
    chicago = zoneinfo.ZoneInfo("America/Chicago")
    # Two of those Thursdays were still on daylight time: each starts at its own local midnight.
    midnights = [datetime.combine(NOW.date() - timedelta(weeks=weeks), time(0), tzinfo=chicago) for weeks in range(4, 0, -1)]
    rows = [row for midnight in midnights for row in readings(serial, midnight, hours=24, value=lambda m: 250)]
    rows += readings(serial, LOCAL_MIDNIGHT, hours=12, value=lambda moment: 1500)
    ingest(rows)


@pytest.mark.objective("SO-C5")
def test_usage_above_twice_the_usual_weekday_is_told_once_and_only_to_the_occupant(alice, bob, peter):
    _usual_thursdays_then_a_heavy_morning(alice)
    assert usage_spike.alerts_send(now=NOW) == 1
    assert usage_spike.alerts_send(now=NOW + timedelta(hours=1)) == 0
    notice = Notification.objects.get()
    assert notice.user == alice and notice.period == "2026-11-19"
    assert notice.title == "High electricity use today: 72.0 kWh so far"
    assert "more than 2 times a usual Thursday (24.0 kWh)" in notice.body


def test_the_customer_sets_the_multiple(alice):
    _usual_thursdays_then_a_heavy_morning(alice)
    AlertThresholds.objects.create(user=alice, usage_multiple=Decimal(4))
    assert usage_spike.alerts_send(now=NOW) == 0
