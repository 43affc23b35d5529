"""The one read of interval readings inside occupancy windows.

The dashboard's CSV download, Download My Data and the third-party API all read readings
here. The windows carry the privacy rule: they come from ``occupancy_windows`` (a customer's
own occupancy) or ``thirdparty.selectors.consent_windows`` (the customer's occupancy, the
consent's history length, up to now), both built on the occupancy selectors.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.db.models.functions import TruncDate

from amiportal.premises.models import Meter
from billing.models import Channel, IntervalReading
from billing.selectors.windows import Window

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
