"""The customer usage dashboard, built as plain data for one premise and one occupant.

Everything is bounded by ``occupancies`` (the viewer's own periods at the
premise), so a new occupant never sees a previous occupant's readings, and
everything is in the premise's local time.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db.models import Sum

from amiportal.premises.models import Meter, MeterKind, Premise
from amiportal.premises.selectors import Occupancy
from billing.models import Channel, Granularity, IntervalReading, UsageRollup
from billing.selectors import (
    CostSummary,
    clip_to_windows,
    cost_summary,
    electric_meter,
    hourly_usage,
    occupancy_windows,
    period_cost,
    period_cost_by_day,
    rollup_sums,
    utility_bills,
    window_for_dates,
)
from billing.tariff_engine import Price, PriceBook, cycle_bounds

# Everyday appliance runs: (name, kWh, hours it takes)
APPLIANCES = [
    ("A load of laundry (wash and dry)", Decimal("3.0"), 2),
    ("A dishwasher run", Decimal("1.5"), 1),
    ("Charging an electric car (about 100 miles)", Decimal("30"), 4),
]
# Below this many comparable homes no percentile is shown, so no one can be singled out.
SIMILAR_HOMES_MIN_GROUP = 5
SIMILAR_HOMES_DAYS = 30


@dataclass
class ChartSeries:
    key: str
    title: str
    unit: str
    labels: list[str] = field(default_factory=list)
    delivered: list[float] = field(default_factory=list)
    received: list[float] = field(default_factory=list)
    periods: list[str] = field(default_factory=list)  # TOU period per point (day chart)
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


def _kwh(wh: int) -> float:
    return round(wh / 1000, 3)


def _clamp_days(first: date, last: date, occupancies: list[Occupancy]) -> tuple[date, date] | None:
    """The span of ``first``..``last`` the occupant held (assumes one contiguous span covers it, else the earliest overlap)."""
    for occupancy in occupancies:
        start = max(first, occupancy.start)
        end = min(last, occupancy.end) if occupancy.end else last
        if start <= end:
            return start, end
    return None


def dashboard_build(*, premise: Premise, occupancies: list[Occupancy], now: datetime | None = None) -> dict:
    zone = zoneinfo.ZoneInfo(premise.timezone)
    now = (now or datetime.now(UTC)).astimezone(zone)
    meter = electric_meter(premise)
    current = any(o.contains(now.date()) for o in occupancies)
    today = now.date() if current else max((o.end for o in occupancies if o.end), default=now.date())
    context: dict = {"premise": premise, "meter": meter, "current_occupant": current, "today": today, "local_now": now}
    if meter is None or not occupancies:
        return context
    first_seen = min(o.start for o in occupancies)
    year_start = max(first_seen, (today.replace(day=1) - timedelta(days=334)).replace(day=1))
    windows = occupancy_windows(premise, occupancies, year_start, today)
    # Back far enough for the same billing cycle last year (a cycle can start in the month before).
    book = PriceBook(premise, min(year_start, (today - timedelta(days=366 + 31)).replace(day=1)), today + timedelta(days=2))

    daily = _daily(premise, meter, year_start, today, windows)  # one read serves month, year and net metering
    context["charts"] = [
        _day_chart(premise, meter, today, windows, book),
        _week_chart(premise, meter, today, windows),
        _month_chart(today, daily),
        _year_chart(year_start, today, daily),
    ]
    context["chart_data"] = [chart.as_json() for chart in context["charts"]]
    day = context["charts"][0]
    context["tou_legend"] = list(dict.fromkeys(zip(day.periods, day.period_labels, strict=True)))
    context["bill"] = _bill(premise, meter, today, now, windows, book, occupancies)
    month_to_date = context["bill"]["to_date"] if context["bill"] else None
    context["today_vs_yesterday"] = _today_vs_yesterday(premise, meter, today, now, book, occupancies)
    if current:
        context["price_now"] = _price_now(book, now)
        context["everyday"] = _everyday(book, now)
    context["utility_bills"] = utility_bills(premise=premise, occupancies=occupancies)
    context["similar_homes"] = similar_homes(premise=premise, meter=meter, today=today, occupancies=occupancies)
    if premise.has_der:
        context["net_metering"] = _net_metering(year_start, daily, month_to_date)
    return context


def _day_chart(premise, meter, day, windows, book) -> ChartSeries:
    chart = ChartSeries("day", f"Today, {day:%A %-d %B} (every interval)", "kWh")
    span = window_for_dates(premise, day, day)
    zone = zoneinfo.ZoneInfo(premise.timezone)
    points: dict[datetime, list[int]] = {}
    for part in clip_to_windows(span.start, span.end, windows):
        rows = IntervalReading.objects.filter(meter=meter, is_current=True, start__gte=part.start, start__lt=part.end).values_list(
            "start", "channel", "value"
        )
        for start, channel, value in rows:
            points.setdefault(start, [0, 0])[0 if channel == Channel.DELIVERED else 1] += value
    for start in sorted(points):
        local = start.astimezone(zone)
        price = book.price(local.replace(minute=0, second=0, microsecond=0))
        chart.labels.append(local.strftime("%H:%M") + (" (repeated hour)" if local.fold else ""))
        chart.delivered.append(_kwh(points[start][0]))
        chart.received.append(_kwh(points[start][1]))
        chart.periods.append(price.period if price else "none")
        chart.period_labels.append(price.label if price else "No tariff")
    return chart


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _week_chart(premise, meter, today, windows) -> ChartSeries:
    first = today - timedelta(days=6)
    chart = ChartSeries("week", f"The last 7 days, hour by hour ({first:%-d %b} to {today:%-d %b})", "kWh")
    span = window_for_dates(premise, first, today)
    zone = zoneinfo.ZoneInfo(premise.timezone)
    for start, delivered, received in hourly_usage(meter=meter, start=span.start, end=span.end, windows=windows):
        local = start.astimezone(zone)
        chart.labels.append(f"{_WEEKDAYS[local.weekday()]} {local.hour:02d}:00")  # strftime("%a %H:00"), a third of the cost
        chart.delivered.append(_kwh(delivered))
        chart.received.append(_kwh(received))
    return chart


def _daily(premise, meter, first, last, windows) -> dict[date, list[int]]:
    span = window_for_dates(premise, first, last)
    zone = zoneinfo.ZoneInfo(premise.timezone)
    rows = rollup_sums(meter=meter, granularity=Granularity.DAY, start=span.start, end=span.end, windows=windows)
    return {start.astimezone(zone).date(): [delivered, received] for start, delivered, received in rows}


def _month_chart(today, daily) -> ChartSeries:
    first = today.replace(day=1)
    chart = ChartSeries("month", f"{today:%B %Y}, day by day", "kWh")
    for day, (delivered, received) in sorted(item for item in daily.items() if item[0] >= first):
        chart.labels.append(f"{day:%a %-d}")
        chart.delivered.append(_kwh(delivered))
        chart.received.append(_kwh(received))
    return chart


def _year_chart(first, today, daily) -> ChartSeries:
    chart = ChartSeries("year", f"{first:%B %Y} to {today:%B %Y}, month by month", "kWh")
    months: dict[tuple[int, int], list[int]] = {}
    for day, (delivered, received) in daily.items():
        entry = months.setdefault((day.year, day.month), [0, 0])
        entry[0] += delivered
        entry[1] += received
    for (year, month), (delivered, received) in sorted(months.items()):
        chart.labels.append(date(year, month, 1).strftime("%b %Y"))
        chart.delivered.append(round(delivered / 1000, 1))
        chart.received.append(round(received / 1000, 1))
    return chart


def _cost_for(premise, meter, first, last, windows, book, occupancies) -> CostSummary | None:
    span = _clamp_days(first, last, occupancies)
    if span is None:
        return None
    return period_cost_by_day(premise=premise, meter=meter, first_day=span[0], last_day=span[1], windows=windows, book=book)


def _today_vs_yesterday(premise, meter, today, now, book, occupancies) -> dict:
    """Today and yesterday hour by hour (one read of 48 hourly rollups), for the same-time comparison."""
    yesterday = today - timedelta(days=1)
    span = _clamp_days(yesterday, today, occupancies)
    both = None
    if span is not None:
        windows = occupancy_windows(premise, occupancies, span[0], span[1])
        both = period_cost(premise=premise, meter=meter, first_day=span[0], last_day=span[1], windows=windows, book=book)

    def costed(day):
        return cost_summary(both.hours, day, day, book) if both is not None and _clamp_days(day, day, occupancies) else None

    today_cost, yesterday_cost = costed(today), costed(yesterday)
    same_time = None
    if yesterday_cost is not None:
        cutoff = now - timedelta(days=1)
        same_time = sum(h.delivered_wh for h in yesterday_cost.hours if h.local < cutoff)
    return {"today": today_cost, "yesterday": yesterday_cost, "yesterday_same_time_wh": same_time}


def _bill(premise, meter, today, now, windows, book, occupancies) -> dict | None:
    cycle_start, cycle_end = cycle_bounds(today, book.cycle_day)
    to_date = _cost_for(premise, meter, cycle_start, today, windows, book, occupancies)
    if to_date is None:
        return None
    start_local = datetime(to_date.first_day.year, to_date.first_day.month, to_date.first_day.day, tzinfo=now.tzinfo)
    end_local = datetime(cycle_end.year, cycle_end.month, cycle_end.day, tzinfo=now.tzinfo) + timedelta(days=1)
    # In UTC: across a DST change the cycle so far and the whole cycle are an hour shorter or longer.
    elapsed = max((now.astimezone(UTC) - start_local.astimezone(UTC)).total_seconds(), 3600.0)
    total_span = (end_local.astimezone(UTC) - start_local.astimezone(UTC)).total_seconds()
    projected_energy = (to_date.energy - to_date.credit) * Decimal(total_span / elapsed)
    projection = projected_energy + book.fixed_charges(to_date.first_day, cycle_end)
    last_year = None
    previous_first, previous_last = _a_year_before(to_date.first_day), _a_year_before(today)
    previous_windows = occupancy_windows(premise, occupancies, previous_first, previous_last)
    if previous_windows and _clamp_days(previous_first, previous_last, occupancies) == (previous_first, previous_last):
        last_year = period_cost_by_day(
            premise=premise, meter=meter, first_day=previous_first, last_day=previous_last, windows=previous_windows, book=book
        )
    return {"cycle_start": to_date.first_day, "cycle_end": cycle_end, "to_date": to_date, "projection": projection, "last_year": last_year}


def _a_year_before(day: date) -> date:
    """The same date a year earlier; 29 February becomes the 28th."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def _price_now(book: PriceBook, now: datetime) -> dict | None:
    hour = now.replace(minute=0, second=0, microsecond=0)
    price = book.price(hour)
    if price is None:
        return None
    for step in range(1, 49):
        later = (hour.astimezone(UTC) + timedelta(hours=step)).astimezone(hour.tzinfo)
        following = book.price(later)
        if following is None or (following.period, following.cents_per_kwh) != (price.period, price.cents_per_kwh):
            return {"price": price, "next_at": later, "next_price": following}
    return {"price": price, "next_at": None, "next_price": None}


