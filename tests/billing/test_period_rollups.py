"""Per-TOU-period rollups: kept on ingest and corrections, rebuilt on tariff changes, and the day-priced bill matches the hourly one."""

from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from amiportal.premises.models import MeterKind
from billing.models import Channel, PeriodRollup, PricingKind, Tariff, UsageRollup
from billing.selectors import period_cost, period_cost_by_day, whole_meter_windows
from billing.services.ingest import local_day_bounds
from billing.services.rollups import period_rollups_rebuild
from billing.services.tariffs import critical_peak_declare, premise_tariff_assign, real_time_prices_publish, tariff_version_create
from tests.billing.helpers import ingest, readings
from tests.billing.tariffs import TOU, flat_tariff, tou_tariff
from tests.factories import MeterFactory, PremiseFactory

pytestmark = pytest.mark.django_db
CHICAGO = ZoneInfo("America/Chicago")


@pytest.fixture
def premise():
    premise = PremiseFactory(has_der=True)
    MeterFactory(premise=premise, serial_number="E-P")
    return premise


def _days(premise, first, count, value=lambda m: 250, channel=Channel.DELIVERED):
    start, _ = local_day_bounds(first, premise.timezone)
    _, end = local_day_bounds(first + timedelta(days=count - 1), premise.timezone)
    return ingest(readings("E-P", start, hours=int((end - start).total_seconds() // 3600), value=value, channel=channel))


def _periods(premise, day, channel=Channel.DELIVERED) -> dict[str, int]:
    rows = PeriodRollup.objects.filter(meter__premise=premise, day=day, channel=channel)
    return dict(rows.values_list("period", "value"))


def _same_numbers(a, b) -> bool:
    return (a.delivered_wh, a.received_wh, a.energy, a.credit, a.fixed) == (b.delivered_wh, b.received_wh, b.energy, b.credit, b.fixed)


def test_ingest_sums_each_local_day_by_tou_period(premise):
    tou_tariff(premise)
    _days(premise, date(2025, 7, 3), 3)  # Thursday, Friday the 4th (a holiday), Saturday
    assert _periods(premise, date(2025, 7, 3)) == {"on_peak": 5000, "mid_peak": 9000, "off_peak": 10000}
    assert _periods(premise, date(2025, 7, 4)) == {"off_peak": 24000}
    assert _periods(premise, date(2025, 7, 5)) == {"off_peak": 24000}
    assert PeriodRollup.objects.get(meter__premise=premise, day=date(2025, 7, 3), period="on_peak").readings == 20


def test_a_correction_moves_the_period_rollup_by_the_difference_and_a_re_ingest_changes_nothing(premise):
    tou_tariff(premise)
    _days(premise, date(2025, 7, 3), 1)
    assert _days(premise, date(2025, 7, 3), 1).duplicates == 96
    report = _days(premise, date(2025, 7, 3), 1, value=lambda m: 1000 if m.astimezone(CHICAGO).hour == 17 else 250)
    assert report.corrected == 4
    assert _periods(premise, date(2025, 7, 3)) == {"on_peak": 5000 + 3000, "mid_peak": 9000, "off_peak": 10000}
    assert PeriodRollup.objects.get(meter__premise=premise, day=date(2025, 7, 3), period="on_peak").readings == 20


@pytest.mark.parametrize(("day", "hours"), [(date(2025, 3, 9), 23), (date(2025, 11, 2), 25)])
def test_dst_days_keep_every_hour_in_the_period_rollups(premise, day, hours):
    tou_tariff(premise)
    _days(premise, day - timedelta(days=1), 3)
    assert sum(_periods(premise, day).values()) == hours * 1000
    assert (
        sum(_periods(premise, day).values())
        == UsageRollup.objects.get(
            meter__premise=premise, granularity=2, channel=1, period_start=local_day_bounds(day, premise.timezone)[0]
        ).value
    )


def test_a_new_tariff_assignment_rebuilds_the_periods_from_its_first_day(premise):
    flat_tariff(premise)
    _days(premise, date(2025, 7, 1), 3)
    assert _periods(premise, date(2025, 7, 3)) == {"standard": 24000}
    tou = Tariff.objects.create(code="TOU-NEW", name="Time of use")
    tariff_version_create(tariff=tou, effective_from=date(2024, 1, 1), pricing=PricingKind.TOU, definition=TOU)
    premise_tariff_assign(premise=premise, tariff=tou, start=date(2025, 7, 2))
    assert _periods(premise, date(2025, 7, 1)) == {"standard": 24000}
    assert _periods(premise, date(2025, 7, 3)) == {"on_peak": 5000, "mid_peak": 9000, "off_peak": 10000}


def test_readings_ingested_before_any_tariff_are_reclassified_when_one_is_assigned(premise):
    _days(premise, date(2025, 7, 3), 1)
    assert _periods(premise, date(2025, 7, 3)) == {"": 24000}
    tou_tariff(premise)
    assert _periods(premise, date(2025, 7, 3)) == {"on_peak": 5000, "mid_peak": 9000, "off_peak": 10000}


def test_a_new_tariff_version_rebuilds_the_periods_of_every_premise_on_it(premise):
    tariff = tou_tariff(premise)
    _days(premise, date(2025, 7, 2), 2)
    evenings = {
        **TOU,
        "seasons": [{**TOU["seasons"][0], "windows": [{"period": "on_peak", "days": "all", "start": 18, "end": 20}]}, TOU["seasons"][1]],
    }
    tariff_version_create(tariff=tariff, effective_from=date(2025, 7, 3), pricing=PricingKind.TOU, definition=evenings)
    assert _periods(premise, date(2025, 7, 2)) == {"on_peak": 5000, "mid_peak": 9000, "off_peak": 10000}
    assert _periods(premise, date(2025, 7, 3)) == {"on_peak": 2000, "off_peak": 22000}


def test_rebuilding_gives_what_ingest_kept(premise):
    tou_tariff(premise, export_credit="retail")
    _days(premise, date(2025, 10, 30), 5)
    _days(premise, date(2025, 10, 30), 5, value=lambda m: 300 if 10 <= m.astimezone(CHICAGO).hour < 15 else 0, channel=Channel.RECEIVED)
    kept = set(PeriodRollup.objects.values_list("meter_id", "channel", "day", "period", "value", "readings"))
    period_rollups_rebuild(premise=premise, first_day=date(2025, 10, 1))
    assert set(PeriodRollup.objects.values_list("meter_id", "channel", "day", "period", "value", "readings")) == kept


@pytest.mark.objective("SO-C7")
def test_day_priced_cost_equals_the_hourly_cost_with_export_events_and_dst(premise, olga):
    tariff = tou_tariff(premise, export_credit="retail", critical_peak_multiplier=Decimal("3"), fixed_daily=Decimal("7"))
    critical_peak_declare(tariff=tariff, day=date(2025, 11, 3), start_hour=16, end_hour=19, actor=olga)
    _days(premise, date(2025, 10, 28), 10, value=lambda m: 100 + m.astimezone(CHICAGO).hour * 10)
    _days(premise, date(2025, 10, 28), 10, value=lambda m: 400 if 10 <= m.astimezone(CHICAGO).hour < 15 else 0, channel=Channel.RECEIVED)
    first, last = date(2025, 10, 28), date(2025, 11, 6)
    hourly = period_cost(premise=premise, meter=premise.meters.get(), first_day=first, last_day=last, windows=whole_meter_windows())
    by_day = period_cost_by_day(premise=premise, meter=premise.meters.get(), first_day=first, last_day=last, windows=whole_meter_windows())
    assert _same_numbers(hourly, by_day)
    assert {h.local.date() for h in by_day.hours} == {date(2025, 11, 3)}  # only the event day needed its hours


def test_day_priced_cost_falls_back_to_hours_for_real_time_and_tiered(premise):
    tariff = Tariff.objects.create(code="RTP", name="Real time")
    tariff_version_create(tariff=tariff, effective_from=date(2024, 1, 1), pricing=PricingKind.REAL_TIME, flat_rate=Decimal("11"))
    premise_tariff_assign(premise=premise, tariff=tariff, start=date(2024, 1, 1))
    start, _ = local_day_bounds(date(2025, 6, 1), premise.timezone)
    real_time_prices_publish(tariff=tariff, prices=[(start + timedelta(hours=h), Decimal(h)) for h in range(30)])
    _days(premise, date(2025, 6, 1), 2)
    tiered = Tariff.objects.create(code="TIER", name="Tiered")
    tariff_version_create(
        tariff=tiered,
        effective_from=date(2024, 1, 1),
        pricing=PricingKind.TIERED,
        definition={"tiers": [{"up_to_kwh": 30, "rate": "10"}, {"up_to_kwh": None, "rate": "20"}]},
    )
    meter = premise.meters.get()
    for first, last in [(date(2025, 6, 1), date(2025, 6, 2))]:
        assert _same_numbers(
            period_cost(premise=premise, meter=meter, first_day=first, last_day=last, windows=whole_meter_windows()),
            period_cost_by_day(premise=premise, meter=meter, first_day=first, last_day=last, windows=whole_meter_windows()),
        )
    premise_tariff_assign(premise=premise, tariff=tiered, start=date(2025, 6, 2))
    assert _same_numbers(
        period_cost(
            premise=premise,
            meter=meter,
            first_day=date(2025, 6, 1),
            last_day=date(2025, 6, 2),
            windows=whole_meter_windows(),
        ),
        period_cost_by_day(
            premise=premise,
            meter=meter,
            first_day=date(2025, 6, 1),
            last_day=date(2025, 6, 2),
            windows=whole_meter_windows(),
        ),
    )


def test_gas_and_water_keep_whole_days_since_tariffs_price_electricity(premise):
    tou_tariff(premise)
    MeterFactory(premise=premise, serial_number="G-P", kind=MeterKind.GAS)
    start, _ = local_day_bounds(date(2025, 7, 3), premise.timezone)
    ingest(readings("G-P", start, hours=24, seconds=3600, unit="mtherm", value=lambda m: 40))
    rows = PeriodRollup.objects.filter(meter__serial_number="G-P")
    assert list(rows.values_list("day", "period", "value")) == [(date(2025, 7, 3), "", 960)]
    period_rollups_rebuild(premise=premise, first_day=date(2025, 7, 1))
    assert list(rows.values_list("day", "period", "value")) == [(date(2025, 7, 3), "", 960)]
