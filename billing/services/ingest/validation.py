"""Checking each reading of a batch: its meter, unit, channel, interval length, value, UTC offset and that it is not in the future."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import repeat
from operator import attrgetter

from django.conf import settings
from django.utils import timezone

from amiportal.premises.models import Meter, MeterKind
from billing.models import Channel
from billing.services.ingest.report import IngestReport, RawReading
from billing.units import INPUT_UNITS, UNITS, UnknownUnit, conversion_factor, unit_get

# The longest interval accepted: a Green Button billing-period reading.
MAX_INTERVAL_SECONDS = 40 * 86400
# Above these rates a reading is absurd for the meter kind (per second of interval), in the kind's default stored unit.
MAX_RATE_PER_SECOND = {
    MeterKind.ELECTRIC: 20_000_000 / 3600,  # 20 MW, in Wh per second
    MeterKind.GAS: 2_000_000 / 3600,  # 2,000 therm per hour, in mtherm per second
    MeterKind.WATER: 500.0,  # litres per second
}
# The same limits by what a meter measures, in joules or litres per second (for any stored unit).
_MAX_BASE_RATE = {
    (MeterKind.ELECTRIC, "energy"): 20_000_000.0,  # 20 MW
    (MeterKind.GAS, "energy"): float(2_000 * UNITS["therm"].size / 3600),  # 2,000 therm per hour
    (MeterKind.GAS, "volume"): 6_000_000 / 3600,  # 6,000 m³ per hour, about 2,000 therm
    (MeterKind.WATER, "volume"): 500.0,  # litres per second
}


def max_rate(kind: str, stored: str) -> float:
    """The largest plausible reading per second of interval, in ``stored`` units, for a ``kind`` meter."""
    unit = UNITS[stored]
    return _MAX_BASE_RATE.get((kind, unit.quantity), 0.0) / float(unit.size)


def _latest_end() -> int:
    """The latest instant (epoch seconds) a reading may end: now plus the allowed clock skew."""
    return int(timezone.now().timestamp()) + settings.AMI_READING_CLOCK_SKEW_SECONDS


def _validated_series(
    rows: list[RawReading], meters: dict[str, Meter], allowed: set[int] | None, report: IngestReport, stored: dict[int, str]
) -> dict[tuple[int, int], list[tuple[int, int, int, int, str]]]:
    """Check every row; group the valid ones by (meter id, channel) as (start epoch, seconds, value, quality, ref).

    The checks that depend only on a row's meter, channel, interval length and unit are made once
    per distinct combination (a year of one meter's 15-minute data has one), so the per-row work is
    a dictionary lookup and the value and time-zone checks. Any row that fails gets its reason from
    ``_row_problem``, the one place the wording lives, so each rejected row is still reported.
    ``stored`` gives each meter's stored unit (by meter id); a row in another unit of the same
    quantity (kWh for a Wh meter, m³ for one stored in litres) is converted exactly, then rounded
    to the stored whole number.
    """
    by_series: dict[tuple[int, int], list[tuple[int, int, int, int, str]]] = defaultdict(list)
    latest_end = _latest_end()
    if _validated_at_once(rows, meters, allowed, by_series, latest_end, stored):
        return by_series
    # (serial, channel, seconds, unit) -> (the series' append, the largest acceptable value, the factor), or a reason
    signatures: dict[tuple[str, int, int, str], tuple[Callable, float, Decimal] | str] = {}
    for row in rows:
        key = (row.meter, row.channel, row.seconds, row.unit)
        verdict = signatures.get(key)
        if verdict is None:
            verdict = signatures[key] = _signature_verdict(row, meters, allowed, by_series, stored)
        if verdict.__class__ is str:
            report.reject(row.ref, verdict)
            continue
        append, limit, factor = verdict
        value, start = row.value, row.start
        if factor != 1 and value.__class__ is int and 0 <= value < 10**18:
            value = _converted(value, factor)
        if not 0 <= value <= limit or start.tzinfo is None:
            meter = meters[row.meter]
            report.reject(row.ref, _row_problem(row, meter, stored[meter.pk], value=value))
            continue
        epoch = int(start.timestamp())
        if not 0 <= epoch or epoch + row.seconds > latest_end:
            report.reject(row.ref, _time_problem(epoch, row.seconds))
            continue
        append((epoch, row.seconds, value, row.quality, row.ref))
    return by_series


def _validated_at_once(
    rows: list[RawReading], meters: dict[str, Meter], allowed: set[int] | None, by_series: dict, latest_end: int, stored: dict[int, str]
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
    verdict = _signature_verdict(first, meters, allowed, scratch, stored)
    if verdict.__class__ is str or verdict[2] != 1:
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
    row: RawReading, meters: dict[str, Meter], allowed: set[int] | None, by_series: dict, stored: dict[int, str]
) -> tuple[Callable, float, Decimal] | str:
    """The checks shared by every row with this row's meter, channel, interval length and unit."""
    meter = meters.get(row.meter)
    if meter is None or (allowed is not None and meter.pk not in allowed):
        return f"unknown meter {row.meter!r}"
    target = stored[meter.pk]
    reason = _row_problem(row, meter, target, value_checks=False)
    if reason:
        return reason
    factor = conversion_factor(row.unit, target) if row.unit != target else _ONE
    return by_series[(meter.pk, row.channel)].append, max_rate(meter.kind, target) * row.seconds, factor


_ONE = Decimal(1)


def _converted(value: int, factor: Decimal) -> int:
    """A whole number of one unit in the stored unit: exact for whole factors, else to the nearest (half to even)."""
    if factor == factor.to_integral_value():
        return value * int(factor)
    return int((value * factor).to_integral_value(rounding=ROUND_HALF_EVEN))


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


def _unit_problem(unit: str, meter: Meter, stored: str) -> str:
    """Why readings in ``unit`` cannot be stored for this meter (stored in ``stored``), or ""."""
    if unit == stored:
        return ""
    try:
        unit_get(unit)
    except UnknownUnit as error:
        return str(error)
    if unit not in INPUT_UNITS[meter.kind]:
        return f"unit {unit!r} is not one {meter.kind} meters are read in ({', '.join(sorted(INPUT_UNITS[meter.kind]))})"
    if UNITS[unit].quantity != UNITS[stored].quantity:
        return (
            f"unit {unit!r} measures {UNITS[unit].quantity}, but {meter.kind} meter {meter.serial_number} is read in "
            f"{UNITS[stored].quantity} (stored as {stored}); the file's readings cannot be stored without a conversion it does not give"
        )
    return ""


def _row_problem(row: RawReading, meter: Meter, stored: str, *, value_checks: bool = True, value: int | None = None) -> str:
    """Why a row is refused, or "". ``value`` is the row's value in ``stored`` (after conversion), when already worked out."""
    expected_unit = stored
    unit_problem = _unit_problem(row.unit, meter, stored)
    if unit_problem:
        return unit_problem
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
    value = row.value if value is None else value
    if value > max_rate(meter.kind, stored) * row.seconds:
        return f"reading {_shown(value)} {expected_unit} in {row.seconds} s is beyond what any {meter.kind} service can carry"
    if row.start.tzinfo is None:
        return "start has no UTC offset"
    return ""
