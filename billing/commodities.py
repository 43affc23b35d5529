"""Reads for gas and water: the unit each meter is read in, and each meter's dashboard section.

Every read of usage goes through ``occupancy_windows`` (the viewer's own periods at the
premise), as the electricity dashboard's do (SO-C5, SO-C7). Quantities are shown in the unit
the utility reads the meter in (m³, CCF, gallons, ...), costs come from the tariff engine
(``billing.commodity_pricing``). The period shown is a span of premise-local days, so the
dashboard's period navigation can ask for any one (``commodity_section``).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Exists, OuterRef

from amiportal.compiled_queries import CompiledQuery, model_columns, model_from_row
from amiportal.premises.models import Meter, MeterKind, Premise
from amiportal.premises.selectors import Occupancy
from billing.commodity_pricing import DayCost, days_cost, tariff_units
from billing.meter_units import meter_unit
from billing.models import Granularity, Tariff
from billing.selectors import interval_rollups, occupancy_windows, window_for_dates
from billing.tariff_engine import ZERO, PriceBook, cycle_bounds
from billing.units import UNITS, convert, stored_unit
from han.models import HanNetwork

# The kinds with a section of their own, in page order (electricity has the main dashboard).
SECTION_KINDS = (MeterKind.GAS, MeterKind.WATER)


def _shown(amount: Decimal, places: str = "0.001") -> float:
    return float(amount.quantize(Decimal(places)))


@dataclass
class PeriodLine:
    """One row of a section's table: a day or a month, its quantity in the meter's unit and its cost."""

    label: str
    quantity: Decimal
    cents: Decimal


@dataclass
class CommoditySection:
    meter: Meter
    kind: str
    unit: str  # the meter's unit code
    symbol: str  # how it is written: m³, CCF, gallons
    tariff: Tariff | None
    first_day: date
    last_day: date
    days: list[PeriodLine] = field(default_factory=list)  # the period, day by day
    months: list[PeriodLine] = field(default_factory=list)  # the twelve months to the period's end
    quantity: Decimal = ZERO  # the period's total, in the meter's unit
    billed: Decimal = ZERO  # the period's total in the tariff's unit
    billed_symbol: str = ""
    usage_cents: Decimal = ZERO
    fixed_cents: Decimal = ZERO

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.meter.pk}"

    @property
    def total_cents(self) -> Decimal:
        return self.usage_cents + self.fixed_cents

    def chart_json(self) -> dict:
        return {
            "key": self.key,
            "unit": self.symbol,
            "days": {"labels": [line.label for line in self.days], "values": [_shown(line.quantity) for line in self.days]},
            "months": {"labels": [line.label for line in self.months], "values": [_shown(line.quantity) for line in self.months]},
        }


def _meters_and_han(premise_id):
    """The premise's meters (outer-joined: one row of NULLs if it has none), each row led by whether it has a HAN network."""
    has_han = Exists(HanNetwork.objects.filter(premise_id=OuterRef("pk")))
    return (
        Premise.objects.filter(pk=premise_id)
        .annotate(has_han=has_han)
        .order_by("meters__removed_on", "meters__serial_number")
        .values_list("has_han", *model_columns(Meter, "meters__"))
    )


# The dashboard's one read for its meters and its live-demand link: compiled once per process.
_PREMISE_METERS = CompiledQuery(_meters_and_han, "premise_id")


def premise_meters_and_han(premise: Premise) -> tuple[list[Meter], bool]:
    """Every meter of the premise, in ``electric_meter``'s order (so its first electric one is that meter), and whether
    the premise has a home-area network: one query."""
    rows = _PREMISE_METERS.rows(premise_id=premise.pk)
    meters = [model_from_row(Meter, DEFAULT_DB_ALIAS, row[1:]) for row in rows if row[1] is not None]
    return meters, bool(rows and rows[0][0])


def commodity_meters(meters: list[Meter]) -> list[Meter]:
    """The gas and water meters among ``meters``, gas first, in the order given."""
    return sorted((meter for meter in meters if meter.kind in SECTION_KINDS), key=lambda meter: SECTION_KINDS.index(meter.kind))


