"""The one read path of a meter's readings and their rollups, always inside windows.

``interval_readings`` (raw readings: the CSV download, Download My Data, the third-party API)
and the aggregates the dashboard, periods, charts, bills, advice and notifications are built
from (``interval_rollups``: hourly or daily sums; ``interval_sums``: per-interval sums;
``period_rollups``: per-TOU-period daily sums) all live here and all take ``windows``, with no
default: there is no path that skips the privacy rule. The windows come from
``occupancy_windows`` (a customer's own occupancy) or ``thirdparty.selectors.consent_windows``
(the customer's occupancy, the consent's history length, up to now), both built on the
occupancy selectors, and every read is cut to them by the one ``clip``. Operator or benchmark
code that truly means the whole meter says so by passing ``[window_for_dates(premise, first, last)]``.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate

from amiportal.premises.models import Meter, Premise
from billing.models import Channel, Granularity, IntervalReading, PeriodRollup, UsageRollup
from billing.selectors.windows import Window, clip

BOTH_CHANNELS = (Channel.DELIVERED, Channel.RECEIVED)
# Up to this much time (about 6,000 readings a channel at 15 minutes) comes back from one plain
# query, a single round trip. A longer span streams through a server-side cursor instead, so
# memory stays bounded however much history is read.
PLAIN_QUERY_MAX = timedelta(days=62)
CHUNK_SIZE = 5000


def interval_readings(
    *,
    meter: Meter,
    windows: list[Window],
    channels: Iterable[int] = BOTH_CHANNELS,
    received_from: datetime | None = None,
    received_until: datetime | None = None,
) -> Iterator[tuple[datetime, int, int, int, int]]:
    """Current readings of ``meter`` inside ``windows``: (start, channel, seconds, value, quality), in time order.

    ``received_from`` / ``received_until`` keep only readings the utility received (their
    ingest batch) in that span (the ESPI ``updated-min`` / ``updated-max`` filters).
    """
    channels = tuple(channels)
    streamed = sum((window.end - window.start for window in windows), timedelta()) > PLAIN_QUERY_MAX
    for window in windows:
        rows: QuerySet = IntervalReading.objects.filter(
            meter=meter, channel__in=channels, is_current=True, start__gte=window.start, start__lt=window.end
        )
        if received_from:
            rows = rows.filter(batch__received_at__gte=received_from)
        if received_until:
            rows = rows.filter(batch__received_at__lte=received_until)
        rows = rows.order_by("start", "channel").values_list("start", "channel", "seconds", "value", "quality")
        yield from rows.iterator(chunk_size=CHUNK_SIZE) if streamed else rows


def interval_seconds_first(*, meter: Meter, windows: list[Window], channel: int) -> int | None:
    """The length of the first current reading of ``channel`` inside ``windows`` (a ReadingType's intervalLength), or None."""
    for window in windows:
        seconds = (
            IntervalReading.objects.filter(meter=meter, channel=channel, is_current=True, start__gte=window.start, start__lt=window.end)
            .order_by("start")
            .values_list("seconds", flat=True)
            .first()
        )
        if seconds is not None:
            return seconds
    return None


def interval_days_count(
    *,
    meter: Meter,
    windows: list[Window],
    channel: int,
    zone: str,
    received_from: datetime | None = None,
    received_until: datetime | None = None,
) -> int:
    """How many premise-local days (in ``zone``) have current readings of ``channel`` inside ``windows``: a feed's block count."""
    total = 0
    for window in windows:
        rows = IntervalReading.objects.filter(meter=meter, channel=channel, is_current=True, start__gte=window.start, start__lt=window.end)
        if received_from:
            rows = rows.filter(batch__received_at__gte=received_from)
        if received_until:
            rows = rows.filter(batch__received_at__lte=received_until)
        total += rows.annotate(day=TruncDate("start", tzinfo=zoneinfo.ZoneInfo(zone))).values("day").distinct().count()
    return total


def interval_peak(*, meter: Meter, start: datetime, end: datetime, windows: list[Window]) -> tuple[datetime, int, int] | None:
    """(start, value, seconds) of the delivered current reading with the highest average power from ``start`` to ``end`` inside
    ``windows`` (the earliest on a tie), or None."""
    parts = clip(windows, start=start, end=end)
    if not parts:
        return None
    inside = Q()
    for part in parts:
        inside |= Q(start__gte=part.start, start__lt=part.end)
    # Through the ORM (SQLite in development compares datetimes as text, which a raw parameter gets wrong).
    return (
        IntervalReading.objects.filter(inside, meter=meter, channel=Channel.DELIVERED, is_current=True)
        .annotate(watts=F("value") * 3600.0 / F("seconds"))
        .order_by("-watts", "start")
        .values_list("start", "value", "seconds")
        .first()
    )


# The sums are cast back to bigint (sum() of a bigint is numeric, which psycopg returns as Decimal):
# whole Wh as int, as on SQLite, so the chart data is JSON numbers and the pricing starts from ints.
# Every read of a meter's rollups or readings names both channels (``channel IN (1, 2)``): the
# unique indexes are (meter, channel, ...), and without a condition on channel PostgreSQL (before
# 18's skip scan) walks every entry of the meter to find a range; with it, one short descent per
# channel (a day of intervals: 10 index pages instead of about 700 on a two-year meter).

_ROLLUP_SUMS = (
    "SELECT period_start, coalesce(sum(value) FILTER (WHERE channel = %s), 0)::bigint, "
    "coalesce(sum(value) FILTER (WHERE channel = %s), 0)::bigint FROM billing_usagerollup "
    "WHERE meter_id = %s AND channel IN (%s, %s) AND granularity = %s AND ({ranges}) "
    "GROUP BY period_start ORDER BY period_start"
)


def interval_rollups(
    *, meter: Meter, granularity: int, start: datetime, end: datetime, windows: list[Window]
) -> list[tuple[datetime, int, int]]:
    """(period start, delivered, received) per rollup period from ``start`` to ``end`` inside ``windows``.

    The occupancy windows and the pairing of the two channels are done by the database (one
    index range scan per window on ``rollup_unique``), so Python gets one row per period.
    """
    parts = clip(windows, start=start, end=end)
    if not parts:
        return []
    if connection.vendor == "postgresql":
        # The same query as below without the ORM's per-call compile and per-row work: about half the time.
        ranges = " OR ".join(["(period_start >= %s AND period_start < %s)"] * len(parts))
        sql = _ROLLUP_SUMS.replace("{ranges}", ranges)
        with connection.cursor() as cursor:
            cursor.execute(sql, [*BOTH_CHANNELS, meter.pk, *BOTH_CHANNELS, granularity, *(b for p in parts for b in (p.start, p.end))])
            return cursor.fetchall()
    in_windows = Q()
    for part in parts:
        in_windows |= Q(period_start__gte=part.start, period_start__lt=part.end)
    return list(
        UsageRollup.objects.filter(in_windows, meter=meter, channel__in=BOTH_CHANNELS, granularity=granularity)
        .values("period_start")
        .annotate(
            delivered=Coalesce(Sum("value", filter=Q(channel=Channel.DELIVERED)), 0),
            received=Coalesce(Sum("value", filter=Q(channel=Channel.RECEIVED)), 0),
        )
        .order_by("period_start")
        .values_list("period_start", "delivered", "received")
    )


_INTERVAL_SUMS = (
    "SELECT start, coalesce(sum(value) FILTER (WHERE channel = %s), 0)::bigint, "
    "coalesce(sum(value) FILTER (WHERE channel = %s), 0)::bigint FROM billing_intervalreading "
    "WHERE meter_id = %s AND channel IN (%s, %s) AND is_current AND ({ranges}) "
    "GROUP BY start ORDER BY start"
)


def interval_sums(*, meter: Meter, start: datetime, end: datetime, windows: list[Window]) -> list[tuple[datetime, int, int]]:
    """(interval start, delivered, received) of the current readings from ``start`` to ``end`` within ``windows``, in time order.

    For a short span (the dashboard's day); a long one goes through ``interval_series``.
    """
    parts = clip(windows, start=start, end=end)
    if not parts:
        return []
    if connection.vendor == "postgresql":  # as in interval_rollups: no per-call ORM compile
        sql = _INTERVAL_SUMS.replace("{ranges}", " OR ".join(["(start >= %s AND start < %s)"] * len(parts)))
        with connection.cursor() as cursor:
            cursor.execute(sql, [*BOTH_CHANNELS, meter.pk, *BOTH_CHANNELS, *(b for p in parts for b in (p.start, p.end))])
            return cursor.fetchall()
    points: dict[datetime, list[int]] = {}
    for part in parts:
        rows = IntervalReading.objects.filter(
            meter=meter, channel__in=BOTH_CHANNELS, is_current=True, start__gte=part.start, start__lt=part.end
        ).values_list("start", "channel", "value")
        for moment, channel, value in rows:
            points.setdefault(moment, [0, 0])[0 if channel == Channel.DELIVERED else 1] += value
    return [(moment, *points[moment]) for moment in sorted(points)]


def hourly_usage(*, meter: Meter, start: datetime, end: datetime, windows: list[Window]) -> list[tuple[datetime, int, int]]:
    """(UTC hour start, delivered Wh, received Wh) from the hourly rollups inside ``windows``."""
    return interval_rollups(meter=meter, granularity=Granularity.HOUR, start=start, end=end, windows=windows)


def window_days(premise: Premise, windows: list[Window]) -> list[tuple[date, date]]:
    """Occupancy windows (whole premise-local days) as (first day, last day) pairs."""
    zone = zoneinfo.ZoneInfo(premise.timezone)
    return [(w.start.astimezone(zone).date(), (w.end.astimezone(zone) - timedelta(seconds=1)).date()) for w in windows]


_PERIOD_ROWS = "SELECT day, channel, period, value FROM billing_periodrollup WHERE meter_id = %s AND channel IN (%s, %s) AND ({ranges})"


def period_rollups(
    *, premise: Premise, meter: Meter, first_day: date, last_day: date, windows: list[Window]
) -> list[tuple[date, int, str, int]]:
    """(day, channel, period, value) of the meter's per-TOU-period rollups, local days ``first_day``..``last_day`` inside ``windows``.

    The rollups are whole local days, so ``windows`` count here as the days they cover (the
    occupancy windows are whole days).
    """
    ranges = [(max(low, first_day), min(high, last_day)) for low, high in window_days(premise, windows)]
    ranges = [(low, high) for low, high in ranges if low <= high]
    if not ranges:
        return []
    if connection.vendor == "postgresql":  # as in interval_rollups: no per-call ORM compile
        sql = _PERIOD_ROWS.replace("{ranges}", " OR ".join(["(day >= %s AND day <= %s)"] * len(ranges)))
        with connection.cursor() as cursor:
            cursor.execute(sql, [meter.pk, *BOTH_CHANNELS, *(day for pair in ranges for day in pair)])
            return cursor.fetchall()
    in_range = Q()
    for low, high in ranges:
        in_range |= Q(day__gte=low, day__lte=high)
    rows = PeriodRollup.objects.filter(in_range, meter=meter, channel__in=BOTH_CHANNELS)
    return list(rows.values_list("day", "channel", "period", "value"))
