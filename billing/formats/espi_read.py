"""A tolerant, safe reader for Green Button (ESPI Atom) files.

Safe: bounded size, parsed by ``billing.formats.safe_xml`` (no DOCTYPE in any encoding, so
no entity declarations, no entity-expansion bombs, no external entities; no network;
libxml2's huge-tree limits kept), every number bounded to the range ESPI gives it before
any arithmetic, and no message that echoes text or huge numbers from the file.
Tolerant of what real exports get wrong, where the meaning stays clear:
element names in the wrong case or namespace, links without ``type``, bare
dates in ``atom:updated``, missing LocalTimeParameters (ESPI times are UTC
seconds, so the time zone is not needed to read them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from amiportal.premises.models import MeterKind
from billing.formats.safe_xml import MalformedXmlError, UnsafeXmlError, parse_untrusted_xml
from billing.models import Channel, Quality
from billing.services.ingest import RawReading
from billing.units import FINE_UNIT, convert, espi_unit, whole

MAX_FILE_BYTES = 64 * 1024 * 1024
SERVICE_KINDS = {0: MeterKind.ELECTRIC, 1: MeterKind.GAS, 2: MeterKind.WATER}
# What an ESPI unit (UnitSymbolKind, via ``billing.units.ESPI_UOM``) may measure, and the kind
# a usage point without a ServiceCategory is taken for: energy in Wh or J is electricity, in
# therms or Btu gas; volume (m³, ft³, litres, gallons) fits gas and water (water when the file
# does not say).
_ELECTRIC_ONLY, _GAS_ENERGY = {"Wh", "J"}, {"therm", "btu"}


def _kinds_for(unit_code: str) -> tuple[str, ...]:
    """The usage point kinds readings in this unit can belong to, the first being the guess for an unlabelled one."""
    if unit_code in _ELECTRIC_ONLY:
        return (MeterKind.ELECTRIC,)
    if unit_code in _GAS_ENERGY:
        return (MeterKind.GAS,)
    return (MeterKind.WATER, MeterKind.GAS)


def _whole(raw: int, power: int, unit_code: str) -> tuple[int, str]:
    """A reading's value (``raw`` × 10^``power`` of ``unit_code``) as a whole number of the unit's finer unit, and that unit."""
    fine = FINE_UNIT[unit_code]
    if fine == unit_code and power >= 0:
        return raw * 10**power, fine
    return whole(convert(Decimal(raw).scaleb(power), unit_code, fine)), fine


FLOW = {1: Channel.DELIVERED, 19: Channel.RECEIVED}
QUALITY = {
    0: Quality.VALIDATED,
    7: Quality.VALIDATED,
    17: Quality.VALIDATED,
    8: Quality.ESTIMATED,
    9: Quality.ESTIMATED,
    11: Quality.ESTIMATED,
    12: Quality.ESTIMATED,
}
_CODE = (0, 2**16 - 1, "codes from 0 to 65535")
_UINT32 = (0, 2**32 - 1, "whole numbers from 0 to 4294967295")
_INT48 = (-(2**47), 2**47, "48-bit integers")
_TIME = (-(2**63), 2**63 - 1, "64-bit seconds")
# The range ESPI's schema (espi.xsd) gives each number this reader uses, as (low, high, how a
# message says it): UnitSymbolKind, FlowDirectionKind, AccumulationKind, ServiceKind and
# QualityOfReading are UInt16 codes, durations UInt32, values and amounts Int48, times signed
# 64-bit seconds. powerOfTenMultiplier (UnitMultiplierKind) is bounded to -9..9, the multipliers
# a reading uses. Currency is checked against ISO 4217 where it is read.
BOUNDS: dict[str, tuple[int, int, str]] = {
    "powerOfTenMultiplier": (-9, 9, "powers of ten from -9 to 9"),
    "uom": _CODE,
    "flowDirection": _CODE,
    "accumulationBehaviour": _CODE,
    "kind": _CODE,
    "quality": _CODE,
    "intervalLength": _UINT32,
    "duration": _UINT32,
    "value": _INT48,
    "billLastPeriod": _INT48,
    "billToDate": _INT48,
    "costAdditionalLastPeriod": _INT48,
    "start": _TIME,
}
_BOUNDS_BY_NAME = {name.lower(): (name, *bounds) for name, bounds in BOUNDS.items()}
_LONGEST_NUMBER = 24  # characters: a signed 64-bit number with room for spaces


class EspiFormatError(ValueError):
    """The file as a whole cannot be read as Green Button XML."""


@dataclass
class EspiReading:
    ref: str
    channel: int
    start: datetime
    seconds: int
    value: int
    unit: str
    quality: int


@dataclass
class EspiSummary:
    """A UsageSummary (or ElectricPowerUsageSummary, its ESPI 1.0 name) for one billing period."""

    ref: str
    start: datetime
    seconds: int
    bill_amount: int | None  # hundred-thousandths of the currency
    bill_to_date: int | None
    additional_charges: int | None
    currency: int | None  # ISO 4217 numeric code
    consumption: int | None  # in ``consumption_unit`` (a finer unit of the file's: Wh, mtherm, L, mft3, mgal)
    consumption_kind: str | None  # the kind the unit suggests, None when there is no consumption
    consumption_unit: str | None = None


@dataclass
class EspiUsagePoint:
    ref: str
    kind: str | None
    readings: list[EspiReading] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    summaries: list[EspiSummary] = field(default_factory=list)


def _name(element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].lower()


def _child(element, name: str):
    for child in element:
        if _name(child) == name:
            return child
    return None


def _children(element, name: str):
    return [child for child in element if _name(child) == name]


class BoundError(ValueError):
    """A number outside the range ESPI gives its field; the message names the field and range, never the number."""


def _int(element, name: str) -> int | None:
    """The whole number in child ``name``, within its ESPI bounds (ValueError otherwise, quoting nothing from the file)."""
    found = _child(element, name) if element is not None else None
    if found is None or found.text is None:
        return None
    label, low, high, allowed = _BOUNDS_BY_NAME.get(name, (_name(found), *_TIME))
    text = found.text.strip()
    if len(text) > _LONGEST_NUMBER:
        raise BoundError(f"{label} is out of range: ESPI allows {allowed}")
    try:
        number = int(text)
    except ValueError:
        raise ValueError(f"{label} must be a whole number") from None
    if not low <= number <= high:
        raise BoundError(f"{label} is out of range: ESPI allows {allowed}")
    return number


def _links(entry) -> dict[str, list[str]]:
    links: dict[str, list[str]] = {}
    for link in _children(entry, "link"):
        rel = (link.get("rel") or link.get("REL") or "").strip().lower()
        href = (link.get("href") or link.get("HREF") or "").strip().rstrip("/")
        if href:
            links.setdefault(rel, []).append(href)
    return links


def _parent(href: str) -> str:
    return href.rsplit("/", 1)[0] if "/" in href else href


def parse_espi(data: bytes, *, max_bytes: int = MAX_FILE_BYTES) -> list[EspiUsagePoint]:
    """The usage points in a file, each with its readings in stored units and its per-element rejections."""
    if len(data) > max_bytes:
        raise EspiFormatError(f"the file is {len(data)} bytes; the limit is {max_bytes}")
    try:
        root = parse_untrusted_xml(data)
    except (UnsafeXmlError, MalformedXmlError) as error:
        raise EspiFormatError(str(error)) from None
    entries = [root] if _name(root) == "entry" else [e for e in root.iter() if _name(e) == "entry"]
    if _name(root) not in ("feed", "entry"):
        raise EspiFormatError("the document is not an Atom feed or entry")

    usage_points: dict[str, EspiUsagePoint] = {}
    reading_types: dict[str, tuple[int | None, int, int, int | None]] = {}  # href -> (uom, power, flow, interval)
    meter_readings: dict[str, tuple[str | None, str | None]] = {}  # href -> (usage point href, reading type href)
    related: dict[str, list[str]] = {}  # MeterReading href -> its related links (ReadingTypes may come later)
    blocks: list[tuple[str, object, dict]] = []
    last_usage_point = last_reading_type = last_meter_reading = None
    # (the usage point its up link names, the usage point before it, the summary or why it was refused)
    summaries: list[tuple[str | None, str | None, EspiSummary | tuple[str, str]]] = []

    for index, entry in enumerate(entries, 1):
        content = _child(entry, "content")
        resource = next((child for child in content if isinstance(child.tag, str)), None) if content is not None else None
        if resource is None:
            continue
        links = _links(entry)
        self_href = (links.get("self") or [f"#entry{index}"])[0]
        kind = _name(resource)
        try:
            if kind == "usagepoint":
                category = _child(resource, "servicecategory")
                service = _int(category, "kind") if category is not None else None
                usage_points[self_href] = EspiUsagePoint(self_href, SERVICE_KINDS.get(service) if service is not None else None)
                last_usage_point = self_href
            elif kind == "readingtype":
                flow = _int(resource, "flowdirection")
                reading_types[self_href] = (
                    _int(resource, "uom"),
                    _int(resource, "poweroftenmultiplier") or 0,
                    flow if flow is not None else 1,
                    _int(resource, "intervallength"),
                )
                last_reading_type = self_href
            elif kind == "meterreading":
                up = (links.get("up") or [None])[0]
                point = _parent(up) if up else None
                meter_readings[self_href] = (point if point in usage_points else last_usage_point, None)
                related[self_href] = links.get("related", [])
                last_meter_reading = self_href
            elif kind in ("usagesummary", "electricpowerusagesummary"):
                up = (links.get("up") or [None])[0]
                summaries.append(((_parent(up) if up else None), last_usage_point, _summary(resource, self_href, index)))
            elif kind == "intervalblock":
                up = (links.get("up") or [None])[0]
                blocks.append(
                    (
                        (_parent(up) if up else None) or last_meter_reading or "",
                        resource,
                        {"entry": index, "last_mr": last_meter_reading, "last_rt": last_reading_type},
                    )
                )
        except ValueError as error:
            raise EspiFormatError(f"entry {index} ({kind}): {error}") from None

    for href, (point, _) in meter_readings.items():
        linked = [target for target in related[href] if target in reading_types]
        meter_readings[href] = (point, linked[0] if linked else None)

    for meter_reading_href, resource, where in blocks:
        if meter_reading_href not in meter_readings:
            meter_reading_href = where["last_mr"] or ""
        point_href, type_href = meter_readings.get(meter_reading_href, (last_usage_point, None))
        type_href = type_href or where["last_rt"]
        point = usage_points.get(point_href or "") or (usage_points.get(last_usage_point) if last_usage_point else None)
        if point is None:
            point = usage_points.setdefault("#unknown", EspiUsagePoint("#unknown", None))
        _read_block(point, resource, reading_types.get(type_href or ""), where["entry"])
    for up_href, previous_point, summary in summaries:
        point = usage_points.get(up_href or "") or usage_points.get(previous_point or "")
        if point is None:
            point = usage_points.setdefault("#unknown", EspiUsagePoint("#unknown", None))
        if isinstance(summary, tuple):
            point.rejected.append(summary)
            continue
        if summary.consumption_unit is not None and point.kind not in _kinds_for_fine(summary.consumption_unit):
            summary.consumption = None  # consumption in a unit that does not fit this service: keep the amounts only
        point.summaries.append(summary)
    return list(usage_points.values())


def _summary(resource, self_href: str, entry_index: int) -> EspiSummary | tuple[str, str]:
    """One usage summary, or (ref, reason) when it cannot be used."""
    ref = f"entry {entry_index} (UsageSummary)"
    period = _child(resource, "billingperiod")
    try:
        start = _int(period, "start")
        seconds = _int(period, "duration")
        amounts = [_int(resource, name) for name in ("billlastperiod", "billtodate", "costadditionallastperiod", "currency")]
        measurement = _child(resource, "overallconsumptionlastperiod")
        uom = _int(measurement, "uom")
        power = _int(measurement, "poweroftenmultiplier") or 0
        raw = _int(measurement, "value")
    except ValueError as error:
        return (ref, str(error))
    if start is None or not seconds or seconds <= 0:
        return (ref, "UsageSummary lacks a billingPeriod with a start and a positive duration")
    try:
        moment = datetime.fromtimestamp(start, UTC)
    except (OverflowError, OSError, ValueError):
        return (ref, f"billing period start {start} is not a plausible time")
    if seconds > 400 * 86400:
        return (ref, f"billing period of {seconds} s is longer than any bill")
    if any(amount is not None and abs(amount) >= 2**47 for amount in amounts[:3]) or (raw is not None and abs(raw) >= 2**47):
        return (ref, "an amount or the consumption is beyond ESPI's 48-bit integers")
    currency = amounts[3]
    if currency is not None and not 0 < currency < 1000:
        return (ref, f"currency {currency} is not an ISO 4217 numeric code")
    consumption = kind = unit = None
    code = espi_unit(uom or 72)
    if raw is not None and code is not None and abs(power) <= 9:
        kind = _kinds_for(code)[0]
        consumption, unit = _whole(raw, power, code)
        if consumption < 0:
            return (ref, f"negative consumption {raw}")
    return EspiSummary(self_href, moment, seconds, amounts[0], amounts[1], amounts[2], currency, consumption, kind, unit)


def _kinds_for_fine(fine_unit: str) -> tuple[str, ...]:
    return _kinds_for({"Wh": "Wh", "J": "J", "mtherm": "therm", "btu": "btu"}.get(fine_unit, "L"))


def _read_block(point: EspiUsagePoint, block, reading_type, entry_index: int) -> None:
    if reading_type is None:
        point.rejected.append((f"entry {entry_index}", "IntervalBlock has no ReadingType (no related link and none before it)"))
        return
    uom, power, flow, _ = reading_type
    code = espi_unit(uom or 72)
    channel = FLOW.get(flow)
    for position, reading in enumerate(_children(block, "intervalreading"), 1):
        ref = f"entry {entry_index} reading {position}"
        if code is None:
            point.rejected.append((ref, f"unit code {uom} is not energy or volume this portal stores"))
            continue
        kinds = _kinds_for(code)
        if point.kind is None:
            point.kind = kinds[0]
        if point.kind not in kinds:
            point.rejected.append((ref, f"unit code {uom} ({code}) does not fit a {point.kind} usage point"))
            continue
        if channel is None:
            point.rejected.append((ref, f"flow direction {flow} is neither forward (1) nor reverse (19)"))
            continue
        period = _child(reading, "timeperiod")
        try:
            start = _int(period, "start")
            seconds = _int(period, "duration")
            raw = _int(reading, "value")
            quality_element = _child(reading, "readingquality")
            quality_code = _int(quality_element, "quality") if quality_element is not None else None
        except ValueError as error:
            point.rejected.append((ref, str(error)))
            continue
        if start is None or seconds is None or raw is None:
            point.rejected.append((ref, "reading lacks timePeriod start, duration or value"))
            continue
        try:
            moment = datetime.fromtimestamp(start, UTC)
        except (OverflowError, OSError, ValueError):
            point.rejected.append((ref, f"start {start} is not a plausible time"))
            continue
        value, unit = _whole(raw, power, code)
        point.readings.append(EspiReading(ref, channel, moment, seconds, value, unit, QUALITY.get(quality_code, Quality.ACTUAL)))


def readings_from_espi(data: bytes, meter_serial: str) -> tuple[list[RawReading], list[tuple[str, str]]]:
    """Every reading in the file, attributed to one meter (head-end files carry one meter each)."""
    rows, rejected = [], []
    for point in parse_espi(data):
        rejected += point.rejected
        rows += [RawReading(r.ref, meter_serial, r.channel, r.start, r.seconds, r.value, r.unit, r.quality) for r in point.readings]
    return rows, rejected
