"""Reading ingest: validate a batch, write new readings and corrections, keep rollups current.

One path for every source (head-end CSV, the operator API, Green Button files,
the demo generator). On PostgreSQL new rows go through one binary COPY straight
into the readings table (the meters are row-locked and every row was classified
against what is stored, so the unique index is a guard, not a filter); on SQLite
through executemany. Rollup deltas are summed in Python per UTC hour and written
with one upsert. A batch with any rejection commits nothing unless
``accept_valid`` is set. See docs/billing-benchmarks.md for the measurements.
"""

from __future__ import annotations

import gc
import struct
import sys
import zoneinfo
from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import repeat
from operator import add, attrgetter, itemgetter, le, mul, sub

from django.db import connection, transaction

from amiportal.audit.services import audit_append
from amiportal.premises.models import Meter, MeterKind
from billing.models import UNIT_FOR_KIND, Channel, Granularity, IngestBatch, IntervalReading, Quality
from billing.services.rollups import day_periods, period_deltas_add
from billing.tariff_engine import PriceBook

# The longest interval accepted: a Green Button billing-period reading.
MAX_INTERVAL_SECONDS = 40 * 86400
# Above these rates a reading is absurd for the meter kind (per second of interval).
MAX_RATE_PER_SECOND = {
    MeterKind.ELECTRIC: 20_000_000 / 3600,  # 20 MW, in Wh per second
    MeterKind.GAS: 2_000_000 / 3600,  # 2,000 therm per hour, in mtherm per second
    MeterKind.WATER: 500.0,  # litres per second
}
MAX_REPORTED_ERRORS = 1000


@dataclass(slots=True)
class RawReading:
    """One reading as a parser understood it; ``ref`` says where it came from (a row or element)."""

    ref: str
    meter: str  # serial number
    channel: int
    start: datetime
    seconds: int
    value: int
    unit: str
    quality: int = Quality.ACTUAL


@dataclass
class IngestReport:
    accepted: int = 0
    corrected: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[dict] = field(default_factory=list)
    status: str = IngestBatch.Status.COMMITTED
    batch_id: int | None = None

    def reject(self, ref: str, reason: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"ref": ref, "reason": reason})

    def as_dict(self) -> dict:
        return {
            "batch_id": self.batch_id,
            "status": self.status,
            "accepted": self.accepted,
            "corrected": self.corrected,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "errors": self.errors,
        }


class _Plan:
    """What a validated batch will write."""

    def __init__(self) -> None:
        # The rows to insert, as columns (a fresh series is added with C-level ``extend``, and
        # the COPY packing and rollup sums read columns): start epoch, seconds, value, quality,
        # version, what the row adds to the rollups (its value, or new minus old for a
        # correction) and to their reading counts (1, or 0 for a correction).
        self.starts: list[int] = []
        self.seconds: list[int] = []
        self.values: list[int] = []
        self.qualities: list[int] = []
        self.versions: list[int] = []
        self.deltas: list[int] = []
        self.added: list[int] = []
        self.supersede: list[int] = []  # ids of readings replaced by a correction
        # (meter_id, channel, first index, end index) of each series' slice of the columns, in start order
        self.runs: list[tuple[int, int, int, int]] = []

    def __len__(self) -> int:
        return len(self.starts)

    def add(self, start: int, seconds: int, value: int, quality: int, version: int, delta: int, added: int) -> None:
        self.starts.append(start)
        self.seconds.append(seconds)
        self.values.append(value)
        self.qualities.append(quality)
        self.versions.append(version)
        self.deltas.append(delta)
        self.added.append(added)


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


@transaction.atomic
def readings_ingest(
    *,
    readings: Iterable[RawReading],
    source: int,
    pre_rejected: Iterable[tuple[str, str]] = (),
    accept_valid: bool = False,
    filename: str = "",
    actor=None,
    only_meters: Iterable[int] | None = None,
) -> IngestReport:
    """Validate and store one batch. ``pre_rejected`` carries the parser's own (ref, reason) rejections.

    ``only_meters`` (ids) restricts the batch to those meters: a Green Button import for one
    premise must never write to another premise's meter.
    """
    with _cyclic_gc_paused():
        return _ingest(
            readings=readings,
            source=source,
            pre_rejected=pre_rejected,
            accept_valid=accept_valid,
            filename=filename,
            actor=actor,
            only_meters=only_meters,
        )


