"""Peak demand (kW) from interval data, and the demand charge a tariff puts on it.

A demand charge is the tariff version's ``definition["demand"]["cents_per_kw"]`` (validated by
``validate_definition``) times the highest average demand of any delivered interval in the
billing period (an interval's energy over its length: 2.5 kWh in 15 minutes is 10 kW). The
version in force on the period's last day sets the rate. Reads are bounded by the viewer's
occupancy windows, like every customer read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from amiportal.premises.models import Meter
from billing.selectors import interval_peak, window_for_dates
from billing.tariff_engine import PriceBook, demand_rate


@dataclass(frozen=True)
class DemandCharge:
    kw: Decimal
    at: datetime | None  # when the peak interval began (UTC); None without readings
    cents_per_kw: Decimal

    @property
    def cents(self) -> Decimal:
        return self.kw * self.cents_per_kw


def peak_demand(*, meter: Meter, start: datetime, end: datetime, windows) -> tuple[Decimal, datetime | None]:
    """The highest average kW of a delivered interval from ``start`` to ``end`` within ``windows``, and when it began."""
    peak = interval_peak(meter=meter, start=start, end=end, windows=windows)
    if peak is None:
        return Decimal(0), None
    moment, value, seconds = peak
    return (Decimal(value) * 3600 / seconds / 1000).quantize(Decimal("0.01")), moment


def demand_charge(*, premise, meter: Meter, first_day: date, last_day: date, windows, book: PriceBook) -> DemandCharge | None:
    """The demand charge of premise-local days ``first_day``..``last_day``, or None when the tariff has none."""
    rate = demand_rate(book.version_on(last_day))
    if rate is None:
        return None
    span = window_for_dates(premise, first_day, last_day)
    kw, at = peak_demand(meter=meter, start=span.start, end=span.end, windows=windows)
    return DemandCharge(kw, at, rate)
