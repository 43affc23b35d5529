"""What a batch adds to the hourly, daily and monthly rollups and to the per-TOU-period rollups, summed per UTC hour."""

from __future__ import annotations

from bisect import bisect_left
from datetime import UTC, date, datetime, timedelta
from operator import add

from amiportal.premises.models import Meter, MeterKind
from billing.models import Granularity
from billing.services.ingest.local_periods import _LocalPeriods
from billing.services.ingest.plan import _Plan
from billing.services.rollups import day_periods
from billing.tariff_engine import PriceBook

# (meter id, channel, granularity, period start epoch, value, readings)
RollupDelta = tuple[int, int, int, int, int, int]
# (meter id, channel, local day, TOU period, value, readings)
PeriodDelta = tuple[int, int, date, str, int, int]


def _period_mappers(plan: _Plan, meters: dict[int, Meter]) -> tuple[dict[int, _LocalPeriods], dict[int, PriceBook | None]]:
    """Each meter's local-period mapper (one per time zone, shared) and tariff history (one per premise).

    Tariffs price electricity, so only electric meters get a tariff history: gas and water
    period rollups keep the whole day under ``""``.
    """
    premises = {meter_id: meters[meter_id].premise for meter_id in {run[0] for run in plan.runs}}
    by_zone = {name: _LocalPeriods(name) for name in {premise.timezone for premise in premises.values()}}
    last_day = datetime.fromtimestamp(max(plan.starts), UTC).date() + timedelta(days=2)
    books: dict[int, PriceBook] = {}
    for premise in premises.values():
        if premise.pk not in books:
            books[premise.pk] = PriceBook(premise, last_day, last_day)
    return (
        {meter_id: by_zone[premise.timezone] for meter_id, premise in premises.items()},
        {meter_id: books[premise.pk] if meters[meter_id].kind == MeterKind.ELECTRIC else None for meter_id, premise in premises.items()},
    )


def _rollup_deltas(plan: _Plan, meters: dict[int, Meter]) -> tuple[list[RollupDelta], list[PeriodDelta]]:
    """What the batch adds to the hourly, daily and monthly rollups and to the per-TOU-period rollups.

    Each series' slice of the plan's columns is in start order. A regular stretch (fixed interval
    length dividing the hour, contiguous, starting on a UTC hour) is summed per UTC hour with
    strided slices (C-level ``map(add, ..)``, no Python loop per reading); anything else is
    split per UTC hour by bisection. Either way the Python work is per hour, not per reading.
    With a whole-hour UTC offset every instant of a UTC hour lies in the same local hour, day
    and month; hours where that does not hold (offsets such as +05:30, or a change of offset
    inside the hour) are mapped reading by reading. The local hour's TOU period comes from the
    premise's tariff history (``billing.services.rollups.day_periods``).
    """
    mappers, books = _period_mappers(plan, meters)
    starts, lengths, deltas, added = plan.starts, plan.seconds, plan.deltas, plan.added
    out: list[RollupDelta] = []
    period_out: list[PeriodDelta] = []
    for meter_id, channel, begin, end in plan.runs:
        mapper, book = mappers[meter_id], books[meter_id]
        # period start -> [value, readings], per granularity, for this meter channel
        by_hour: dict[int, list[int]] = {}
        by_day: dict[int, list[int]] = {}
        by_month: dict[int, list[int]] = {}
        by_period: dict[tuple[date, str], list[int]] = {}
        # Hours come in time order, so day, month and period sums run until their key changes and
        # only then go into their dictionary (a day is 24 hours but about 5 changes of period).
        day = month = period = None
        day_value = day_count = month_value = month_count = period_value = period_count = 0
        names: tuple[str, ...] = ()
        for keys, delta, count in _hour_pieces(mapper, starts, lengths, deltas, added, begin, end):
            hour_key, day_key, month_key, local_day, local_hour = keys
            entry = by_hour.get(hour_key)
            if entry is None:
                by_hour[hour_key] = [delta, count]
            else:
                entry[0] += delta
                entry[1] += count
            if day_key == day:
                day_value += delta
                day_count += count
            else:
                if day is not None:
                    _add_to(by_day, day, day_value, day_count)
                day, day_value, day_count = day_key, delta, count
                names = day_periods(book, local_day) if book is not None else _WHOLE_DAY
            if month_key == month:
                month_value += delta
                month_count += count
            else:
                if month is not None:
                    _add_to(by_month, month, month_value, month_count)
                month, month_value, month_count = month_key, delta, count
            period_key = (local_day, names[local_hour])
            if period_key == period:
                period_value += delta
                period_count += count
            else:
                if period is not None:
                    _add_to(by_period, period, period_value, period_count)
                period, period_value, period_count = period_key, delta, count
        if day is not None:
            _add_to(by_day, day, day_value, day_count)
            _add_to(by_month, month, month_value, month_count)
            _add_to(by_period, period, period_value, period_count)
        for granularity, by_key in ((Granularity.HOUR, by_hour), (Granularity.DAY, by_day), (Granularity.MONTH, by_month)):
            code = int(granularity)
            out.extend((meter_id, channel, code, period, value, count) for period, (value, count) in by_key.items())
        period_out.extend((meter_id, channel, day, name, value, count) for (day, name), (value, count) in by_period.items())
    return out, period_out


_WHOLE_DAY = ("",) * 24


def _add_to(sums: dict, key, value: int, count: int) -> None:
    entry = sums.get(key)
    if entry is None:
        sums[key] = [value, count]
    else:
        entry[0] += value
        entry[1] += count


def _hour_pieces(mapper: _LocalPeriods, starts, lengths, deltas, added, begin: int, end: int):
    """(local period keys, value, readings) per UTC hour (or per reading where an hour maps to two local hours)."""
    index = begin
    try_stride = True  # one attempt per series: a gap sends the rest of it down the bisection path
    while index < end:
        first, seconds = starts[index], lengths[index]
        if try_stride and first % 3600 == 0 and 3600 % seconds == 0 and seconds < 3600:
            try_stride = False
            per_hour = 3600 // seconds
            hours = (end - index) // per_hour
            stop = index + hours * per_hour
            # Starts are sorted and unique, so equal first and last offsets with one length throughout mean contiguous.
            if hours and starts[stop - 1] == first + (stop - 1 - index) * seconds and lengths[index:stop].count(seconds) == stop - index:
                hour_values = deltas[index:stop:per_hour]
                hour_counts = added[index:stop:per_hour]
                for offset in range(1, per_hour):
                    hour_values = list(map(add, hour_values, deltas[index + offset : stop : per_hour]))
                    hour_counts = list(map(add, hour_counts, added[index + offset : stop : per_hour]))
                hour_periods = mapper.hour_periods
                for number in range(hours):
                    keys = hour_periods(first + number * 3600)
                    if keys is None:
                        base = index + number * per_hour
                        for k in range(base, base + per_hour):
                            yield mapper.periods(starts[k]), deltas[k], added[k]
                    else:
                        yield keys, hour_values[number], hour_counts[number]
                index = stop
                continue
        hour = first - first % 3600
        stop = bisect_left(starts, hour + 3600, index, end)
        keys = mapper.hour_periods(hour)
        if keys is None:
            for k in range(index, stop):
                yield mapper.periods(starts[k]), deltas[k], added[k]
        else:
            yield keys, sum(deltas[index:stop]), sum(added[index:stop])
        index = stop
