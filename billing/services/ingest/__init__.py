"""Reading ingest: validate a batch, write new readings and corrections, keep rollups current.

One path for every source (head-end CSV, the operator API, Green Button files,
the demo generator). On PostgreSQL new rows go through one binary COPY straight
into the readings table (the meters are row-locked and every row was classified
against what is stored, so the unique index is a guard, not a filter); on SQLite
through executemany. Rollup deltas are summed in Python per UTC hour and written
with one upsert. A batch with any rejection commits nothing unless
``accept_valid`` is set. See docs/billing-benchmarks.md for the measurements.

The package, by what each module holds:

- ``batch``: ``readings_ingest``, the service (lock the meters, validate, plan, write, report, audit);
- ``report``: ``RawReading`` (a parsed reading) and ``IngestReport``;
- ``validation``: the per-reading checks and the limits they apply;
- ``plan``: classifying valid readings against the stored ones (new, duplicate, correction, overlap);
- ``write``: writing a plan (superseding corrections; the portable SQLite path);
- ``copy_writer``: the PostgreSQL binary COPY of readings and rollups;
- ``rollup_deltas``: what a batch adds to the hourly, daily, monthly and TOU-period rollups;
- ``local_periods``: premise-local hours, days and months, and ``local_day_bounds``.
"""

from billing.services.ingest.batch import readings_ingest
from billing.services.ingest.local_periods import local_day_bounds
from billing.services.ingest.report import MAX_REPORTED_ERRORS, IngestReport, RawReading
from billing.services.ingest.rollup_deltas import PeriodDelta, RollupDelta
from billing.services.ingest.validation import MAX_INTERVAL_SECONDS, MAX_RATE_PER_SECOND

__all__ = [
    "MAX_INTERVAL_SECONDS",
    "MAX_RATE_PER_SECOND",
    "MAX_REPORTED_ERRORS",
    "IngestReport",
    "PeriodDelta",
    "RawReading",
    "RollupDelta",
    "local_day_bounds",
    "readings_ingest",
]
