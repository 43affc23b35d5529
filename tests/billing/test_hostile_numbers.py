"""Hostile numbers and times: ESPI fields stay in their ranges, messages never write out huge numbers, no readings from the future."""

import time
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from billing.formats.espi_read import EspiFormatError, parse_espi
from billing.models import IntervalReading
from tests.billing.helpers import csv_text, readings, utc
from tests.conftest import signed_in
from tests.factories import MeterFactory, PremiseFactory

pytestmark = pytest.mark.django_db
URL = "/api/billing/ingest/"
ESPI = 'xmlns="http://naesb.org/espi"'
POINT = "https://u.example/UsagePoint/1"


def _entry(links: str, content: str) -> str:
    return f"<entry><id>x</id>{links}<title>t</title><updated>2025-01-05T00:00:00Z</updated><content>{content}</content></entry>"


def espi_file(
    *, power: str = "0", readings: list[tuple[int, int, str]] = ((1735711200, 900, "250"),), duration: str | None = None
) -> bytes:
    """One electric usage point, one ReadingType with ``power``, one block of (start, seconds, value) readings."""
    body = "".join(
        f"<IntervalReading><timePeriod><duration>{duration or seconds}</duration><start>{start}</start></timePeriod>"
        f"<value>{value}</value></IntervalReading>"
        for start, seconds, value in readings
    )
    parts = [
        _entry(f'<link rel="self" href="{POINT}"/>', f"<UsagePoint {ESPI}><ServiceCategory><kind>0</kind></ServiceCategory></UsagePoint>"),
        _entry(
            '<link rel="self" href="https://u.example/ReadingType/1"/>',
            f"<ReadingType {ESPI}><flowDirection>1</flowDirection><intervalLength>900</intervalLength>"
            f"<powerOfTenMultiplier>{power}</powerOfTenMultiplier><uom>72</uom></ReadingType>",
        ),
        _entry(
            f'<link rel="self" href="{POINT}/MeterReading/1"/><link rel="up" href="{POINT}/MeterReading"/>'
            '<link rel="related" href="https://u.example/ReadingType/1"/>',
            f"<MeterReading {ESPI}/>",
        ),
        _entry(
            f'<link rel="self" href="{POINT}/MeterReading/1/IntervalBlock/1"/><link rel="up" href="{POINT}/MeterReading/1/IntervalBlock"/>',
            f"<IntervalBlock {ESPI}>{body}</IntervalBlock>",
        ),
    ]
    return (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><id>f</id><title>t</title>' + "".join(parts) + "</feed>"
    ).encode()


POWER_REFUSED = "entry 2 (readingtype): powerOfTenMultiplier is out of range: ESPI allows powers of ten from -9 to 9"


@pytest.mark.objective("SO-U3")
@pytest.mark.parametrize("power", ["10", "-10", "1000000", "10000000", "9" * 5000])
def test_a_power_of_ten_outside_espi_is_refused_quickly_with_a_clear_message(power):
    began = time.monotonic()
    with pytest.raises(EspiFormatError) as refused:
        parse_espi(espi_file(power=power, readings=[(1735711200 + 900 * n, 900, "250") for n in range(20)]))
    assert time.monotonic() - began < 1
    assert str(refused.value) == POWER_REFUSED


@pytest.mark.parametrize("power, stored", [("-9", 0), ("-3", 0), ("3", 250_000), ("9", 250 * 10**9)])
def test_every_multiplier_espi_allows_is_still_read(power, stored):
    (point,) = parse_espi(espi_file(power=power))
    assert [reading.value for reading in point.readings] == [stored]


def test_readings_beyond_espi_ranges_are_rejected_one_by_one_without_the_number():
    huge = "7" * 4000
    data = espi_file(readings=[(1735711200, 900, "250"), (1735712100, 900, str(2**60)), (1735713000, 900, huge), (1735713900, 900, "1")])
    (point,) = parse_espi(data)
    assert [reading.value for reading in point.readings] == [250, 1]
    assert [reason for _, reason in point.rejected] == ["value is out of range: ESPI allows 48-bit integers"] * 2
    (point,) = parse_espi(espi_file(duration=str(2**40)))
    assert point.rejected == [("entry 4 reading 1", "duration is out of range: ESPI allows whole numbers from 0 to 4294967295")]


@pytest.fixture
def meter():
    return MeterFactory(premise=PremiseFactory(service_point_id="SP-NUM1"), serial_number="E-NUM1")


def _espi_upload(data: bytes):
    return {"file": SimpleUploadedFile("h.xml", data, content_type="application/xml"), "format": "espi", "meter": "E-NUM1"}


