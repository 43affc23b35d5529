"""What the dashboard reads: the tariff history in one query, today and yesterday from the week's hours, a bounded query count."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from amiportal.premises.selectors import Occupancy
from billing.dashboard import dashboard_build
from billing.models import BillCycle, CriticalPeakEvent, ExportCredit, PremiseTariff, PricingKind, Tariff, TariffVersion
from billing.selectors import period_cost, whole_meter_windows
from billing.services.ingest import local_day_bounds
from billing.services.tariffs import bill_cycle_set, critical_peak_declare, premise_tariff_assign, tariff_version_create
from billing.tariff_engine import _tariff_history_postgresql, tariff_history_orm
from tests.billing.helpers import ingest, readings, up_to_now
from tests.billing.tariffs import TOU, flat_tariff, tou_tariff
from tests.factories import MeterFactory, PremiseFactory

pytestmark = pytest.mark.django_db

TIERED = {"tiers": [{"up_to_kwh": 20, "rate": "10"}, {"up_to_kwh": None, "rate": "25.5"}]}


def _fields(instance) -> dict:
    # str() as well as the value: Decimal("12.0000") and Decimal("12") are equal but print differently.
    return {f.attname: (getattr(instance, f.attname), str(getattr(instance, f.attname))) for f in instance._meta.concrete_fields}


def _fill(premise, first: date, last: date, wh=lambda moment: 400, seconds=900):
    start, _ = local_day_bounds(first, premise.timezone)
    _, end = local_day_bounds(last, premise.timezone)
    hours = int((end - start).total_seconds() // 3600)
    ingest(up_to_now(readings(premise.meters.get().serial_number, start, hours=hours, value=wh, seconds=seconds)))


def test_the_one_query_tariff_history_is_what_the_orm_reads_give(olga, django_assert_num_queries):
    premise = PremiseFactory()
    MeterFactory(premise=premise)
    flat_tariff(premise, rate="11.75", start=date(2024, 1, 1))
    tou = tou_tariff(
        start=date(2024, 1, 1), critical_peak_multiplier=Decimal("2.5"), export_credit=ExportCredit.EXPORT_RATE, export_rate=Decimal("4")
    )
    tariff_version_create(tariff=tou, effective_from=date(2025, 3, 1), pricing=PricingKind.TOU, definition=dict(TOU))
    premise_tariff_assign(premise=premise, tariff=tou, start=date(2025, 2, 1))
    critical_peak_declare(tariff=tou, day=date(2025, 7, 2), start_hour=14, end_hour=19, actor=olga)
    critical_peak_declare(tariff=tou, day=date(2026, 7, 2), start_hour=14, end_hour=19, actor=olga)  # after the span
    bill_cycle_set(premise=premise, start_day=17)
    assert PremiseTariff.objects.filter(premise=premise).count() == 2 and TariffVersion.objects.count() == 3
    with django_assert_num_queries(1):
        one = _tariff_history_postgresql(premise.pk, date(2025, 1, 1), date(2025, 12, 31))
    orm = tariff_history_orm(premise.pk, date(2025, 1, 1), date(2025, 12, 31))
    assert [_fields(a) for a in one.assignments] == [_fields(a) for a in orm.assignments]
    assert [_fields(v) for v in one.versions] == [_fields(v) for v in orm.versions]
    assert [_fields(e) for e in one.events] == [_fields(e) for e in orm.events] and len(one.events) == 1
    assert one.cycle_day == orm.cycle_day == 17
    assert one.versions[0].definition == orm.versions[0].definition == {}
    BillCycle.objects.all().delete()
    CriticalPeakEvent.objects.all().delete()
    empty = _tariff_history_postgresql(PremiseFactory().pk, date(2025, 1, 1), date(2025, 12, 31))
    assert (empty.assignments, empty.versions, empty.events, empty.cycle_day) == ([], [], [], None)


def test_today_and_yesterday_under_tiered_blocks_count_the_month_so_far():
    premise = PremiseFactory()
    MeterFactory(premise=premise)
    tariff = Tariff.objects.create(code="TIER", name="Tiered")
    tariff_version_create(tariff=tariff, effective_from=date(2024, 1, 1), pricing=PricingKind.TIERED, definition=TIERED)
    premise_tariff_assign(premise=premise, tariff=tariff, start=date(2024, 1, 1))
    _fill(premise, date(2025, 7, 1), date(2025, 7, 15))  # 38.4 kWh a day: the 20 kWh first block is gone on the 1st
    now = datetime(2025, 7, 15, 20, tzinfo=UTC)
    context = dashboard_build(premise=premise, occupancies=[Occupancy(date(2024, 1, 1), None)], now=now)
    today, yesterday = context["today_vs_yesterday"]["today"], context["today_vs_yesterday"]["yesterday"]
    meter = premise.meters.get()
    assert (
        today.energy
        == period_cost(
            premise=premise,
            meter=meter,
            first_day=date(2025, 7, 15),
            last_day=date(2025, 7, 15),
            windows=whole_meter_windows(),
        ).energy
    )
    assert (
        yesterday.energy
        == period_cost(
            premise=premise,
            meter=meter,
            first_day=date(2025, 7, 14),
            last_day=date(2025, 7, 14),
            windows=whole_meter_windows(),
        ).energy
    )
    assert yesterday.energy == Decimal("38.4") * Decimal("25.5")  # all in the second block
    assert {h.price.period for h in today.hours} == {"tier_2"}


def test_today_and_yesterday_are_the_hour_by_hour_figures():
    premise = PremiseFactory()
    MeterFactory(premise=premise)
    tou_tariff(premise)
    _fill(premise, date(2025, 7, 10), date(2025, 7, 15), wh=lambda moment: 100 + moment.hour)
    now = datetime(2025, 7, 15, 20, tzinfo=UTC)
    context = dashboard_build(premise=premise, occupancies=[Occupancy(date(2024, 1, 1), None)], now=now)
    meter = premise.meters.get()
    for key, day in (("today", date(2025, 7, 15)), ("yesterday", date(2025, 7, 14))):
        expected = period_cost(premise=premise, meter=meter, first_day=day, last_day=day, windows=whole_meter_windows())
        shown = context["today_vs_yesterday"][key]
        assert (shown.delivered_wh, shown.energy, shown.fixed, len(shown.hours)) == (
            expected.delivered_wh,
            expected.energy,
            expected.fixed,
            len(expected.hours),
        )


def test_the_dashboard_reads_at_most_eight_queries(django_assert_max_num_queries):
    """Meter, tariff history, hours (yesterday, today and last year's day to this hour, one read), today's intervals,
    this cycle, last year's days, utility bills, similar homes (no daily read for a TOU home without solar)."""
    premise = PremiseFactory()
    MeterFactory(premise=premise)
    tou_tariff(premise)
    now = datetime.now(UTC)
    today = now.astimezone(ZoneInfo(premise.timezone)).date()
    _fill(premise, today - timedelta(days=400), today, seconds=3600)
    with django_assert_max_num_queries(8):
        context = dashboard_build(premise=premise, occupancies=[Occupancy(date(2020, 1, 1), None)], now=now)
    assert context["bill"]["last_year"] is not None and context["today_vs_yesterday"]["yesterday"] is not None