@contextmanager
def _cyclic_gc_paused():
    """Hold off the cyclic garbage collector while a batch is planned and written.

    A meter-year allocates about 100,000 acyclic tuples, and each allocation burst made the
    collector walk every live object of the process again (measured: a quarter of the ingest
    time). Nothing here creates reference cycles that need prompt collection; reference counting
    still frees everything, and the collector runs as usual once the batch is done.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _ingest(
    *,
    readings: Iterable[RawReading],
    source: int,
    pre_rejected: Iterable[tuple[str, str]],
    accept_valid: bool,
    filename: str,
    actor,
    only_meters: Iterable[int] | None,
) -> IngestReport:
    report = IngestReport()
    for ref, reason in pre_rejected:
        report.reject(ref, reason)
    rows = list(readings)
    serials = set(map(_METER, rows))
    meters = {m.serial_number: m for m in Meter.objects.filter(serial_number__in=serials).select_related("premise")}
    allowed = set(only_meters) if only_meters is not None else None
    if meters:
        # Serialize ingest per meter so concurrent batches cannot both "correct" the same interval.
        list(Meter.objects.select_for_update().filter(pk__in=[m.pk for m in meters.values()]).values_list("pk", flat=True))

    by_series = _validated_series(rows, meters, allowed, report)

    plan = _Plan()
    for (meter_id, channel), series in by_series.items():
        _plan_series(meter_id, channel, series, plan, report)

    if report.rejected and not accept_valid:
        report.status = IngestBatch.Status.REJECTED
        report.accepted = report.corrected = report.duplicates = 0
        batch = _batch_record(report, source, filename, actor)
        audit_append(
            action="billing.ingest_rejected",
            actor=actor,
            actor_label=None if actor else "system",
            target=f"ingest:{batch.pk}",
            payload={"rejected": report.rejected, "filename": filename},
        )
        return report
    if report.rejected:
        report.status = IngestBatch.Status.PARTIAL
    batch = _batch_record(report, source, filename, actor)
    _write(plan, batch.pk, source, {meter.pk: meter for meter in meters.values()})
    audit_append(
        action="billing.ingest",
        actor=actor,
        actor_label=None if actor else "system",
        target=f"ingest:{batch.pk}",
        payload={
            "accepted": report.accepted,
            "corrected": report.corrected,
            "duplicates": report.duplicates,
            "rejected": report.rejected,
            "filename": filename,
        },
    )
    return report


def _batch_record(report: IngestReport, source: int, filename: str, actor) -> IngestBatch:
    batch = IngestBatch.objects.create(
        source=source,
        filename=filename[:255],
        submitted_by=actor if getattr(actor, "pk", None) else None,
        status=report.status,
        accepted=report.accepted,
        corrected=report.corrected,
        duplicates=report.duplicates,
        rejected=report.rejected,
        errors=report.errors,
    )
    report.batch_id = batch.pk
    return batch


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
    if _validated_at_once(rows, meters, allowed, by_series):
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
        append((int(start.timestamp()), row.seconds, value, row.quality, row.ref))
    return by_series


def _validated_at_once(rows: list[RawReading], meters: dict[str, Meter], allowed: set[int] | None, by_series: dict) -> bool:
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


def _row_problem(row: RawReading, meter: Meter, *, value_checks: bool = True) -> str:
    expected_unit = UNIT_FOR_KIND[meter.kind]
    if row.unit != expected_unit:
        return f"unit {row.unit!r} is wrong for {meter.kind} meters (expects {expected_unit})"
    if row.channel not in (Channel.DELIVERED, Channel.RECEIVED):
        return f"unknown channel {row.channel!r}"
    if row.channel == Channel.RECEIVED and meter.kind != MeterKind.ELECTRIC:
        return "only electric meters have a received (export) channel"
    if not 0 < row.seconds <= MAX_INTERVAL_SECONDS:
        return f"interval length {row.seconds} s is outside 1 s to 40 days"
    if not value_checks:
        return ""
    if row.value < 0:
        return f"negative reading {row.value}"
    if row.value > MAX_RATE_PER_SECOND[meter.kind] * row.seconds:
        return f"reading {row.value} {expected_unit} in {row.seconds} s is beyond what any {meter.kind} service can carry"
    if row.start.tzinfo is None:
        return "start has no UTC offset"
    return ""


def _plan_series(meter_id: int, channel: int, series: list[tuple[int, int, int, int, str]], plan: _Plan, report: IngestReport) -> None:
    """Classify one meter channel's rows as new, duplicate, correction or overlap."""
    if not series:  # every row of this meter channel was rejected
        return
    starts = list(map(itemgetter(0), series))
    if not all(map(le, starts, starts[1:])):
        series.sort(key=itemgetter(0))  # stable: rows with the same start keep their batch order
        starts = list(map(itemgetter(0), series))
    lengths = list(map(itemgetter(1), series))
    ends = list(map(add, starts, lengths))
    first, last_end = starts[0], max(ends)
    begin = len(plan)
    existing = {
        _epoch(start): (pk, seconds, value, quality, version)
        for pk, start, seconds, value, quality, version in IntervalReading.objects.filter(
            meter_id=meter_id,
            channel=channel,
            is_current=True,
            start__gte=datetime.fromtimestamp(first - MAX_INTERVAL_SECONDS, UTC),
            start__lt=datetime.fromtimestamp(last_end, UTC),
        ).values_list("id", "start", "seconds", "value", "quality", "version")
    }
    if not existing and all(map(le, ends, starts[1:])):
        # The common case, a fresh delivery: nothing stored around it and no overlap within it.
        values = list(map(itemgetter(2), series))
        count = len(series)
        plan.starts += starts
        plan.seconds += lengths
        plan.values += values
        plan.qualities.extend(map(itemgetter(3), series))
        plan.versions.extend(repeat(1, count))
        plan.deltas += values
        plan.added.extend(repeat(1, count))
        plan.runs.append((meter_id, channel, begin, len(plan)))
        report.accepted += len(series)
        return
    # Existing intervals sorted by start, to find overlaps of a different length.
    existing_spans = sorted((start, start + item[1]) for start, item in existing.items())
    span_index = 0
    previous_end, previous_seconds, previous_start = None, None, None
    seen: dict[int, tuple[int, int]] = {}
    for start, seconds, value, quality, ref in series:
        end = start + seconds
        if start in seen:
            if seen[start] == (seconds, value):
                report.duplicates += 1
            elif seen[start][0] != seconds:
                report.reject(ref, f"interval overlaps another of a different length in this batch (starting {_iso(start)})")
            else:
                report.reject(ref, "the same interval appears twice in this batch with different values")
            continue
        if previous_end is not None and start < previous_end and (start, seconds) != (previous_start, previous_seconds):
            report.reject(ref, f"interval overlaps another of a different length in this batch (starting {_iso(previous_start)})")
            continue
        current = existing.get(start)
        if current is None or current[1] != seconds:
            # Any stored interval that overlaps this one must be exactly this one.
            while span_index < len(existing_spans) and existing_spans[span_index][1] <= start:
                span_index += 1
            probe, clash = span_index, None
            while probe < len(existing_spans) and existing_spans[probe][0] < end:
                if existing_spans[probe] != (start, end):
                    clash = existing_spans[probe]
                    break
                probe += 1
            if clash is not None:
                report.reject(ref, f"interval overlaps a stored interval of a different length ({_iso(clash[0])}, {clash[1] - clash[0]} s)")
                continue
        seen[start] = (seconds, value)
        previous_end, previous_seconds, previous_start = end, seconds, start
        if current is None:
            plan.add(start, seconds, value, quality, 1, value, 1)
            report.accepted += 1
        elif current[2] == value and current[3] == quality:
            report.duplicates += 1
        else:
            plan.supersede.append(current[0])
            plan.add(start, seconds, value, quality, current[4] + 1, value - current[2], 0)
            report.corrected += 1
    plan.runs.append((meter_id, channel, begin, len(plan)))


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def _write(plan: _Plan, batch_id: int, source: int, meters: dict[int, Meter]) -> None:
    """Supersede corrected readings, insert the new ones, and add the deltas to the rollups."""
    now = datetime.now(UTC)
    if plan.supersede:
        for chunk_start in range(0, len(plan.supersede), 5000):
            IntervalReading.objects.filter(pk__in=plan.supersede[chunk_start : chunk_start + 5000]).update(
                is_current=False, superseded_at=now
            )
    if not len(plan):
        return
    deltas, period_deltas = _rollup_deltas(plan, meters)
    if connection.vendor == "postgresql":
        _write_postgresql(plan, deltas, batch_id, source)
    else:
        _write_plain(plan, deltas, batch_id, source)
    with connection.cursor() as cursor:
        period_deltas_add(cursor, period_deltas)


