"""Time windows of readings: the one ``Window`` type and the one clip.

Every customer or third-party read of readings goes through windows built here from the
occupancy selectors (``amiportal.premises.selectors``): a new occupant never sees a previous
occupant's readings (SO-C5, SO-C7).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from amiportal.premises.models import Premise
from amiportal.premises.selectors import Occupancy
from billing.services.ingest import local_day_bounds


@dataclass(frozen=True)
class Window:
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive


# Far enough either side of any reading (and far from datetime's limits, which a database may not take).
_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def whole_meter_windows() -> list[Window]:
    """Every reading of a meter, with no occupancy limit.

    Only for callers that truly mean the whole meter and say so by calling this: operator tooling,
    benchmarks, tests of pricing. Never for a customer's or a third party's read, which go through
    ``occupancy_windows`` or ``consent_windows``.
    """
    return [Window(_EARLIEST, _LATEST)]


def window_for_dates(premise: Premise, start: date, end: date) -> Window:
    """Premise-local days ``start`` to ``end`` (both included) as a UTC window."""
    return Window(local_day_bounds(start, premise.timezone)[0], local_day_bounds(end, premise.timezone)[1])


def occupancy_windows(premise: Premise, occupancies: list[Occupancy], first: date, last: date) -> list[Window]:
    """The parts of premise-local days ``first``..``last`` that fall in the given occupancies.

    ``occupancies`` come from the occupancy selectors (``occupancies_for``,
    ``account_occupancies``); every customer read goes through these windows.
    """
    windows = []
    for occupancy in occupancies:
        start = max(first, occupancy.start)
        end = min(last, occupancy.end) if occupancy.end else last
        if start <= end:
            windows.append(window_for_dates(premise, start, end))
    return windows


def clip(windows: list[Window], *, start: datetime | None = None, end: datetime | None = None) -> list[Window]:
    """The parts of ``windows`` from ``start`` (inclusive) to ``end`` (exclusive); an open bound does not clip."""
    out = []
    for window in windows:
        first = max(window.start, start) if start else window.start
        last = min(window.end, end) if end else window.end
        if first < last:
            out.append(Window(first, last))
    return out
