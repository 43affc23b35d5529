"""Any period of the customer's own time at the address, in energy or money, in the URL; errors inside the layout."""

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.http import QueryDict

from amiportal.audit.models import AuditEntry
from amiportal.premises.models import CustomerClass
from amiportal.premises.selectors import Occupancy
from billing.dashboard import dashboard_build
from billing.periods import Bounds, PeriodError, period_for, period_parse, period_step, show_parse
from billing.selectors import occupancy_windows, period_cost_by_day
from billing.services.ingest import local_day_bounds
from billing.tariff_engine import PriceBook
from tests.billing.helpers import ingest, readings, up_to_now
from tests.billing.tariffs import flat_tariff, tou_tariff
from tests.conftest import signed_in
from tests.factories import MeterFactory, PremiseFactory

pytestmark = pytest.mark.django_db

BOUNDS = Bounds(date(2024, 1, 1), date(2025, 7, 16), cycle_day=10)
NOON = datetime(2025, 7, 16, 12, tzinfo=ZoneInfo("America/Chicago"))


def _query(text: str) -> QueryDict:
    return QueryDict(text)


def _fill(premise, first: date, days: int, value=lambda m: 250):
    meter = premise.meters.get()
    start, _ = local_day_bounds(first, premise.timezone)
    ingest(up_to_now(readings(meter.serial_number, start, hours=24 * days, value=value)))


def _chart(page: str) -> dict:
    return json.loads(page.split('id="billing-chart-data" type="application/json">')[1].split("</script>")[0])[0]


def test_each_kind_of_period_holds_its_day_and_steps_to_its_neighbours():
    assert period_for("week", date(2025, 7, 16)).first == date(2025, 7, 14)  # Monday
    assert (period_for("month", date(2025, 2, 14)).first, period_for("month", date(2025, 2, 14)).last) == (
        date(2025, 2, 1),
        date(2025, 2, 28),
    )
    cycle = period_for("cycle", date(2025, 7, 5), cycle_day=10)
    assert (cycle.first, cycle.last) == (date(2025, 6, 10), date(2025, 7, 9))
    assert period_for("30days", date(2025, 7, 16)).first == date(2025, 6, 17)
    month = period_parse(_query("period=month&on=2025-06-03"), bounds=BOUNDS, local_now=NOON)
    assert period_step(month, -1, bounds=BOUNDS).first == date(2025, 5, 1)
    assert period_step(month, +1, bounds=BOUNDS).first == date(2025, 7, 1)
    assert period_step(period_for("month", date(2025, 7, 1)), +1, bounds=BOUNDS) is None  # holds today
    assert period_step(period_for("year", date(2024, 3, 1)), -1, bounds=BOUNDS) is None  # before the occupancy
    rolling = period_for("30days", date(2025, 7, 1))
    assert period_step(rolling, +1, bounds=BOUNDS).last == date(2025, 7, 16)  # the 30 days to today


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("period=fortnight", 400, "Unknown period"),
        ("period=day&on=2025-02-30", 400, "not a day of the calendar"),
        ("period=day&on=yesterday", 400, "not a date"),
        ("period=day&on=2025-07-17", 404, "after 16 July 2025"),
        ("period=year&on=2023-06-01", 404, "before 1 January 2024"),
        ("show=pounds", 400, "energy or money"),
    ],
)
def test_bad_bookmarks_are_refused_with_a_reason(query, status, words):
    with pytest.raises(PeriodError) as caught:
        show_parse(_query(query))
        period_parse(_query(query), bounds=BOUNDS, local_now=NOON)
    assert caught.value.status == status and words in caught.value.message


def test_just_after_midnight_the_default_view_is_yesterday_and_today(db):
    premise = PremiseFactory()
    MeterFactory(premise=premise, serial_number="E-MID")
    flat_tariff(premise)
    _fill(premise, date(2025, 7, 15), 1)
    now = datetime(2025, 7, 16, 5, 30, tzinfo=UTC)  # 00:30 in Chicago
    context = dashboard_build(premise=premise, occupancies=[Occupancy(date(2024, 1, 1), None)], now=now)
    (chart,) = context["charts"]
    assert context["period"].first == date(2025, 7, 15) and len(chart.labels) >= 96  # yesterday's 96 intervals, never "No readings"
    assert chart.title.startswith("Yesterday and today")
    later = dashboard_build(premise=premise, occupancies=[Occupancy(date(2024, 1, 1), None)], now=now + timedelta(hours=8))
    assert later["period"].first == later["period"].last == date(2025, 7, 16)