def _run_cost(book: PriceBook, start: datetime, kwh: Decimal, hours: int) -> tuple[Decimal, Price | None] | None:
    per_hour = kwh / hours
    total = Decimal(0)
    first_price = None
    for step in range(hours):
        local = (start.astimezone(UTC) + timedelta(hours=step)).astimezone(start.tzinfo)
        price = book.price(local)
        if price is None:
            return None
        first_price = first_price or price
        total += per_hour * price.cents_per_kwh
    return total, first_price


def _everyday(book: PriceBook, now: datetime) -> list[dict]:
    hour = now.replace(minute=0, second=0, microsecond=0)
    out = []
    for name, kwh, hours in APPLIANCES:
        now_cost = _run_cost(book, hour, kwh, hours)
        if now_cost is None:
            continue
        best_start, best = hour, now_cost
        for step in range(1, 25):
            start = (hour.astimezone(UTC) + timedelta(hours=step)).astimezone(hour.tzinfo)
            candidate = _run_cost(book, start, kwh, hours)
            if candidate is not None and candidate[0] < best[0]:
                best_start, best = start, candidate
        out.append(
            {
                "name": name,
                "kwh": kwh,
                "hours": hours,
                "now": now_cost[0],
                "cheapest": best[0],
                "cheapest_at": best_start,
                "cheapest_period": best[1],
                "saving": now_cost[0] - best[0],
            }
        )
    return out


