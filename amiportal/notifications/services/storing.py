"""Writing many notification and delivery rows at once: COPY on PostgreSQL, bulk_create elsewhere.

A fan-out (a critical-peak event to 100,000 homes) must store, de-duplicate and queue within a
minute; the ORM's per-object INSERT compilation alone would take longer. On PostgreSQL the rows
are COPYed into a temporary table and moved by one INSERT ... SELECT ... ON CONFLICT DO NOTHING,
so the natural-key constraints decide, in the database, which rows are new. Elsewhere (SQLite in
``make run``) ``bulk_create(ignore_conflicts=True)`` does the same with the same constraints.
"""

from __future__ import annotations

from django.db import connection

from amiportal.notifications.models import Delivery, Notification

NOTIFICATION_COLUMNS = (
    "kind",
    "subject",
    "premise_id",
    "period",
    "user_id",
    "account_id",
    "title",
    "body",
    "display_text",
    "link",
    "created_at",
    "batch",
)
DELIVERY_COLUMNS = ("notification_id", "channel", "state", "attempts", "next_attempt_at", "last_error", "delivered_at")
BATCH_SIZE = 5000


def notifications_insert_new(rows: list[tuple]) -> None:
    """Insert rows (NOTIFICATION_COLUMNS order); a row whose natural key exists is skipped. Call inside a transaction."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        Notification.objects.bulk_create(
            [Notification(**dict(zip(NOTIFICATION_COLUMNS, row, strict=True))) for row in rows],
            batch_size=BATCH_SIZE,
            ignore_conflicts=True,
        )
        return
    table, columns = Notification._meta.db_table, ", ".join(NOTIFICATION_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS notification_incoming (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
        cursor.execute("ALTER TABLE notification_incoming ALTER COLUMN id DROP NOT NULL")
        with cursor.cursor.copy(f"COPY notification_incoming ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM notification_incoming ON CONFLICT DO NOTHING")  # noqa: S608 (constant column names)
        cursor.execute("TRUNCATE notification_incoming")


def deliveries_insert(rows: list[tuple]) -> None:
    """Insert delivery rows (DELIVERY_COLUMNS order) for notifications this sender just stored (none can exist yet)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        Delivery.objects.bulk_create(
            [Delivery(**dict(zip(DELIVERY_COLUMNS, row, strict=True))) for row in rows], batch_size=BATCH_SIZE, ignore_conflicts=True
        )
        return
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {Delivery._meta.db_table} ({', '.join(DELIVERY_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
