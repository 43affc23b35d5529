"""Reads of usage and cost. Customer reads are bounded by the customer's own occupancy (SO-C5, SO-C7).

The windows they take come from ``billing.selectors.windows`` (built on the occupancy selectors).
"""

from __future__ import annotations

import json
import zoneinfo
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from operator import le

from django.db import connection
from django.db.models import OuterRef, Q, Subquery

from amiportal.premises.models import Meter, MeterKind, Premise
from amiportal.premises.selectors import Occupancy
from billing.models import (
    UNIT_FOR_KIND,
    Channel,
    ExportCredit,
    MeterUnit,
    PricingKind,
    SimilarHomesRank,
    UtilityBillSummary,
)
from billing.selectors.readings import BOTH_CHANNELS, hourly_usage, interval_rollups, interval_sums, period_rollups, window_days  # noqa: F401 (re-exported)
from billing.selectors.windows import Window, window_for_dates
from billing.tariff_engine import KWH, HourCost, Price, PriceBook

# --- Usage and cost -------------------------------------------------------------------


@dataclass
class CostSummary:
    first_day: date
    last_day: date
    delivered_wh: int
    received_wh: int
    energy: Decimal  # cents
    credit: Decimal  # cents
    fixed: Decimal  # cents
    hours: list[HourCost]

    @property
    def total(self) -> Decimal:
        return self.energy - self.credit + self.fixed


def cost_summary(hours: list[HourCost], first_day: date, last_day: date, book: PriceBook) -> CostSummary:
    """Sum already-costed hours (a subset of a longer period) for ``first_day``..``last_day``."""
    chosen = [h for h in hours if first_day <= h.local.date() <= last_day]
    return CostSummary(
        first_day,
        last_day,
        sum(h.delivered_wh for h in chosen),
        sum(h.received_wh for h in chosen),
        sum((h.cost for h in chosen), Decimal(0)),
        sum((h.credit for h in chosen), Decimal(0)),
        book.fixed_charges(first_day, last_day),
        chosen,
    )


def electric_meter(premise: Premise) -> Meter | None:
    return premise.meters.filter(kind=MeterKind.ELECTRIC).order_by("removed_on", "serial_number").first()


def _days(first_day: date, last_day: date):
    day = first_day
    while day <= last_day:
        yield day
        day += timedelta(days=1)


def _any_tiered(book: PriceBook, first_day: date, last_day: date) -> bool:
    versions = {book.version_on(day) for day in _days(first_day, last_day)}
    return any(v is not None and v.pricing == PricingKind.TIERED for v in versions)


def period_cost(
    *, premise: Premise, meter: Meter, first_day: date, last_day: date, windows: list[Window], book: PriceBook | None = None
) -> CostSummary:
    """Usage and cost for premise-local days ``first_day``..``last_day``, hour by hour (tiered blocks count from each month's start)."""
    month_start = first_day.replace(day=1)
    book = book or PriceBook(premise, month_start, last_day)
    # Only tiered blocks need the month's usage before the first day.
    read_from = month_start if _any_tiered(book, first_day, last_day) else first_day
    span = window_for_dates(premise, read_from, last_day)
    wanted_start = window_for_dates(premise, first_day, first_day).start
    hours = hourly_usage(meter=meter, start=span.start, end=span.end, windows=windows)
    before = Decimal(sum(d for moment, d, _ in hours if moment < wanted_start)) / KWH
    costed = book.cost_hours([h for h in hours if h[0] >= wanted_start], month_kwh_before=before)
    return cost_summary(costed, first_day, last_day, book)