def similar_homes(*, premise: Premise, meter: Meter, today: date, occupancies: list[Occupancy]) -> dict:
    """Where this home's last 30 days of use sits among homes of the same class, as a percentile.

    Shown only when the occupant held the whole 30 days (their own data only) and at least
    ``SIMILAR_HOMES_MIN_GROUP`` other homes have data, so no single home can be singled out.
    """
    first = today - timedelta(days=SIMILAR_HOMES_DAYS)
    last = today - timedelta(days=1)
    if _clamp_days(first, last, occupancies) != (first, last):
        return {"shown": False, "reason": "We compare once you have 30 days of your own usage here."}
    span = window_for_dates(premise, first, last)
    meters = Meter.objects.filter(kind=MeterKind.ELECTRIC, premise__customer_class=premise.customer_class)
    totals = dict(
        UsageRollup.objects.filter(
            meter__in=meters,
            channel=Channel.DELIVERED,
            granularity=Granularity.DAY,
            period_start__gte=span.start,
            period_start__lt=span.end,
        )
        .values_list("meter_id")
        .annotate(total=Sum("value"))
        .values_list("meter_id", "total")
    )
    mine = totals.pop(meter.pk, None)
    if mine is None:
        return {"shown": False, "reason": "We need 30 days of your usage to compare."}
    if len(totals) < SIMILAR_HOMES_MIN_GROUP:
        return {
            "shown": False,
            "reason": f"Too few similar homes have data yet to compare privately (we need at least {SIMILAR_HOMES_MIN_GROUP}).",
        }
    below = sum(1 for value in totals.values() if value < mine)
    percentile = round(100 * below / len(totals))
    above = sum(1 for value in totals.values() if value > mine)
    return {
        "shown": True,
        "percentile": percentile,
        "less_than": round(100 * above / len(totals)),
        "group_size": len(totals),
        "kwh": _kwh(mine),
        "median_kwh": _kwh(sorted(totals.values())[len(totals) // 2]),
        "days": SIMILAR_HOMES_DAYS,
    }


def _net_metering(first, days, month_to_date: CostSummary | None) -> dict:
    imported = sum(v[0] for v in days.values())
    exported = sum(v[1] for v in days.values())
    return {
        "month": month_to_date,
        "year_imported_kwh": _kwh(imported),
        "year_exported_kwh": _kwh(exported),
        "year_net_kwh": _kwh(imported - exported),
        "since": first,
    }