# Binary COPY rows (see ``_packed_run``): the field count, then each field as (length, value).
# Timestamps are microseconds since 2000-01-01 UTC, PostgreSQL's own form.
_COPY_READINGS = (
    "COPY billing_intervalreading (meter_id, channel, start, seconds, value, quality, version, source, is_current, batch_id) "
    "FROM STDIN (FORMAT BINARY)"
)
_COPY_ROW = struct.Struct(">h iq ih iq ii iq ih ii 23s")  # the last 23 bytes: source, is_current, batch_id (the same for every row)
_COPY_ROW_TAIL = struct.Struct(">ih i? iq")
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_COPY_TRAILER = struct.pack(">h", -1)
_POSTGRES_EPOCH = 946_684_800  # 2000-01-01T00:00:00Z in Unix seconds
_COPY_CHUNK_ROWS = 8192

# Deltas for rollup periods that already have a row go through a binary COPY into a temporary
# table (created once per session, emptied at commit) and one upsert.
_ROLLUP_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS billing_rollup_delta (meter_id bigint, channel smallint, granularity smallint, "
    "period_start timestamptz, value bigint, readings integer) ON COMMIT DELETE ROWS"
)
_COPY_DELTA_ROW = struct.Struct(">h iq ih ih iq iq ii")
_ROLLUPS_FROM_DELTAS = (
    "INSERT INTO billing_usagerollup (meter_id, channel, granularity, period_start, value, readings) "
    "SELECT meter_id, channel, granularity, period_start, value, readings FROM billing_rollup_delta "
    "ON CONFLICT (meter_id, channel, granularity, period_start) "
    "DO UPDATE SET value = billing_usagerollup.value + excluded.value, readings = billing_usagerollup.readings + excluded.readings"
)


