"""The former occupant reads his own period at the home, never the current occupant's (SO-C5, SO-C7).

Peter's agreement ended on 31 December 2023; Alice's began on 1 January 2024. Both ask for
the same four days across the change: each gets only their own two.
"""

import zoneinfo
from datetime import UTC, date, datetime, timedelta

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
