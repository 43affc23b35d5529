"""Reading ingest: validate a batch, write new readings and corrections, keep rollups current.

One path for every source (head-end CSV, the operator API, Green Button files,
the demo generator). On PostgreSQL new rows go through COPY into a temporary
table and one ``INSERT .. ON CONFLICT``; on SQLite through executemany.
A batch with any rejection commits nothing unless ``accept_valid`` is set.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from django.db import connection, transaction

from amiportal.audit.services import audit_append
from amiportal.premises.models import Meter, MeterKind
from billing.models import UNIT_FOR_KIND, Channel, Granularity, IngestBatch, IntervalReading, Quality

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
        # (meter_id, channel, start_epoch, seconds, value, quality, version, rollup delta, readings added)
        self.inserts: list[tuple[int, int, int, int, int, int, int, int, int]] = []
        self.supersede: list[int] = []  # ids of readings replaced by a correction


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
    report = IngestReport()
    for ref, reason in pre_rejected:
        report.reject(ref, reason)
    rows = list(readings)
    serials = {row.meter for row in rows}
    meters = {m.serial_number: m for m in Meter.objects.filter(serial_number__in=serials).select_related("premise")}
    allowed = set(only_meters) if only_meters is not None else None
    if meters:
        # Serialize ingest per meter so concurrent batches cannot both "correct" the same interval.
        list(Meter.objects.select_for_update().filter(pk__in=[m.pk for m in meters.values()]).values_list("pk", flat=True))

    by_series: dict[tuple[int, int], list[tuple[int, int, int, int, str]]] = defaultdict(list)
    for row in rows:
        meter = meters.get(row.meter)
        if meter is None or (allowed is not None and meter.pk not in allowed):
            report.reject(row.ref, f"unknown meter {row.meter!r}")
            continue
        reason = _row_problem(row, meter)
        if reason:
            report.reject(row.ref, reason)
            continue
        by_series[(meter.pk, row.channel)].append((_epoch(row.start), row.seconds, row.value, row.quality, row.ref))

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
    _write(plan, batch.pk, source)
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


def _row_problem(row: RawReading, meter: Meter) -> str:
    expected_unit = UNIT_FOR_KIND[meter.kind]
    if row.unit != expected_unit:
        return f"unit {row.unit!r} is wrong for {meter.kind} meters (expects {expected_unit})"
    if row.channel not in (Channel.DELIVERED, Channel.RECEIVED):
        return f"unknown channel {row.channel!r}"
    if row.channel == Channel.RECEIVED and meter.kind != MeterKind.ELECTRIC:
        return "only electric meters have a received (export) channel"
    if not 0 < row.seconds <= MAX_INTERVAL_SECONDS:
        return f"interval length {row.seconds} s is outside 1 s to 40 days"
    if row.value < 0:
        return f"negative reading {row.value}"
    if row.value > MAX_RATE_PER_SECOND[meter.kind] * row.seconds:
        return f"reading {row.value} {expected_unit} in {row.seconds} s is beyond what any {meter.kind} service can carry"
    if row.start.tzinfo is None:
        return "start has no UTC offset"
    return ""


def _plan_series(meter_id: int, channel: int, series: list[tuple[int, int, int, int, str]], plan: _Plan, report: IngestReport) -> None:
    """Classify one meter channel's rows as new, duplicate, correction or overlap."""
    series.sort(key=lambda item: item[0])
    first, last_end = series[0][0], max(start + seconds for start, seconds, *_ in series)
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
    if not existing and all(a[0] + a[1] <= b[0] for a, b in pairwise(series)):
        # The common case, a fresh delivery: nothing stored around it and no overlap within it.
        plan.inserts.extend(
            (meter_id, channel, start, seconds, value, quality, 1, value, 1) for start, seconds, value, quality, _ in series
        )
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
            plan.inserts.append((meter_id, channel, start, seconds, value, quality, 1, value, 1))
            report.accepted += 1
        elif current[2] == value and current[3] == quality:
            report.duplicates += 1
        else:
            plan.supersede.append(current[0])
            plan.inserts.append((meter_id, channel, start, seconds, value, quality, current[4] + 1, value - current[2], 0))
            report.corrected += 1


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def _write(plan: _Plan, batch_id: int, source: int) -> None:
    """Supersede corrected readings, insert the new ones, and add the deltas to the rollups."""
    now = datetime.now(UTC)
    if plan.supersede:
        for chunk_start in range(0, len(plan.supersede), 5000):
            IntervalReading.objects.filter(pk__in=plan.supersede[chunk_start : chunk_start + 5000]).update(
                is_current=False, superseded_at=now
            )
    if not plan.inserts:
        return
    if connection.vendor == "postgresql":
        _write_postgresql(plan, batch_id, source)
    else:
        _write_plain(plan, batch_id, source)


