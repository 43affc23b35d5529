"""ESPI resources as plain entries, built only from what a consent allows.

An entry is a dict: ``id``, ``type`` (the ESPI element), ``title``, ``published``,
``updated``, ``links`` (self, up, related) and ``content``, whose keys are ESPI element
names in schema order, so the Atom renderer and the JSON renderer share one shape.
"""

from __future__ import annotations

import uuid
import zoneinfo
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from amiportal.premises.models import Meter, MeterKind
from billing.formats.espi_write import FLOW, QUALITY_CODE, READING_TYPE, SERVICE_KIND
from billing.meter_units import espi_reading_unit
from billing.models import Channel, IntervalReading
from billing.selectors import electric_meter, period_cost
from billing.tariff_engine import NoTariff
from thirdparty.api.filters import EspiQuery
from thirdparty.models import Consent, ConsentStatus
from thirdparty.selectors import clip_windows, consent_premises, consent_windows

ROOT = "/espi/1_1/resource"
AUTHORIZATION_STATUS = {ConsentStatus.ACTIVE: 1, ConsentStatus.REVOKED: 0, ConsentStatus.EXPIRED: 0}
USD = 840
# ESPI costs are in hundred-thousandths of the currency; ours are cents.
COST_SCALE = 1000


def ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def urn(*parts) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, '/'.join(str(p) for p in parts))}"


def entry(
    kind: str, path: str, title: str, content: dict, *, up: str, related: list[tuple[str, str]] = (), moment: datetime | None = None
) -> dict:
    stamp = ts(moment or timezone.now())
    links = [{"rel": "self", "href": path, "type": f"espi-entry/{kind}"}, {"rel": "up", "href": up, "type": f"espi-feed/{kind}"}]
    links += [{"rel": "related", "href": href, "type": f"espi-feed/{rtype}"} for href, rtype in related]
    return {"id": urn(path), "type": kind, "title": title, "published": stamp, "updated": stamp, "links": links, "content": content}


def feed(path: str, title: str, entries: list[dict], *, total: int, query: EspiQuery | None = None) -> dict:
    return {
        "id": urn("feed", path),
        "title": title,
        "updated": ts(timezone.now()),
        "links": [{"rel": "self", "href": path}],
        "total_results": total,
        "start_index": query.start_index if query else 1,
        "max_results": query.max_results if query else total,
        "entries": entries,
    }


# --- Service status and the authorization itself ------------------------------------------


def service_status_entry() -> dict:
    return entry(
        "ServiceStatus", f"{ROOT}/ReadServiceStatus", "Data custodian service status", {"currentStatus": 1}, up=f"{ROOT}/ReadServiceStatus"
    )


def published_period(consent: Consent, now: datetime | None = None) -> dict:
    """The span of readings the consent serves now: the history length back from now, within the customer's occupancy.

    The same windows the data routes serve (``consent_windows``), from the earliest start
    to the latest end; nothing at all (an ended consent, no occupancy left in reach) is an
    empty period starting now.
    """
    now = now or timezone.now()
    windows = [w for premise in consent_premises(consent=consent) for w in consent_windows(consent=consent, premise=premise, now=now)]
    if not consent.is_live(now) or not windows:
        return {"duration": 0, "start": int(now.timestamp())}
    start, end = min(w.start for w in windows), max(w.end for w in windows)
    return {"duration": int((end - start).total_seconds()), "start": int(start.timestamp())}


def authorization_entry(consent: Consent) -> dict:
    path = f"{ROOT}/Authorization/{consent.pk}"
    content = {
        "authorizedPeriod": {
            "duration": int((consent.expires_at - consent.granted_at).total_seconds()),
            "start": int(consent.granted_at.timestamp()),
        },
        "publishedPeriod": published_period(consent),
        # Active only while it is live: one past its end reads 0 even before the expiry sweep has marked it.
        "status": AUTHORIZATION_STATUS[ConsentStatus(consent.status)] if consent.is_live() else 0,
        "expires_at": int(consent.expires_at.timestamp()),
        "scope": consent.scope_text(),
        "token_type": "Bearer",
        "resourceURI": f"{ROOT}/Subscription/{consent.pk}",
        "authorizationURI": path,
    }
    return entry(
        "Authorization",
        path,
        f"Authorization by the customer for {consent.application.name}",
        content,
        up=f"{ROOT}/Authorization",
        related=[(content["resourceURI"] + "/UsagePoint", "UsagePoint")],
        moment=consent.updated_at,
    )


# --- Usage points, meter readings, reading types ---------------------------------------------


def _subscription(consent: Consent) -> str:
    return f"{ROOT}/Subscription/{consent.pk}"