def period_cost_by_day(
    *, premise: Premise, meter: Meter, first_day: date, last_day: date, windows: list[Window], book: PriceBook | None = None
) -> CostSummary:
    """The numbers of ``period_cost``, priced from the per-TOU-period rollups: a day is a few rows, not 24 hours.

    A flat or TOU day without a critical-peak event is priced per stored period (the period's
    rate is the same in every hour of it). Days that need their hours are priced from the hourly
    rollups as ``period_cost`` does: real-time prices, critical-peak event days, and days whose
    rollups carry no period. A tiered version anywhere in the span sends the whole span down the
    hourly path (its blocks depend on the running monthly total). ``hours`` holds only the hours
    priced that way.
    """
    book = book or PriceBook(premise, first_day.replace(day=1), last_day)
    if _any_tiered(book, first_day, last_day):
        return period_cost(premise=premise, meter=meter, first_day=first_day, last_day=last_day, windows=windows, book=book)
    rows = period_rollups(premise=premise, meter=meter, first_day=first_day, last_day=last_day, windows=windows)
    prices: dict[tuple[date, str], Price | None] = {}
    by_hour: set[date] = set()
    for day, _, period, _ in rows:
        if (day, period) not in prices:
            version = book.version_on(day)
            prices[(day, period)] = price = None if version is None or book.has_event(day) else book.period_price(day, period)
            if price is None and version is not None:
                by_hour.add(day)
    delivered = received = 0
    energy = credit = Decimal(0)
    for day, channel, period, value in rows:
        if day in by_hour:
            continue
        price = prices[(day, period)]  # None only on a day without a tariff: usage counted, not costed
        if channel == Channel.DELIVERED:
            delivered += value
            if price is not None:
                energy += Decimal(value) / KWH * price.cents_per_kwh
            continue
        received += value
        version = book.version_on(day)
        if price is not None and version.export_credit == ExportCredit.RETAIL:
            credit += Decimal(value) / KWH * price.cents_per_kwh
        elif price is not None and version.export_credit == ExportCredit.EXPORT_RATE:
            credit += Decimal(value) / KWH * (version.export_rate or Decimal(0))
    hours: list[HourCost] = []
    if by_hour:
        # One read for all of them (real-time prices make every day such a day).
        span = window_for_dates(premise, min(by_hour), max(by_hour))
        zone = book.zone
        usage = hourly_usage(meter=meter, start=span.start, end=span.end, windows=windows)
        hours = book.cost_hours([h for h in usage if h[0].astimezone(zone).date() in by_hour])
        delivered += sum(h.delivered_wh for h in hours)
        received += sum(h.received_wh for h in hours)
        energy += sum((h.cost for h in hours), Decimal(0))
        credit += sum((h.credit for h in hours), Decimal(0))
    return CostSummary(first_day, last_day, delivered, received, energy, credit, book.fixed_charges(first_day, last_day), hours)


def interval_series(*, meter: Meter, windows: list[Window]) -> dict:
    """Compact columns for charts: epoch seconds, interval length, delivered and received Wh.

    On PostgreSQL each channel of each window is one index-only range scan on
    ``reading_current_unique`` that comes back as one row of arrays, so a year of 15-minute data
    is three arrays rather than 35,000 rows (no per-row Python, no datetimes).
    """
    if connection.vendor == "postgresql":
        return _interval_series_postgresql(meter, windows)
    return _interval_series_rows(meter, windows)


# The inner ORDER BY walks the index in start order and array_agg keeps its input order (an
# ORDER BY inside each array_agg would sort three times); the callers check the order anyway.
# Integer arrays come back as text, '{1,2,3}', which is a JSON array once the braces are swapped.
_CHANNEL_ARRAYS = (
    "SELECT coalesce(array_agg(epoch), '{}')::text, coalesce(array_agg(seconds), '{}')::text, coalesce(array_agg(value), '{}')::text"
    " FROM (SELECT date_part('epoch', start)::bigint AS epoch, seconds, value FROM billing_intervalreading"
    " WHERE meter_id = %s AND channel = %s AND is_current AND start >= %s AND start < %s ORDER BY start) AS ordered"
)


def _channel_arrays(meter: Meter, windows: list[Window]) -> list[tuple[tuple[str, str, str], tuple[str, str, str]]] | None:
    """Per window, (delivered, received) as JSON array texts (start, seconds, value); None if out of order."""
    out = []
    with connection.cursor() as cursor:
        for window in windows:
            pair = []
            for channel in (Channel.DELIVERED, Channel.RECEIVED):
                cursor.execute(_CHANNEL_ARRAYS, [meter.pk, channel, window.start, window.end])
                pair.append(tuple("[" + text[1:-1] + "]" for text in cursor.fetchone()))
            if not _ascending(json.loads(pair[0][0])) or not _ascending(json.loads(pair[1][0])):
                return None
            out.append(tuple(pair))
    return out