_STAGE_TABLE = (
    "CREATE TEMP TABLE IF NOT EXISTS billing_ingest_stage (meter_id bigint, channel smallint, start_epoch bigint, "
    "seconds integer, value bigint, quality smallint, version integer, delta bigint, added integer, "
    "hour_epoch bigint, day_epoch bigint, month_epoch bigint) ON COMMIT DELETE ROWS"
)
_INSERT_FROM_STAGE = (
    "INSERT INTO billing_intervalreading (meter_id, channel, start, seconds, value, quality, source, version, is_current, batch_id) "
    "SELECT meter_id, channel, to_timestamp(start_epoch), seconds, value, quality, %s, version, true, %s "
    "FROM billing_ingest_stage ON CONFLICT (meter_id, channel, start) WHERE is_current DO NOTHING"
)
# The staged rows carry the premise-local hour, day and month each reading falls in (worked
# out in Python, once per UTC hour), so the rollup sums group plain integers.
_ROLLUPS_FROM_STAGE = (
    "INSERT INTO billing_usagerollup (meter_id, channel, granularity, period_start, value, readings) "
    "SELECT meter_id, channel, granularity, to_timestamp(period_epoch), value, readings FROM ("
    " SELECT meter_id, channel, 1 AS granularity, hour_epoch AS period_epoch, sum(delta) AS value, sum(added) AS readings"
    " FROM billing_ingest_stage GROUP BY meter_id, channel, hour_epoch"
    " UNION ALL SELECT meter_id, channel, 2, day_epoch, sum(delta), sum(added)"
    " FROM billing_ingest_stage GROUP BY meter_id, channel, day_epoch"
    " UNION ALL SELECT meter_id, channel, 3, month_epoch, sum(delta), sum(added)"
    " FROM billing_ingest_stage GROUP BY meter_id, channel, month_epoch"
    ") AS sums "
    "ON CONFLICT (meter_id, channel, granularity, period_start) "
    "DO UPDATE SET value = billing_usagerollup.value + excluded.value, readings = billing_usagerollup.readings + excluded.readings"
)


def _write_postgresql(plan: _Plan, batch_id: int, source: int) -> None:
    mappers = _period_mappers(plan)  # before COPY: the connection runs no other query during it
    with connection.cursor() as cursor:
        cursor.execute(_STAGE_TABLE)
        cursor.execute("TRUNCATE billing_ingest_stage")
        # psycopg3: COPY lives on the driver cursor. Binary, with epoch seconds rather than
        # timestamps: the cheapest form to send; PostgreSQL converts each value once.
        with cursor.cursor.copy("COPY billing_ingest_stage FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "int2", "int8", "int4", "int8", "int2", "int4", "int8", "int4"] + ["int8"] * 3)
            write = copy.write_row
            for row in plan.inserts:
                mapper = mappers[row[0]]
                start = row[2]
                periods = mapper.cache.get(start - start % 3600) or mapper.periods(start)
                write(row + periods)
        cursor.execute(_INSERT_FROM_STAGE, [source, batch_id])
        cursor.execute(_ROLLUPS_FROM_STAGE)


_ROLLUP_UPSERT = (
    "INSERT INTO billing_usagerollup (meter_id, channel, granularity, period_start, value, readings) "
    "VALUES (%s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (meter_id, channel, granularity, period_start) "
    "DO UPDATE SET value = billing_usagerollup.value + excluded.value, readings = billing_usagerollup.readings + excluded.readings"
)


def _period_mappers(plan: _Plan) -> dict[int, _LocalPeriods]:
    """Each meter's local-period mapper (one per time zone, shared)."""
    zones = dict(Meter.objects.filter(pk__in={row[0] for row in plan.inserts}).values_list("pk", "premise__timezone"))
    by_zone = {name: _LocalPeriods(name) for name in set(zones.values())}
    return {meter_id: by_zone[name] for meter_id, name in zones.items()}


def _write_plain(plan: _Plan, batch_id: int, source: int) -> None:
    """The portable path (SQLite): executemany, and rollups summed in Python."""

    def text(epoch: int) -> str:
        return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")

    params = [
        (meter_id, channel, text(start), seconds, value, quality, source, version, True, batch_id)
        for meter_id, channel, start, seconds, value, quality, version, _, _ in plan.inserts
    ]
    mappers = _period_mappers(plan)
    sums: dict[tuple[int, int, int, int], list[int]] = {}
    for meter_id, channel, start, _, _, _, _, delta, added in plan.inserts:
        for granularity, period in zip(
            (Granularity.HOUR, Granularity.DAY, Granularity.MONTH), mappers[meter_id].periods(start), strict=True
        ):
            entry = sums.setdefault((meter_id, channel, granularity, period), [0, 0])
            entry[0] += delta
            entry[1] += added
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO billing_intervalreading "
            "(meter_id, channel, start, seconds, value, quality, source, version, is_current, batch_id) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            params,
        )
        cursor.executemany(_ROLLUP_UPSERT, [(m, c, g, text(p), value, count) for (m, c, g, p), (value, count) in sums.items()])


class _LocalPeriods:
    """Maps an interval start to the instants its premise-local hour, day and month begin (cached per UTC hour)."""

    def __init__(self, tz_name: str) -> None:
        self.zone = zoneinfo.ZoneInfo(tz_name)
        self.cache: dict[int, tuple[int, int, int]] = {}

    def periods(self, start: int) -> tuple[int, int, int]:
        hour_key = start - start % 3600
        found = self.cache.get(hour_key)
        if found is not None:
            return found
        local = datetime.fromtimestamp(start, self.zone)
        hour = local.replace(minute=0, second=0, microsecond=0)
        day = local.replace(hour=0, minute=0, second=0, microsecond=0, fold=0)
        month = day.replace(day=1)
        result = (_epoch(hour), _epoch(day), _epoch(month))
        # With a whole-hour offset every start in this UTC hour has the same local periods.
        if local.utcoffset().total_seconds() % 3600 == 0:
            self.cache[hour_key] = result
        return result


def local_day_bounds(day, tz_name: str) -> tuple[datetime, datetime]:
    """The UTC instants a premise-local day starts and ends (23 or 25 hours apart at DST changes)."""
    zone = zoneinfo.ZoneInfo(tz_name)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)
