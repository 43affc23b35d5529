"""Green Button Download My Data: an ESPI 4.0 Atom feed, written as a stream of text chunks.

Memory stays bounded: readings are read from the database in chunks and one
premise-local day (one IntervalBlock) is held at a time. Links follow the
ESPI resource layout, so every entry has self and up links, and usage points
and meter readings have related links to what hangs below them.
"""

from __future__ import annotations

import uuid
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape, quoteattr

from amiportal.premises.models import Meter, MeterKind, Premise
from billing.meter_units import espi_reading_unit
from billing.models import Channel, IntervalReading, Quality

ESPI_NS = "http://naesb.org/espi"
ATOM_NS = "http://www.w3.org/2005/Atom"
SERVICE_KIND = {MeterKind.ELECTRIC: 0, MeterKind.GAS: 1, MeterKind.WATER: 2}
# kind -> (uom, powerOfTenMultiplier, commodity, measurement kind): stored Wh, mtherm, L
READING_TYPE = {MeterKind.ELECTRIC: (72, 0, 1, 12), MeterKind.GAS: (169, -3, 7, 12), MeterKind.WATER: (42, -3, 9, 0)}
QUALITY_CODE = {Quality.ACTUAL: 14, Quality.ESTIMATED: 8, Quality.VALIDATED: 0}
FLOW = {Channel.DELIVERED: 1, Channel.RECEIVED: 19}
US_DST_START, US_DST_END = "360E2000", "B40E2000"  # second Sunday of March / first Sunday of November, 02:00


@dataclass(frozen=True)
class Window:
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _uuid(*parts) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, '/'.join(str(p) for p in parts))}"


def _entry(entry_id: str, title: str, links: list[tuple[str, str]], content: str, updated: str) -> str:
    link_xml = "".join(f'<link rel={quoteattr(rel)} href={quoteattr(href)} type="espi-entry/{kind}"/>' for rel, href, kind in links)
    return (
        f"<entry><id>{entry_id}</id>{link_xml}<title>{escape(title)}</title>"
        f"<content>{content}</content><published>{updated}</published><updated>{updated}</updated></entry>\n"
    )


def _local_time_parameters(zone_name: str) -> str | None:
    """LocalTimeParameters for zones without DST or with US rules; None (the element is optional) otherwise."""
    zone = zoneinfo.ZoneInfo(zone_name)
    year = datetime.now(UTC).year
    january, july = datetime(year, 1, 15, tzinfo=zone), datetime(year, 7, 15, tzinfo=zone)
    standard = int(min(january.utcoffset(), july.utcoffset()).total_seconds())
    dst = int(abs((july.utcoffset() - january.utcoffset()).total_seconds()))
    if dst == 0:
        start_rule = end_rule = "00000000"
    else:
        march = datetime(year, 3, 1, tzinfo=zone)
        second_sunday = march + timedelta(days=(6 - march.weekday()) % 7 + 7)
        if (second_sunday + timedelta(hours=3)).utcoffset() == (second_sunday + timedelta(hours=1)).utcoffset():
            return None
        start_rule, end_rule = US_DST_START, US_DST_END
    return (
        f'<LocalTimeParameters xmlns="{ESPI_NS}"><dstEndRule>{end_rule}</dstEndRule><dstOffset>{dst}</dstOffset>'
        f"<dstStartRule>{start_rule}</dstStartRule><tzOffset>{standard}</tzOffset></LocalTimeParameters>"
    )


def greenbutton_feed(
    *, premise: Premise, windows: list[Window], base_url: str, meters: Iterable[Meter] | None = None, chunk_size: int = 5000
) -> Iterator[str]:
    """Yield the feed for the premise's meters, limited to ``windows`` (already bounded by occupancy)."""
    base = base_url.rstrip("/") + "/espi/1_1/resource"
    subscription = f"{base}/Subscription/{premise.pk}"
    now = _ts(datetime.now(UTC))
    zone = zoneinfo.ZoneInfo(premise.timezone)
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield f'<feed xmlns="{ATOM_NS}" xmlns:espi="{ESPI_NS}">\n'
    title = f"Green Button usage for {escape(premise.address_line)}"
    yield f"<id>{_uuid('feed', premise.pk, now)}</id><title>{title}</title><updated>{now}</updated>"
    yield f'<link rel="self" href={quoteattr(subscription + "/UsagePoint")}/>\n'
    ltp = _local_time_parameters(premise.timezone)
    ltp_href = f"{base}/LocalTimeParameters/{premise.pk}"
    if ltp:
        yield _entry(
            _uuid("ltp", premise.pk),
            f"Local time ({premise.timezone})",
            [("self", ltp_href, "LocalTimeParameters"), ("up", f"{base}/LocalTimeParameters", "LocalTimeParameters")],
            ltp,
            now,
        )
    meters = list(meters if meters is not None else premise.meters.order_by("kind", "serial_number"))
    for meter in meters:
        point = f"{subscription}/UsagePoint/{meter.pk}"
        point_links = [
            ("self", point, "UsagePoint"),
            ("up", f"{subscription}/UsagePoint", "UsagePoint"),
            ("related", f"{point}/MeterReading", "MeterReading"),
        ]
        if ltp:
            point_links.append(("related", ltp_href, "LocalTimeParameters"))
        yield _entry(
            _uuid("usagepoint", meter.pk),
            f"{meter.get_kind_display()} service, meter {meter.serial_number}",
            point_links,
            f'<UsagePoint xmlns="{ESPI_NS}"><ServiceCategory><kind>{SERVICE_KIND[meter.kind]}</kind></ServiceCategory></UsagePoint>',
            now,
        )
        channels = [Channel.DELIVERED] + ([Channel.RECEIVED] if meter.kind == MeterKind.ELECTRIC else [])
        for channel in channels:
            yield from _meter_reading(meter, channel, point, base, windows, zone, now, chunk_size)
    yield "</feed>\n"