def interval_series_json(*, meter: Meter, windows: list[Window]) -> str:
    """The chart data of ``interval_series`` as a JSON object text, with the meter's serial number and unit.

    On PostgreSQL the arrays are built by the database and spliced as text, so a year of
    15-minute data is neither parsed into Python lists nor encoded again. When export is present
    in only some intervals the columns need merging, done by ``interval_series``.
    """
    head = {"meter": meter.serial_number, "unit": "Wh"}
    if connection.vendor == "postgresql":
        arrays = _channel_arrays(meter, windows)
        if arrays is not None and all(received[0] in ("[]", delivered[0]) for delivered, received in arrays):
            columns: list[list[str]] = [[], [], [], []]
            for delivered, received in arrays:
                if delivered[0] == "[]":
                    continue
                columns[0].append(delivered[0][1:-1])
                columns[1].append(delivered[1][1:-1])
                columns[2].append(delivered[2][1:-1])
                columns[3].append(received[2][1:-1] if received[0] != "[]" else ",".join(["0"] * (delivered[0].count(",") + 1)))
            names = ("start", "seconds", "delivered_wh", "received_wh")
            body = ", ".join(f'"{name}": [{",".join(parts)}]' for name, parts in zip(names, columns, strict=True))
            return json.dumps(head)[:-1] + ", " + body + "}"
    return json.dumps({**head, **interval_series(meter=meter, windows=windows)})


def _interval_series_postgresql(meter: Meter, windows: list[Window]) -> dict:
    arrays = _channel_arrays(meter, windows)
    if arrays is None:
        return _interval_series_rows(meter, windows)
    starts: list[int] = []
    seconds_col: list[int] = []
    delivered: list[int] = []
    received: list[int] = []
    for delivered_texts, received_texts in arrays:
        d_starts, d_seconds, d_values = (json.loads(text) for text in delivered_texts)
        r_starts, r_seconds, r_values = (json.loads(text) for text in received_texts)
        if not r_starts or r_starts == d_starts:
            # No export, or export in every interval: the columns line up as they are.
            starts += d_starts
            seconds_col += d_seconds
            delivered += d_values
            received += r_values or [0] * len(d_values)
            continue
        # Export in some intervals only, or intervals of one channel alone: merge by start.
        merged: dict[int, list[int]] = {}
        for start, seconds, value in zip(d_starts, d_seconds, d_values, strict=True):
            merged[start] = [seconds, value, 0]
        for start, seconds, value in zip(r_starts, r_seconds, r_values, strict=True):
            merged.setdefault(start, [seconds, 0, 0])[2] = value
        for start in sorted(merged):
            seconds, d_value, r_value = merged[start]
            starts.append(start)
            seconds_col.append(seconds)
            delivered.append(d_value)
            received.append(r_value)
    return {"start": starts, "seconds": seconds_col, "delivered_wh": delivered, "received_wh": received}


def _ascending(values: list[int]) -> bool:
    return all(map(le, values, values[1:]))


def _interval_series_rows(meter: Meter, windows: list[Window]) -> dict:
    """The portable form (SQLite): one row per reading."""
    epoch = "extract(epoch FROM start)::bigint" if connection.vendor == "postgresql" else "CAST(strftime('%%s', start) AS INTEGER)"
    sql = (
        f"SELECT {epoch}, channel, seconds, value FROM billing_intervalreading "  # noqa: S608 (constant SQL fragments)
        "WHERE meter_id = %s AND is_current AND start >= %s AND start < %s ORDER BY start, channel"
    )
    starts: list[int] = []
    seconds_col: list[int] = []
    delivered: list[int] = []
    received: list[int] = []
    last = None
    with connection.cursor() as cursor:
        for window in windows:
            adapt = connection.ops.adapt_datetimefield_value
            cursor.execute(sql, [meter.pk, adapt(window.start), adapt(window.end)])
            for start, channel, seconds, value in cursor.fetchall():
                if start != last:
                    starts.append(start)
                    seconds_col.append(seconds)
                    delivered.append(0)
                    received.append(0)
                    last = start
                if channel == Channel.DELIVERED:
                    delivered[-1] = value
                else:
                    received[-1] = value
    return {"start": starts, "seconds": seconds_col, "delivered_wh": delivered, "received_wh": received}


_SIMILAR_HOMES_RANK = (
    "SELECT as_of, total_wh, group_size, below, above, others_median_wh FROM billing_similarhomesrank "
    "WHERE meter_id = %s AND as_of <= %s AND as_of >= %s ORDER BY as_of DESC LIMIT 1"
)


