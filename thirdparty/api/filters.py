"""ESPI query parameters: published-min/max, updated-min/max, max-results, start-index.

published-* bound the interval start times served; updated-* bound when the readings
were received by the utility (their ingest batch). Anything malformed is a 400 that says
which parameter and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.exceptions import ValidationError

DEFAULT_MAX_RESULTS = 1000
LIMIT_MAX_RESULTS = 10000
KNOWN = ("published-min", "published-max", "updated-min", "updated-max", "max-results", "start-index", "format")


@dataclass(frozen=True)
class EspiQuery:
    published_min: datetime | None = None
    published_max: datetime | None = None
    updated_min: datetime | None = None
    updated_max: datetime | None = None
    max_results: int = DEFAULT_MAX_RESULTS
    start_index: int = 1
    # The filters as the client sent them, repeated in a paged feed's first/previous/next/last links.
    carried: tuple[tuple[str, str], ...] = ()

    def page(self, items: list) -> list:
        return items[self.start_index - 1 : self.start_index - 1 + self.max_results]


def _moment(params, name: str) -> datetime | None:
    raw = params.get(name)
    if raw is None:
        return None
    value = None
    try:
        value = parse_datetime(raw)
        if value is None:
            day = parse_date(raw)
            value = datetime(day.year, day.month, day.day) if day else None
    except ValueError:
        value = None
    if value is not None:
        try:
            # Comparisons happen in UTC.
            return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        except OverflowError:
            # A valid RFC 3339 moment just outside Python's UTC range (year 1 at +14:00, year 9999 at -14:00):
            # as a bound it means "before (after) everything", so it is clamped rather than refused.
            return (datetime.min if value.year == 1 else datetime.max).replace(tzinfo=UTC)
    raise ValidationError({name: f"{name} must be an ISO 8601 date-time such as 2025-01-31T00:00:00Z, not {raw!r}."})


def _whole(params, name: str, default: int, *, minimum: int, maximum: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not minimum <= int(raw) <= maximum:
        raise ValidationError({name: f"{name} must be a whole number from {minimum} to {maximum}, not {raw!r}."})
    return int(raw)


PAGING_PARAMETERS = frozenset({"max-results", "start-index", "format"})


def espi_query(params, *, allowed: frozenset[str] | None = None) -> EspiQuery:
    """The query parameters; with ``allowed``, a known parameter the resource does not take is a 400 too."""
    if allowed is not None:
        for name in KNOWN:
            if name in params and name not in allowed:
                raise ValidationError({name: f"{name} is not supported on this resource."})
    query = EspiQuery(
        published_min=_moment(params, "published-min"),
        published_max=_moment(params, "published-max"),
        updated_min=_moment(params, "updated-min"),
        updated_max=_moment(params, "updated-max"),
        max_results=_whole(params, "max-results", DEFAULT_MAX_RESULTS, minimum=1, maximum=LIMIT_MAX_RESULTS),
        start_index=_whole(params, "start-index", 1, minimum=1, maximum=10**9),
        carried=tuple((name, params[name]) for name in KNOWN if name in params and name not in {"max-results", "start-index"}),
    )
    for low, high, label in (
        (query.published_min, query.published_max, "published"),
        (query.updated_min, query.updated_max, "updated"),
    ):
        if low and high and low > high:
            raise ValidationError({f"{label}-min": f"{label}-min must not be after {label}-max."})
    return query
