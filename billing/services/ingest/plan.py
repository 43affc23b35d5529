"""Classifying a batch's valid readings against what is stored: new, duplicate, correction or overlap."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import repeat
from operator import add, itemgetter, le

from billing.models import IntervalReading
from billing.services.ingest.local_periods import _epoch
from billing.services.ingest.report import IngestReport
from billing.services.ingest.validation import MAX_INTERVAL_SECONDS


class _Plan:
    """What a validated batch will write."""

    def __init__(self) -> None:
        # The rows to insert, as columns (a fresh series is added with C-level ``extend``, and
        # the COPY packing and rollup sums read columns): start epoch, seconds, value, quality,
        # version, what the row adds to the rollups (its value, or new minus old for a
        # correction) and to their reading counts (1, or 0 for a correction).
        self.starts: list[int] = []
        self.seconds: list[int] = []
        self.values: list[int] = []
        self.qualities: list[int] = []
        self.versions: list[int] = []
        self.deltas: list[int] = []
        self.added: list[int] = []
        self.supersede: list[int] = []  # ids of readings replaced by a correction
        # (meter_id, channel, first index, end index) of each series' slice of the columns, in start order
        self.runs: list[tuple[int, int, int, int]] = []

    def __len__(self) -> int:
        return len(self.starts)

    def columns(self) -> tuple[list[int], list[int], list[int], list[int], list[int]]:
        """The stored columns of the rows to insert: starts, seconds, values, qualities, versions."""
        return self.starts, self.seconds, self.values, self.qualities, self.versions

    def add(self, start: int, seconds: int, value: int, quality: int, version: int, delta: int, added: int) -> None:
        self.starts.append(start)
        self.seconds.append(seconds)
        self.values.append(value)
        self.qualities.append(quality)
        self.versions.append(version)
        self.deltas.append(delta)
        self.added.append(added)


def _plan_series(meter_id: int, channel: int, series: list[tuple[int, int, int, int, str]], plan: _Plan, report: IngestReport) -> None:
    """Classify one meter channel's rows as new, duplicate, correction or overlap."""
    if not series:  # every row of this meter channel was rejected
        return
    starts = list(map(itemgetter(0), series))
    if not all(map(le, starts, starts[1:])):
        series.sort(key=itemgetter(0))  # stable: rows with the same start keep their batch order
        starts = list(map(itemgetter(0), series))
    lengths = list(map(itemgetter(1), series))
    ends = list(map(add, starts, lengths))
    first, last_end = starts[0], max(ends)
    begin = len(plan)
    existing = {
        _epoch(start): (pk, seconds, value, quality, version)
        for pk, start, seconds, value, quality, version in IntervalReading.objects.filter(
            meter_id=meter_id,
            channel=channel,
            is_current=True,
            start__gte=datetime.fromtimestamp(first - MAX_INTERVAL_SECONDS, UTC),
            start__lt=datetime.fromtimestamp(last_end, UTC),
        ).values_list("id", "start", "seconds", "value", "quality", "version")
    }
    if not existing and all(map(le, ends, starts[1:])):
        # The common case, a fresh delivery: nothing stored around it and no overlap within it.
        values = list(map(itemgetter(2), series))
        count = len(series)
        plan.starts += starts
        plan.seconds += lengths
        plan.values += values
        plan.qualities.extend(map(itemgetter(3), series))
        plan.versions.extend(repeat(1, count))
        plan.deltas += values
        plan.added.extend(repeat(1, count))
        plan.runs.append((meter_id, channel, begin, len(plan)))
        report.accepted += len(series)
        return
    # Existing intervals sorted by start, to find overlaps of a different length.
    existing_spans = sorted((start, start + item[1]) for start, item in existing.items())
    span_index = 0
    previous_end, previous_seconds, previous_start = None, None, None
    seen: dict[int, tuple[int, int]] = {}
    for start, seconds, value, quality, ref in series:
        end = start + seconds
        if start in seen:
            if seen[start] == (seconds, value):
                report.duplicates += 1
            elif seen[start][0] != seconds:
                report.reject(ref, f"interval overlaps another of a different length in this batch (starting {_iso(start)})")
            else:
                report.reject(ref, "the same interval appears twice in this batch with different values")
            continue
        if previous_end is not None and start < previous_end and (start, seconds) != (previous_start, previous_seconds):
            report.reject(ref, f"interval overlaps another of a different length in this batch (starting {_iso(previous_start)})")
            continue
        current = existing.get(start)
        if current is None or current[1] != seconds:
            # Any stored interval that overlaps this one must be exactly this one.
            while span_index < len(existing_spans) and existing_spans[span_index][1] <= start:
                span_index += 1
            probe, clash = span_index, None
            while probe < len(existing_spans) and existing_spans[probe][0] < end:
                if existing_spans[probe] != (start, end):
                    clash = existing_spans[probe]
                    break
                probe += 1
            if clash is not None:
                report.reject(ref, f"interval overlaps a stored interval of a different length ({_iso(clash[0])}, {clash[1] - clash[0]} s)")
                continue
        seen[start] = (seconds, value)
        previous_end, previous_seconds, previous_start = end, seconds, start
        if current is None:
            plan.add(start, seconds, value, quality, 1, value, 1)
            report.accepted += 1
        elif current[2] == value and current[3] == quality:
            report.duplicates += 1
        else:
            plan.supersede.append(current[0])
            plan.add(start, seconds, value, quality, current[4] + 1, value - current[2], 0)
            report.corrected += 1
    plan.runs.append((meter_id, channel, begin, len(plan)))


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()