def _write_postgresql(plan: _Plan, deltas: list[tuple[int, int, int, int, int, int]], batch_id: int, source: int) -> None:
    """One binary COPY straight into the readings table, then the rollups (see ``_write_rollups_postgresql``).

    No staging table and no ``ON CONFLICT``: every planned row was classified against the stored
    current versions while its meter was row-locked (and corrected rows were superseded just
    before), so none can conflict. ``reading_current_unique`` still guards: a conflict would
    abort the whole batch rather than silently drop a row the report counted as accepted.
    """
    columns = [plan.starts, plan.seconds, plan.values, plan.qualities, plan.versions]
    # psycopg3: COPY lives on the driver cursor; Django's wrapper turns its errors into django.db ones.
    with connection.cursor() as cursor, connection.wrap_database_errors:
        with cursor.cursor.copy(_COPY_READINGS) as copy:
            copy.write(_COPY_HEADER)
            for meter_id, channel, begin, end in plan.runs:
                for chunk_start in range(begin, end, _COPY_CHUNK_ROWS):
                    chunk_end = min(end, chunk_start + _COPY_CHUNK_ROWS)
                    copy.write(_packed_run(meter_id, channel, [column[chunk_start:chunk_end] for column in columns], source, batch_id))
            copy.write(_COPY_TRAILER)
        _write_rollups_postgresql(cursor, deltas)


# Where each varying field's value starts in a packed row, its array typecode and width.
_COPY_ROW_FIELDS = ((24, "q", 8), (36, "i", 4), (44, "q", 8), (56, "h", 2), (62, "i", 4))


