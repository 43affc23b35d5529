"""Writing a planned batch: supersede the corrected readings, insert the new ones, add to the rollups."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection

from amiportal.premises.models import Meter
from billing.models import IntervalReading
from billing.services.ingest.copy_writer import _write_postgresql
from billing.services.ingest.plan import _Plan
from billing.services.ingest.rollup_deltas import _rollup_deltas
from billing.services.rollups import period_deltas_add


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


_ROLLUP_UPSERT = (
    "INSERT INTO billing_usagerollup (meter_id, channel, granularity, period_start, value, readings) "
    "VALUES (%s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (meter_id, channel, granularity, period_start) "
    "DO UPDATE SET value = billing_usagerollup.value + excluded.value, readings = billing_usagerollup.readings + excluded.readings"
)


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