@pytest.mark.objective("BF-PRICE-1")
def test_money_charts_are_the_tariff_engines_prices(db):
    premise = PremiseFactory()
    MeterFactory(premise=premise, serial_number="E-MONEY")
    tou_tariff(premise)
    _fill(premise, date(2025, 6, 1), 30, value=lambda m: 100 + m.hour * 10)
    occupancy = [Occupancy(date(2024, 1, 1), None)]
    now = datetime(2025, 7, 2, 18, tzinfo=UTC)
    month = dashboard_build(premise=premise, occupancies=occupancy, now=now, query=_query("period=month&on=2025-06-15&show=money"))
    book = PriceBook(premise, date(2025, 6, 1), date(2025, 6, 30))
    windows = occupancy_windows(premise, occupancy, date(2025, 6, 1), date(2025, 6, 30))
    expected = period_cost_by_day(
        premise=premise, meter=premise.meters.get(), first_day=date(2025, 6, 1), last_day=date(2025, 6, 30), windows=windows, book=book
    )
    (chart,) = month["charts"]
    assert chart.unit == "$" and len(chart.labels) == 30
    assert month["period_totals"].energy == expected.energy
    assert abs(sum(chart.delivered) - float(expected.energy) / 100) < 0.01
    day = dashboard_build(premise=premise, occupancies=occupancy, now=now, query=_query("period=day&on=2025-06-16&show=money"))
    (intervals,) = day["charts"]
    assert len(intervals.labels) == 96 and set(intervals.periods) >= {"off_peak", "on_peak"}
    # Each interval carries its share of its hour's price: a peak interval costs more than an off-peak one of equal energy.
    hour_17 = intervals.labels.index("17:00")
    assert intervals.delivered[hour_17] == pytest.approx(0.320 * 30 / 100, abs=1e-4)  # 320 Wh (22:00 UTC) at 30 cents (Summer peak)
    energy = dashboard_build(premise=premise, occupancies=occupancy, now=now, query=_query("period=year&on=2025-06-15"))
    assert energy["charts"][0].labels == ["Jun 2025", "Jul 2025"] or energy["charts"][0].labels == ["Jun 2025"]


@pytest.mark.objective("SO-C7")
def test_alice_navigates_to_last_month_and_back_in_the_url(alice):
    premise = alice.customer_account.agreements.get().premise
    tou_tariff(premise)
    zone = ZoneInfo(premise.timezone)
    today = datetime.now(UTC).astimezone(zone).date()
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    _fill(premise, last_month, 3)
    client = signed_in(alice)
    url = f"/customer/premises/{premise.pk}/usage/"
    page = client.get(url, {"period": "month", "on": last_month.isoformat()}).content.decode()
    assert f"{last_month:%B %Y}, day by day" in page
    assert 'rel="prev"' in page and 'rel="next"' in page and "Billing period" in page and "Last 30 days" in page
    chart = _chart(page)
    assert chart["labels"][:3] == [f"{d:%a %-d %b}" for d in (last_month, last_month + timedelta(days=1), last_month + timedelta(days=2))]
    start, end = local_day_bounds(last_month, premise.timezone)
    assert chart["delivered"][0] == (end - start).total_seconds() / 3600  # 1 kWh an hour; 25 hours on a day clocks go back
    money = client.get(url, {"period": "month", "on": last_month.isoformat(), "show": "money"}).content.decode()
    assert _chart(money)["unit"] == "$" and "fixed charges" in money
    first = client.get(url, {"period": "year", "on": "2024-01-01"})
    assert first.status_code == 200 and 'rel="prev"' not in first.content.decode()  # the occupancy began then


@pytest.mark.objective("SO-C7")
def test_bad_bookmarks_answer_inside_the_layout_and_write_nothing(alice, olga):
    premise = alice.customer_account.agreements.get().premise
    client = signed_in(alice)
    url = f"/customer/premises/{premise.pk}/usage/"
    malformed = client.get(url, {"period": "day", "on": "2025-13-01"})
    assert malformed.status_code == 400
    page = malformed.content.decode()
    assert "This period can't be shown" in page and "Back to your usage" in page and "<header" in page
    too_early = client.get(url, {"period": "month", "on": "2023-12-01"})
    assert too_early.status_code == 404 and "when your time at this address began" in too_early.content.decode()
    assert client.get(url, {"period": "day", "on": "2099-01-01"}).status_code == 404
    # Staff: a bad bookmark is refused before the access is recorded.
    account = alice.customer_account
    staff = signed_in(olga)
    staff.post(f"/operator/customers/{account.pk}/", {"reason": "Ticket 12: bill query"})
    before = AuditEntry.objects.count()
    assert staff.get(f"/operator/customers/{account.pk}/premises/{premise.pk}/usage/?period=nope").status_code == 400
    assert AuditEntry.objects.count() == before


