"""Per-TOU-period rollups: which period each local hour belongs to, and rebuilding them when the tariff changes.

``PeriodRollup`` rows are added to by every ingest (from the same hourly deltas as the hourly,
daily and monthly rollups, in ``billing.services.ingest``). Their key depends on the premise's
tariff history, so a new tariff assignment or a new tariff version rebuilds the days it
affects from the hourly rollups (``period_rollups_rebuild``). Critical-peak events are not part
of the key: a day with an event is priced from its hourly rollups.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from datetime import UTC, date, datetime

from django.db import connection, transaction

from amiportal.premises.models import Meter, MeterKind, Premise
from billing.models import Granularity, PeriodRollup, PremiseTariff, TariffVersion, UsageRollup
from billing.tariff_engine import PriceBook

# (version id, version created_at, local date) -> the base period of each local hour 0..23.
# Versions are never edited (a change of terms is a new version), so the answer never goes stale.
_DAY_PERIODS: dict[tuple[int, datetime, date], tuple[str, ...]] = {}
_MAX_DAYS = 100_000
_NO_TARIFF = ("",) * 24


def day_periods(book: PriceBook, day: date) -> tuple[str, ...]:
    """The ``PeriodRollup.period`` of each local hour (0 to 23) of ``day`` under ``book``'s tariff history."""
    version = book.version_on(day)
    if version is None:
        return _NO_TARIFF
    key = (version.pk, version.created_at, day)
    found = _DAY_PERIODS.get(key)
    if found is None:
        if len(_DAY_PERIODS) > _MAX_DAYS:
            _DAY_PERIODS.clear()
        found = _DAY_PERIODS[key] = tuple(book.base_period(day, hour) for hour in range(24))
    return found


_UPSERT = (
    "INSERT INTO billing_periodrollup (meter_id, channel, day, period, value, readings) "
    "SELECT * FROM unnest(%s::bigint[], %s::smallint[], %s::date[], %s::varchar[], %s::bigint[], %s::integer[]) "
    "ON CONFLICT (meter_id, channel, day, period) "
    "DO UPDATE SET value = billing_periodrollup.value + excluded.value, readings = billing_periodrollup.readings + excluded.readings"
)
_UPSERT_ONE = (
    "INSERT INTO billing_periodrollup (meter_id, channel, day, period, value, readings) VALUES (%s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (meter_id, channel, day, period) "
    "DO UPDATE SET value = billing_periodrollup.value + excluded.value, readings = billing_periodrollup.readings + excluded.readings"
)


def period_deltas_add(cursor, deltas: list[tuple[int, int, date, str, int, int]]) -> None:
    """Add (meter id, channel, local day, period, value, readings) to the period rollups, in one statement on PostgreSQL."""
    if not deltas:
        return
    if connection.vendor == "postgresql":
        cursor.execute(_UPSERT, [list(column) for column in zip(*deltas, strict=True)])
    else:
        cursor.executemany(_UPSERT_ONE, [(m, c, d.isoformat(), p, v, n) for m, c, d, p, v, n in deltas])


@transaction.atomic
def period_rollups_rebuild(*, premise: Premise, first_day: date) -> int:
    """Recompute the premise's period rollups from ``first_day`` on, from its hourly rollups.

    Called when what decides a local hour's period changes from that day: a new tariff
    assignment, or a new version of a tariff the premise is on. The meters are row-locked, as
    ingest locks them, so a concurrent ingest cannot add to rows being rebuilt. Returns the
    number of rows written.
    """
    kinds = dict(Meter.objects.select_for_update(no_key=True).filter(premise=premise).order_by("pk").values_list("pk", "kind"))
    meter_ids = list(kinds)
    if not meter_ids:
        return 0
    PeriodRollup.objects.filter(meter_id__in=meter_ids, day__gte=first_day).delete()
    zone = zoneinfo.ZoneInfo(premise.timezone)
    begin = datetime(first_day.year, first_day.month, first_day.day, tzinfo=zone).astimezone(UTC)
    hours = UsageRollup.objects.filter(meter_id__in=meter_ids, granularity=Granularity.HOUR, period_start__gte=begin).values_list(
        "meter_id", "channel", "period_start", "value", "readings"
    )
    last = (
        UsageRollup.objects.filter(meter_id__in=meter_ids, granularity=Granularity.HOUR, period_start__gte=begin)
        .order_by("-period_start")
        .values_list("period_start", flat=True)
        .first()
    )
    if last is None:
        return 0
    book = PriceBook(premise, first_day, last.astimezone(zone).date())
    sums: dict[tuple[int, int, date, str], list[int]] = defaultdict(lambda: [0, 0])
    for meter_id, channel, start, value, count in hours.iterator(chunk_size=5000):
        local = start.astimezone(zone)
        day = local.date()
        # Tariffs price electricity: gas and water keep the whole day under "".
        period = day_periods(book, day)[local.hour] if kinds[meter_id] == MeterKind.ELECTRIC else ""
        entry = sums[(meter_id, channel, day, period)]
        entry[0] += value
        entry[1] += count
    rows = [(*key, value, count) for key, (value, count) in sums.items()]
    with connection.cursor() as cursor:
        period_deltas_add(cursor, rows)
    return len(rows)


def period_rollups_rebuild_for_version(*, version: TariffVersion) -> None:
    """A new version of a tariff changes the periods of every premise on it from its effective day."""
    assignments = PremiseTariff.objects.filter(tariff_id=version.tariff_id).exclude(end__lt=version.effective_from)
    assignments = assignments.select_related("premise").order_by("premise_id")  # one lock order for concurrent rebuilds
    first_by_premise: dict[int, tuple[Premise, date]] = {}
    for assignment in assignments:
        first = max(assignment.start, version.effective_from)
        known = first_by_premise.get(assignment.premise_id)
        if known is None or first < known[1]:
            first_by_premise[assignment.premise_id] = (assignment.premise, first)
    for premise, first in first_by_premise.values():
        period_rollups_rebuild(premise=premise, first_day=first)
