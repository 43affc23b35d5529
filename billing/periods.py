"""The period a customer is looking at: day, week, month, billing period, year or the last 30 days.

A period is chosen by two query parameters, so every view of the dashboard can be bookmarked and
shared: ``period`` (its kind) and ``on`` (any premise-local day inside it; for the last 30 days,
the last day). ``show`` picks energy or money. Parsing is strict: a malformed value is a
``PeriodError`` with status 400, and a well-formed period outside the viewer's reach (before
their occupancy began, after today, after they moved out) one with status 404. Nothing here reads
the database: the view passes the occupancy bounds and the billing-cycle day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from billing.tariff_engine import cycle_bounds

KINDS = {
    "day": "Day",
    "week": "Week",
    "month": "Month",
    "cycle": "Billing period",
    "year": "Year",
    "30days": "Last 30 days",
}
SHOWS = {"energy": "Energy (kWh)", "money": "Money ($)"}
# The chart's points for each kind: every interval, every hour, every day or every month.
BUCKETS = {"day": "interval", "week": "hour", "month": "day", "cycle": "day", "30days": "day", "year": "month"}
# Before this local hour the default view is yesterday and today, so just after midnight the chart is not empty.
EARLY_HOURS = 6
_ISO_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class PeriodError(ValueError):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Period:
    kind: str
    first: date
    last: date  # included
    anchor: date  # the ``on`` of its URL

    @property
    def bucket(self) -> str:
        return BUCKETS[self.kind]

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def title(self) -> str:
        if self.kind == "day":
            if self.first != self.last:
                return f"Yesterday and today, {self.first:%-d} to {self.last:%-d %B %Y} (every interval)"
            return f"{self.first:%A %-d %B %Y} (every interval)"
        if self.kind == "week":
            return f"Week of {self.first:%-d %B %Y} (hour by hour)"
        if self.kind == "month":
            return f"{self.first:%B %Y}, day by day"
        if self.kind == "cycle":
            return f"Billing period {self.first:%-d %b %Y} to {self.last:%-d %b %Y}, day by day"
        if self.kind == "year":
            return f"{self.first:%Y}, month by month"
        return f"The 30 days {self.first:%-d %b} to {self.last:%-d %b %Y}, day by day"


@dataclass(frozen=True)
class Bounds:
    """What the viewer may see: premise-local days ``first``..``last`` (occupancy start to today or move-out)."""

    first: date
    last: date
    cycle_day: int = 1


def period_for(kind: str, on: date, *, cycle_day: int = 1) -> Period:
    """The period of ``kind`` that contains ``on`` (for the last 30 days: that ends on ``on``)."""
    if kind == "day":
        return Period(kind, on, on, on)
    if kind == "week":
        monday = on - timedelta(days=on.weekday())
        return Period(kind, monday, monday + timedelta(days=6), on)
    if kind == "month":
        first = on.replace(day=1)
        return Period(kind, first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1), on)
    if kind == "cycle":
        first, last = cycle_bounds(on, cycle_day)
        return Period(kind, first, last, on)
    if kind == "year":
        return Period(kind, date(on.year, 1, 1), date(on.year, 12, 31), on)
    if kind == "30days":
        return Period(kind, on - timedelta(days=29), on, on)
    raise PeriodError(f"Unknown period {kind!r}: choose one of {', '.join(KINDS)}.", 400)


def period_default(*, bounds: Bounds, local_now: datetime) -> Period:
    """Today, or yesterday and today in the first hours after midnight (never an empty chart when yesterday has data)."""
    today = bounds.last
    if today == local_now.date() and local_now.hour < EARLY_HOURS and today - timedelta(days=1) >= bounds.first:
        return Period("day", today - timedelta(days=1), today, today)
    return Period("day", today, today, today)


def period_parse(query, *, bounds: Bounds, local_now: datetime) -> Period:
    """The period the query names (``period``, ``on``), or the default; ``PeriodError`` for bad or unreachable input."""
    kind = query.get("period")
    on_text = query.get("on")
    if kind is None and on_text is None:
        return period_default(bounds=bounds, local_now=local_now)
    kind = kind or "day"
    if kind not in KINDS:
        raise PeriodError(f"Unknown period {kind[:40]!r}: choose one of {', '.join(KINDS.values()).lower()}.", 400)
    if on_text is None:
        on = bounds.last
    else:
        if not _ISO_DAY.match(on_text):
            raise PeriodError("The date in this link is not a date: use the form 2025-03-31.", 400)
        try:
            on = date.fromisoformat(on_text)
        except ValueError:
            raise PeriodError(f"{on_text} is not a day of the calendar.", 400) from None
    if on > bounds.last:
        raise PeriodError(f"{on:%-d %B %Y} is after {bounds.last:%-d %B %Y}: there is no usage to show yet.", 404)
    period = period_for(kind, on, cycle_day=bounds.cycle_day)
    if period.last < bounds.first:
        raise PeriodError(f"This period ends before {bounds.first:%-d %B %Y}, when your time at this address began.", 404)
    return period


def period_step(period: Period, step: int, *, bounds: Bounds) -> Period | None:
    """The period before (``step`` -1) or after (+1) of the same kind, or None beyond the viewer's reach."""
    if period.kind == "30days":
        on = period.last + timedelta(days=30 * step)
    elif step < 0:
        on = period.first - timedelta(days=1)
    else:
        on = period.last + timedelta(days=1)
    if on > bounds.last:
        if period.kind != "30days" or period.last >= bounds.last:
            return None  # this period already holds today
        on = bounds.last  # the 30 days after would end in the future: the 30 days to today
    candidate = period_for(period.kind, on, cycle_day=bounds.cycle_day)
    if candidate.last < bounds.first:
        return None
    return candidate


def period_query(period: Period, show: str) -> str:
    """The query string of a period (and energy or money), for links."""
    # Kinds and shows are fixed words and the day is ISO digits: nothing to escape (urlencode cost 1 ms a page).
    return f"?period={period.kind}&on={period.anchor.isoformat()}" + ("" if show == "energy" else f"&show={show}")


def show_parse(query) -> str:
    show = query.get("show", "energy")
    if show not in SHOWS:
        raise PeriodError("Show energy or money.", 400)
    return show


def period_navigation(period: Period, show: str, *, bounds: Bounds) -> dict:
    """The links around a period: the kinds (each on the same day), previous, next, energy or money, and the first period."""
    previous = period_step(period, -1, bounds=bounds)
    following = period_step(period, +1, bounds=bounds)
    anchor = min(max(period.anchor, bounds.first), bounds.last)
    first = period_for(period.kind, bounds.first, cycle_day=bounds.cycle_day)
    return {
        "kinds": [
            {
                "key": key,
                "label": label,
                "query": period_query(period_for(key, anchor, cycle_day=bounds.cycle_day), show),
                "current": key == period.kind,
            }
            for key, label in KINDS.items()
        ],
        "previous": period_query(previous, show) if previous else None,
        "next": period_query(following, show) if following else None,
        "earliest": period_query(first, show) if previous else None,
        "latest": period_query(period_for(period.kind, bounds.last, cycle_day=bounds.cycle_day), show) if following else None,
        "shows": [{"key": key, "label": label, "query": period_query(period, key), "current": key == show} for key, label in SHOWS.items()],
        "since": bounds.first,
    }
