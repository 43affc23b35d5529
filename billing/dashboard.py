"""The customer usage dashboard, built as plain data for one premise and one occupant.

Everything is bounded by ``occupancies`` (the viewer's own periods at the
premise), so a new occupant never sees a previous occupant's readings, and
everything is in the premise's local time.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from amiportal.premises.models import Meter, MeterKind, Premise
from amiportal.premises.selectors import Occupancy
from billing.appliances import appliance_examples
from billing.commodities import commodities_context, premise_meters_and_han
from billing.demand import demand_charge
from billing.models import Granularity
from billing.period_charts import HourRows, period_chart
from billing.periods import Bounds, period_navigation, period_parse, show_parse
from billing.selectors import (
    CostSummary,
    clip,
    cost_summary,
    hourly_usage,
    interval_rollups,
    occupancy_windows,
    period_cost_by_day,
    similar_homes_rank,
    utility_bills,
    window_for_dates,
)
from billing.services.similar_homes import SIMILAR_HOMES_DAYS
from billing.tariff_engine import KWH, Price, PriceBook, cycle_bounds

# Below this many comparable homes no percentile is shown, so no one can be singled out.
SIMILAR_HOMES_MIN_GROUP = 5
# The daily ranking the page shows may be this many days older than the viewer's yesterday
# (it is worked out once the day has ended in every zone); an older one is not shown.
SIMILAR_HOMES_STALE_DAYS = 2


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


def dashboard_build(*, premise: Premise, occupancies: list[Occupancy], now: datetime | None = None, query=None) -> dict:
    """The page's numbers; ``query`` (the request's GET) chooses the chart's period and energy or money.

    Raises ``billing.periods.PeriodError`` for a malformed period or one outside the viewer's reach.
    """
    zone = zoneinfo.ZoneInfo(premise.timezone)
    now = (now or datetime.now(UTC)).astimezone(zone)
    # One read for the electric meter, the gas and water sections and whether the premise has a HAN (live demand).
    meters, has_han = premise_meters_and_han(premise)
    meter = next((m for m in meters if m.kind == MeterKind.ELECTRIC), None)
    current = any(o.contains(now.date()) for o in occupancies)
    today = now.date() if current else max((o.end for o in occupancies if o.end), default=now.date())
    context: dict = {
        "premise": premise,
        "meter": meter,
        "current_occupant": current,
        "has_han": has_han,
        "today": today,
        "local_now": now,
    }
    if meter is None or not occupancies:
        context.update(commodities_context(premise=premise, occupancies=occupancies, today=today, meters=meters))
        return context
    first_seen = min(o.start for o in occupancies)
    query = query if query is not None else {}
    show = show_parse(query)
    year_start = max(first_seen, (today.replace(day=1) - timedelta(days=334)).replace(day=1))
    # Back far enough for the same billing cycle last year (a cycle can start in the month before).
    book_first = min(year_start, (today - timedelta(days=366 + 31)).replace(day=1))
    book = PriceBook(premise, book_first, today + timedelta(days=2))
    bounds = Bounds(first_seen, today, book.cycle_day)
    period = period_parse(query, bounds=bounds, local_now=now)
    # Gas and water follow a period the viewer chose with the period links; by default, the billing cycle to date.
    chosen = (period.first, period.last) if ("period" in query or "on" in query) else None
    context.update(commodities_context(premise=premise, occupancies=occupancies, today=today, meters=meters, span=chosen))
    if period.first < book_first:  # an older period: the engine needs that stretch of the tariff history
        book = PriceBook(premise, period.first.replace(day=1), today + timedelta(days=2))
    windows = occupancy_windows(premise, occupancies, min(year_start, period.first), today)
    # The whole year's days for the solar summary; else yesterday's month to date, and only for tiered blocks (they
    # count from the month's start): a flat or TOU home's page needs no daily read.
    yesterday_month = (today - timedelta(days=1)).replace(day=1)
    daily = {}
    if premise.has_der:
        daily = _daily(premise, meter, year_start, today, windows)
    elif book.any_tiered(yesterday_month, today):
        daily = _daily(premise, meter, max(yesterday_month, first_seen), today, windows)
    # One read of hourly rollups for yesterday and today (the chart, today against yesterday) and for the same
    # day last year up to this hour (the bill's like-for-like comparison): two ranges, one query.
    two_days = window_for_dates(premise, today - timedelta(days=1), today)
    a_year_ago = _a_year_before(today)
    cutoff = datetime(a_year_ago.year, a_year_ago.month, a_year_ago.day, now.hour, tzinfo=zone).astimezone(UTC)
    year_ago_parts = clip(
        occupancy_windows(premise, occupancies, a_year_ago, a_year_ago),
        start=window_for_dates(premise, a_year_ago, a_year_ago).start,
        end=cutoff,
    )
    parts = year_ago_parts + clip(windows, start=two_days.start, end=two_days.end)
    hour_rows = hourly_usage(meter=meter, start=min(p.start for p in parts), end=two_days.end, windows=parts) if parts else []
    recent_hours = [row for row in hour_rows if row[0] >= two_days.start]
    year_ago_hours = [row for row in hour_rows if row[0] < two_days.start]
    known = HourRows(today - timedelta(days=1), today, recent_hours)  # the default view's hours, read once
    chart, totals = period_chart(
        premise=premise, meter=meter, period=period, show=show, windows=windows, book=book, last_day=today, known=known
    )
    context.update(
        {
            "period": period,
            "show": show,
            "navigation": period_navigation(period, show, bounds=bounds),
            "charts": [chart],
            "chart_data": [chart.as_json()],
            "period_totals": totals,
            "tou_legend": list(dict.fromkeys(zip(chart.periods, chart.period_labels, strict=True))),
        }
    )
    context["bill"] = _bill(premise, meter, today, now, windows, book, occupancies, (cutoff, year_ago_hours))
    month_to_date = context["bill"]["to_date"] if context["bill"] else None
    context["today_vs_yesterday"] = _today_vs_yesterday(premise, today, now, book, occupancies, recent_hours, daily)
    if current:
        ahead = _hours_ahead(book, now, 49)  # this hour and the next 48, each priced once
        context["price_now"] = _price_now(ahead)
        context["everyday"] = _everyday(ahead, appliance_examples(premise.customer_class))
    context["utility_bills"] = utility_bills(premise=premise, occupancies=occupancies)
    context["similar_homes"] = similar_homes(premise=premise, meter=meter, today=today, occupancies=occupancies)
    if premise.has_der:
        context["net_metering"] = _net_metering(year_start, daily, month_to_date)
    return context


def _daily(premise, meter, first, last, windows) -> dict[date, list[int]]:
    span = window_for_dates(premise, first, last)
    zone = zoneinfo.ZoneInfo(premise.timezone)
    rows = interval_rollups(meter=meter, granularity=Granularity.DAY, start=span.start, end=span.end, windows=windows)
    return {start.astimezone(zone).date(): [delivered, received] for start, delivered, received in rows}


def _cost_for(premise, meter, first, last, windows, book, occupancies) -> CostSummary | None:
    span = _clamp_days(first, last, occupancies)
    if span is None:
        return None
    return period_cost_by_day(premise=premise, meter=meter, first_day=span[0], last_day=span[1], windows=windows, book=book)


def _today_vs_yesterday(premise, today, now, book, occupancies, week_hours, daily) -> dict:
    """Today and yesterday hour by hour, for the same-time comparison: priced from the week's hourly rows, no read of their own.

    ``week_hours`` are already limited to the occupancy windows. Tiered blocks count from the
    start of the month, so the occupant's delivered energy earlier in the first day's month comes
    from ``daily`` (their local days, also within their occupancy).
    """
    yesterday = today - timedelta(days=1)
    span = _clamp_days(yesterday, today, occupancies)
    both = None
    if span is not None:
        days = window_for_dates(premise, span[0], span[1])
        month_before = sum(usage[0] for day, usage in daily.items() if span[0].replace(day=1) <= day < span[0])
        hours = [hour for hour in week_hours if days.start <= hour[0] < days.end]
        hours = book.cost_hours(hours, month_kwh_before=Decimal(month_before) / KWH)
        both = cost_summary(hours, span[0], span[1], book)

    def costed(day):
        return cost_summary(both.hours, day, day, book) if both is not None and _clamp_days(day, day, occupancies) else None

    today_cost, yesterday_cost = costed(today), costed(yesterday)
    same_time = None
    if yesterday_cost is not None:
        cutoff = now - timedelta(days=1)
        same_time = sum(h.delivered_wh for h in yesterday_cost.hours if h.local < cutoff)
    return {"today": today_cost, "yesterday": yesterday_cost, "yesterday_same_time_wh": same_time}


def _bill(premise, meter, today, now, windows, book, occupancies, year_ago) -> dict | None:
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
    demand = demand_charge(premise=premise, meter=meter, first_day=to_date.first_day, last_day=today, windows=windows, book=book)
    demand_cents = demand.cents if demand is not None else Decimal(0)
    # The peak so far is the least the period's demand charge will be: the projection keeps it.
    projection = projected_energy + book.fixed_charges(to_date.first_day, cycle_end) + demand_cents
    last_year = _same_span_last_year(premise, meter, to_date.first_day, today, book, occupancies, year_ago)
    return {
        "cycle_start": to_date.first_day,
        "cycle_end": cycle_end,
        "to_date": to_date,
        "demand": demand,
        "total": to_date.total + demand_cents,
        "projection": projection,
        "last_year": last_year,
    }


def _same_span_last_year(premise, meter, first, last, book, occupancies, year_ago) -> dict | None:
    """The same days a year earlier, up to the same local hour as now: like for like with the bill so far.

    Whole days from the per-period rollups; the last day's hours before the same hour (``year_ago``:
    that instant and the hourly rows up to it, read with the page's other hours), priced by the hour.
    None unless the viewer lived here for the whole of that span.
    """
    cutoff, hours = year_ago
    previous_first, previous_last = _a_year_before(first), _a_year_before(last)
    if _clamp_days(previous_first, previous_last, occupancies) != (previous_first, previous_last):
        return None
    delivered = received = 0
    energy = credit = Decimal(0)
    if previous_last > previous_first:
        windows = occupancy_windows(premise, occupancies, previous_first, previous_last)
        whole = period_cost_by_day(
            premise=premise, meter=meter, first_day=previous_first, last_day=previous_last - timedelta(days=1), windows=windows, book=book
        )
        delivered, received, energy, credit = whole.delivered_wh, whole.received_wh, whole.energy, whole.credit
    month_before = Decimal(delivered) / KWH if previous_first.replace(day=1) == previous_last.replace(day=1) else Decimal(0)
    for hour in book.cost_hours(hours, month_kwh_before=month_before):
        delivered += hour.delivered_wh
        received += hour.received_wh
        energy += hour.cost
        credit += hour.credit
    return {
        "first_day": previous_first,
        "until": cutoff.astimezone(book.zone),
        "delivered_wh": delivered,
        "received_wh": received,
        "total": energy - credit + book.fixed_charges(previous_first, previous_last),
    }


def _a_year_before(day: date) -> date:
    """The same date a year earlier; 29 February becomes the 28th."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def _hours_ahead(book: PriceBook, now: datetime, count: int) -> list[tuple[datetime, Price | None]]:
    """The current local hour and the ``count - 1`` after it (in real hours, so across a DST change too), with their prices."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    start = hour.astimezone(UTC)
    out = [(hour, book.price(hour))]
    for step in range(1, count):
        local = (start + timedelta(hours=step)).astimezone(hour.tzinfo)
        out.append((local, book.price(local)))
    return out


def _price_now(ahead: list[tuple[datetime, Price | None]]) -> dict | None:
    price = ahead[0][1]
    if price is None:
        return None
    for later, following in ahead[1:]:
        if following is None or (following.period, following.cents_per_kwh) != (price.period, price.cents_per_kwh):
            return {"price": price, "next_at": later, "next_price": following}
    return {"price": price, "next_at": None, "next_price": None}


def _everyday(ahead: list[tuple[datetime, Price | None]], examples) -> list[dict]:
    """For each appliance run (``kwh`` spread evenly over ``hours`` hours): its cost if started now, and the cheapest start
    in the next 24 hours (the earliest, among equally cheap ones). Hours without a price end the starts that would use them."""
    cents = [price.cents_per_kwh if price is not None else None for _, price in ahead]
    # Prices summed from the first hour: a run's price sum is a difference of two (exact: a few cents, to 28 digits).
    running, total = [Decimal(0)], Decimal(0)
    for value in cents:
        total += value if value is not None else 0
        running.append(total)
    unpriced = [index for index, value in enumerate(cents) if value is None]
    out = []
    for name, kwh, hours in examples:
        per_hour = kwh / hours
        starts = [step for step in range(min(25, len(ahead) - hours + 1)) if not any(step <= index < step + hours for index in unpriced)]
        if not starts or starts[0] != 0:
            continue
        costs = {step: per_hour * (running[step + hours] - running[step]) for step in starts}
        best = min(starts, key=lambda step: (costs[step], step))
        out.append(
            {
                "name": name,
                "kwh": kwh,
                "hours": hours,
                "now": costs[0],
                "cheapest": costs[best],
                "cheapest_at": ahead[best][0],
                "cheapest_period": ahead[best][1],
                "saving": costs[0] - costs[best],
            }
        )
    return out


def similar_homes(*, premise: Premise, meter: Meter, today: date, occupancies: list[Occupancy]) -> dict:
    """Where this home's 30 days of use sit among homes of the same class, as a percentile.

    Read from the daily ranking (``billing.services.similar_homes``): one row, never a pass over
    every home of the class. Shown only when the occupant held the ranking's whole 30 days (their
    own data only) and at least ``SIMILAR_HOMES_MIN_GROUP`` other homes had data, so no single
    home can be singled out.
    """
    yesterday = today - timedelta(days=1)
    own_days = "We compare once you have 30 days of your own usage here."
    if _clamp_days(yesterday - timedelta(days=SIMILAR_HOMES_DAYS), yesterday, occupancies) is None:
        return {"shown": False, "reason": own_days}
    rank = similar_homes_rank(meter=meter, newest=yesterday, oldest=yesterday - timedelta(days=SIMILAR_HOMES_STALE_DAYS))
    if rank is None:
        return {"shown": False, "reason": "No comparison for these days: homes are compared once a day, over the latest 30 days."}
    first = rank.as_of - timedelta(days=SIMILAR_HOMES_DAYS - 1)
    if _clamp_days(first, rank.as_of, occupancies) != (first, rank.as_of):
        return {"shown": False, "reason": own_days}
    others = rank.group_size - 1
    if others < SIMILAR_HOMES_MIN_GROUP:
        return {
            "shown": False,
            "reason": f"Too few similar homes have data yet to compare privately (we need at least {SIMILAR_HOMES_MIN_GROUP}).",
        }
    return {
        "shown": True,
        "percentile": round(100 * rank.below / others),
        "less_than": round(100 * rank.above / others),
        "group_size": others,
        "kwh": _kwh(rank.total_wh),
        "median_kwh": _kwh(rank.others_median_wh),
        "days": SIMILAR_HOMES_DAYS,
        "first_day": first,
        "last_day": rank.as_of,
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
