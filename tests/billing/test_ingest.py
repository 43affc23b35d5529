"""Ingest: idempotent, versioned corrections, rollups kept current, bad rows rejected with reasons."""

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from amiportal.premises.models import MeterKind
from billing.formats.csv_readings import CsvFormatError, parse_readings_csv
from billing.models import Channel, Granularity, IngestBatch, IntervalReading, UsageRollup
from billing.services.ingest import RawReading, local_day_bounds
from tests.billing.helpers import csv_text, ingest, readings, utc
from tests.factories import MeterFactory

pytestmark = pytest.mark.django_db
CHICAGO = ZoneInfo("America/Chicago")


@pytest.fixture
def meter():
    return MeterFactory(serial_number="E-1")


def _rollup(meter, granularity, channel=Channel.DELIVERED):
    return {r.period_start: r.value for r in UsageRollup.objects.filter(meter=meter, granularity=granularity, channel=channel)}


def test_a_day_of_readings_is_stored_and_rolled_up(meter):
    report = ingest(readings("E-1", utc(2025, 6, 1, 5), hours=24))
    assert (report.accepted, report.rejected, report.status) == (96, 0, "committed")
    assert IntervalReading.objects.filter(meter=meter).count() == 96
    hours = _rollup(meter, Granularity.HOUR)
    assert len(hours) == 24 and set(hours.values()) == {1000}
    assert list(_rollup(meter, Granularity.DAY).values()) == [24000]
    assert list(_rollup(meter, Granularity.DAY)) == [utc(2025, 6, 1, 5)]  # local midnight in Chicago (CDT)
    assert list(_rollup(meter, Granularity.MONTH)) == [utc(2025, 6, 1, 5)]


@pytest.mark.objective("SO-U2")
def test_reingesting_the_same_batch_changes_nothing(meter):
    ingest(readings("E-1", utc(2025, 6, 1, 5), hours=2))
    again = ingest(readings("E-1", utc(2025, 6, 1, 5), hours=2))
    assert (again.accepted, again.duplicates) == (0, 8)
    assert IntervalReading.objects.filter(meter=meter).count() == 8
    assert sum(_rollup(meter, Granularity.HOUR).values()) == 2000


@pytest.mark.objective("SO-U2")
def test_a_correction_supersedes_but_keeps_the_old_version(meter):
    ingest(readings("E-1", utc(2025, 6, 1, 5), hours=1))
    report = ingest(readings("E-1", utc(2025, 6, 1, 5), hours=1, value=lambda m: 400 if m.minute == 15 else 250))
    assert (report.corrected, report.duplicates) == (1, 3)
    history = IntervalReading.objects.filter(meter=meter, start=utc(2025, 6, 1, 5, 15)).order_by("version")
    assert [(r.version, r.value, r.is_current) for r in history] == [(1, 250, False), (2, 400, True)]
    assert history[0].superseded_at is not None
    assert _rollup(meter, Granularity.HOUR) == {utc(2025, 6, 1, 5): 1150}
    assert list(_rollup(meter, Granularity.MONTH).values()) == [1150]


def test_bad_rows_are_rejected_with_reasons_and_the_batch_commits_nothing(meter):
    MeterFactory(serial_number="G-1", kind=MeterKind.GAS)
    good = readings("E-1", utc(2025, 6, 1, 5), hours=1)
    bad = [
        RawReading("neg", "E-1", Channel.DELIVERED, utc(2025, 6, 2), 900, -5, "Wh"),
        RawReading("huge", "E-1", Channel.DELIVERED, utc(2025, 6, 2, 1), 900, 10**12, "Wh"),
        RawReading("ghost", "NOPE", Channel.DELIVERED, utc(2025, 6, 2, 2), 900, 5, "Wh"),
        RawReading("unit", "E-1", Channel.DELIVERED, utc(2025, 6, 2, 3), 900, 5, "m3"),
        RawReading("nounit", "E-1", Channel.DELIVERED, utc(2025, 6, 2, 4), 900, 5, "kW"),
        RawReading("gasunit", "G-1", Channel.DELIVERED, utc(2025, 6, 2, 3), 3600, 5, "Wh"),
        RawReading("overlap", "E-1", Channel.DELIVERED, utc(2025, 6, 1, 5), 3600, 1000, "Wh"),
    ]
    report = ingest(good + bad)
    reasons = {error["ref"]: error["reason"] for error in report.errors}
    assert set(reasons) == {"neg", "huge", "ghost", "unit", "nounit", "gasunit", "overlap"}
    assert "negative" in reasons["neg"] and "beyond" in reasons["huge"] and "unknown meter" in reasons["ghost"]
    assert "not one electric meters are read in" in reasons["unit"] and "overlaps" in reasons["overlap"]
    assert "unit 'kW' is not one this portal knows" in reasons["nounit"] and "not one gas meters are read in" in reasons["gasunit"]
    assert report.status == "rejected" and report.accepted == 0
    assert not IntervalReading.objects.exists() and not UsageRollup.objects.exists()
    assert IngestBatch.objects.get().status == "rejected"


def test_accept_valid_commits_the_good_rows_only(meter):
    rows = readings("E-1", utc(2025, 6, 1, 5), hours=1) + [RawReading("neg", "E-1", Channel.DELIVERED, utc(2025, 6, 2), 900, -5, "Wh")]
    report = ingest(rows, accept_valid=True)
    assert (report.accepted, report.rejected, report.status) == (4, 1, "partial")
    assert IntervalReading.objects.count() == 4


def test_an_interval_of_another_length_overlapping_stored_data_is_rejected(meter):
    ingest(readings("E-1", utc(2025, 6, 1, 5), hours=1))
    report = ingest(readings("E-1", utc(2025, 6, 1, 5), hours=1, seconds=3600))
    assert report.rejected == 1 and "stored interval of a different length" in report.errors[0]["reason"]


def test_dst_days_roll_up_to_23_and_25_hours(meter):
    for day in (date(2025, 3, 9), date(2025, 11, 2)):
        start, end = local_day_bounds(day, "America/Chicago")
        hours = int((end - start).total_seconds() // 3600)
        ingest(readings("E-1", start, hours=hours))
    days = {p.astimezone(CHICAGO).date(): v for p, v in _rollup(meter, Granularity.DAY).items()}
    assert days == {date(2025, 3, 9): 23000, date(2025, 11, 2): 25000}
    november_hours = [p for p in _rollup(meter, Granularity.HOUR) if p.astimezone(CHICAGO).date() == date(2025, 11, 2)]
    assert len(november_hours) == 25


def test_csv_rows_parse_and_malformed_rows_come_back_as_reasons(meter):
    text = csv_text(readings("E-1", utc(2025, 6, 1, 5), hours=1))
    text += "E-1,sideways,2025-06-01T07:00:00Z,900,5,Wh,actual\n"
    text += "E-1,delivered,yesterday,900,5,Wh,actual\n"
    text += "E-1,delivered,2025-06-01T07:00:00,900,5,Wh,actual\n"
    text += "E-1,delivered,2025-06-01T07:00:00Z,900,5.5,Wh,actual\n"
    text += "E-1,delivered\n"
    rows, rejected = parse_readings_csv(text.splitlines())
    assert len(rows) == 4
    assert [reason.split(" ")[0] for _, reason in rejected] == ["channel", "start", "start", "seconds", "expected"]
    with pytest.raises(CsvFormatError):
        parse_readings_csv(["just,some,words"])
