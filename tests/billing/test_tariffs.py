"""The tariff engine: each pricing kind, versions, history, charges, export credit and DST days."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from billing.models import Channel, PremiseTariff, PricingKind, Tariff
from billing.selectors import period_cost, whole_meter_windows
from billing.services.ingest import local_day_bounds
from billing.services.tariffs import critical_peak_declare, premise_tariff_assign, real_time_prices_publish, tariff_version_create
from billing.tariff_engine import PriceBook
from tests.billing.helpers import ingest, readings
from tests.billing.tariffs import TOU, flat_tariff, tou_tariff
from tests.factories import MeterFactory, PremiseFactory

pytestmark = pytest.mark.django_db
CHICAGO = ZoneInfo("America/Chicago")


@pytest.fixture
def premise():
    premise = PremiseFactory(has_der=True)
    MeterFactory(premise=premise, serial_number="E-T")
    return premise


def _day(premise, day, value=lambda m: 250, channel=Channel.DELIVERED):
    start, end = local_day_bounds(day, premise.timezone)
    ingest(readings("E-T", start, hours=int((end - start).total_seconds() // 3600), value=value, channel=channel))


def _cost(premise, first, last=None):
    return period_cost(
        premise=premise,
        meter=premise.meters.get(),
        first_day=first,
        last_day=last or first,
        windows=whole_meter_windows(),
    )


def _at(day, hour):
    return datetime(day.year, day.month, day.day, hour, tzinfo=CHICAGO)


def test_flat_rate_with_fixed_daily_and_monthly_charges(premise):
    flat_tariff(premise, rate="12.5", fixed_daily=Decimal("30"), fixed_monthly=Decimal("500"))
    _day(premise, date(2025, 6, 1))
    cost = _cost(premise, date(2025, 6, 1))
    assert cost.delivered_wh == 24000
    assert cost.energy == Decimal("300.0")  # 24 kWh at 12.5 c
    assert cost.fixed == Decimal("530")  # the day's charge plus the month's, since the cycle starts on the 1st
    assert cost.total == Decimal("830.0")


def test_tou_prices_weekdays_weekends_holidays_and_seasons(premise):
    tou_tariff(premise)
    book = PriceBook(premise, date(2025, 1, 1), date(2025, 12, 31))
    weekday, saturday, holiday = date(2025, 7, 3), date(2025, 7, 5), date(2025, 7, 4)
    assert (book.price(_at(weekday, 17)).period, book.price(_at(weekday, 17)).cents_per_kwh) == ("on_peak", Decimal("30"))
    assert book.price(_at(weekday, 17)).label == "Peak (Summer)"
    assert book.price(_at(weekday, 9)).period == "mid_peak"
    assert book.price(_at(weekday, 22)).period == "off_peak"
    assert book.price(_at(saturday, 17)).period == "off_peak"
    assert book.price(_at(holiday, 17)).period == "off_peak"
    assert book.price(_at(date(2025, 1, 8), 18)).cents_per_kwh == Decimal("20")


def test_tou_cost_follows_the_periods(premise):
    tou_tariff(premise)
    _day(premise, date(2025, 7, 3))  # weekday: 5 peak hours, 9 mid-peak, 10 off-peak, 1 kWh each
    assert _cost(premise, date(2025, 7, 3)).energy == Decimal(5 * 30 + 9 * 15 + 10 * 10)


def test_tiered_blocks_reset_each_month(premise):
    tariff = Tariff.objects.create(code="TIER", name="Tiered")
    tariff_version_create(
        tariff=tariff,
        effective_from=date(2024, 1, 1),
        pricing=PricingKind.TIERED,
        definition={"tiers": [{"up_to_kwh": 30, "rate": "10"}, {"up_to_kwh": None, "rate": "20"}]},
    )
    premise_tariff_assign(premise=premise, tariff=tariff, start=date(2024, 1, 1))
    for day in (date(2025, 6, 29), date(2025, 6, 30), date(2025, 7, 1)):
        _day(premise, day)  # 24 kWh a day
    assert _cost(premise, date(2025, 6, 29)).energy == Decimal(240)
    # June 30: 6 kWh left in tier 1 (30 - 24), then 18 kWh in tier 2.
    june_30 = _cost(premise, date(2025, 6, 30))
    assert june_30.energy == Decimal(6 * 10 + 18 * 20)
    assert {h.price.label for h in june_30.hours} == {"Tier 1", "Tier 2"}
    assert _cost(premise, date(2025, 7, 1)).energy == Decimal(240)


@pytest.mark.objective("BF-PRICE-1")
def test_critical_peak_event_days_raise_prices_by_multiplier_or_adder(premise, olga):
    tariff = tou_tariff(premise, critical_peak_multiplier=Decimal("3"))
    critical_peak_declare(tariff=tariff, day=date(2025, 7, 3), start_hour=14, end_hour=18, actor=olga)
    book = PriceBook(premise, date(2025, 7, 1), date(2025, 7, 31))
    event_price = book.price(_at(date(2025, 7, 3), 15))
    assert (event_price.period, event_price.label, event_price.cents_per_kwh) == ("cpp", "Critical peak event", Decimal("45"))
    assert book.price(_at(date(2025, 7, 3), 19)).period == "on_peak"
    assert book.price(_at(date(2025, 7, 2), 15)).period == "mid_peak"
    with pytest.raises(ValidationError):
        critical_peak_declare(tariff=tariff, day=date(2025, 7, 3), start_hour=1, end_hour=2, actor=olga)
    adder = flat_tariff(rate="10", critical_peak_adder=Decimal("50"))
    critical_peak_declare(tariff=adder, day=date(2025, 8, 1), start_hour=0, end_hour=24, actor=olga)
    PremiseTariff.objects.filter(premise=premise).update(end=date(2025, 7, 31))
    premise_tariff_assign(premise=premise, tariff=adder, start=date(2025, 8, 1))
    assert PriceBook(premise, date(2025, 8, 1), date(2025, 8, 1)).price(_at(date(2025, 8, 1), 3)).cents_per_kwh == Decimal("60")


@pytest.mark.objective("BF-PRICE-1")
def test_real_time_prices_come_from_the_series_with_a_fallback(premise):
    tariff = Tariff.objects.create(code="RTP", name="Real time")
    tariff_version_create(tariff=tariff, effective_from=date(2024, 1, 1), pricing=PricingKind.REAL_TIME, flat_rate=Decimal("11"))
    premise_tariff_assign(premise=premise, tariff=tariff, start=date(2024, 1, 1))
    real_time_prices_publish(tariff=tariff, prices=[(_at(date(2025, 6, 1), 0) + timedelta(hours=h), Decimal(h)) for h in range(12)])
    _day(premise, date(2025, 6, 1))
    cost = _cost(premise, date(2025, 6, 1))
    assert cost.energy == Decimal(sum(range(12)) + 12 * 11)
    assert cost.hours[3].price.period == "real_time" and cost.hours[20].price.period == "standard"


def test_net_metering_credits_export_at_retail_or_export_rate(premise):
    flat_tariff(premise, rate="20", export_credit="retail")
    _day(premise, date(2025, 6, 1))
    _day(premise, date(2025, 6, 1), value=lambda m: 500 if 10 <= m.astimezone(CHICAGO).hour < 16 else 0, channel=Channel.RECEIVED)
    cost = _cost(premise, date(2025, 6, 1))
    assert (cost.received_wh, cost.credit) == (12000, Decimal(240))
    assert cost.total == cost.energy - Decimal(240)
    other = PremiseFactory()
    MeterFactory(premise=other, serial_number="E-X")
    flat_tariff(other, rate="20", export_credit="export_rate", export_rate=Decimal("4"))
    start, _ = local_day_bounds(date(2025, 6, 1), other.timezone)
    ingest(readings("E-X", start, hours=24, channel=Channel.RECEIVED, value=lambda m: 1000))
    assert period_cost(
        premise=other,
        meter=other.meters.get(),
        first_day=date(2025, 6, 1),
        last_day=date(2025, 6, 1),
        windows=whole_meter_windows(),
    ).credit == Decimal(4 * 96)


def test_versions_take_effect_on_their_date_and_history_follows_the_premise(premise):
    tariff = flat_tariff(premise, rate="10")
    tariff_version_create(tariff=tariff, effective_from=date(2025, 6, 2), pricing=PricingKind.FLAT, flat_rate=Decimal("15"))
    _day(premise, date(2025, 6, 1))
    _day(premise, date(2025, 6, 2))
    assert _cost(premise, date(2025, 6, 1)).energy == Decimal(240)
    assert _cost(premise, date(2025, 6, 2)).energy == Decimal(360)
    tou = tou_tariff(start=date(2025, 6, 3))
    premise_tariff_assign(premise=premise, tariff=tou, start=date(2025, 6, 3))
    history = list(PremiseTariff.objects.filter(premise=premise).values_list("tariff__code", "start", "end"))
    assert history == [(tariff.code, date(2024, 1, 1), date(2025, 6, 2)), (tou.code, date(2025, 6, 3), None)]


@pytest.mark.parametrize(("day", "hours"), [(date(2025, 3, 9), 23), (date(2025, 11, 2), 25)])
def test_dst_days_are_priced_hour_by_hour(premise, day, hours):
    flat_tariff(premise, rate="10", fixed_daily=Decimal("5"))
    _day(premise, day)
    cost = _cost(premise, day)
    assert len(cost.hours) == hours
    assert cost.energy == Decimal(hours * 10) and cost.fixed == Decimal(5)
    assert [h.local.hour for h in cost.hours].count(1) == (2 if hours == 25 else 1)


def test_bad_tariff_terms_are_refused_with_reasons():
    tariff = Tariff.objects.create(code="BAD", name="Bad")
    broken = {**TOU, "seasons": TOU["seasons"][:1]}
    with pytest.raises(ValidationError, match="each month"):
        tariff_version_create(tariff=tariff, effective_from=date(2025, 1, 1), pricing=PricingKind.TOU, definition=broken)
    with pytest.raises(ValidationError, match="open tier"):
        tariff_version_create(
            tariff=tariff,
            effective_from=date(2025, 1, 1),
            pricing=PricingKind.TIERED,
            definition={"tiers": [{"up_to_kwh": 5, "rate": "1"}]},
        )
    with pytest.raises(ValidationError, match="flat rate"):
        tariff_version_create(tariff=tariff, effective_from=date(2025, 1, 1), pricing=PricingKind.FLAT)
