"""Green Button (ESPI 4.0 Atom): the one writer, shared by Download My Data and Connect My Data.

Entries are plain dicts: ``id``, ``type`` (the ESPI element), ``title``, ``published``,
``updated``, ``links`` (self, up, related, each with its GBA ``type``) and ``content``, whose
keys are ESPI element names in schema order. The Connect My Data API renders them as Atom XML
(here) or JSON (DRF); Download My Data streams them as XML (``greenbutton_feed``).

One resource has one ``<id>`` (a UUID named after the resource, never after the path it was
reached by) and one path below its scope: ``Subscription/{authorization}`` in the API,
``RetailCustomer/{account}`` in a download (which has no subscription). ReadingType,
LocalTimeParameters and IntervalBlock ids (YYYYMMDD, one premise-local day) are the same in both.
"""

from __future__ import annotations

import uuid
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode
from xml.sax.saxutils import escape, quoteattr

from django.utils import timezone

from amiportal.premises.models import Meter, MeterKind, Premise
from billing.meter_units import espi_reading_unit
from billing.models import Channel, Quality
from billing.selectors.readings import interval_readings
from billing.selectors.windows import Window

ESPI_NS = "http://naesb.org/espi"
ATOM_NS = "http://www.w3.org/2005/Atom"
ROOT = "/espi/1_1/resource"
SERVICE_KIND = {MeterKind.ELECTRIC: 0, MeterKind.GAS: 1, MeterKind.WATER: 2}
# kind -> (uom, powerOfTenMultiplier, commodity, measurement kind): stored Wh, mtherm, L
READING_TYPE = {MeterKind.ELECTRIC: (72, 0, 1, 12), MeterKind.GAS: (169, -3, 7, 12), MeterKind.WATER: (42, -3, 9, 0)}
QUALITY_CODE = {Quality.ACTUAL: 14, Quality.ESTIMATED: 8, Quality.VALIDATED: 0}
FLOW = {Channel.DELIVERED: 1, Channel.RECEIVED: 19}
US_DST_START, US_DST_END = "360E2000", "B40E2000"  # second Sunday of March / first Sunday of November, 02:00
DEFAULT_INTERVAL_SECONDS = 900


def ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def urn(*parts) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, '/'.join(str(p) for p in parts))}"


def member(kind: str) -> str:
    return f"espi-entry/{kind}"


def collection(kind: str) -> str:
    return f"espi-feed/{kind}"


def entry(
    kind: str,
    path: str,
    title: str,
    content: dict,
    *,
    up: str,
    related: Iterable[tuple[str, str]] = (),
    moment: datetime | None = None,
    identity: tuple = (),
) -> dict:
    """One Atom entry. ``related`` holds (href, GBA type); ``identity`` names the resource for its UUID (default: its path)."""
    stamp = ts(moment or timezone.now())
    links = [{"rel": "self", "href": path, "type": member(kind)}, {"rel": "up", "href": up, "type": collection(kind)}]
    links += [{"rel": "related", "href": href, "type": link_type} for href, link_type in related]
    entry_id = urn(kind, *identity) if identity else urn(path)
    return {"id": entry_id, "type": kind, "title": title, "published": stamp, "updated": stamp, "links": links, "content": content}


