"""A past bill as CSV: one line per charge, the utility's own figure and the difference, for a spreadsheet."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from billing.bills import Bill


def _dollars(cents: Decimal) -> str:
    return f"{(Decimal(cents) / 100).quantize(Decimal('0.01'))}"


def bill_csv(*, premise, bill: Bill) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["service_point", "first_day", "last_day", "item", "quantity", "unit", "amount_usd"])
    head = [premise.service_point_id, bill.first_day.isoformat(), bill.last_day.isoformat()]
    writer.writerow([*head, "energy from the grid", f"{Decimal(bill.delivered_wh) / 1000:.3f}", "kWh", _dollars(bill.energy)])
    if bill.received_wh or bill.credit:
        writer.writerow([*head, "export credit", f"{Decimal(bill.received_wh) / 1000:.3f}", "kWh", _dollars(-bill.credit)])
    writer.writerow([*head, "fixed charges", bill.days, "days", _dollars(bill.fixed)])
    if bill.demand is not None:
        writer.writerow([*head, "demand charge", f"{bill.demand.kw}", "kW", _dollars(bill.demand.cents)])
    writer.writerow([*head, "total (computed by the portal)", "", "", _dollars(bill.total)])
    if bill.utility is not None and bill.utility.amount is not None:
        writer.writerow([*head, f"utility's bill ({bill.utility.currency})", "", "", f"{bill.utility.amount}"])
        if bill.difference is not None:
            writer.writerow([*head, "difference (portal less utility)", "", "", _dollars(bill.difference)])
    return buffer.getvalue()
