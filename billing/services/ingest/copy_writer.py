"""The PostgreSQL write path: binary COPY of the planned readings, and of new rollup periods (an upsert for existing ones)."""

from __future__ import annotations

import struct
import sys
from array import array
from itertools import repeat
from operator import mul, sub

from django.db import connection

from billing.services.ingest.plan import _Plan

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
