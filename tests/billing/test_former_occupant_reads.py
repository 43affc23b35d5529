"""The former occupant reads his own period at the home, never the current occupant's (SO-C5, SO-C7).

Peter's agreement ended on 31 December 2023; Alice's began on 1 January 2024. Both ask for
the same four days across the change: each gets only their own two.
"""

import zoneinfo
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from billing.services.ingest import local_day_bounds
from tests.billing.helpers import ingest, readings
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db


def _days_served(client, premise) -> set[date]:
    response = client.get(f"/customer/premises/{premise.pk}/usage/intervals.json?start=2023-12-30&end=2024-01-02")
    assert response.status_code == 200, response.content
    zone = zoneinfo.ZoneInfo(premise.timezone)
    return {datetime.fromtimestamp(start, UTC).astimezone(zone).date() for start in response.json()["start"]}


@pytest.mark.objective("SO-C5")
@pytest.mark.objective("SO-C7")
def test_each_occupant_reads_only_their_own_days_at_the_home(alice, peter):
    premise = alice.customer_account.agreements.get().premise
    start, _ = local_day_bounds(date(2023, 12, 30), premise.timezone)
    ingest(readings(premise.meters.get().serial_number, start, hours=4 * 24 + 2))
    assert _days_served(signed_in(peter), premise) == {date(2023, 12, 30), date(2023, 12, 31)}
    assert _days_served(signed_in(alice), premise) == {date(2024, 1, 1), date(2024, 1, 2)}
    assert date(2024, 1, 1) - timedelta(days=1) == peter.customer_account.agreements.get().move_out


def _downloaded_days(client, premise, kind: str) -> set[date]:
    """The premise-local days in a CSV or Green Button download: both read through ``interval_readings``."""
    response = client.get(f"/customer/premises/{premise.pk}/usage/{kind}?start=2023-12-30&end=2024-01-02")
    assert response.status_code == 200, response.content
    body = b"".join(response.streaming_content).decode()
    zone = zoneinfo.ZoneInfo(premise.timezone)
    if kind == "readings.csv":
        return {datetime.fromisoformat(line.split(",")[2]).astimezone(zone).date() for line in body.splitlines()[1:] if line}
    from tests.espi_validation import parse, validation_errors

    assert validation_errors(body.encode()) == []
    starts = parse(body.encode()).iter("{http://naesb.org/espi}IntervalReading")
    return {
        datetime.fromtimestamp(int(r.find("{http://naesb.org/espi}timePeriod/{http://naesb.org/espi}start").text), UTC)
        .astimezone(zone)
        .date()
        for r in starts
    }


@pytest.mark.objective("SO-C7")
@pytest.mark.parametrize("kind", ["readings.csv", "greenbutton.xml"])
def test_downloads_follow_the_same_occupancy_windows(alice, peter, kind):
    premise = alice.customer_account.agreements.get().premise
    start, _ = local_day_bounds(date(2023, 12, 30), premise.timezone)
    ingest(readings(premise.meters.get().serial_number, start, hours=4 * 24))
    assert _downloaded_days(signed_in(peter), premise, kind) == {date(2023, 12, 30), date(2023, 12, 31)}
    assert _downloaded_days(signed_in(alice), premise, kind) == {date(2024, 1, 1), date(2024, 1, 2)}


def _two_occupants_readings(premise):
    """Four days across the change of occupant: 100 Wh a quarter hour on Peter's days, 300 on Alice's."""
    start, _ = local_day_bounds(date(2023, 12, 30), premise.timezone)
    alices_first, _ = local_day_bounds(date(2024, 1, 1), premise.timezone)
    ingest(readings(premise.meters.get().serial_number, start, hours=4 * 24, value=lambda moment: 100 if moment < alices_first else 300))


@pytest.mark.objective("SO-C5")
@pytest.mark.objective("SO-C7")
def test_dashboard_period_chart_and_bill_figures_count_only_the_viewer_s_own_days(alice, peter):
    """The aggregates (rollup sums, period costs, the chart, today against yesterday, last year's bill) are read inside the
    viewer's occupancy windows, as the raw readings are: never the other occupant's time."""
    from amiportal.premises.selectors import occupancies_for
    from billing.dashboard import dashboard_build
    from tests.billing.tariffs import flat_tariff

    premise = alice.customer_account.agreements.get().premise
    flat_tariff(premise, rate="10", start=date(2022, 1, 1))
    _two_occupants_readings(premise)
    day_wh = {"peter": 96 * 100, "alice": 96 * 300}
    zone = zoneinfo.ZoneInfo(premise.timezone)
    # Each asks for the last 30 days and the month, which reach across the change for Alice; Peter's end at his move-out.
    cases = [
        ("peter", peter, datetime(2024, 1, 2, 20, tzinfo=zone), date(2023, 12, 31)),
        ("alice", alice, datetime(2024, 1, 2, 20, tzinfo=zone), date(2024, 1, 2)),
    ]
    for name, user, now, today in cases:
        occupancies = occupancies_for(user=user, premise=premise)
        for query in ({"period": "30days", "on": today.isoformat()}, {"period": "week", "on": today.isoformat(), "show": "money"}):
            context = dashboard_build(premise=premise, occupancies=occupancies, now=now, query=query)
            assert context["today"] == today
            totals, chart = context["period_totals"], context["charts"][0]
            assert totals.delivered_wh == 2 * day_wh[name], (name, query)
            if query.get("show") == "money":
                assert totals.energy == Decimal(2 * day_wh[name]) / 1000 * 10  # 10¢ a kWh, only their own two days
            else:
                assert round(sum(chart.delivered) * 1000) == 2 * day_wh[name]
        both = context["today_vs_yesterday"]
        assert (both["today"].delivered_wh, both["yesterday"].delivered_wh) == (day_wh[name], day_wh[name])
        assert context["bill"]["to_date"].delivered_wh == 2 * day_wh[name]  # the cycle (from the 1st) so far: their two days
    # Alice's bill so far a year back would be Peter's time: not shown.
    alices = dashboard_build(premise=premise, occupancies=occupancies_for(user=alice, premise=premise), now=cases[1][2])
    assert alices["bill"]["last_year"] is None


@pytest.mark.objective("SO-C7")
def test_each_occupant_s_bill_counts_only_their_own_readings(alice, peter):
    from amiportal.premises.selectors import occupancies_for
    from billing.bills import bill_history

    premise = alice.customer_account.agreements.get().premise
    _two_occupants_readings(premise)
    peters = bill_history(premise=premise, occupancies=occupancies_for(user=peter, premise=premise), today=date(2024, 3, 1)).bills
    assert [(b.first_day, b.last_day, b.delivered_wh, b.days_with_readings) for b in peters] == [
        (date(2023, 12, 1), date(2023, 12, 31), 2 * 96 * 100, 2)
    ]
    alices = bill_history(premise=premise, occupancies=occupancies_for(user=alice, premise=premise), today=date(2024, 3, 1)).bills
    assert [(b.first_day, b.last_day, b.delivered_wh, b.days_with_readings) for b in alices] == [
        (date(2024, 1, 1), date(2024, 1, 31), 2 * 96 * 300, 2)
    ]
    listing = signed_in(peter).get(f"/customer/premises/{premise.pk}/bills/").content.decode()
    assert "1 Dec 2023 to 31 Dec 2023" in listing and "Jan 2024" not in listing.split("<table")[-1]