def _meter_reading(
    meter: Meter, channel: int, point: str, base: str, windows: list[Window], zone, now: str, chunk_size: int
) -> Iterator[str]:
    rows = _readings(meter, channel, windows, chunk_size)
    first = next(rows, None)
    if first is None:
        return
    reading_href = f"{point}/MeterReading/{channel}"
    type_id = f"{meter.pk}-{channel}"
    type_href = f"{base}/ReadingType/{type_id}"
    label = "delivered" if channel == Channel.DELIVERED else "received"
    yield _entry(
        _uuid("meterreading", meter.pk, channel),
        f"{label.capitalize()} readings",
        [
            ("self", reading_href, "MeterReading"),
            ("up", f"{point}/MeterReading", "MeterReading"),
            ("related", f"{reading_href}/IntervalBlock", "IntervalBlock"),
            ("related", type_href, "ReadingType"),
        ],
        f'<MeterReading xmlns="{ESPI_NS}"/>',
        now,
    )
    _, _, commodity, measurement = READING_TYPE[meter.kind]
    uom, power = espi_reading_unit(meter)  # a gas meter read in m³ is written in m³, not therms
    yield _entry(
        _uuid("readingtype", meter.pk, channel),
        f"Type of {label} readings",
        [("self", type_href, "ReadingType"), ("up", f"{base}/ReadingType", "ReadingType")],
        f'<ReadingType xmlns="{ESPI_NS}"><accumulationBehaviour>4</accumulationBehaviour><commodity>{commodity}</commodity>'
        f"<dataQualifier>12</dataQualifier><flowDirection>{FLOW[channel]}</flowDirection><intervalLength>{first[1]}</intervalLength>"
        f"<kind>{measurement}</kind><powerOfTenMultiplier>{power}</powerOfTenMultiplier><timeAttribute>0</timeAttribute><uom>{uom}</uom></ReadingType>",
        now,
    )
    block_number = 0
    day_rows: list[tuple] = []
    day_key = None
    for row in _chain(first, rows):
        key = datetime.fromtimestamp(row[0], zone).date()
        if key != day_key and day_rows:
            block_number += 1
            yield _block(day_rows, reading_href, block_number, meter.pk, channel, now)
            day_rows = []
        day_key = key
        day_rows.append(row)
    if day_rows:
        block_number += 1
        yield _block(day_rows, reading_href, block_number, meter.pk, channel, now)


def _chain(first, rest):
    yield first
    yield from rest


def _block(rows: list[tuple], reading_href: str, number: int, meter_id: int, channel: int, now: str) -> str:
    start = rows[0][0]
    end = rows[-1][0] + rows[-1][1]
    readings = "".join(
        f"<IntervalReading><ReadingQuality><quality>{QUALITY_CODE.get(quality, 14)}</quality></ReadingQuality>"
        f"<timePeriod><duration>{seconds}</duration><start>{begin}</start></timePeriod><value>{value}</value></IntervalReading>"
        for begin, seconds, value, quality in rows
    )
    href = f"{reading_href}/IntervalBlock/{number}"
    return _entry(
        _uuid("intervalblock", meter_id, channel, start),
        f"Readings from {_ts(datetime.fromtimestamp(start, UTC))}",
        [("self", href, "IntervalBlock"), ("up", f"{reading_href}/IntervalBlock", "IntervalBlock")],
        f'<IntervalBlock xmlns="{ESPI_NS}"><interval><duration>{end - start}</duration><start>{start}</start></interval>'
        f"{readings}</IntervalBlock>",
        now,
    )


def _readings(meter: Meter, channel: int, windows: list[Window], chunk_size: int) -> Iterator[tuple[int, int, int, int]]:
    for window in windows:
        queryset = (
            IntervalReading.objects.filter(meter=meter, channel=channel, is_current=True, start__gte=window.start, start__lt=window.end)
            .order_by("start")
            .values_list("start", "seconds", "value", "quality")
        )
        for start, seconds, value, quality in queryset.iterator(chunk_size=chunk_size):
            yield int(start.timestamp()), seconds, value, quality