def _packed_run(meter_id: int, channel: int, columns: list[list[int]], source: int, batch_id: int) -> bytes:
    """One meter channel's planned rows as binary COPY tuples, in ``_COPY_READINGS`` column order.

    No Python per row: a template row (meter, channel, the lengths and the constant tail) is
    repeated, then each varying column goes in as big-endian machine integers (``array``,
    byte-swapped) written byte by byte with strided slice assignment, all at C speed.
    """
    starts, seconds, values, qualities, versions = columns
    count = len(starts)
    tail = _COPY_ROW_TAIL.pack(2, source, 1, True, 8, batch_id)
    row = _COPY_ROW.pack(10, 8, meter_id, 2, channel, 8, 0, 4, 0, 8, 0, 2, 0, 4, 0, tail)
    width = len(row)
    packed = bytearray(row * count)
    epoch = _POSTGRES_EPOCH
    microseconds = list(map(mul, map(sub, starts, repeat(epoch, count)), repeat(1_000_000, count)))
    for (offset, typecode, size), column in zip(_COPY_ROW_FIELDS, (microseconds, seconds, values, qualities, versions), strict=True):
        numbers = array(typecode, column)
        if sys.byteorder == "little":
            numbers.byteswap()
        raw = numbers.tobytes()
        for byte in range(size):
            packed[offset + byte :: width] = raw[byte::size]
    return bytes(packed)


def _write_rollups_postgresql(cursor, deltas: list[tuple[int, int, int, int, int, int]]) -> None:
    """Rollup rows the batch creates go in by binary COPY; only periods that already have a row are upserted.

    A fresh delivery creates nearly all its rollup rows (a meter-year: 8,760 hours, 365 days, 12
    months), and ``INSERT .. ON CONFLICT`` costs about twice a COPY per row. Which periods exist is
    read under the same meter row locks that serialize every rollup write, so the split cannot
    race; ``rollup_unique`` still guards it.
    """
    existing: set[tuple[int, int, int, int]] = set()
    bounds: dict[tuple[int, int], list[int]] = {}
    for meter_id, channel, _, period, _, _ in deltas:
        span = bounds.get((meter_id, channel))
        if span is None:
            bounds[(meter_id, channel)] = [period, period]
        elif period < span[0]:
            span[0] = period
        elif period > span[1]:
            span[1] = period
    for (meter_id, channel), (low, high) in bounds.items():
        cursor.execute(_ROLLUP_KEYS, [meter_id, channel, low, high])
        existing.update((meter_id, channel, granularity, period) for granularity, period in cursor.fetchall())
    if existing:
        fresh = [row for row in deltas if row[:4] not in existing]
        changed = [row for row in deltas if row[:4] in existing]
    else:
        fresh, changed = deltas, []
    if fresh:
        _copy_rollups(
            cursor,
            "COPY billing_usagerollup (meter_id, channel, granularity, period_start, value, readings) FROM STDIN (FORMAT BINARY)",
            fresh,
        )
    if changed:
        cursor.execute(_ROLLUP_STAGE)
        _copy_rollups(cursor, "COPY billing_rollup_delta FROM STDIN (FORMAT BINARY)", changed)
        cursor.execute(_ROLLUPS_FROM_DELTAS)


def _copy_rollups(cursor, statement: str, rows: list[tuple[int, int, int, int, int, int]]) -> None:
    pack, epoch = _COPY_DELTA_ROW.pack, _POSTGRES_EPOCH
    with cursor.cursor.copy(statement) as copy:
        copy.write(_COPY_HEADER)
        copy.write(
            b"".join(
                [
                    pack(6, 8, meter_id, 2, channel, 2, granularity, 8, (period - epoch) * 1_000_000, 8, value, 4, count)
                    for meter_id, channel, granularity, period, value, count in rows
                ]
            )
        )
        copy.write(_COPY_TRAILER)


_ROLLUP_KEYS = (
    "SELECT granularity, extract(epoch FROM period_start)::bigint FROM billing_usagerollup "
    "WHERE meter_id = %s AND channel = %s AND granularity = ANY('{1,2,3}') "
    "AND period_start >= to_timestamp(%s) AND period_start <= to_timestamp(%s)"
)

