"""PostgreSQL only: covering unique indexes and a BRIN index on reading time.

Django's model state keeps the plain unique constraints (SQLite cannot hold
INCLUDE columns); here, on PostgreSQL, they are rebuilt under the same names
with INCLUDE so the dashboard's range reads are index-only scans. See
docs/billing-storage.md for the measurements behind this choice.
"""

from django.db import migrations

FORWARD = [
    "DROP INDEX IF EXISTS reading_current_unique",
    "CREATE UNIQUE INDEX reading_current_unique ON billing_intervalreading (meter_id, channel, start) INCLUDE (seconds, value) WHERE is_current",
    "CREATE INDEX reading_start_brin ON billing_intervalreading USING brin (start)",
    "ALTER TABLE billing_usagerollup DROP CONSTRAINT rollup_unique",
    "ALTER TABLE billing_usagerollup ADD CONSTRAINT rollup_unique UNIQUE (meter_id, channel, granularity, period_start) INCLUDE (value)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS reading_start_brin",
    "DROP INDEX IF EXISTS reading_current_unique",
    "CREATE UNIQUE INDEX reading_current_unique ON billing_intervalreading (meter_id, channel, start) WHERE is_current",
    "ALTER TABLE billing_usagerollup DROP CONSTRAINT rollup_unique",
    "ALTER TABLE billing_usagerollup ADD CONSTRAINT rollup_unique UNIQUE (meter_id, channel, granularity, period_start)",
]


def _run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
