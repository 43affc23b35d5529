"""Real utility files: gas in m³ and other real units, billing periods that drift by the DST hour, unknown units.

Every fixture here is a quirk seen in real exports; each test says where it comes from. A file
with a quirk imports, and the ingest report has a line (a note) for each quirk.
"""

from datetime import UTC, datetime

import pytest

from amiportal.premises.models import Meter, MeterKind
from billing.formats.csv_readings import parse_readings_csv, text_lines
from billing.models import Channel, IngestBatch, IntervalReading, MeterUnit
from billing.services.greenbutton import greenbutton_import
from billing.services.ingest import RawReading
from billing.services.meter_units import meter_unit_set
from tests.billing.helpers import ingest, utc
from tests.factories import MeterFactory, PremiseFactory

pytestmark = pytest.mark.django_db
DAY = 86400


def _espi(kind: int, uom: int, power: int, readings: list[tuple[int, int, int]], interval: int = 3600) -> bytes:
    """A small Green Button file: one usage point of service ``kind`` (0 electricity, 1 gas, 2 water), one ReadingType."""
    espi = 'xmlns="http://naesb.org/espi"'
    up = "https://utility.example/espi/1_1/resource/Subscription/5/UsagePoint/1"

    def entry(self_href: str, content: str, up_href: str = "") -> str:
        links = f'<link rel="self" href="{self_href}"/>' + (f'<link rel="up" href="{up_href}"/>' if up_href else "")
        return (
            f"<entry><id>{self_href}</id>{links}<title>t</title><updated>2025-06-01T00:00:00Z</updated><content>{content}</content></entry>"
        )

    blocks = "".join(
        f"<IntervalReading><timePeriod><duration>{seconds}</duration><start>{start}</start></timePeriod><value>{value}</value></IntervalReading>"
        for start, seconds, value in readings
    )
    parts = [
        entry(up, f"<UsagePoint {espi}><ServiceCategory><kind>{kind}</kind></ServiceCategory></UsagePoint>"),
        entry(
            "https://utility.example/espi/1_1/resource/ReadingType/3",
            f"<ReadingType {espi}><flowDirection>1</flowDirection><intervalLength>{interval}</intervalLength>"
            f"<powerOfTenMultiplier>{power}</powerOfTenMultiplier><uom>{uom}</uom></ReadingType>",
        ),
        entry(f"{up}/MeterReading/1", f"<MeterReading {espi}/>", f"{up}/MeterReading"),
        entry(
            f"{up}/MeterReading/1/IntervalBlock/1", f"<IntervalBlock {espi}>{blocks}</IntervalBlock>", f"{up}/MeterReading/1/IntervalBlock"
        ),
    ]
    # The MeterReading names its ReadingType with a related link, as ESPI files do.
    parts[2] = parts[2].replace("<title>", '<link rel="related" href="https://utility.example/espi/1_1/resource/ReadingType/3"/><title>', 1)
    return ('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><id>f</id><title>t</title>'
            '<updated>2025-06-01T00:00:00Z</updated>' + "".join(parts) + "</feed>").encode()  # fmt: skip


def _epoch(*args) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


def test_gas_in_cubic_metres_imports_for_a_gas_usage_point():
    """UK smart gas meters (SMETS2) register m³, and exports give uom 42 (m³) with powerOfTenMultiplier -3
    for a gas usage point; this was refused as "unit code 42 does not fit a gas usage point"."""
    premise = PremiseFactory(timezone="Europe/London")
    start = _epoch(2025, 5, 1)
    data = _espi(1, 42, -3, [(start, 3600, 1234), (start + 3600, 3600, 987)])
    result = greenbutton_import(premise=premise, data=data, filename="gas-m3.xml")
    assert (result.imported, result.rejected) == (2, 0)
    gas = Meter.objects.get(premise=premise, kind=MeterKind.GAS)
    assert MeterUnit.objects.get(meter=gas).unit == "m3"
    assert sorted(IntervalReading.objects.filter(meter=gas).values_list("value", flat=True)) == [987, 1234]  # litres: 1.234 m³ exactly
    [report] = result.reports
    assert report.notes == [
        {
            "ref": gas.serial_number,
            "note": f"meter {gas.serial_number} had no readings and this file measures it in m³: it is read in m³ from now on",
        }
    ]
    assert IngestBatch.objects.get(pk=report.batch_id).notes == report.notes