_ROLLUP_UPSERT = (
    "INSERT INTO billing_usagerollup (meter_id, channel, granularity, period_start, value, readings) "
    "VALUES (%s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (meter_id, channel, granularity, period_start) "
    "DO UPDATE SET value = billing_usagerollup.value + excluded.value, readings = billing_usagerollup.readings + excluded.readings"
)


def _period_mappers(plan: _Plan, meters: dict[int, Meter]) -> tuple[dict[int, _LocalPeriods], dict[int, PriceBook | None]]:
    """Each meter's local-period mapper (one per time zone, shared) and tariff history (one per premise).

    Tariffs price electricity, so only electric meters get a tariff history: gas and water
    period rollups keep the whole day under ``""``.
    """
    premises = {meter_id: meters[meter_id].premise for meter_id in {run[0] for run in plan.runs}}
    by_zone = {name: _LocalPeriods(name) for name in {premise.timezone for premise in premises.values()}}
    last_day = datetime.fromtimestamp(max(plan.starts), UTC).date() + timedelta(days=2)
    books: dict[int, PriceBook] = {}
    for premise in premises.values():
        if premise.pk not in books:
            books[premise.pk] = PriceBook(premise, last_day, last_day)
    return (
        {meter_id: by_zone[premise.timezone] for meter_id, premise in premises.items()},
        {meter_id: books[premise.pk] if meters[meter_id].kind == MeterKind.ELECTRIC else None for meter_id, premise in premises.items()},
    )


# (meter id, channel, granularity, period start epoch, value, readings)
RollupDelta = tuple[int, int, int, int, int, int]
# (meter id, channel, local day, TOU period, value, readings)
PeriodDelta = tuple[int, int, date, str, int, int]


def _rollup_deltas(plan: _Plan, meters: dict[int, Meter]) -> tuple[list[RollupDelta], list[PeriodDelta]]:
    """What the batch adds to the hourly, daily and monthly rollups and to the per-TOU-period rollups.

    Each series' slice of the plan's columns is in start order. A regular stretch (fixed interval
    length dividing the hour, contiguous, starting on a UTC hour) is summed per UTC hour with
    strided slices (C-level ``map(add, ..)``, no Python loop per reading); anything else is
    split per UTC hour by bisection. Either way the Python work is per hour, not per reading.
    With a whole-hour UTC offset every instant of a UTC hour lies in the same local hour, day
    and month; hours where that does not hold (offsets such as +05:30, or a change of offset
    inside the hour) are mapped reading by reading. The local hour's TOU period comes from the
    premise's tariff history (``billing.services.rollups.day_periods``).
    """
    mappers, books = _period_mappers(plan, meters)
    starts, lengths, deltas, added = plan.starts, plan.seconds, plan.deltas, plan.added
    out: list[RollupDelta] = []
    period_out: list[PeriodDelta] = []
    for meter_id, channel, begin, end in plan.runs:
        mapper, book = mappers[meter_id], books[meter_id]
        # period start -> [value, readings], per granularity, for this meter channel
        by_hour: dict[int, list[int]] = {}
        by_day: dict[int, list[int]] = {}
        by_month: dict[int, list[int]] = {}
        by_period: dict[tuple[date, str], list[int]] = {}
        # Hours come in time order, so day, month and period sums run until their key changes and
        # only then go into their dictionary (a day is 24 hours but about 5 changes of period).
        day = month = period = None
        day_value = day_count = month_value = month_count = period_value = period_count = 0
        names: tuple[str, ...] = ()
        for keys, delta, count in _hour_pieces(mapper, starts, lengths, deltas, added, begin, end):
            hour_key, day_key, month_key, local_day, local_hour = keys
            entry = by_hour.get(hour_key)
            if entry is None:
                by_hour[hour_key] = [delta, count]
            else:
                entry[0] += delta
                entry[1] += count
            if day_key == day:
                day_value += delta
                day_count += count
            else:
                if day is not None:
                    _add_to(by_day, day, day_value, day_count)
                day, day_value, day_count = day_key, delta, count
                names = day_periods(book, local_day) if book is not None else _WHOLE_DAY
            if month_key == month:
                month_value += delta
                month_count += count
            else:
                if month is not None:
                    _add_to(by_month, month, month_value, month_count)
                month, month_value, month_count = month_key, delta, count
            period_key = (local_day, names[local_hour])
            if period_key == period:
                period_value += delta
                period_count += count
            else:
                if period is not None:
                    _add_to(by_period, period, period_value, period_count)
                period, period_value, period_count = period_key, delta, count
        if day is not None:
            _add_to(by_day, day, day_value, day_count)
            _add_to(by_month, month, month_value, month_count)
            _add_to(by_period, period, period_value, period_count)
        for granularity, by_key in ((Granularity.HOUR, by_hour), (Granularity.DAY, by_day), (Granularity.MONTH, by_month)):
            code = int(granularity)
            out.extend((meter_id, channel, code, period, value, count) for period, (value, count) in by_key.items())
        period_out.extend((meter_id, channel, day, name, value, count) for (day, name), (value, count) in by_period.items())
    return out, period_out


