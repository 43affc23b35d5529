"""Property tests: garbage into the CSV and ESPI readers gives only their documented errors."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.formats.csv_readings import CsvFormatError, parse_readings_csv
from billing.formats.espi_read import EspiFormatError, parse_espi
from billing.services.ingest import RawReading
from tests.billing.helpers import csv_text, readings, utc

HEADER = "meter,channel,start,seconds,value,unit,quality\n"


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_csv_garbage_gives_rows_rejections_or_a_format_error(body):
    try:
        rows, rejected = parse_readings_csv((HEADER + body).splitlines())
    except CsvFormatError:
        return
    assert all(isinstance(row, RawReading) and row.start.tzinfo is not None for row in rows)
    assert all(isinstance(ref, str) and isinstance(reason, str) for ref, reason in rejected)


@settings(max_examples=200)
@given(st.binary(max_size=600))
def test_espi_garbage_is_refused_or_read(data):
    try:
        points = parse_espi(data)
    except EspiFormatError:
        return
    assert isinstance(points, list)


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=30))
def test_csv_round_trips_what_it_writes(values):
    rows = readings("E-1", utc(2025, 1, 1), hours=len(values), seconds=3600)
    for row, value in zip(rows, values, strict=True):
        row.value = value
    parsed, rejected = parse_readings_csv(csv_text(rows).splitlines())
    assert rejected == []
    assert [(r.start, r.seconds, r.value, r.channel) for r in parsed] == [(r.start, r.seconds, r.value, r.channel) for r in rows]


@pytest.mark.django_db
def test_a_meter_with_readings_cannot_be_deleted():
    from django.db.models import ProtectedError

    from tests.billing.helpers import ingest
    from tests.factories import MeterFactory

    meter = MeterFactory(serial_number="E-KEEP")
    ingest(readings("E-KEEP", utc(2025, 1, 1), hours=1))
    with pytest.raises(ProtectedError):
        meter.delete()
