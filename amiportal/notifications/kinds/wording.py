"""Plain-words dates, times and amounts for notification texts, in the premise's own zone."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time
from decimal import Decimal


def clock(hour: int) -> str:
    """16 -> '4 pm', 0 and 24 -> 'midnight', 12 -> 'noon'."""
    if hour % 24 == 0:
        return "midnight"
    if hour == 12:
        return "noon"
    return f"{hour % 12} {'am' if hour < 12 else 'pm'}"


def day_words(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


def zone_abbreviation(day: date, hour: int, zone: str) -> str:
    """The zone's abbreviation in force then (CST or CDT), so the time reads as the customer's clock does."""
    moment = datetime.combine(day, time(min(hour, 23)), tzinfo=zoneinfo.ZoneInfo(zone))
    return moment.strftime("%Z")


def dollars(cents: Decimal | int) -> str:
    return f"${Decimal(cents) / 100:,.2f}"