def channels_for(meter: Meter) -> list[int]:
    return [Channel.DELIVERED, Channel.RECEIVED] if meter.kind == MeterKind.ELECTRIC else [Channel.DELIVERED]


def channel_get(meter: Meter, reading_id: int) -> int:
    if reading_id not in channels_for(meter):
        raise Http404("No such meter reading.")
    return reading_id


def usage_point_entry(consent: Consent, meter: Meter, *, with_summary: bool) -> dict:
    point = f"{_subscription(consent)}/UsagePoint/{meter.pk}"
    related = [(f"{point}/MeterReading", "MeterReading")]
    if with_summary:
        related.append((f"{point}/UsageSummary", "UsageSummary"))
    return entry(
        "UsagePoint",
        point,
        f"{meter.get_kind_display()} service at {meter.premise.address_line}",
        {"ServiceCategory": {"kind": SERVICE_KIND[meter.kind]}},
        up=f"{_subscription(consent)}/UsagePoint",
        related=related,
    )


def _label(channel: int) -> str:
    return "delivered" if channel == Channel.DELIVERED else "received"


def meter_reading_entry(consent: Consent, meter: Meter, channel: int) -> dict:
    point = f"{_subscription(consent)}/UsagePoint/{meter.pk}"
    path = f"{point}/MeterReading/{channel}"
    return entry(
        "MeterReading",
        path,
        f"{_label(channel).capitalize()} readings",
        {},
        up=f"{point}/MeterReading",
        related=[(f"{path}/IntervalBlock", "IntervalBlock"), (reading_type_path(meter, channel), "ReadingType")],
    )


def reading_type_path(meter: Meter, channel: int) -> str:
    return f"{ROOT}/ReadingType/{meter.pk}-{channel}"


def reading_type_entry(meter: Meter, channel: int, interval_seconds: int = 900) -> dict:
    _, _, commodity, measurement = READING_TYPE[meter.kind]
    uom, power = espi_reading_unit(meter)  # the meter's own unit (m³, gallons, ...)
    content = {
        "accumulationBehaviour": 4,
        "commodity": commodity,
        "dataQualifier": 12,
        "flowDirection": FLOW[channel],
        "intervalLength": interval_seconds,
        "kind": measurement,
        "powerOfTenMultiplier": power,
        "timeAttribute": 0,
        "uom": uom,
    }
    return entry("ReadingType", reading_type_path(meter, channel), f"Type of {_label(channel)} readings", content, up=f"{ROOT}/ReadingType")


# --- Interval blocks: one per premise-local day --------------------------------------------


# Up to this many days of readings (about 6,000 at 15 minutes) come back from one plain query,
# a single round trip. A longer span (Batch/Subscription, an unfiltered list) streams through a
# server-side cursor instead, so memory stays bounded however much history the consent allows.
PLAIN_QUERY_MAX_DAYS = 62


def _readings(consent: Consent, meter: Meter, channel: int, query: EspiQuery) -> Iterator[tuple]:
    windows = clip_windows(consent_windows(consent=consent, premise=meter.premise), start=query.published_min, end=query.published_max)
    streamed = sum((window.end - window.start for window in windows), timedelta()) > timedelta(days=PLAIN_QUERY_MAX_DAYS)
    for window in windows:
        rows: QuerySet = IntervalReading.objects.filter(
            meter=meter, channel=channel, is_current=True, start__gte=window.start, start__lt=window.end
        )
        if query.updated_min:
            rows = rows.filter(batch__received_at__gte=query.updated_min)
        if query.updated_max:
            rows = rows.filter(batch__received_at__lte=query.updated_max)
        rows = rows.order_by("start").values_list("start", "seconds", "value", "quality")
        yield from rows.iterator(chunk_size=5000) if streamed else rows


def _days(consent: Consent, meter: Meter, channel: int, query: EspiQuery) -> Iterator[tuple[date, list[tuple]]]:
    zone = zoneinfo.ZoneInfo(meter.premise.timezone)
    day, rows = None, []
    for row in _readings(consent, meter, channel, query):
        key = row[0].astimezone(zone).date()
        if key != day and rows:
            yield day, rows
            rows = []
        day = key
        rows.append(row)
    if rows:
        yield day, rows


def block_id(day: date) -> int:
    return int(day.strftime("%Y%m%d"))