def test_water_in_us_gallons_keeps_every_gallon():
    """US water utilities' Green Button files give uom 128 (US gallons), whole gallons per hour; stored in thousandths
    of a gallon, so a week of 1-gallon hours is 168 gallons, not 168 × 4 rounded litres."""
    premise = PremiseFactory()
    start = _epoch(2025, 6, 2, 5)
    result = greenbutton_import(premise=premise, data=_espi(2, 128, 0, [(start + h * 3600, 3600, 1) for h in range(168)]))
    water = Meter.objects.get(premise=premise, kind=MeterKind.WATER)
    assert (result.imported, MeterUnit.objects.get(meter=water).unit) == (168, "gal")
    assert sum(IntervalReading.objects.filter(meter=water).values_list("value", flat=True)) == 168_000


def test_a_ccf_meter_takes_cubic_feet_exactly():
    """US gas utilities read meters in CCF but head-end CSVs often carry ft³ per interval."""
    meter = MeterFactory(serial_number="G-CCF", kind=MeterKind.GAS)
    meter_unit_set(meter=meter, unit="ccf")
    report = ingest([RawReading("r1", "G-CCF", Channel.DELIVERED, utc(2025, 1, 6, 6), 3600, 12, "ft3")])
    assert report.accepted == 1
    assert IntervalReading.objects.get(meter=meter).value == 12_000  # thousandths of a ft³


def test_an_unknown_unit_is_named_and_nothing_is_written():
    """A head-end export that writes power ("kW") in the unit column instead of energy."""
    MeterFactory(serial_number="E-KW")
    rows, rejected = parse_readings_csv(
        text_lines(b"meter,channel,start,seconds,value,unit\nE-KW,delivered,2025-06-01T05:00:00+00:00,900,3,kW\n")
    )
    report = ingest(rows, pre_rejected=rejected)
    assert report.status == "rejected" and report.errors[0]["reason"].startswith("unit 'kW' is not one this portal knows")
    assert not IntervalReading.objects.exists()


def test_therms_are_refused_for_a_gas_meter_read_in_cubic_metres():
    meter = MeterFactory(serial_number="G-M3", kind=MeterKind.GAS)
    meter_unit_set(meter=meter, unit="m3")
    report = ingest([RawReading("r1", "G-M3", Channel.DELIVERED, utc(2025, 1, 6, 6), 3600, 120, "mtherm")])
    assert report.status == "rejected" and "measures energy" in report.errors[0]["reason"]
    assert not IntervalReading.objects.exists()


def _period(ref, serial, start, end, value, unit="L"):
    return RawReading(ref, serial, Channel.DELIVERED, start, int((end - start).total_seconds()), value, unit)


def test_london_spring_forward_billing_period_overlap_is_trimmed_and_reported():
    """Billing periods in an export that adds whole 24-hour days to a GMT start: the period to 30 March 2025 ends at
    01:00Z (02:00 BST) while the next starts at 00:00Z, local midnight. Before this, refused as an overlap."""
    premise = PremiseFactory(timezone="Europe/London")
    meter_unit_set(meter=MeterFactory(premise=premise, serial_number="G-LON", kind=MeterKind.GAS), unit="m3")
    first = _period("march", "G-LON", utc(2025, 2, 28), utc(2025, 3, 30, 1), 310_000)
    second = _period("april", "G-LON", utc(2025, 3, 30), utc(2025, 4, 29, 23), 240_000)
    report = ingest([first, second], accept_valid=False)
    assert (report.status, report.accepted, report.rejected) == ("committed", 2, 0)
    stored = list(IntervalReading.objects.order_by("start").values_list("start", "seconds", "value"))
    assert stored == [(utc(2025, 2, 28), 30 * DAY, 310_000), (utc(2025, 3, 30), 30 * DAY + 23 * 3600, 240_000)]
    assert [note["ref"] for note in report.notes] == ["march"]
    assert "overlapping the next period by the DST hour (Europe/London)" in report.notes[0]["note"]
    assert "taken as ends at 2025-03-30T00:00Z (00:00 local)" in report.notes[0]["note"]


