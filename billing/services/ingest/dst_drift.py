"""Billing-period readings whose boundaries drift by the DST hour, taken as the utility meant them.

Real Green Button exports give billing-period (and daily) readings whose boundaries are worked
out in a mix of local and UTC arithmetic: across a DST change one period ends an hour after the
next begins (an overlap) or an hour before it (a gap). Example: in Europe/London the period
ending at local midnight on 30 March 2025 ends at 00:00Z, but an export that adds whole
24-hour days to a GMT start ends it at 01:00Z, while the next period starts at 00:00Z, the
local midnight. The utility meant the two to meet at local midnight.

An overlap of exactly the zone's DST shift, between two readings a day or longer with a DST
change inside them, is trimmed: the boundary that is not a local midnight moves to the one
that is (the value is kept: it is what the utility measured for the period). A gap of the
shift is accepted as given. Either way the report gets a note naming the reading and what was
done. Any other overlap is still refused by the planning step.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
from operator import itemgetter

from billing.models import IntervalReading
from billing.services.ingest.report import IngestReport
from billing.services.ingest.validation import MAX_INTERVAL_SECONDS

# Readings at least this long are billing periods or days, whose boundaries are local midnights.
_DAY = 86400


def dst_drift_trim(meter_id: int, channel: int, series: list[tuple[int, int, int, int, str]], tz_name: str, report: IngestReport) -> None:
    """Trim DST-hour overlaps between long readings of one meter channel in place (and with the stored reading before them)."""
    if not series or max(map(itemgetter(1), series)) < _DAY:
        return  # interval data: nothing here is a billing period
    zone = zoneinfo.ZoneInfo(tz_name)
    series.sort(key=itemgetter(0))
    stored = _stored_before(meter_id, channel, series[0][0])
    if stored is not None:
        start, seconds = stored
        first = series[0]
        shift = _drift(zone, start, start + seconds, first[0], first[1])
        if shift:
            overlap = start + seconds - first[0]
            if overlap == shift:
                series[0] = (first[0] + shift, first[1] - shift, *first[2:])
                report.note(first[4], _moved(zone, first[0], first[0] + shift, "starts", "the stored period before it"))
            elif overlap == -shift:
                report.note(first[4], _gap(zone, start + seconds, first[0]))
    for index in range(1, len(series)):
        before, after = series[index - 1], series[index]
        shift = _drift(zone, before[0], before[0] + before[1], after[0], after[1])
        if not shift:
            continue
        end = before[0] + before[1]
        if end - after[0] == -shift:
            report.note(after[4], _gap(zone, end, after[0]))
            continue
        if end - after[0] != shift:
            continue
        if _is_local_midnight(zone, end) and not _is_local_midnight(zone, after[0]):
            series[index] = (after[0] + shift, after[1] - shift, *after[2:])
            report.note(after[4], _moved(zone, after[0], after[0] + shift, "starts", "the period before it"))
        else:
            series[index - 1] = (before[0], before[1] - shift, *before[2:])
            report.note(before[4], _moved(zone, end, end - shift, "ends", "the next period"))


def _drift(zone, start: int, end: int, next_start: int, next_seconds: int) -> int:
    """The DST shift in seconds when two day-or-longer readings meet across a DST change with a boundary off by it, else 0."""
    if end - start < _DAY or next_seconds < _DAY:
        return 0
    shift = abs(_offset(zone, next_start + next_seconds) - _offset(zone, start))
    if not shift or abs(end - next_start) != shift:
        return 0
    return shift


def _offset(zone, epoch: int) -> int:
    return int(datetime.fromtimestamp(epoch, UTC).astimezone(zone).utcoffset().total_seconds())


def _is_local_midnight(zone, epoch: int) -> bool:
    local = datetime.fromtimestamp(epoch, UTC).astimezone(zone)
    return (local.hour, local.minute, local.second) == (0, 0, 0)


def _iso(epoch: int) -> str:
    return f"{datetime.fromtimestamp(epoch, UTC):%Y-%m-%dT%H:%MZ}"


def _moved(zone, old: int, new: int, which: str, other: str) -> str:
    local = datetime.fromtimestamp(new, UTC).astimezone(zone)
    return (
        f"billing period {which} at {_iso(old)}, overlapping {other} by the DST hour ({zone.key}); "
        f"taken as {which} at {_iso(new)} ({local:%H:%M} local), as the utility meant; the value is kept"
    )


def _gap(zone, end: int, start: int) -> str:
    return (
        f"billing period starts at {_iso(start)}, {abs(start - end) // 60} minutes after the one before ends ({_iso(end)}): "
        f"the DST change in {zone.key}; accepted as the utility gave it"
    )


def _stored_before(meter_id: int, channel: int, first: int) -> tuple[int, int] | None:
    """(start, seconds) of the stored current reading that starts last before ``first`` (within the longest interval)."""
    row = (
        IntervalReading.objects.filter(
            meter_id=meter_id,
            channel=channel,
            is_current=True,
            start__gte=datetime.fromtimestamp(first - MAX_INTERVAL_SECONDS, UTC),
            start__lt=datetime.fromtimestamp(first, UTC),
        )
        .order_by("-start")
        .values_list("start", "seconds")
        .first()
    )
    if row is None:
        return None
    return int(row[0].timestamp()), row[1]