def interval_block_entry(consent: Consent, meter: Meter, channel: int, day: date, rows: list[tuple]) -> dict:
    reading = f"{_subscription(consent)}/UsagePoint/{meter.pk}/MeterReading/{channel}"
    start = int(rows[0][0].timestamp())
    end = int(rows[-1][0].timestamp()) + rows[-1][1]
    readings = [
        {
            "ReadingQuality": {"quality": QUALITY_CODE.get(quality, 14)},
            "timePeriod": {"duration": seconds, "start": int(begin.timestamp())},
            "value": value,
        }
        for begin, seconds, value, quality in rows
    ]
    return entry(
        "IntervalBlock",
        f"{reading}/IntervalBlock/{block_id(day)}",
        f"Readings for {day.isoformat()}",
        {"interval": {"duration": end - start, "start": start}, "IntervalReading": readings},
        up=f"{reading}/IntervalBlock",
    )


def interval_blocks(consent: Consent, meter: Meter, channel: int, query: EspiQuery) -> tuple[list[dict], int, int]:
    """A page of blocks, the number of blocks in all, and the readings on the page.

    Only the page's days are kept: the days before and after it are counted, not held.
    """
    first = query.start_index - 1
    total, entries, readings = 0, [], 0
    for day, rows in _days(consent, meter, channel, query):
        if first <= total < first + query.max_results:
            entries.append(interval_block_entry(consent, meter, channel, day, rows))
            readings += len(rows)
        total += 1
    return entries, total, readings


def interval_block_get(consent: Consent, meter: Meter, channel: int, block: int) -> tuple[dict, int]:
    try:
        day = datetime.strptime(str(block), "%Y%m%d").date()
    except ValueError:
        raise Http404("No such interval block.") from None
    zone = zoneinfo.ZoneInfo(meter.premise.timezone)
    start = datetime.combine(day, datetime.min.time(), zone)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone)
    rows = list(_readings(consent, meter, channel, EspiQuery(published_min=start, published_max=end)))
    if not rows:
        raise Http404("No such interval block.")
    return interval_block_entry(consent, meter, channel, day, rows), len(rows)


# --- Usage summaries with cost, per calendar month -----------------------------------------------


def usage_summaries(consent: Consent, meter: Meter, query: EspiQuery) -> tuple[list[dict], int]:
    if meter.kind != MeterKind.ELECTRIC or electric_meter(meter.premise) is None:
        return [], 0
    premise = meter.premise
    zone = zoneinfo.ZoneInfo(premise.timezone)
    windows = consent_windows(consent=consent, premise=premise)
    if not windows:
        return [], 0
    first = windows[0].start.astimezone(zone).date().replace(day=1)
    last = windows[-1].end.astimezone(zone).date()
    months = []
    cursor = first
    while cursor <= last:
        months.append(cursor)
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    months = [
        m
        for m in months
        if not query.published_min or (m + timedelta(days=32)).replace(day=1) > query.published_min.astimezone(zone).date()
    ]
    months = [m for m in months if not query.published_max or m <= query.published_max.astimezone(zone).date()]
    point = f"{_subscription(consent)}/UsagePoint/{meter.pk}"
    entries = []
    for month in query.page(months):
        month_end = min((month + timedelta(days=32)).replace(day=1) - timedelta(days=1), last)
        try:
            summary = period_cost(premise=premise, meter=meter, first_day=month, last_day=month_end, windows=windows)
            cost = int(summary.total * COST_SCALE)
            delivered = summary.delivered_wh
        except NoTariff:
            cost, delivered = None, None
        start = datetime.combine(month, datetime.min.time(), zone)
        stop = datetime.combine(month_end + timedelta(days=1), datetime.min.time(), zone)
        content = {"billingPeriod": {"duration": int((stop - start).total_seconds()), "start": int(start.timestamp())}}
        if cost is not None:
            content["billLastPeriod"] = cost
        content["currency"] = USD
        if delivered is not None:
            content["overallConsumptionLastPeriod"] = {"powerOfTenMultiplier": 0, "uom": 72, "value": delivered}
        content["statusTimeStamp"] = int(timezone.now().timestamp())
        content["commodity"] = 1
        entries.append(
            entry(
                "UsageSummary",
                f"{point}/UsageSummary/{block_id(month) // 100}",
                f"Usage and cost for {month:%B %Y}",
                content,
                up=f"{point}/UsageSummary",
            )
        )
    return entries, len(months)


# --- Batch/Subscription: everything the consent allows, streamed ------------------------------


def batch_entries(consent: Consent, meters: list[Meter], query: EspiQuery, counter: list[int]) -> Iterator[dict]:
    """Entries one at a time; a day of readings is the most held in memory. ``counter[0]`` counts readings."""
    for meter in meters:
        yield usage_point_entry(consent, meter, with_summary=False)
        for channel in channels_for(meter):
            yield meter_reading_entry(consent, meter, channel)
            yield reading_type_entry(meter, channel)
            for day, rows in _days(consent, meter, channel, query):
                counter[0] += len(rows)
                yield interval_block_entry(consent, meter, channel, day, rows)
