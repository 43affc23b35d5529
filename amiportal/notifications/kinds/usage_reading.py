"""The two usage alerts' reads of one premise for its current occupant, through billing's selectors.

Everything is bounded by the occupant's own windows at the premise (``occupancies_for``), so a
former occupant's readings never count towards a new occupant's alert.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta
from decimal import Decimal

from amiportal.premises.models import Premise
from amiportal.premises.selectors import Occupancy, premise_local_date
from billing.models import Granularity
from billing.selectors import electric_meter, interval_rollups, occupancy_windows, period_cost_by_day, window_for_dates
from billing.tariff_engine import PriceBook, cycle_bounds

USUAL_WEEKS = 4


def bill_to_date_cents(*, premise: Premise, occupancies: list[Occupancy], now: datetime) -> tuple[Decimal, date] | None:
    """The cost so far in the current billing cycle (energy less credit plus fixed charges) and the cycle's first day."""
    meter = electric_meter(premise)
    today = premise_local_date(zone=premise.timezone, now=now)
    if meter is None:
        return None
    book = PriceBook(premise, today - timedelta(days=40), today + timedelta(days=1))
    first, _ = cycle_bounds(today, book.cycle_day)
    windows = occupancy_windows(premise, occupancies, first, today)
    if not windows:
        return None
    own_first = max(first, min(o.start for o in occupancies))
    summary = period_cost_by_day(premise=premise, meter=meter, first_day=own_first, last_day=today, windows=windows, book=book)
    return summary.total, first


def _day_wh(premise: Premise, meter, day: date, occupancies: list[Occupancy]) -> int | None:
    windows = occupancy_windows(premise, occupancies, day, day)
    if not windows:
        return None
    span = window_for_dates(premise, day, day)
    rows = interval_rollups(meter=meter, granularity=Granularity.HOUR, start=span.start, end=span.end, windows=windows)
    return sum(delivered for _, delivered, _ in rows) if rows else None


def today_and_usual_wh(*, premise: Premise, occupancies: list[Occupancy], now: datetime) -> tuple[int, int, date] | None:
    """Energy delivered today so far, and the usual for this weekday (mean of the last four same weekdays with readings)."""
    meter = electric_meter(premise)
    if meter is None:
        return None
    today = now.astimezone(zoneinfo.ZoneInfo(premise.timezone)).date()
    used = _day_wh(premise, meter, today, occupancies)
    past = [_day_wh(premise, meter, today - timedelta(weeks=n), occupancies) for n in range(1, USUAL_WEEKS + 1)]
    past = [value for value in past if value]
    if used is None or not past:
        return None
    return used, sum(past) // len(past), today
