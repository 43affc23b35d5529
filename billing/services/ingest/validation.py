"""Checking each reading of a batch: its meter, unit, channel, interval length, value, UTC offset and that it is not in the future."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import repeat
from operator import attrgetter

from django.conf import settings
from django.utils import timezone

from amiportal.premises.models import Meter, MeterKind
from billing.models import UNIT_FOR_KIND, Channel
from billing.services.ingest.report import IngestReport, RawReading

# The longest interval accepted: a Green Button billing-period reading.
MAX_INTERVAL_SECONDS = 40 * 86400
# Above these rates a reading is absurd for the meter kind (per second of interval).
MAX_RATE_PER_SECOND = {
    MeterKind.ELECTRIC: 20_000_000 / 3600,  # 20 MW, in Wh per second
    MeterKind.GAS: 2_000_000 / 3600,  # 2,000 therm per hour, in mtherm per second
    MeterKind.WATER: 500.0,  # litres per second
}


def _latest_end() -> int:
    """The latest instant (epoch seconds) a reading may end: now plus the allowed clock skew."""
    return int(timezone.now().timestamp()) + settings.AMI_READING_CLOCK_SKEW_SECONDS


def _validated_series(
    rows: list[RawReading], meters: dict[str, Meter], allowed: set[int] | None, report: IngestReport
) -> dict[tuple[int, int], list[tuple[int, int, int, int, str]]]:
    """Check every row; group the valid ones by (meter id, channel) as (start epoch, seconds, value, quality, ref).

    The checks that depend only on a row's meter, channel, interval length and unit are made once
    per distinct combination (a year of one meter's 15-minute data has one), so the per-row work is
    a dictionary lookup and the value and time-zone checks. Any row that fails gets its reason from
    ``_row_problem``, the one place the wording lives, so each rejected row is still reported.
    """
    by_series: dict[tuple[int, int], list[tuple[int, int, int, int, str]]] = defaultdict(list)
    latest_end = _latest_end()
    if _validated_at_once(rows, meters, allowed, by_series, latest_end):
        return by_series
    # (serial, channel, seconds, unit) -> (the series' append, the largest acceptable value), or a reason
    signatures: dict[tuple[str, int, int, str], tuple[Callable, float] | str] = {}
    for row in rows:
        key = (row.meter, row.channel, row.seconds, row.unit)
        verdict = signatures.get(key)
        if verdict is None:
            verdict = signatures[key] = _signature_verdict(row, meters, allowed, by_series)
        if verdict.__class__ is str:
            report.reject(row.ref, verdict)
            continue
        append, limit = verdict
        value, start = row.value, row.start
        if not 0 <= value <= limit or start.tzinfo is None:
            report.reject(row.ref, _row_problem(row, meters[row.meter]))
            continue
        epoch = int(start.timestamp())
        if not 0 <= epoch or epoch + row.seconds > latest_end:
            report.reject(row.ref, _time_problem(epoch, row.seconds))
            continue
        append((epoch, row.seconds, value, row.quality, row.ref))
    return by_series


def _validated_at_once(
    rows: list[RawReading], meters: dict[str, Meter], allowed: set[int] | None, by_series: dict, latest_end: int
) -> bool:
    """The common delivery, one meter channel at one length and unit with every row valid, checked column-wise.

    ``map`` and ``attrgetter`` pull each column out at C speed, and ``min``/``max`` check the
    values, so no Python runs per row. Returns False (having added nothing) when any check
    fails: the row-by-row path then finds and reports each problem row.
    """
    if not rows or len(set(map(_SIGNATURE, rows))) != 1:
        return False
    first = rows[0]
    scratch: dict = defaultdict(list)
    verdict = _signature_verdict(first, meters, allowed, scratch)
    if verdict.__class__ is str:
        return False
    limit = verdict[1]
    values = list(map(_VALUE, rows))
    moments = list(map(_START, rows))
    if not 0 <= min(values) or not max(values) <= limit or None in map(_TZINFO, moments):
        return False
    epochs = list(map(int, map(datetime.timestamp, moments)))
    if min(epochs) < 0 or max(epochs) + first.seconds > latest_end:
        return False
    by_series[(meters[first.meter].pk, first.channel)].extend(
        zip(epochs, repeat(first.seconds), values, map(_QUALITY, rows), map(_REF, rows), strict=False)
    )
    return True


_SIGNATURE = attrgetter("meter", "channel", "seconds", "unit")
_METER = attrgetter("meter")
_VALUE, _START, _QUALITY, _REF, _TZINFO = (attrgetter(name) for name in ("value", "start", "quality", "ref", "tzinfo"))


def _signature_verdict(
    row: RawReading, meters: dict[str, Meter], allowed: set[int] | None, by_series: dict
) -> tuple[Callable, float] | str:
    """The checks shared by every row with this row's meter, channel, interval length and unit."""
    meter = meters.get(row.meter)
    if meter is None or (allowed is not None and meter.pk not in allowed):
        return f"unknown meter {row.meter!r}"
    reason = _row_problem(row, meter, value_checks=False)
    if reason:
        return reason
    return by_series[(meter.pk, row.channel)].append, MAX_RATE_PER_SECOND[meter.kind] * row.seconds


def _shown(number: int) -> str:
    """A number as a message quotes it: huge ones (a parser's or a sender's mistake) are named, not written out.

    Writing out an int of more than 4,300 digits raises ValueError in Python, and even a shorter
    one only bloats the report and the audit entry.
    """
    if -(10**15) < number < 10**15:
        return str(number)
    return "an implausibly large number"


def _time_problem(start: int, seconds: int) -> str:
    """Why a reading's time is refused: before 1970 (no meter data is that old) or ending in the future."""
    if start < 0:
        return "reading starts before 1970"
    try:
        when = f"at {datetime.fromtimestamp(start + seconds, UTC):%Y-%m-%d %H:%M:%S} UTC"
    except (OverflowError, OSError, ValueError):
        when = "after the year 9999"
    return f"reading ends {when}, which is in the future (beyond the {settings.AMI_READING_CLOCK_SKEW_SECONDS} s allowed for clock skew)"


def _row_problem(row: RawReading, meter: Meter, *, value_checks: bool = True) -> str:
    expected_unit = UNIT_FOR_KIND[meter.kind]
    if row.unit != expected_unit:
        return f"unit {row.unit!r} is wrong for {meter.kind} meters (expects {expected_unit})"
    if row.channel not in (Channel.DELIVERED, Channel.RECEIVED):
        return f"unknown channel {row.channel!r}"
    if row.channel == Channel.RECEIVED and meter.kind != MeterKind.ELECTRIC:
        return "only electric meters have a received (export) channel"
    if not 0 < row.seconds <= MAX_INTERVAL_SECONDS:
        return f"interval length {_shown(row.seconds)} s is outside 1 s to 40 days"
    if not value_checks:
        return ""
    if row.value < 0:
        return f"negative reading {_shown(row.value)}"
    if row.value > MAX_RATE_PER_SECOND[meter.kind] * row.seconds:
        return f"reading {_shown(row.value)} {expected_unit} in {row.seconds} s is beyond what any {meter.kind} service can carry"
    if row.start.tzinfo is None:
        return "start has no UTC offset"
    return ""