def test_us_fall_back_billing_period_overlap_moves_the_start_that_is_not_local_midnight():
    """A US export whose period ends at local midnight (06:00Z, CST) while the next starts 30 × 24 h after the previous
    start, at 05:00Z: an hour's overlap across the November fall-back in America/Chicago."""
    premise = PremiseFactory(timezone="America/Chicago")
    MeterFactory(premise=premise, serial_number="G-CHI", kind=MeterKind.GAS)
    first = _period("oct", "G-CHI", utc(2025, 10, 15, 5), utc(2025, 11, 14, 6), 40_000, "mtherm")
    second = _period("nov", "G-CHI", utc(2025, 11, 14, 5), utc(2025, 12, 14, 6), 60_000, "mtherm")
    report = ingest([first, second])
    assert (report.status, report.accepted) == ("committed", 2)
    starts = list(IntervalReading.objects.order_by("start").values_list("start", "seconds"))
    assert starts == [(utc(2025, 10, 15, 5), 30 * DAY + 3600), (utc(2025, 11, 14, 6), 30 * DAY)]
    assert [note["ref"] for note in report.notes] == ["nov"] and "America/Chicago" in report.notes[0]["note"]


def test_a_drifted_period_after_a_stored_one_is_trimmed_at_the_stored_end():
    """Monthly files: the March file (already imported) ends the period at 01:00Z; April's file starts at 00:00Z."""
    premise = PremiseFactory(timezone="Europe/London")
    meter_unit_set(meter=MeterFactory(premise=premise, serial_number="G-MON", kind=MeterKind.GAS), unit="m3")
    ingest([_period("march", "G-MON", utc(2025, 2, 28), utc(2025, 3, 30, 1), 310_000)])
    report = ingest([_period("april", "G-MON", utc(2025, 3, 30), utc(2025, 4, 29, 23), 240_000)])
    assert (report.status, report.accepted) == ("committed", 1)
    assert IntervalReading.objects.order_by("start").values_list("start", flat=True)[1] == utc(2025, 3, 30, 1)
    assert "the stored period before it" in report.notes[0]["note"]


def test_a_gap_of_the_dst_hour_is_accepted_and_reported():
    """The same 24-hour arithmetic across the fall-back leaves an hour out between two periods."""
    premise = PremiseFactory(timezone="America/Chicago")
    MeterFactory(premise=premise, serial_number="G-GAP", kind=MeterKind.GAS)
    report = ingest(
        [
            _period("oct", "G-GAP", utc(2025, 10, 15, 5), utc(2025, 11, 14, 5), 40_000, "mtherm"),
            _period("nov", "G-GAP", utc(2025, 11, 14, 6), utc(2025, 12, 14, 6), 60_000, "mtherm"),
        ]
    )
    assert report.accepted == 2 and "accepted as the utility gave it" in report.notes[0]["note"]


def test_an_overlap_that_is_not_the_dst_hour_is_still_refused():
    premise = PremiseFactory(timezone="Europe/London")
    meter_unit_set(meter=MeterFactory(premise=premise, serial_number="G-TWO", kind=MeterKind.GAS), unit="m3")
    report = ingest(
        [
            _period("a", "G-TWO", utc(2025, 2, 28), utc(2025, 3, 30, 2), 310_000),  # two hours over
            _period("b", "G-TWO", utc(2025, 3, 30), utc(2025, 4, 29, 23), 240_000),
        ]
    )
    assert report.status == "rejected" and "overlaps" in report.errors[0]["reason"] and report.notes == []
    assert not IntervalReading.objects.exists()


def test_a_real_gas_file_in_m3_with_drifted_billing_periods_imports_with_a_line_per_quirk():
    """Both quirks in one Green Button file from a UK supplier: monthly billing-period readings of a gas usage point
    in m³ (uom 42), the March period ending at 01:00Z after the clocks went forward."""
    premise = PremiseFactory(timezone="Europe/London")
    march, april = _epoch(2025, 2, 28), _epoch(2025, 3, 30)
    data = _espi(1, 42, 0, [(march, 30 * DAY + 3600, 310), (april, 30 * DAY + 23 * 3600, 240)], interval=30 * DAY)
    result = greenbutton_import(premise=premise, data=data, filename="bills.xml")
    assert (result.imported, result.skipped, result.rejected) == (2, 0, 0)
    notes = [note["note"] for note in result.reports[0].notes]
    assert len(notes) == 2 and "read in m³" in notes[1] and "DST hour (Europe/London)" in notes[0]
    gas = Meter.objects.get(premise=premise)
    assert sorted(IntervalReading.objects.filter(meter=gas).values_list("value", "seconds")) == [
        (240_000, 30 * DAY + 23 * 3600),
        (310_000, 30 * DAY),
    ]


