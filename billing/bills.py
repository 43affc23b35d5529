"""Past bills, computed by the tariff engine for each ended billing period of the viewer's occupancy.

A bill is one billing cycle (``BillCycle``), cut to the viewer's own occupancy: a move-in or
move-out in mid-cycle gives a shorter bill, and no bill ever covers a day someone else lived
there (SO-C7). Each is priced as the dashboard prices a period (``period_charts.daily_costs``,
fixed charges, the demand charge where the tariff has one) and set beside the utility's own
summary of that period when one was imported (ESPI UsageSummary), with the difference.

A cycle without a single day of readings is not a bill (a customer who moved in years before
the meter's readings start would otherwise see a long list of empty bills): it is neither listed
nor opened. A cycle with readings on only some of its days is a bill, marked partial.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from amiportal.premises.models import MeterKind, Premise
from amiportal.premises.selectors import Occupancy
from billing.demand import DemandCharge, demand_charge
from billing.period_charts import daily_costs
from billing.selectors import UtilityBill, electric_meter, occupancy_windows, utility_bills
from billing.tariff_engine import PriceBook, cycle_bounds

# At most this many past bills are listed (five years of monthly cycles).
MAX_BILLS = 60
# A utility's period matches a computed one when both ends are within a day (DST and meter-read drift).
MATCH_DAYS = 1


@dataclass
class Bill:
    first_day: date
    last_day: date
    delivered_wh: int
    received_wh: int
    energy: Decimal  # cents
    credit: Decimal
    fixed: Decimal
    demand: DemandCharge | None
    utility: UtilityBill | None = None
    days_with_readings: int = 0

    @property
    def total(self) -> Decimal:
        return self.energy - self.credit + self.fixed + (self.demand.cents if self.demand else Decimal(0))

    @property
    def difference(self) -> Decimal | None:
        """Our total less the utility's, in cents (None without a utility amount in US dollars)."""
        if self.utility is None or self.utility.amount is None or self.utility.currency != "USD":
            return None
        return self.total - self.utility.amount * 100

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def partial(self) -> bool:
        """Readings cover only some of the period's days: the energy charges count only those."""
        return self.days_with_readings < self.days


@dataclass
class BillHistory:
    bills: list[Bill]  # newest first; only cycles with readings
    readings_from: date | None  # the first day with readings among the cycles looked at; None without any
    without_readings: int = 0  # ended cycles left out because they have no readings at all


def bill_periods(*, occupancies: list[Occupancy], cycle_day: int, today: date) -> list[tuple[date, date]]:
    """(first, last day) of every billing cycle that ended before ``today``, cut to each occupancy; newest first."""
    periods = []
    for occupancy in occupancies:
        stop = min(occupancy.end or today - timedelta(days=1), today - timedelta(days=1))
        day = occupancy.start
        while day <= stop:
            first, last = cycle_bounds(day, cycle_day)
            if last < today or (occupancy.end is not None and occupancy.end < today and last >= occupancy.end):
                periods.append((max(first, occupancy.start), min(last, stop)))
            day = last + timedelta(days=1)
    periods.sort(reverse=True)
    return periods[:MAX_BILLS]


def _price(premise: Premise, periods: list[tuple[date, date]], occupancies: list[Occupancy]) -> BillHistory:
    """The bills of ``periods`` that have readings (one read of the daily costs for all of them)."""
    meter = electric_meter(premise)
    if meter is None or not periods:
        return BillHistory([], None)
    oldest, newest = min(p[0] for p in periods), max(p[1] for p in periods)
    book = PriceBook(premise, oldest.replace(day=1), newest)
    windows = occupancy_windows(premise, occupancies, oldest, newest)
    days = daily_costs(premise, meter, oldest, newest, windows, book)
    summaries = [s for s in utility_bills(premise=premise, occupancies=occupancies, limit=MAX_BILLS * 2) if s.kind == MeterKind.ELECTRIC]
    bills = []
    skipped = 0
    for first, last in periods:
        inside = [cost for day, cost in days.items() if first <= day <= last]
        if not inside:
            skipped += 1  # no readings at all in this cycle: not a bill
            continue
        bill = Bill(
            first,
            last,
            sum(c.delivered_wh for c in inside),
            sum(c.received_wh for c in inside),
            sum((c.energy for c in inside), Decimal(0)),
            sum((c.credit for c in inside), Decimal(0)),
            book.fixed_charges(first, last),
            demand_charge(premise=premise, meter=meter, first_day=first, last_day=last, windows=windows, book=book),
        )
        bill.days_with_readings = len(inside)
        for summary in summaries:
            if abs((summary.first_day - first).days) <= MATCH_DAYS and abs((summary.last_day - last).days) <= MATCH_DAYS:
                bill.utility = summary
                break
        bills.append(bill)
    return BillHistory(bills, min(days, default=None), skipped)


def bill_history(*, premise: Premise, occupancies: list[Occupancy], today: date) -> BillHistory:
    """The viewer's past bills at the premise that have readings, newest first, and the first day with readings."""
    cycle_day = PriceBook(premise, today, today).cycle_day
    return _price(premise, bill_periods(occupancies=occupancies, cycle_day=cycle_day, today=today), occupancies)


def bill_get(*, premise: Premise, occupancies: list[Occupancy], today: date, first_day: date) -> Bill | None:
    """The viewer's past bill that starts on ``first_day``, or None (not a bill of theirs, or a cycle without readings)."""
    cycle_day = PriceBook(premise, today, today).cycle_day
    chosen = [p for p in bill_periods(occupancies=occupancies, cycle_day=cycle_day, today=today) if p[0] == first_day]
    bills = _price(premise, chosen, occupancies).bills
    return bills[0] if bills else None