_WHOLE_DAY = ("",) * 24


def _add_to(sums: dict, key, value: int, count: int) -> None:
    entry = sums.get(key)
    if entry is None:
        sums[key] = [value, count]
    else:
        entry[0] += value
        entry[1] += count


def _hour_pieces(mapper: _LocalPeriods, starts, lengths, deltas, added, begin: int, end: int):
    """(local period keys, value, readings) per UTC hour (or per reading where an hour maps to two local hours)."""
    index = begin
    try_stride = True  # one attempt per series: a gap sends the rest of it down the bisection path
    while index < end:
        first, seconds = starts[index], lengths[index]
        if try_stride and first % 3600 == 0 and 3600 % seconds == 0 and seconds < 3600:
            try_stride = False
            per_hour = 3600 // seconds
            hours = (end - index) // per_hour
            stop = index + hours * per_hour
            # Starts are sorted and unique, so equal first and last offsets with one length throughout mean contiguous.
            if hours and starts[stop - 1] == first + (stop - 1 - index) * seconds and lengths[index:stop].count(seconds) == stop - index:
                hour_values = deltas[index:stop:per_hour]
                hour_counts = added[index:stop:per_hour]
                for offset in range(1, per_hour):
                    hour_values = list(map(add, hour_values, deltas[index + offset : stop : per_hour]))
                    hour_counts = list(map(add, hour_counts, added[index + offset : stop : per_hour]))
                hour_periods = mapper.hour_periods
                for number in range(hours):
                    keys = hour_periods(first + number * 3600)
                    if keys is None:
                        base = index + number * per_hour
                        for k in range(base, base + per_hour):
                            yield mapper.periods(starts[k]), deltas[k], added[k]
                    else:
                        yield keys, hour_values[number], hour_counts[number]
                index = stop
                continue
        hour = first - first % 3600
        stop = bisect_left(starts, hour + 3600, index, end)
        keys = mapper.hour_periods(hour)
        if keys is None:
            for k in range(index, stop):
                yield mapper.periods(starts[k]), deltas[k], added[k]
        else:
            yield keys, sum(deltas[index:stop]), sum(added[index:stop])
        index = stop


def _write_plain(plan: _Plan, deltas: list[tuple[int, int, int, int, int, int]], batch_id: int, source: int) -> None:
    """The portable path (SQLite): executemany for the readings and the rollup upserts."""

    def text(epoch: int) -> str:
        return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")

    params = [
        (
            meter_id,
            channel,
            text(plan.starts[i]),
            plan.seconds[i],
            plan.values[i],
            plan.qualities[i],
            source,
            plan.versions[i],
            True,
            batch_id,
        )
        for meter_id, channel, begin, end in plan.runs
        for i in range(begin, end)
    ]
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO billing_intervalreading "
            "(meter_id, channel, start, seconds, value, quality, source, version, is_current, batch_id) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            params,
        )
        cursor.executemany(_ROLLUP_UPSERT, [(m, c, g, text(p), value, count) for m, c, g, p, value, count in deltas])


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