def similar_homes_rank(*, meter: Meter, newest: date, oldest: date) -> SimilarHomesRank | None:
    """The meter's newest daily similar-homes ranking with ``as_of`` from ``oldest`` to ``newest``, or None."""
    if connection.vendor == "postgresql":  # one index probe; the ORM's compile would cost more than the query
        with connection.cursor() as cursor:
            cursor.execute(_SIMILAR_HOMES_RANK, [meter.pk, newest, oldest])
            row = cursor.fetchone()
        if row is None:
            return None
        as_of, total_wh, group_size, below, above, median = row
        return SimilarHomesRank(
            meter_id=meter.pk, as_of=as_of, total_wh=total_wh, group_size=group_size, below=below, above=above, others_median_wh=median
        )
    return SimilarHomesRank.objects.filter(meter=meter, as_of__lte=newest, as_of__gte=oldest).order_by("-as_of").first()


# --- The utility's own bills ------------------------------------------------------------

CURRENCY_CODES = {840: "USD", 124: "CAD", 978: "EUR", 826: "GBP", 36: "AUD"}


@dataclass
class UtilityBill:
    first_day: date
    last_day: date
    kind: str
    consumption: int | None  # in the meter's stored unit
    unit: str  # the meter's unit code when it has one (m3, gal), else the kind's stored unit (Wh, mtherm, L); see the ``quantity`` filter
    amount: Decimal | None  # in whole currency units
    currency: str


_UTILITY_BILL_ROWS = (
    "SELECT s.period_start, s.period_seconds, m.kind, s.consumption, s.bill_amount, s.currency, u.unit "
    "FROM billing_utilitybillsummary s JOIN premises_meter m ON m.id = s.meter_id LEFT JOIN billing_meterunit u ON u.meter_id = s.meter_id "
    "WHERE s.premise_id = %s AND ({ranges}) ORDER BY s.period_start DESC LIMIT %s"
)


def _utility_bill_rows(premise: Premise, windows: list[Window], limit: int) -> list[tuple]:
    """(period start, seconds, meter kind, consumption, bill amount, currency, the meter's unit or None) of the premise's
    summaries starting in ``windows``."""
    if connection.vendor == "postgresql":  # as in interval_rollups: no per-call ORM compile
        sql = _UTILITY_BILL_ROWS.replace("{ranges}", " OR ".join(["(s.period_start >= %s AND s.period_start < %s)"] * len(windows)))
        with connection.cursor() as cursor:
            cursor.execute(sql, [premise.pk, *(b for w in windows for b in (w.start, w.end)), limit])
            return cursor.fetchall()
    inside = Q()
    for window in windows:
        inside |= Q(period_start__gte=window.start, period_start__lt=window.end)
    rows = UtilityBillSummary.objects.filter(inside, premise=premise).order_by("-period_start")
    rows = rows.annotate(meter_unit=Subquery(MeterUnit.objects.filter(meter_id=OuterRef("meter_id")).values("unit")[:1]))
    return list(
        rows.values_list("period_start", "period_seconds", "meter__kind", "consumption", "bill_amount", "currency", "meter_unit")[:limit]
    )


def utility_bills(*, premise: Premise, occupancies: list[Occupancy], limit: int = 24) -> list[UtilityBill]:
    """The utility's billing-period summaries (imported from Green Button) for periods the occupant lived here, newest first.

    A summary counts only when its whole period falls inside one of the occupant's windows, so
    a new occupant never sees a previous occupant's bills (SO-C5, SO-C7).
    """
    zone = zoneinfo.ZoneInfo(premise.timezone)
    windows = [window_for_dates(premise, o.start, o.end or date.max - timedelta(days=2)) for o in occupancies]
    if not windows:
        return []
    out = []
    for period_start, period_seconds, kind, consumption, bill_amount, currency, unit in _utility_bill_rows(premise, windows, limit * 2):
        end = period_start + timedelta(seconds=period_seconds)
        if not any(w.start <= period_start and end <= w.end for w in windows):
            continue
        amount = None if bill_amount is None else (Decimal(bill_amount) / 100_000).quantize(Decimal("0.01"))
        out.append(
            UtilityBill(
                period_start.astimezone(zone).date(),
                (end - timedelta(seconds=1)).astimezone(zone).date(),
                kind,
                consumption,
                unit or UNIT_FOR_KIND[kind],  # the meter's unit (m³, gallons, ...), or the kind's stored unit
                amount,
                CURRENCY_CODES.get(currency or 840, str(currency)),
            )
        )
    return out[:limit]
