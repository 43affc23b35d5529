"""Path converters. ``<id:...>`` is the one way a URL carries a database row id.

Django's ``int`` converter matches any run of digits, and a 25-digit premise id overflowed
the database's 64-bit integer in the operator's usage lookup (``OverflowError`` on SQLite, the
development database): a 500 instead of a 404. This converter matches only ids a row can have,
so anything larger is no match, answered 404 like any unknown id, on every database.
``tests/test_hostile_urls.py`` fails on a route that uses ``int`` again.
"""

from __future__ import annotations

from datetime import date

from django.urls import register_converter

LARGEST_ID = 2**63 - 1  # PostgreSQL bigint, SQLite integer


class DatabaseIdConverter:
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > LARGEST_ID:
            raise ValueError("larger than any row id")  # Django takes a ValueError here as "no match"
        return number

    def to_url(self, value: int | str) -> str:
        return str(int(value))


class IsoDayConverter:
    """A calendar day as 2025-03-31; anything else, 2025-02-30 included, is no match (404)."""

    regex = "[0-9]{4}-[0-9]{2}-[0-9]{2}"

    def to_python(self, value: str) -> date:
        return date.fromisoformat(value)  # a ValueError for a day the calendar lacks: no match

    def to_url(self, value: date | str) -> str:
        return value.isoformat() if isinstance(value, date) else date.fromisoformat(value).isoformat()


def register() -> None:
    register_converter(DatabaseIdConverter, "id")
    register_converter(IsoDayConverter, "day")
