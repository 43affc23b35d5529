"""The bulk ingest path: per-row reasons from the cached checks, COPY into readings and rollups, chart series.

Each rejection reason is still reported against its own row when the batch mixes good and bad
rows of one meter (the checks shared by a meter, channel, length and unit are made once), and
the PostgreSQL writer (binary COPY, rollups split into new periods and upserts) gives the same
readings and rollups as the portable one.
"""

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection
from hypothesis import given
from hypothesis import strategies as st

from amiportal.premises.models import MeterKind
from billing.models import Channel, Granularity, IngestBatch, IntervalReading, UsageRollup
from billing.selectors import _interval_series_rows, interval_series, interval_series_json
from billing.services.ingest import MAX_REPORTED_ERRORS, RawReading
from billing.services.ingest.local_periods import _LocalPeriods
from tests.billing.helpers import ingest, readings, utc
from tests.factories import MeterFactory, PremiseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def meter():
    return MeterFactory(serial_number="E-1")


def _rollups(meter, granularity):
    return {(r.channel, r.period_start): (r.value, r.readings) for r in UsageRollup.objects.filter(meter=meter, granularity=granularity)}


def test_every_bad_row_of_one_meter_gets_its_own_reason_in_batch_order(meter):
    MeterFactory(serial_number="G-1", kind=MeterKind.GAS)
    day = readings("E-1", utc(2025, 6, 1, 5), hours=2)  # eight good rows sharing one signature
    naive = RawReading("naive", "E-1", Channel.DELIVERED, datetime(2025, 6, 3), 900, 5, "Wh")
    rows = [
        day[0],
        RawReading("neg", "E-1", Channel.DELIVERED, utc(2025, 6, 2), 900, -1, "Wh"),
        day[1],
        RawReading("huge", "E-1", Channel.DELIVERED, utc(2025, 6, 2, 1), 900, 5_000_001, "Wh"),
        naive,
        RawReading("long", "E-1", Channel.DELIVERED, utc(2025, 6, 2, 2), 41 * 86400, 5, "Wh"),
        RawReading("zero", "E-1", Channel.DELIVERED, utc(2025, 6, 2, 3), 0, 5, "Wh"),
        RawReading("chan", "E-1", 7, utc(2025, 6, 2, 4), 900, 5, "Wh"),
        RawReading("gasexport", "G-1", Channel.RECEIVED, utc(2025, 6, 2, 5), 3600, 5, "mtherm"),
        RawReading("unit", "E-1", Channel.DELIVERED, utc(2025, 6, 2, 6), 900, 5, "m3"),
        RawReading("ghost", "NOPE", Channel.DELIVERED, utc(2025, 6, 2, 7), 900, 5, "Wh"),
        RawReading("unit2", "E-1", Channel.DELIVERED, utc(2025, 6, 2, 8), 900, 6, "m3"),  # same signature as "unit"
        *day[2:],
    ]
    report = ingest(rows, accept_valid=True)
    assert [error["ref"] for error in report.errors] == [
        "neg", "huge", "naive", "long", "zero", "chan", "gasexport", "unit", "ghost", "unit2",
    ]  # fmt: skip
    reasons = {error["ref"]: error["reason"] for error in report.errors}
    assert reasons["neg"] == "negative reading -1"
    assert "beyond what any electric service can carry" in reasons["huge"]
    assert reasons["naive"] == "start has no UTC offset"
    assert "outside 1 s to 40 days" in reasons["long"] and "outside 1 s to 40 days" in reasons["zero"]
    assert reasons["chan"] == "unknown channel 7"
    assert reasons["gasexport"] == "only electric meters have a received (export) channel"
    assert "not one electric meters are read in" in reasons["unit"] and reasons["unit2"] == reasons["unit"]
    assert reasons["ghost"] == "unknown meter 'NOPE'"
    assert (report.accepted, report.rejected, report.status) == (8, 10, "partial")
    assert IntervalReading.objects.count() == 8


def test_the_largest_acceptable_reading_passes_and_one_more_is_rejected(meter):
    limit = 20_000_000 * 900 // 3600  # 20 MW for 15 minutes, in Wh
    report = ingest(
        [
            RawReading("max", "E-1", Channel.DELIVERED, utc(2025, 6, 1), 900, limit, "Wh"),
            RawReading("over", "E-1", Channel.DELIVERED, utc(2025, 6, 1, 0, 15), 900, limit + 1, "Wh"),
            RawReading("zero", "E-1", Channel.DELIVERED, utc(2025, 6, 1, 0, 30), 900, 0, "Wh"),
        ],
        accept_valid=True,
    )
    assert (report.accepted, [e["ref"] for e in report.errors]) == (2, ["over"])


def test_a_rejected_batch_reports_at_most_the_bounded_number_of_errors_and_writes_nothing(meter):
    rows = [RawReading(f"r{i}", "E-1", Channel.DELIVERED, utc(2025, 6, 1) + timedelta(minutes=15 * i), 900, -1, "Wh") for i in range(1200)]
    report = ingest(rows)
    assert report.rejected == 1200 and len(report.errors) == MAX_REPORTED_ERRORS
    assert report.status == "rejected" and not IntervalReading.objects.exists() and not UsageRollup.objects.exists()
    assert IngestBatch.objects.get().rejected == 1200


def test_a_batch_overlapping_stored_data_adds_only_the_new_intervals_and_their_rollups(meter):
    ingest(readings("E-1", utc(2025, 6, 1, 5), hours=24))  # one local day (Chicago)
    report = ingest(readings("E-1", utc(2025, 6, 1, 17), hours=36))  # its last 12 hours again, then the next local day
    assert (report.accepted, report.duplicates, report.corrected) == (96, 48, 0)
    assert IntervalReading.objects.filter(meter=meter).count() == 192
    hours = _rollups(meter, Granularity.HOUR)
    assert len(hours) == 48 and set(hours.values()) == {(1000, 4)}
    assert sorted(_rollups(meter, Granularity.DAY).values()) == [(24000, 96), (24000, 96)]
    assert list(_rollups(meter, Granularity.MONTH).values()) == [(48000, 192)]


