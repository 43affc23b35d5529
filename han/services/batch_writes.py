"""Rows a report batch writes, one statement for many rows on PostgreSQL (``han.services.relay``).

A report batch moves many devices and touches several coordinators. Written one row at a time
through the ORM (or as one ``CASE`` per column and row), building the statements cost the
worker more CPU than anything else in the batch: ~0.7 ms a device move and ~0.65 ms a
coordinator. On PostgreSQL each is one ``UPDATE ... FROM (VALUES ...)``; elsewhere (SQLite in
development) the ORM writes them as before. What is written is decided by the caller; these
functions only write it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import BinaryField, Case, DateTimeField, F, PositiveBigIntegerField, PositiveIntegerField, Value, When
from django.db.models.functions import Coalesce, Greatest

from han.models import STATE_PATH, Coordinator, CoordinatorCommand, Device, DeviceState, JobState
from han.services.report_checks import ReportWindow


@dataclass(frozen=True)
class DeviceMove:
    """Move one device to ``state`` (with ``fields``), only if it is still behind it on the commissioning path."""

    device_id: int
    state: DeviceState
    fields: dict[str, Any]


def devices_move(moves: list[DeviceMove]) -> set[int]:
    """Write the moves; the ids of the devices that moved (a device already there or beyond stays as it is)."""
    if connection.vendor != "postgresql":
        return {move.device_id for move in moves if _device_move_orm(move)}
    groups: dict[tuple[DeviceState, tuple[str, ...]], list[DeviceMove]] = defaultdict(list)
    for move in moves:
        groups[(move.state, tuple(sorted(move.fields)))].append(move)
    moved: set[int] = set()
    for (state, names), members in groups.items():
        moved |= _devices_move_sql(state, names, members)
    return moved


def _earlier(state: DeviceState) -> list[str]:
    return [str(each) for each in STATE_PATH[: STATE_PATH.index(state)]]


def _device_move_orm(move: DeviceMove) -> bool:
    return bool(Device.objects.filter(pk=move.device_id, state__in=_earlier(move.state)).update(state=move.state, **move.fields))


def _devices_move_sql(state: DeviceState, names: tuple[str, ...], moves: list[DeviceMove]) -> set[int]:
    """One statement for the devices moving to the same state with the same fields (as ``QuerySet.update``:
    ``updated_at`` is not touched)."""
    fields = [Device._meta.get_field(name) for name in names]
    columns = [f.column for f in fields]
    row = "(" + ", ".join(["%s::bigint", *(f"%s::{f.cast_db_type(connection)}" for f in fields)]) + ")"
    earlier = _earlier(state)
    assignments = "".join(f", {column} = v.{column}" for column in columns)
    names_in_values = "".join(f", {column}" for column in columns)
    sql = (
        f"UPDATE han_device AS d SET state = %s{assignments} FROM (VALUES {', '.join([row] * len(moves))})"  # noqa: S608 (column names from the model)
        f" AS v(id{names_in_values}) WHERE d.id = v.id AND d.state IN ({', '.join(['%s'] * len(earlier))}) RETURNING d.id"
    )
    params: list[Any] = [str(state)]
    for move in moves:
        params.append(move.device_id)
        params += [f.get_db_prep_value(move.fields[f.name], connection) for f in fields]
    params += earlier
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


def jobs_done(job_ids: list[int]) -> None:
    """Mark the jobs done (their detail cleared), as ``QuerySet.update`` would: ``updated_at`` is not touched."""
    if connection.vendor != "postgresql":
        CoordinatorCommand.objects.filter(pk__in=job_ids).update(state=JobState.DONE, detail="")
        return
    with connection.cursor() as cursor:
        cursor.execute("UPDATE han_coordinatorcommand SET state = %s, detail = '' WHERE id = ANY(%s)", [str(JobState.DONE), list(job_ids)])


def jobs_relayed(job_ids: list[int], *, expires_at: datetime) -> None:
    """The jobs still ``relaying`` are ``relayed``: their envelope's expiry, one attempt more, lease, permit
    deadline and detail cleared (as ``QuerySet.update``: ``updated_at`` is not touched)."""
    if not job_ids:
        return
    if connection.vendor != "postgresql":
        CoordinatorCommand.objects.filter(pk__in=job_ids, state=JobState.RELAYING).update(
            state=JobState.RELAYED,
            expires_at=expires_at,
            attempts=F("attempts") + 1,
            lease_expires_at=None,
            permit_ends_at=None,
            detail="",
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE han_coordinatorcommand SET state = %s, expires_at = %s, attempts = attempts + 1,"
            " lease_expires_at = NULL, permit_ends_at = NULL, detail = '' WHERE id = ANY(%s) AND state = %s",
            [str(JobState.RELAYED), expires_at, list(job_ids), str(JobState.RELAYING)],
        )


@dataclass(frozen=True)
class CoordinatorRow:
    """What one report batch writes to one coordinator's row: its report numbers and counters (``window``,
    if it changed) and the signed time of its latest fresh report (``seen_at``), never moving back."""

    pk: int
    window: ReportWindow | None
    seen_at: datetime | None


_COORDINATORS_UPDATE = (
    "UPDATE han_coordinator AS c SET "
    "report_seq_high = CASE WHEN v.has_window THEN v.high ELSE c.report_seq_high END, "
    "report_seq_window = CASE WHEN v.has_window THEN v.win ELSE c.report_seq_window END, "
    "replayed_reports = c.replayed_reports + v.replayed, "
    "stale_heartbeats = c.stale_heartbeats + v.stale, "
    "late_reports = c.late_reports + v.late, "
    "last_seen_at = CASE WHEN v.seen IS NULL THEN c.last_seen_at ELSE GREATEST(c.last_seen_at, v.seen) END "
    "FROM (VALUES {rows}) AS v(id, has_window, high, win, replayed, stale, late, seen) "
    "WHERE c.id = v.id"
)
_COORDINATOR_VALUES = "(%s::bigint, %s::boolean, %s::bigint, %s::bytea, %s::integer, %s::integer, %s::integer, %s::timestamptz)"


def coordinators_write(rows: list[CoordinatorRow]) -> None:
    if connection.vendor != "postgresql":
        _coordinators_write_orm(rows)
        return
    params: list[Any] = []
    for row in rows:
        window = row.window
        params += [
            row.pk,
            window is not None,
            window.high if window else 0,
            window.stored_window() if window else b"",
            window.replayed if window else 0,
            window.stale_heartbeats if window else 0,
            window.late if window else 0,
            row.seen_at,
        ]
    with connection.cursor() as cursor:
        cursor.execute(_COORDINATORS_UPDATE.format(rows=", ".join([_COORDINATOR_VALUES] * len(rows))), params)


def _coordinators_write_orm(rows: list[CoordinatorRow]) -> None:
    windows = {row.pk: row.window for row in rows if row.window is not None}
    seen_at = {row.pk: row.seen_at for row in rows if row.seen_at is not None}

    def per_coordinator(values: dict[int, Any], field_name: str, output_field) -> Case:
        whens = [When(pk=pk, then=Value(value, output_field=output_field)) for pk, value in values.items()]
        return Case(*whens, default=F(field_name), output_field=output_field)

    fields: dict[str, Any] = {}
    if windows:
        fields["report_seq_high"] = per_coordinator({pk: w.high for pk, w in windows.items()}, "report_seq_high", PositiveBigIntegerField())
        fields["report_seq_window"] = per_coordinator(
            {pk: w.stored_window() for pk, w in windows.items()}, "report_seq_window", BinaryField()
        )
        for counter, attribute in (("replayed_reports", "replayed"), ("stale_heartbeats", "stale_heartbeats"), ("late_reports", "late")):
            counts = {pk: getattr(w, attribute) for pk, w in windows.items() if getattr(w, attribute)}
            if counts:
                fields[counter] = Case(
                    *[When(pk=pk, then=F(counter) + count) for pk, count in counts.items()],
                    default=F(counter),
                    output_field=PositiveIntegerField(),
                )
    if seen_at:
        seen = per_coordinator(seen_at, "last_seen_at", DateTimeField())
        fields["last_seen_at"] = Greatest(Coalesce(F("last_seen_at"), seen), seen)
    Coordinator.objects.filter(pk__in=[row.pk for row in rows]).update(**fields)
