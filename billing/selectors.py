"""Reads of usage and cost. Customer reads are bounded by the customer's own occupancy (SO-C5, SO-C7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import connection

from amiportal.premises.models import Meter, MeterKind, Premise
from amiportal.premises.selectors import Occupancy
from billing.formats.espi_write import Window
from billing.models import Channel, Granularity, IntervalReading, UsageRollup
from billing.services.ingest import local_day_bounds
from billing.tariff_engine import KWH, HourCost, PriceBook


def window_for_dates(premise: Premise, start: date, end: date) -> Window:
    """Premise-local days ``start`` to ``end`` (both included) as a UTC window."""
    return Window(local_day_bounds(start, premise.timezone)[0], local_day_bounds(end, premise.timezone)[1])


def occupancy_windows(premise: Premise, occupancies: list[Occupancy], first: date, last: date) -> list[Window]:
    """The parts of premise-local days ``first``..``last`` that fall in the given occupancies.

    Every customer read goes through these windows, so a new occupant never sees a previous
    occupant's readings (SO-C5, SO-C7).
    """
    windows = []
    for occupancy in occupancies:
        start = max(first, occupancy.start)
        end = min(last, occupancy.end) if occupancy.end else last
        if start <= end:
            windows.append(window_for_dates(premise, start, end))
    return windows


def clip_to_windows(start: datetime, end: datetime, windows: list[Window]) -> list[Window]:
    out = []
    for window in windows:
        first, last = max(start, window.start), min(end, window.end)
        if first < last:
            out.append(Window(first, last))
    return out


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


def hourly_usage(*, meter: Meter, start: datetime, end: datetime, windows: list[Window] | None = None) -> list[tuple[datetime, int, int]]:
    """(UTC hour start, delivered Wh, received Wh) from the hourly rollups, limited to ``windows`` if given."""
    rows = UsageRollup.objects.filter(meter=meter, granularity=Granularity.HOUR, period_start__gte=start, period_start__lt=end).values_list(
        "period_start", "channel", "value"
    )
    by_hour: dict[datetime, list[int]] = {}
    for moment, channel, value in rows:
        if windows is not None and not any(w.start <= moment < w.end for w in windows):
            continue
        entry = by_hour.setdefault(moment, [0, 0])
        entry[0 if channel == Channel.DELIVERED else 1] += value
    return [(moment, values[0], values[1]) for moment, values in sorted(by_hour.items())]


def period_cost(
    *, premise: Premise, meter: Meter, first_day: date, last_day: date, windows: list[Window] | None = None, book: PriceBook | None = None
) -> CostSummary:
    """Usage and cost for premise-local days ``first_day``..``last_day`` (tiered blocks count from each month's start)."""
    month_start = first_day.replace(day=1)
    book = book or PriceBook(premise, month_start, last_day)
    span = window_for_dates(premise, month_start, last_day)
    wanted_start = window_for_dates(premise, first_day, first_day).start
    hours = hourly_usage(meter=meter, start=span.start, end=span.end, windows=windows)
    before = Decimal(sum(d for moment, d, _ in hours if moment < wanted_start)) / KWH
    costed = book.cost_hours([h for h in hours if h[0] >= wanted_start], month_kwh_before=before)
    return cost_summary(costed, first_day, last_day, book)


def interval_rows(*, meter: Meter, windows: list[Window]):
    """Current readings of the meter within ``windows``: (start, channel, seconds, value, quality), in time order."""
    for window in windows:
        yield from (
            IntervalReading.objects.filter(meter=meter, is_current=True, start__gte=window.start, start__lt=window.end)
            .order_by("start", "channel")
            .values_list("start", "channel", "seconds", "value", "quality")
            .iterator(chunk_size=5000)
        )


def interval_series(*, meter: Meter, windows: list[Window]) -> dict:
    """Compact columns for charts: epoch seconds, interval length, delivered and received Wh.

    One plain query per window that returns integers, so a year of 15-minute data is not
    turned into Python datetimes and model rows on the way to JSON.
    """
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