def test_a_correction_batch_upserts_existing_rollups_and_creates_new_ones(meter):
    ingest(readings("E-1", utc(2025, 6, 1, 5), hours=1))
    corrected = readings("E-1", utc(2025, 6, 1, 5), hours=2, value=lambda m: 300)  # four corrections, four new
    report = ingest(corrected)
    assert (report.corrected, report.accepted) == (4, 4)
    assert _rollups(meter, Granularity.HOUR) == {
        (Channel.DELIVERED, utc(2025, 6, 1, 5)): (1200, 4),
        (Channel.DELIVERED, utc(2025, 6, 1, 6)): (1200, 4),
    }
    assert list(_rollups(meter, Granularity.DAY).values()) == [(2400, 8)]
    assert IntervalReading.objects.filter(meter=meter, is_current=False).count() == 4


def test_half_hour_offsets_roll_up_by_local_hour():
    premise = PremiseFactory(timezone="Asia/Kolkata")  # UTC+05:30: local hours straddle UTC hours
    meter = MeterFactory(premise=premise, serial_number="E-IN")
    ingest(readings("E-IN", datetime(2025, 6, 1, tzinfo=ZoneInfo("Asia/Kolkata")).astimezone(UTC), hours=24))
    hours = _rollups(meter, Granularity.HOUR)
    assert len(hours) == 24 and {value for value, _ in hours.values()} == {1000}
    local_hours = {start.astimezone(ZoneInfo("Asia/Kolkata")).minute for _, start in hours}
    assert local_hours == {0}
    assert [start.astimezone(ZoneInfo("Asia/Kolkata")) for _, start in _rollups(meter, Granularity.DAY)] == [
        datetime(2025, 6, 1, tzinfo=ZoneInfo("Asia/Kolkata"))
    ]


def test_local_periods_agree_hour_by_hour_and_reading_by_reading_across_dst():
    periods = _LocalPeriods("America/Chicago")
    begin = int(datetime(2025, 11, 1, tzinfo=UTC).timestamp())
    for hour in range(begin, begin + 3 * 86400, 3600):
        assert periods.hour_periods(hour) == periods.periods(hour) == periods.periods(hour + 2700)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the unique index guard is PostgreSQL's COPY path")
def test_a_reading_that_slipped_past_the_plan_aborts_the_batch_instead_of_duplicating(meter, monkeypatch):
    ingest(readings("E-1", utc(2025, 6, 1, 5), hours=1))
    # Pretend the plan saw nothing stored: the unique index must refuse the second current version.
    monkeypatch.setattr(IntervalReading.objects, "filter", lambda **kwargs: IntervalReading.objects.none())
    with pytest.raises(IntegrityError):
        ingest(readings("E-1", utc(2025, 6, 1, 5), hours=1))


@pytest.mark.parametrize("export", ["none", "every", "some"])
def test_chart_series_from_arrays_match_the_row_by_row_series(db, export):
    premise = PremiseFactory(has_der=True)
    meter = MeterFactory(premise=premise, serial_number="E-DER")
    start = utc(2025, 6, 1, 5)
    ingest(readings("E-DER", start, hours=6, value=lambda m: 100 + m.minute))
    if export == "every":
        ingest(readings("E-DER", start, hours=6, value=lambda m: 7, channel=Channel.RECEIVED))
    elif export == "some":
        ingest(readings("E-DER", start + timedelta(hours=2), hours=6, value=lambda m: 9, channel=Channel.RECEIVED))
    from billing.selectors import Window

    windows = [Window(start, start + timedelta(hours=3)), Window(start + timedelta(hours=4), start + timedelta(hours=9))]
    expected = _interval_series_rows(meter, windows)
    assert interval_series(meter=meter, windows=windows) == expected
    assert json.loads(interval_series_json(meter=meter, windows=windows)) == {"meter": "E-DER", "unit": "Wh", **expected}
    assert len(expected["start"]) == (12 + 8 if export != "some" else 12 + 16)
    assert sum(expected["received_wh"]) == {"none": 0, "every": 7 * 20, "some": 9 * 20}[export]
    assert date.fromtimestamp(expected["start"][0]) == date(2025, 6, 1)


@given(
    st.lists(
        st.tuples(
            st.integers(0, 2**40),
            st.integers(1, 40 * 86400),
            st.integers(0, 2**62),
            st.sampled_from([0, 1, 2]),
            st.integers(1, 2**31 - 1),
        ),
        max_size=50,
    ),
    st.integers(1, 2**62),
    st.sampled_from([1, 2]),
)
def test_column_packed_copy_rows_match_row_by_row_packing(rows, meter_id, channel):
    """The strided column packing writes exactly the bytes of one struct.pack per row."""
    from billing.services.ingest.copy_writer import _COPY_ROW, _COPY_ROW_TAIL, _POSTGRES_EPOCH, _packed_run

    tail = _COPY_ROW_TAIL.pack(2, 3, 1, True, 8, 77)
    expected = b"".join(
        _COPY_ROW.pack(10, 8, meter_id, 2, channel, 8, (start - _POSTGRES_EPOCH) * 1_000_000, 4, seconds, 8, value, 2, q, 4, version, tail)
        for start, seconds, value, q, version in rows
    )
    columns = [list(column) for column in zip(*rows, strict=True)] if rows else [[], [], [], [], []]
    assert _packed_run(meter_id, channel, columns, 3, 77) == expected