@pytest.mark.objective("SO-U3")
def test_the_ingest_api_answers_a_huge_multiplier_with_400_not_500(olga, meter):
    began = time.monotonic()
    response = signed_in(olga).post(URL, _espi_upload(espi_file(power="1000000")))
    assert time.monotonic() - began < 2
    assert (response.status_code, response.json()) == (400, {"status": "rejected", "error": POWER_REFUSED})
    assert not IntervalReading.objects.exists()


@pytest.mark.objective("SO-U3")
def test_the_import_command_prints_the_reason_not_a_traceback(meter, tmp_path):
    path = tmp_path / "huge-power.xml"
    path.write_bytes(espi_file(power="1000000"))
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("import_greenbutton", str(path), premise="SP-NUM1", stdout=out)
    assert out.getvalue() == f"{path}: refused: {POWER_REFUSED}\n"


@pytest.mark.objective("SO-U3")
def test_csv_validation_messages_never_write_out_huge_numbers(olga, meter):
    big, huge = "9" * 17, "9" * 60
    rows = [("05:00", "900", big), ("05:15", big, "1"), ("05:30", "900", huge), ("05:45", "1_000", "1"), ("06:00", "900", "\u0663")]
    body = "meter,channel,start,seconds,value,unit,quality\n" + "".join(
        f"E-NUM1,delivered,2025-06-01T{at}:00Z,{seconds},{value},Wh,actual\n" for at, seconds, value in rows
    )
    response = signed_in(olga).post(URL, {"file": SimpleUploadedFile("h.csv", body.encode(), content_type="text/csv")})
    assert response.status_code == 422
    digits = "seconds and value must be whole numbers of at most 18 digits"
    assert [error["reason"] for error in response.json()["errors"]] == [
        digits,
        digits,
        digits,
        "reading an implausibly large number Wh in 900 s is beyond what any electric service can carry",
        "interval length an implausibly large number s is outside 1 s to 40 days",
    ]


@pytest.mark.objective("SO-U2")
def test_readings_from_the_future_are_refused_row_by_row(olga, meter):
    body = csv_text(readings("E-NUM1", utc(2025, 6, 1, 5), hours=1) + readings("E-NUM1", utc(2030, 1, 1), hours=1)[:1])
    response = signed_in(olga).post(URL, {"file": SimpleUploadedFile("f.csv", body.encode(), content_type="text/csv")})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "ref": "row 6",
            "reason": "reading ends at 2030-01-01 00:15:00 UTC, which is in the future (beyond the 300 s allowed for clock skew)",
        }
    ]
    assert not IntervalReading.objects.exists()
    partial = signed_in(olga).post(
        URL, {"file": SimpleUploadedFile("f.csv", body.encode(), content_type="text/csv"), "accept_valid": "true"}
    )
    assert (partial.status_code, partial.json()["accepted"], partial.json()["rejected"]) == (201, 4, 1)
    assert not IntervalReading.objects.filter(start__year=2030).exists()


@pytest.mark.objective("SO-U2")
def test_a_head_end_clock_a_little_ahead_is_tolerated_but_not_more(meter, settings):
    from tests.billing.helpers import ingest

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    within = readings("E-NUM1", now - timedelta(minutes=11), hours=1, seconds=900)[:1]  # ends 4 minutes from now
    assert ingest(within).accepted == 1
    settings.AMI_READING_CLOCK_SKEW_SECONDS = 0
    beyond = readings("E-NUM1", now, hours=1, seconds=900)[:1]  # ends 15 minutes from now
    report = ingest(beyond)
    assert report.status == "rejected" and "in the future" in report.errors[0]["reason"]


@pytest.mark.objective("SO-U2")
def test_a_green_button_file_dated_in_2031_imports_nothing_for_those_dates(meter, tmp_path):
    year_2031 = int(datetime(2031, 3, 1, tzinfo=UTC).timestamp())
    path = tmp_path / "future.xml"
    path.write_bytes(espi_file(readings=[(1735711200, 900, "250"), (year_2031, 900, "250")]))
    out = StringIO()
    call_command("import_greenbutton", str(path), premise="SP-NUM1", stdout=out)
    assert "imported 1, skipped 0, rejected 1" in out.getvalue()
    assert "reading ends at 2031-03-01 00:15:00 UTC, which is in the future" in out.getvalue()
    assert list(IntervalReading.objects.values_list("start", flat=True)) == [datetime(2025, 1, 1, 6, tzinfo=UTC)]


def test_readings_before_1970_are_refused(meter):
    from tests.billing.helpers import ingest

    report = ingest(readings("E-NUM1", utc(1969, 12, 31, 23), hours=1))
    assert report.status == "rejected" and report.errors[0]["reason"] == "reading starts before 1970"
