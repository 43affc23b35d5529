"""Pricing gas and water: quantity per day, in the tariff's unit, flat or in monthly tiers.

Gas and water are priced by quantity alone (no time of day), so a premise-local day's total
is all a bill needs. The meter's stored quantity is converted to the unit the tariff prices
per (``billing.units``): exactly between units of one kind (litres to m³, thousandths of a
cubic foot to CCF), through the version's gas energy content between volume and energy (m³
to kWh or therms, ``GasEnergy``). Tiers count from the start of each local calendar month,
as the electricity tiers do, and a day that crosses a tier limit is split at it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from amiportal.premises.models import MeterKind
from billing.models import PricingKind, Tariff
from billing.tariff_engine import ZERO, PriceBook
from billing.units import GasEnergy, convert


@dataclass
class DayCost:
    day: date
    stored: int  # the meter's stored unit
    billed: Decimal  # in ``unit``, the tariff's unit (0 without a tariff)
    unit: str | None
    cents: Decimal


def tariff_units(book: PriceBook) -> dict[int, str]:
    """The unit each tariff in the book's history prices per."""
    ids = {assignment.tariff_id for assignment in book.assignments}
    return dict(Tariff.objects.filter(pk__in=ids).values_list("pk", "unit")) if ids else {}


def billed_quantity(value: int | Decimal, stored: str, unit: str, commodity: str, definition: dict) -> Decimal:
    """A stored quantity in the tariff's unit; gas crosses volume and energy through the version's energy content."""
    if commodity == MeterKind.GAS:
        return GasEnergy.from_definition(definition).convert(value, stored, unit)
    return convert(value, stored, unit)


def _factor(stored: str, unit: str, commodity: str, definition: dict) -> Decimal:
    """How many of the tariff's unit one stored unit is (a year of days shares one per version)."""
    return billed_quantity(1, stored, unit, commodity, definition)


def days_cost(*, book: PriceBook, days: list[tuple[date, int]], stored: str, units: dict[int, str] | None = None) -> list[DayCost]:
    """Each (local day, stored quantity) priced under the book's gas or water tariff history, in day order."""
    units = tariff_units(book) if units is None else units
    out = []
    factors: dict[int, Decimal] = {}
    month_key, month_total = None, ZERO
    for day, value in sorted(days):
        if (day.year, day.month) != month_key:
            month_key, month_total = (day.year, day.month), ZERO
        version = book.version_on(day)
        if version is None:
            out.append(DayCost(day, value, ZERO, None, ZERO))
            continue
        unit = units[version.tariff_id]
        factor = factors.get(version.pk)
        if factor is None:
            factor = factors[version.pk] = _factor(stored, unit, book.commodity, version.definition)
        quantity = value * factor
        if version.pricing == PricingKind.FLAT:
            cents = quantity * version.flat_rate
        else:
            cents = _tiered(version.definition["tiers"], month_total, quantity)
        month_total += quantity
        out.append(DayCost(day, value, quantity, unit, cents))
    return out


def _tiered(tiers: list[dict], before: Decimal, quantity: Decimal) -> Decimal:
    """The cost of ``quantity`` after ``before`` this month, split across the tier limits (``up_to``, in the tariff's unit)."""
    cents, used, left = ZERO, before, quantity
    for tier in tiers:
        limit = tier.get("up_to")
        rate = Decimal(str(tier["rate"]))
        if limit is None:
            return cents + left * rate
        room = Decimal(str(limit)) - used
        if room <= 0:
            continue
        take = min(room, left)
        cents += take * rate
        used += take
        left -= take
        if left <= 0:
            return cents
    return cents
