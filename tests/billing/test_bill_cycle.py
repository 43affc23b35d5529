"""Billing cycles that start on a chosen day: bounds at month ends, bill-to-date, projection, fixed charges and last year."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from amiportal.premises.selectors import Occupancy
from billing.dashboard import dashboard_build
from billing.services.ingest import local_day_bounds
from billing.services.tariffs import bill_cycle_set
from billing.tariff_engine import cycle_bounds
from tests.billing.helpers import ingest, readings
from tests.billing.tariffs import flat_tariff
from tests.factories import MeterFactory, PremiseFactory

CHICAGO = ZoneInfo("America/Chicago")


@pytest.mark.parametrize(
    ("day", "cycle_day", "bounds"),
    [
        (date(2026, 1, 5), 1, (date(2026, 1, 1), date(2026, 1, 31))),
        (date(2026, 1, 14), 15, (date(2025, 12, 15), date(2026, 1, 14))),
        (date(2026, 12, 20), 15, (date(2026, 12, 15), date(2027, 1, 14))),
        # Day 31 starts on the last day of shorter months.
        (date(2026, 2, 27), 31, (date(2026, 1, 31), date(2026, 2, 27))),
        (date(2026, 2, 28), 31, (date(2026, 2, 28), date(2026, 3, 30))),
        (date(2026, 3, 31), 31, (date(2026, 3, 31), date(2026, 4, 29))),
        (date(2024, 2, 29), 30, (date(2024, 2, 29), date(2024, 3, 29))),
        (date(2024, 2, 28), 30, (date(2024, 1, 30), date(2024, 2, 28))),
    ],
)
def test_cycle_bounds_at_month_ends(day, cycle_day, bounds):
    assert cycle_bounds(day, cycle_day) == bounds


@pytest.fixture
def premise(db):
    premise = PremiseFactory()
    MeterFactory(premise=premise, serial_number="E-CY")
    flat_tariff(premise, rate="10", fixed_daily=Decimal("5"), fixed_monthly=Decimal("500"))
    return premise


def _fill(premise, first: date, last: date):
    start, _ = local_day_bounds(first, premise.timezone)
    _, end = local_day_bounds(last, premise.timezone)
    ingest(readings("E-CY", start, hours=int((end - start).total_seconds() // 3600), value=lambda m: 250))  # 1 kWh an hour


@pytest.mark.django_db
def test_bill_to_date_projection_and_last_year_follow_a_cycle_that_crosses_the_dst_change(premise):
    bill_cycle_set(premise=premise, start_day=15)
    _fill(premise, date(2025, 10, 15), date(2025, 11, 9))
    _fill(premise, date(2024, 10, 15), date(2024, 11, 10))
    now = datetime(2025, 11, 10, tzinfo=CHICAGO)  # midnight: 26 days into the cycle, one of them 25 hours long
    bill = dashboard_build(premise=premise, occupancies=[Occupancy(date(2024, 1, 1), None)], now=now)["bill"]
    assert (bill["cycle_start"], bill["cycle_end"]) == (date(2025, 10, 15), date(2025, 11, 14))
    to_date = bill["to_date"]
    assert to_date.delivered_wh == (26 * 24 + 1) * 1000
    assert to_date.energy == Decimal((26 * 24 + 1) * 10)
    assert to_date.fixed == Decimal(27 * 5 + 500)  # the monthly charge on the 15th, not on the 1st
    # Projected energy: the same rate over the whole cycle, 31 days with the 25-hour one.
    whole_cycle_energy = Decimal((31 * 24 + 1) * 10)
    assert abs(bill["projection"] - (whole_cycle_energy + Decimal(31 * 5 + 500))) < Decimal("0.01")
    last_year = bill["last_year"]  # the same span to the same time: 15 October to midnight starting 10 November
    assert (last_year["first_day"], last_year["until"].date(), last_year["until"].hour) == (date(2024, 10, 15), date(2024, 11, 10), 0)
    assert last_year["delivered_wh"] == (26 * 24 + 1) * 1000  # 3 November 2024 had 25 hours; none of the 10th yet


@pytest.mark.django_db
def test_a_cycle_on_day_31_starts_on_the_last_day_of_february(premise):
    bill_cycle_set(premise=premise, start_day=31)
    _fill(premise, date(2026, 2, 27), date(2026, 3, 4))
    bill = dashboard_build(premise=premise, occupancies=[Occupancy(date(2026, 1, 1), None)], now=datetime(2026, 3, 5, 12, tzinfo=CHICAGO))[
        "bill"
    ]
    assert (bill["cycle_start"], bill["cycle_end"]) == (date(2026, 2, 28), date(2026, 3, 30))
    assert bill["to_date"].delivered_wh == 5 * 24 * 1000  # 28 February to 4 March (DST starts on 8 March)
    assert bill["to_date"].fixed == Decimal(6 * 5 + 500)


@pytest.mark.django_db
def test_without_a_cycle_the_bill_follows_the_calendar_month(premise):
    _fill(premise, date(2026, 3, 1), date(2026, 3, 2))
    bill = dashboard_build(premise=premise, occupancies=[Occupancy(date(2026, 1, 1), None)], now=datetime(2026, 3, 3, 1, tzinfo=CHICAGO))[
        "bill"
    ]
    assert (bill["cycle_start"], bill["cycle_end"]) == (date(2026, 3, 1), date(2026, 3, 31))


@pytest.mark.django_db
@pytest.mark.parametrize("start_day", [0, 32])
def test_a_cycle_day_outside_the_month_is_refused(premise, start_day):
    with pytest.raises(ValidationError):
        bill_cycle_set(premise=premise, start_day=start_day)
