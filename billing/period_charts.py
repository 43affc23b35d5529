"""The chart of one chosen period (``billing.periods``), in energy or in money, bounded by the viewer's occupancy windows.

Money is the tariff engine's: every hour priced by ``PriceBook`` (tiers, TOU, critical peak,
real-time prices, export credit), an interval's share of its hour's cost in proportion to its
energy; days, cycles and years from the per-TOU-period rollups where the day allows
(``billing.selectors.period_cost_by_day``'s rule), hour by hour where it does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from amiportal.premises.models import Meter, Premise
from billing.models import ExportCredit, Granularity
from billing.periods import Period
from billing.selectors.readings import hourly_usage, interval_rollups, interval_sums, period_rollups, window_days
from billing.selectors.windows import window_for_dates
from billing.tariff_engine import KWH, HourCost, PriceBook

ZERO = Decimal(0)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass
class ChartSeries:
    key: str
    title: str
    unit: str
    labels: list[str] = field(default_factory=list)
    delivered: list[float] = field(default_factory=list)
    received: list[float] = field(default_factory=list)
    periods: list[str] = field(default_factory=list)  # TOU period per point (interval and hour charts)
    period_labels: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "key": self.key,
            "title": self.title,
            "unit": self.unit,
            "labels": self.labels,
            "delivered": self.delivered,
            "received": self.received,
            "periods": self.periods,
            "periodLabels": self.period_labels,
        }


@dataclass
class DayCost:
    delivered_wh: int = 0
    received_wh: int = 0
    energy: Decimal = ZERO  # cents
    credit: Decimal = ZERO  # cents


@dataclass
class PeriodTotals:
    first_day: date
    last_day: date
    delivered_wh: int
    received_wh: int
    energy: Decimal | None = None  # cents; None in the energy view (not priced)
    credit: Decimal | None = None
    fixed: Decimal | None = None

    @property
    def total(self) -> Decimal | None:
        return None if self.energy is None else self.energy - self.credit + self.fixed


def _kwh(wh: int) -> float:
    return round(wh / 1000, 3)


def _dollars(cents: Decimal) -> float:
    return round(float(cents) / 100, 4)


def _month_kwh_before(premise: Premise, meter: Meter, first: date, windows, book: PriceBook) -> Decimal:
    """Delivered energy in ``first``'s month before ``first`` (tiered blocks count from the month's start); 0 without tiers."""
    if first.day == 1 or not book.any_tiered(first.replace(day=1), first):
        return ZERO
    span = window_for_dates(premise, first.replace(day=1), first - timedelta(days=1))
    rows = interval_rollups(meter=meter, granularity=Granularity.DAY, start=span.start, end=span.end, windows=windows)
    return Decimal(sum(row[1] for row in rows)) / KWH


@dataclass(frozen=True)
class HourRows:
    """Hourly rows the caller already read (within the same windows) for ``first``..``last``: no second read."""

    first: date
    last: date
    rows: list[tuple[datetime, int, int]]


def costed_hours(
    premise: Premise, meter: Meter, first: date, last: date, windows, book: PriceBook, known: HourRows | None = None
) -> list[HourCost]:
    """Every hour of premise-local days ``first``..``last`` within ``windows``, priced by the tariff engine."""
    span = window_for_dates(premise, first, last)
    if known is not None and known.first <= first and last <= known.last:
        hours = [row for row in known.rows if span.start <= row[0] < span.end]
    else:
        hours = hourly_usage(meter=meter, start=span.start, end=span.end, windows=windows)
    return book.cost_hours(hours, month_kwh_before=_month_kwh_before(premise, meter, first, windows, book))


def daily_costs(premise: Premise, meter: Meter, first: date, last: date, windows, book: PriceBook) -> dict[date, DayCost]:
    """Usage and cost per premise-local day, as ``period_cost_by_day`` prices a span, kept day by day."""
    days: dict[date, DayCost] = {}
    if book.any_tiered(first, last):
        by_hour_days = None  # every day by the hour: tiered blocks depend on the running monthly total
    else:
        rows = period_rollups(premise=premise, meter=meter, first_day=first, last_day=last, windows=windows)
        prices: dict = {}
        by_hour_days = set()
        for day, _, period, _ in rows:
            if (day, period) not in prices:
                version = book.version_on(day)
                prices[(day, period)] = price = None if version is None or book.has_event(day) else book.period_price(day, period)
                if price is None and version is not None:
                    by_hour_days.add(day)
        for day, channel, period, value in rows:
            if day in by_hour_days:
                continue
            entry = days.setdefault(day, DayCost())
            price = prices[(day, period)]
            if channel == 1:
                entry.delivered_wh += value
                if price is not None:
                    entry.energy += Decimal(value) / KWH * price.cents_per_kwh
                continue
            entry.received_wh += value
            version = book.version_on(day)
            if price is not None and version.export_credit == ExportCredit.RETAIL:
                entry.credit += Decimal(value) / KWH * price.cents_per_kwh
            elif price is not None and version.export_credit == ExportCredit.EXPORT_RATE:
                entry.credit += Decimal(value) / KWH * (version.export_rate or ZERO)
        if not by_hour_days:
            return days
    hour_first, hour_last = (first, last) if by_hour_days is None else (min(by_hour_days), max(by_hour_days))
    for hour in costed_hours(premise, meter, hour_first, hour_last, windows, book):
        day = hour.local.date()
        if by_hour_days is not None and day not in by_hour_days:
            continue
        entry = days.setdefault(day, DayCost())
        entry.delivered_wh += hour.delivered_wh
        entry.received_wh += hour.received_wh
        entry.energy += hour.cost
        entry.credit += hour.credit
    return days


def period_chart(
    *, premise: Premise, meter: Meter, period: Period, show: str, windows, book: PriceBook, last_day: date, known: HourRows | None = None
) -> tuple[ChartSeries, PeriodTotals]:
    """The chart of ``period`` up to ``last_day`` (today, or the move-out) and its totals, in energy or money."""
    money = show == "money"
    chart = ChartSeries(period.kind, period.title(), "$" if money else "kWh")
    first, last = period.first, min(period.last, last_day)
    bucket = period.bucket
    if not windows or first > last:
        return chart, PeriodTotals(first, last, 0, 0)
    held = [(max(a, first), min(b, last)) for a, b in window_days(premise, windows)]
    held = [(a, b) for a, b in held if a <= b]
    if not held:
        return chart, PeriodTotals(first, last, 0, 0)
    first, last = held[0][0], held[-1][1]  # the days of the period the viewer held (fixed charges count only those)
    zone = book.zone
    if bucket in ("interval", "hour"):
        hours = costed_hours(premise, meter, first, last, windows, book, known)
        if bucket == "hour":
            for hour in hours:
                chart.labels.append(f"{_WEEKDAYS[hour.local.weekday()]} {hour.local.hour:02d}:00")
                _point(chart, money, hour.delivered_wh, hour.received_wh, hour.cost, hour.credit, hour)
        else:
            by_start = {hour.start: hour for hour in hours}
            span = window_for_dates(premise, first, last)
            two_days = first != last
            for start, delivered, received in interval_sums(meter=meter, start=span.start, end=span.end, windows=windows):
                local = start.astimezone(zone)
                hour = by_start.get(local.replace(minute=0, second=0, microsecond=0).astimezone(start.tzinfo))
                cost = credit = ZERO
                if hour is not None:
                    cost = hour.cost * delivered / hour.delivered_wh if hour.delivered_wh else ZERO
                    credit = hour.credit * received / hour.received_wh if hour.received_wh else ZERO
                label = local.strftime("%a %H:%M" if two_days else "%H:%M")
                chart.labels.append(label + (" (repeated hour)" if local.fold else ""))
                _point(chart, money, delivered, received, cost, credit, hour)
        totals = PeriodTotals(first, last, sum(h.delivered_wh for h in hours), sum(h.received_wh for h in hours))
        if money:
            totals.energy = sum((h.cost for h in hours), ZERO)
            totals.credit = sum((h.credit for h in hours), ZERO)
        return chart, _with_fixed(totals, money, book)
    if money:
        days = daily_costs(premise, meter, first, last, windows, book)
    else:
        span = window_for_dates(premise, first, last)
        rows = interval_rollups(meter=meter, granularity=Granularity.DAY, start=span.start, end=span.end, windows=windows)
        days = {start.astimezone(zone).date(): DayCost(delivered, received) for start, delivered, received in rows}
    if bucket == "month":
        months: dict[tuple[int, int], DayCost] = {}
        for day, cost in days.items():
            entry = months.setdefault((day.year, day.month), DayCost())
            entry.delivered_wh += cost.delivered_wh
            entry.received_wh += cost.received_wh
            entry.energy += cost.energy
            entry.credit += cost.credit
        for (year, month), cost in sorted(months.items()):
            chart.labels.append(date(year, month, 1).strftime("%b %Y"))
            _point(chart, money, cost.delivered_wh, cost.received_wh, cost.energy, cost.credit, None)
    else:
        for day, cost in sorted(days.items()):
            chart.labels.append(f"{day:%a %-d %b}")
            _point(chart, money, cost.delivered_wh, cost.received_wh, cost.energy, cost.credit, None)
    totals = PeriodTotals(first, last, sum(c.delivered_wh for c in days.values()), sum(c.received_wh for c in days.values()))
    if money:
        totals.energy = sum((c.energy for c in days.values()), ZERO)
        totals.credit = sum((c.credit for c in days.values()), ZERO)
    return chart, _with_fixed(totals, money, book)


def _point(chart: ChartSeries, money: bool, delivered: int, received: int, cost: Decimal, credit: Decimal, hour: HourCost | None) -> None:
    if money:
        chart.delivered.append(_dollars(cost))
        chart.received.append(_dollars(credit))
    else:
        chart.delivered.append(_kwh(delivered))
        chart.received.append(_kwh(received))
    if chart.key in ("day", "week") or hour is not None:
        price = hour.price if hour is not None else None
        chart.periods.append(price.period if price else "none")
        chart.period_labels.append(price.label if price else "No tariff")


def _with_fixed(totals: PeriodTotals, money: bool, book: PriceBook) -> PeriodTotals:
    if money:
        totals.fixed = book.fixed_charges(totals.first_day, totals.last_day)
    return totals
