"""Where a home's electricity goes, estimated from its hourly meter data alone (no outside weather data).

- **Base load:** the least the home draws on a typical night (the median of each day's lowest hour
  between midnight and 6 a.m., when no solar panel covers it): the fridge, standby, the router.
  It runs every hour of the year; counted as what it took from the grid (less, by day, where solar
  panels cover it).
- **Long high loads (EV charging):** plateaus of 3 kW or more above the hour before, lasting 2 to 10
  hours, switched on and off in one step, as a Level 2 charger draws.
- **Heating and cooling:** each month's average day, hour by hour, against the mildest month's
  (the one with the least use). What a month uses above the mild month is seasonal; when most of
  it falls in the afternoon (12:00 to 20:00) it is counted as cooling, otherwise as heating,
  which peaks in the night, the morning and the evening.
- **Everything else:** the rest (cooking, laundry, lighting, electronics).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

EV_STEP_KW = 3.0
EV_MIN_HOURS, EV_MAX_HOURS = 2, 10
AFTERNOON = range(12, 20)
MIN_DAYS = 28
NIGHT = range(0, 6)
MIN_MONTH_DAYS = 10
SEASONAL_FLOOR = 0.05  # a month within 5 % of the mild month shows no seasonal load


@dataclass
class MonthLoad:
    month: date  # the first of the month
    days: int
    kind: str  # "heating", "cooling" or "" (none)
    kwh: float  # its seasonal load over the days seen
    afternoon_share: float


@dataclass
class LoadEstimate:
    days: int
    first: date
    last: date
    total_kwh: float
    base_kw: float
    base_kwh: float
    ev_kwh: float
    ev_sessions: int
    heating_kwh: float
    cooling_kwh: float
    mild_month: date | None
    months: list[MonthLoad] = field(default_factory=list)

    @property
    def other_kwh(self) -> float:
        return max(0.0, self.total_kwh - self.base_kwh - self.ev_kwh - self.heating_kwh - self.cooling_kwh)

    def share(self, kwh: float) -> float:
        return 100.0 * kwh / self.total_kwh if self.total_kwh else 0.0

    @property
    def full_year(self) -> bool:
        return len({m.month.month for m in self.months}) >= 12


def _days(hours: list[tuple[datetime, float]]) -> dict[date, list[float]]:
    """Each local day with its 24 hourly values, only days with every hour read (the autumn DST hour counts twice)."""
    by_day: dict[date, dict[int, float]] = defaultdict(dict)
    for moment, kwh in hours:
        by_day[moment.date()][moment.hour] = by_day[moment.date()].get(moment.hour, 0.0) + kwh
    # The spring DST day has no 2 a.m.: it is whole with 23 hours; the hour that never was drew nothing.
    return {
        day: [values.get(h, 0.0) for h in range(24)]
        for day, values in sorted(by_day.items())
        if len(values) == 24 or (len(values) == 23 and 2 not in values)
    }


def _ev_sessions(days: dict[date, list[float]]) -> tuple[float, int, dict[date, list[float]]]:
    """The charging plateaus found, their energy above the level before them, and the days with them taken out."""
    series = [(day, hour, value) for day, values in days.items() for hour, value in enumerate(values)]
    cleaned = {day: list(values) for day, values in days.items()}
    energy, sessions, i = 0.0, 0, 1
    while i < len(series):
        before = series[i - 1][2]
        if series[i][2] - before < EV_STEP_KW:
            i += 1
            continue
        j = i
        while j < len(series) and series[j][2] - before >= EV_STEP_KW and j - i < EV_MAX_HOURS + 1:
            j += 1
        length = j - i
        plateau = [series[k][2] - before for k in range(i, j)]
        flat = max(plateau) - min(plateau) <= 0.4 * statistics.fmean(plateau)
        if EV_MIN_HOURS <= length <= EV_MAX_HOURS and flat:
            sessions += 1
            for k in range(i, j):
                day, hour, _ = series[k]
                energy += plateau[k - i]
                cleaned[day][hour] -= plateau[k - i]
        i = max(j, i + 1)
    return energy, sessions, cleaned


def load_estimate(hours: list[tuple[datetime, float]]) -> LoadEstimate | None:
    """The estimate from (local hour start, kWh) pairs, or None with fewer than four weeks of whole days."""
    days = _days(hours)
    if len(days) < MIN_DAYS:
        return None
    total = sum(sum(values) for values in days.values())
    base_kw = statistics.median(min(values[h] for h in NIGHT if values[h] or h != 2) for values in days.values())
    # What the base drew from the grid: all of it at night, less by day where solar panels covered it.
    base_kwh = sum(min(value, base_kw) for values in days.values() for value in values)
    ev_kwh, ev_sessions, cleaned = _ev_sessions(days)
    by_month: dict[date, list[list[float]]] = defaultdict(list)
    for day, values in cleaned.items():
        by_month[day.replace(day=1)].append(values)
    shapes = {
        month: [statistics.fmean(values[h] for values in month_days) for h in range(24)]
        for month, month_days in by_month.items()
        if len(month_days) >= MIN_MONTH_DAYS
    }
    mild = min(shapes, key=lambda month: sum(shapes[month])) if len(shapes) >= 2 else None
    months, heating, cooling = [], 0.0, 0.0
    for month, shape in sorted(shapes.items()):
        if mild is None:
            break
        excess = [max(0.0, shape[h] - shapes[mild][h]) for h in range(24)]
        daily = sum(excess)
        afternoon = sum(excess[h] for h in AFTERNOON) / daily if daily else 0.0
        kind = ""
        if month != mild and daily > SEASONAL_FLOOR * sum(shapes[mild]):
            kind = "cooling" if afternoon >= 0.5 else "heating"
        kwh = daily * len(by_month[month]) if kind else 0.0
        heating += kwh if kind == "heating" else 0.0
        cooling += kwh if kind == "cooling" else 0.0
        months.append(MonthLoad(month, len(by_month[month]), kind, kwh, afternoon))
    first, last = min(days), max(days)
    return LoadEstimate(len(days), first, last, total, base_kw, base_kwh, ev_kwh, ev_sessions, heating, cooling, mild, months)