def feed(
    path: str,
    title: str,
    entries: list[dict],
    *,
    kind: str,
    total: int,
    start_index: int = 1,
    max_results: int | None = None,
    carried: tuple[tuple[str, str], ...] = (),
) -> dict:
    """A feed head (and its entries). Paged feeds carry first/previous/next/last links (Atom paging, RFC 5005)."""
    max_results = max_results or max(total, 1)
    links = [{"rel": "self", "href": _page(path, carried, start_index, max_results, total), "type": collection(kind)}]
    if total > max_results or start_index > 1:
        last = max(1, ((total - 1) // max_results) * max_results + 1)
        links.append({"rel": "first", "href": _page(path, carried, 1, max_results, total, force=True), "type": collection(kind)})
        if start_index > 1:
            previous = max(1, start_index - max_results)
            links.append(
                {"rel": "previous", "href": _page(path, carried, previous, max_results, total, force=True), "type": collection(kind)}
            )
        if start_index + max_results <= total:
            links.append(
                {
                    "rel": "next",
                    "href": _page(path, carried, start_index + max_results, max_results, total, force=True),
                    "type": collection(kind),
                }
            )
        links.append({"rel": "last", "href": _page(path, carried, last, max_results, total, force=True), "type": collection(kind)})
    return {
        "id": urn("feed", path),
        "title": title,
        "updated": ts(timezone.now()),
        "links": links,
        "total_results": total,
        "start_index": start_index,
        "max_results": max_results,
        "entries": entries,
    }


def _page(path: str, carried: tuple, start_index: int, max_results: int, total: int, *, force: bool = False) -> str:
    """A page's URI: the filters the client sent, then the page (RFC 5005 paging links keep the query)."""
    if not force and start_index == 1 and max_results >= total:
        return f"{path}?{urlencode(carried)}" if carried else path
    return f"{path}?{urlencode([*carried, ('start-index', start_index), ('max-results', max_results)])}"


# --- Paths: one layout below a scope --------------------------------------------------------------


@dataclass(frozen=True)
class Paths:
    """Resource paths below ``scope`` (``Subscription/7`` in the API, ``RetailCustomer/3`` in a download)."""

    scope: str

    @property
    def usage_points(self) -> str:
        return f"{ROOT}/{self.scope}/UsagePoint"

    def usage_point(self, meter: Meter) -> str:
        return f"{self.usage_points}/{meter.pk}"

    def meter_reading(self, meter: Meter, channel: int) -> str:
        return f"{self.usage_point(meter)}/MeterReading/{channel}"

    def interval_blocks(self, meter: Meter, channel: int) -> str:
        return f"{self.meter_reading(meter, channel)}/IntervalBlock"

    def usage_summaries(self, meter: Meter) -> str:
        return f"{self.usage_point(meter)}/UsageSummary"


def reading_type_path(meter: Meter, channel: int) -> str:
    return f"{ROOT}/ReadingType/{meter.pk}-{channel}"


def local_time_parameters_path(premise: Premise) -> str:
    return f"{ROOT}/LocalTimeParameters/{premise.pk}"


def channels_for(meter: Meter) -> list[int]:
    return [Channel.DELIVERED, Channel.RECEIVED] if meter.kind == MeterKind.ELECTRIC else [Channel.DELIVERED]


def _label(channel: int) -> str:
    return "delivered" if channel == Channel.DELIVERED else "received"


def block_id(day: date) -> int:
    return int(day.strftime("%Y%m%d"))


# --- Entries ----------------------------------------------------------------------------------------


def local_time_parameters(zone_name: str) -> dict | None:
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
    return {"dstEndRule": end_rule, "dstOffset": dst, "dstStartRule": start_rule, "tzOffset": standard}


def local_time_parameters_entry(premise: Premise) -> dict | None:
    content = local_time_parameters(premise.timezone)
    if content is None:
        return None
    return entry(
        "LocalTimeParameters",
        local_time_parameters_path(premise),
        f"Local time ({premise.timezone})",
        content,
        up=f"{ROOT}/LocalTimeParameters",
        identity=(premise.pk,),
    )


def usage_point_entry(paths: Paths, meter: Meter, *, with_summary: bool) -> dict:
    point = paths.usage_point(meter)
    related = [(f"{point}/MeterReading", collection("MeterReading"))]
    if with_summary:
        related.append((paths.usage_summaries(meter), collection("UsageSummary")))
    if local_time_parameters(meter.premise.timezone) is not None:
        related.append((local_time_parameters_path(meter.premise), member("LocalTimeParameters")))
    return entry(
        "UsagePoint",
        point,
        f"{meter.get_kind_display()} service, meter {meter.serial_number}",
        {"ServiceCategory": {"kind": SERVICE_KIND[meter.kind]}},
        up=paths.usage_points,
        related=related,
        identity=(meter.pk,),
    )


def meter_reading_entry(paths: Paths, meter: Meter, channel: int) -> dict:
    path = paths.meter_reading(meter, channel)
    return entry(
        "MeterReading",
        path,
        f"{_label(channel).capitalize()} readings",
        {},
        up=f"{paths.usage_point(meter)}/MeterReading",
        related=[(f"{path}/IntervalBlock", collection("IntervalBlock")), (reading_type_path(meter, channel), member("ReadingType"))],
        identity=(meter.pk, channel),
    )


def reading_type_entry(meter: Meter, channel: int, interval_seconds: int = DEFAULT_INTERVAL_SECONDS) -> dict:
    _, _, commodity, measurement = READING_TYPE[meter.kind]
    uom, power = espi_reading_unit(meter)  # the meter's own unit: a gas meter read in m³ is written in m³, not therms
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
    return entry(
        "ReadingType",
        reading_type_path(meter, channel),
        f"Type of {_label(channel)} readings",
        content,
        up=f"{ROOT}/ReadingType",
        identity=(meter.pk, channel),
    )


def interval_block_entry(paths: Paths, meter: Meter, channel: int, day: date, rows: list[tuple]) -> dict:
    """A premise-local day of readings; ``rows`` are (start, channel, seconds, value, quality) from ``interval_readings``."""
    start = int(rows[0][0].timestamp())
    end = int(rows[-1][0].timestamp()) + rows[-1][2]
    readings = [
        {
            "ReadingQuality": {"quality": QUALITY_CODE.get(quality, 14)},
            "timePeriod": {"duration": seconds, "start": int(begin.timestamp())},
            "value": value,
        }
        for begin, _, seconds, value, quality in rows
    ]
    blocks = paths.interval_blocks(meter, channel)
    return entry(
        "IntervalBlock",
        f"{blocks}/{block_id(day)}",
        f"Readings for {day.isoformat()}",
        {"interval": {"duration": end - start, "start": start}, "IntervalReading": readings},
        up=blocks,
        identity=(meter.pk, channel, block_id(day)),
    )


def readings_by_day(rows: Iterable[tuple], zone: zoneinfo.ZoneInfo) -> Iterator[tuple[date, list[tuple]]]:
    """Readings grouped by premise-local day, in order; one day is the most held in memory."""
    day, held, next_midnight = None, [], None
    for row in rows:
        # Only a reading at or past the next local midnight can start a new day (a year is 35,000 readings, 365 days).
        if next_midnight is None or row[0] >= next_midnight:
            key = row[0].astimezone(zone).date()
            next_midnight = datetime.combine(key + timedelta(days=1), datetime.min.time(), zone).astimezone(row[0].tzinfo)
            if key != day and held:
                yield day, held
                held = []
            day = key
        held.append(row)
    if held:
        yield day, held


def interval_length(rows: list[tuple]) -> int:
    return rows[0][2] if rows else DEFAULT_INTERVAL_SECONDS


# --- XML ------------------------------------------------------------------------------------------


def _elements(content: dict) -> str:
    out = []
    for name, value in content.items():
        for item in value if isinstance(value, list) else [value]:
            inner = _elements(item) if isinstance(item, dict) else escape(str(item))
            out.append(f"<{name}>{inner}</{name}>")
    return "".join(out)


def _interval_block_xml(content: dict) -> str:
    # The hot path of a year's export: about 70,000 readings, written without the generic recursion.
    interval = content["interval"]
    readings = "".join(
        f"<IntervalReading><ReadingQuality><quality>{r['ReadingQuality']['quality']}</quality></ReadingQuality>"
        f"<timePeriod><duration>{r['timePeriod']['duration']}</duration><start>{r['timePeriod']['start']}</start></timePeriod>"
        f"<value>{r['value']}</value></IntervalReading>"
        for r in content["IntervalReading"]
    )
    return f"<interval><duration>{interval['duration']}</duration><start>{interval['start']}</start></interval>{readings}"


def _links(links: list[dict], base: str) -> str:
    return "".join(
        f"<link rel={quoteattr(link['rel'])} href={quoteattr(base + link['href'])}"
        + (f" type={quoteattr(link['type'])}" if "type" in link else "")
        + "/>"
        for link in links
    )


def entry_xml(item: dict, base: str) -> str:
    body = _interval_block_xml(item["content"]) if item["type"] == "IntervalBlock" else _elements(item["content"])
    content = f'<{item["type"]} xmlns="{ESPI_NS}">{body}</{item["type"]}>'
    return (
        f"<entry><id>{item['id']}</id>{_links(item['links'], base)}<title>{escape(item['title'])}</title>"
        f"<content>{content}</content><published>{item['published']}</published><updated>{item['updated']}</updated></entry>\n"
    )


def feed_xml_chunks(head: dict, entries: Iterable[dict], base: str) -> Iterator[str]:
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield f'<feed xmlns="{ATOM_NS}">\n<id>{head["id"]}</id><title>{escape(head["title"])}</title>'
    yield f"<updated>{head['updated']}</updated>{_links(head['links'], base)}\n"
    for item in entries:
        yield entry_xml(item, base)
    yield "</feed>\n"


def entry_document(item: dict, base: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + entry_xml(item, base).replace("<entry>", f'<entry xmlns="{ATOM_NS}">', 1)


# --- Download My Data -------------------------------------------------------------------------------


def usage_point_entries(paths: Paths, meter: Meter, windows: list[Window], **filters) -> Iterator[dict]:
    """A usage point and everything below it (meter readings, reading types, a block per day) within ``windows``."""
    yield usage_point_entry(paths, meter, with_summary=False)
    zone = zoneinfo.ZoneInfo(meter.premise.timezone)
    for channel in channels_for(meter):
        days = readings_by_day(interval_readings(meter=meter, windows=windows, channels=(channel,), **filters), zone)
        first = next(days, None)
        yield meter_reading_entry(paths, meter, channel)
        yield reading_type_entry(meter, channel, interval_length(first[1] if first else []))
        if first is not None:
            yield interval_block_entry(paths, meter, channel, *first)
        for day, rows in days:
            yield interval_block_entry(paths, meter, channel, day, rows)


def download_scope(premise: Premise) -> str:
    """A download's scope: the account of the agreement in force (else the newest one) as the ESPI RetailCustomer."""
    agreement = premise.agreements.order_by("-move_in").values_list("account_id", flat=True).first()
    return f"RetailCustomer/{agreement or 0}"


def greenbutton_feed(
    *, premise: Premise, windows: list[Window], base_url: str, meters: Iterable[Meter] | None = None, scope: str | None = None
) -> Iterator[str]:
    """Yield the Download My Data feed for the premise's meters, limited to ``windows`` (already bounded by occupancy).

    The same entries as the API's Batch/Subscription, written by the same functions; memory
    stays bounded (readings come in chunks, one premise-local day is held at a time).
    """
    paths = Paths(scope or download_scope(premise))
    head = feed(paths.usage_points, f"Green Button usage for {premise.address_line}", [], kind="UsagePoint", total=0)
    head["links"] = [{"rel": "self", "href": paths.usage_points, "type": collection("UsagePoint")}]

    def entries() -> Iterator[dict]:
        ltp = local_time_parameters_entry(premise)
        if ltp is not None:
            yield ltp
        for meter in meters if meters is not None else premise.meters.order_by("kind", "serial_number"):
            yield from usage_point_entries(paths, meter, windows)

    yield from feed_xml_chunks(head, entries(), base_url.rstrip("/"))