def test_a_gas_meter_in_m3_exports_in_m3_and_imports_back_the_same(tmp_path):
    """Download My Data for a meter read in m³ says m³ (uom 42), not therms; a fresh premise imports it back exactly."""
    from io import StringIO

    from django.core.management import call_command

    from tests.espi_validation import validation_errors

    premise = PremiseFactory(service_point_id="SP-M3", timezone="Europe/London")
    meter_unit_set(meter=MeterFactory(premise=premise, serial_number="G-EXP", kind=MeterKind.GAS), unit="m3")
    ingest([RawReading(f"h{h}", "G-EXP", Channel.DELIVERED, utc(2025, 5, 1, h), 3600, 400 + h, "L") for h in range(24)])
    output = tmp_path / "gas.xml"
    call_command(
        "export_greenbutton",
        "--premise",
        "SP-M3",
        "--start",
        "2025-05-01",
        "--end",
        "2025-05-02",  # the last reading, 23:00Z, is 00:00 on 2 May in London
        "--output",
        str(output),
        stdout=StringIO(),
    )
    xml = output.read_bytes()
    assert validation_errors(xml) == [] and b"<uom>42</uom>" in xml and b"<uom>169</uom>" not in xml
    other = PremiseFactory(service_point_id="SP-M3-NEW", timezone="Europe/London")
    assert greenbutton_import(premise=other, data=xml).imported == 24
    copy = Meter.objects.get(premise=other)
    assert MeterUnit.objects.get(meter=copy).unit == "m3"
    assert sorted(IntervalReading.objects.filter(meter=copy).values_list("value", flat=True)) == [400 + h for h in range(24)]


def test_olga_uploads_a_drifted_head_end_csv_and_the_api_report_has_the_note(olga):
    """A head-end CSV of monthly gas register reads in m³ whose March period ends at 01:00Z (02:00 BST), as exports
    that add 24-hour days to a GMT start give it; the operator's API answer carries the note next to the counts."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.conftest import signed_in

    premise = PremiseFactory(timezone="Europe/London")
    MeterFactory(premise=premise, serial_number="G-CSV", kind=MeterKind.GAS)
    body = (
        "meter,channel,start,seconds,value,unit\n"
        f"G-CSV,delivered,2025-02-28T00:00:00+00:00,{30 * DAY + 3600},310,m3\n"
        f"G-CSV,delivered,2025-03-30T00:00:00+00:00,{30 * DAY + 23 * 3600},240,m3\n"
    )
    response = signed_in(olga).post("/api/billing/ingest/", {"file": SimpleUploadedFile("gas.csv", body.encode(), content_type="text/csv")})
    assert response.status_code == 201
    report = response.json()
    assert (report["status"], report["accepted"], report["rejected"]) == ("committed", 2, 0)
    assert [note["ref"] for note in report["notes"]] == ["row 2", "G-CSV"]  # the trimmed period, then the meter's new unit
    assert sorted(IntervalReading.objects.values_list("value", flat=True)) == [240_000, 310_000]  # litres


def test_register_reads_with_decimals_import_exactly():
    """Head-end CSVs from gas and water AMR systems give register deltas with decimals (1.234 m³, 2.5 gallons);
    they were refused as "seconds and value must be whole numbers"."""
    premise = PremiseFactory(timezone="Europe/London")
    meter_unit_set(meter=MeterFactory(premise=premise, serial_number="G-DEC", kind=MeterKind.GAS), unit="m3")
    body = (
        "meter,channel,start,seconds,value,unit\n"
        "G-DEC,delivered,2025-05-01T00:00:00+00:00,3600,1.234,m3\n"
        "G-DEC,delivered,2025-05-01T01:00:00+00:00,3600,0.5,m3\n"
        "G-DEC,delivered,2025-05-01T02:00:00+00:00,3600,1.5,kW\n"
    )
    rows, rejected = parse_readings_csv(text_lines(body.encode()))
    assert rejected == [("row 4", "a decimal value needs a unit this portal knows, not 'kW'")]
    report = ingest(rows, pre_rejected=rejected, accept_valid=True)
    assert (report.accepted, report.rejected) == (2, 1)
    assert sorted(IntervalReading.objects.values_list("value", flat=True)) == [500, 1234]  # litres