def test_peter_reaches_his_own_period_only(alice, peter):
    premise = alice.customer_account.agreements.get().premise
    client = signed_in(peter)
    url = f"/customer/premises/{premise.pk}/usage/"
    assert client.get(url, {"period": "month", "on": "2023-06-01"}).status_code == 200
    refused = client.get(url, {"period": "month", "on": "2024-02-01"})
    assert refused.status_code == 404  # after his move-out: Alice's time


def test_a_steel_works_gets_shift_examples_and_no_laundry(db):
    premise = PremiseFactory(customer_class=CustomerClass.INDUSTRIAL)
    MeterFactory(premise=premise, serial_number="E-STEEL")
    tou_tariff(premise)
    context = dashboard_build(premise=premise, occupancies=[Occupancy(date(2024, 1, 1), None)], now=datetime(2025, 7, 3, 17, tzinfo=UTC))
    names = [item["name"] for item in context["everyday"]]
    assert any("shift" in name for name in names) and any("kW" in name for name in names)
    assert not any("laundry" in name or "electric car" in name for name in names)


@pytest.mark.objective("BF-CUST-1")
def test_same_period_last_year_stops_at_the_same_time_of_day(db):
    premise = PremiseFactory()
    MeterFactory(premise=premise, serial_number="E-LY")
    flat_tariff(premise, rate="10")
    _fill(premise, date(2024, 7, 1), 3)  # 1 to 3 July last year, 1 kWh an hour
    _fill(premise, date(2025, 7, 1), 2)
    now = datetime(2025, 7, 3, 15, 0, tzinfo=UTC)  # 10:00 on 3 July in Chicago
    context = dashboard_build(premise=premise, occupancies=[Occupancy(date(2024, 1, 1), None)], now=now)
    last_year = context["bill"]["last_year"]
    assert last_year["first_day"] == date(2024, 7, 1) and last_year["until"].hour == 10
    assert last_year["delivered_wh"] == (48 + 10) * 1000  # two whole days and ten hours, not three days


def test_demand_charges_are_validated_and_charged_on_the_periods_peak(db):
    from django.core.exceptions import ValidationError

    from billing.models import PricingKind, Tariff
    from billing.services.tariffs import premise_tariff_assign, tariff_version_create

    tariff = Tariff.objects.create(code="IND-D", name="Industrial with demand")
    with pytest.raises(ValidationError, match="cents_per_kw"):
        tariff_version_create(
            tariff=tariff,
            effective_from=date(2024, 1, 1),
            pricing=PricingKind.FLAT,
            flat_rate=Decimal(8),
            definition={"demand": {"cents_per_kw": "-3"}},
        )
    with pytest.raises(ValidationError, match="demand must be an object"):
        tariff_version_create(
            tariff=tariff, effective_from=date(2024, 1, 1), pricing=PricingKind.FLAT, flat_rate=Decimal(8), definition={"demand": 12}
        )
    tariff_version_create(
        tariff=tariff,
        effective_from=date(2024, 1, 1),
        pricing=PricingKind.FLAT,
        flat_rate=Decimal(8),
        definition={"demand": {"cents_per_kw": "1200"}},
    )
    premise = PremiseFactory(customer_class=CustomerClass.INDUSTRIAL)
    MeterFactory(premise=premise, serial_number="E-DEM")
    premise_tariff_assign(premise=premise, tariff=tariff, start=date(2024, 1, 1))
    spike = datetime(2025, 7, 2, 19, 15, tzinfo=UTC)
    _fill(premise, date(2025, 7, 1), 2, value=lambda m: 25_000 if m == spike else 5_000)  # 20 kW, once 100 kW
    context = dashboard_build(premise=premise, occupancies=[Occupancy(date(2024, 1, 1), None)], now=datetime(2025, 7, 3, 12, tzinfo=UTC))
    demand = context["bill"]["demand"]
    assert (demand.kw, demand.at, demand.cents) == (Decimal("100.00"), spike, Decimal("120000.0000"))
    assert context["bill"]["total"] == context["bill"]["to_date"].total + Decimal(120000)
