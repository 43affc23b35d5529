"""Premise-local time for ingest: the local hour, day and month of an instant, and the UTC bounds of a local day."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


_MISSING = object()


class _LocalPeriods:
    """Maps an interval start to the instants its premise-local hour, day and month begin.

    The per-UTC-hour answers are kept per time zone for the life of the process (bounded), so a
    head-end delivery of many meters in one zone works each hour out once.
    """

    _by_zone: dict[str, dict[int, tuple[int, int, int, date, int] | None]] = {}
    _MAX_HOURS = 200_000  # about 23 years of hours per zone

    def __init__(self, tz_name: str) -> None:
        self.zone = zoneinfo.ZoneInfo(tz_name)
        self.hours = self._by_zone.setdefault(tz_name, {})
        if len(self.hours) > self._MAX_HOURS:
            self.hours.clear()

    def periods(self, start: int) -> tuple[int, int, int, date, int]:
        """(local hour, day and month start epochs, the local date, the local hour of day)."""
        local = datetime.fromtimestamp(start, self.zone)
        hour = local.replace(minute=0, second=0, microsecond=0)
        day = local.replace(hour=0, minute=0, second=0, microsecond=0, fold=0)
        month = day.replace(day=1)
        return (_epoch(hour), _epoch(day), _epoch(month), local.date(), local.hour)

    def hour_periods(self, hour: int) -> tuple[int, int, int, date, int] | None:
        """The local periods of every instant in the UTC hour from ``hour``, or None if they differ within it."""
        found = self.hours.get(hour, _MISSING)
        if found is _MISSING:
            offset = datetime.fromtimestamp(hour, self.zone).utcoffset()
            aligned = offset.total_seconds() % 3600 == 0 and datetime.fromtimestamp(hour + 3599, self.zone).utcoffset() == offset
            found = self.hours[hour] = self.periods(hour) if aligned else None
        return found


def local_day_bounds(day, tz_name: str) -> tuple[datetime, datetime]:
    """The UTC instants a premise-local day starts and ends (23 or 25 hours apart at DST changes)."""
    zone = zoneinfo.ZoneInfo(tz_name)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)