def commodity_sections(
    *, premise: Premise, occupancies: list[Occupancy], today: date, meters: list[Meter], span: tuple[date, date] | None = None
) -> list[CommoditySection]:
    """A section per gas and water meter (of ``meters``) for the billing cycle to ``today``, as the occupant lived here;
    with ``span`` (first and last premise-local day, the period chosen on the dashboard), for those days instead."""
    if not occupancies:
        return []
    out = []
    first_seen = min(o.start for o in occupancies)
    if span is not None:
        first_day, last_day = max(span[0], first_seen), min(span[1], today)
        return [
            commodity_section(premise=premise, meter=meter, occupancies=occupancies, first_day=first_day, last_day=last_day)
            for meter in commodity_meters(meters)
        ]
    year_start = (today.replace(day=1) - timedelta(days=334)).replace(day=1)
    for meter in commodity_meters(meters):
        book = PriceBook(premise, year_start, today, commodity=meter.kind)
        cycle_start, _ = cycle_bounds(today, book.cycle_day)
        out.append(
            commodity_section(
                premise=premise, meter=meter, occupancies=occupancies, first_day=max(cycle_start, first_seen), last_day=today, book=book
            )
        )
    return out


def commodity_section(
    *,
    premise: Premise,
    meter: Meter,
    occupancies: list[Occupancy],
    first_day: date,
    last_day: date,
    book: PriceBook | None = None,
) -> CommoditySection:
    """One gas or water meter's use and cost from ``first_day`` to ``last_day`` (premise-local, within the occupancies),
    with the twelve months to ``last_day`` month by month."""
    unit = meter_unit(meter)
    stored = stored_unit(unit)
    year_start = (last_day.replace(day=1) - timedelta(days=334)).replace(day=1)
    book = book or PriceBook(premise, min(year_start, first_day), last_day, commodity=meter.kind)
    units = tariff_units(book)
    costs = _priced_days(premise, meter, occupancies, min(year_start, first_day), last_day, book, stored, units)
    version = book.version_on(last_day)
    tariff = Tariff.objects.filter(pk=version.tariff_id).first() if version is not None else None
    section = CommoditySection(meter, meter.kind, unit, UNITS[unit].symbol, tariff, first_day, last_day)
    for cost in costs:
        if first_day <= cost.day <= last_day:
            quantity = convert(cost.stored, stored, unit)
            section.days.append(PeriodLine(f"{cost.day:%a %-d %b}", quantity, cost.cents))
            section.quantity += quantity
            section.billed += cost.billed
            section.usage_cents += cost.cents
            if cost.unit:
                section.billed_symbol = UNITS[cost.unit].symbol
    months: dict[tuple[int, int], list[Decimal]] = {}
    for cost in costs:
        if cost.day >= year_start:
            entry = months.setdefault((cost.day.year, cost.day.month), [ZERO, ZERO])
            entry[0] += convert(cost.stored, stored, unit)
            entry[1] += cost.cents
    section.months = [PeriodLine(f"{date(y, m, 1):%b %Y}", q, c) for (y, m), (q, c) in sorted(months.items())]
    span = _within(first_day, last_day, occupancies)
    if span is not None:
        section.fixed_cents = book.fixed_charges(*span)
    return section


def _within(first: date, last: date, occupancies: list[Occupancy]) -> tuple[date, date] | None:
    for occupancy in occupancies:
        start, end = max(first, occupancy.start), min(last, occupancy.end) if occupancy.end else last
        if start <= end:
            return start, end
    return None


def _priced_days(premise, meter, occupancies, first_day, last_day, book, stored, units) -> list[DayCost]:
    windows = occupancy_windows(premise, occupancies, first_day, last_day)
    if not windows:
        return []
    span = window_for_dates(premise, first_day, last_day)
    zone = zoneinfo.ZoneInfo(premise.timezone)
    rows = interval_rollups(meter=meter, granularity=Granularity.DAY, start=span.start, end=span.end, windows=windows)
    return days_cost(
        book=book, days=[(start.astimezone(zone).date(), delivered) for start, delivered, _ in rows], stored=stored, units=units
    )


def commodities_context(
    *, premise: Premise, occupancies: list[Occupancy], today: date, meters: list[Meter], span: tuple[date, date] | None = None
) -> dict:
    """What the dashboard's gas and water include needs: the sections and their chart data (``meters``: ``premise_meters``;
    ``span``: the days of a period the viewer chose, else the billing cycle to date)."""
    sections = commodity_sections(premise=premise, occupancies=occupancies, today=today, meters=meters, span=span)
    return {"commodities": sections, "commodity_chart_data": [section.chart_json() for section in sections]}
