"""The operator ingest API and command: operators only, a report per batch, nothing committed from a failed batch."""

import json
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from billing.models import IntervalReading
from tests.billing.helpers import csv_text, readings, utc
from tests.conftest import CsrfClient, signed_in
from tests.factories import MeterFactory

pytestmark = pytest.mark.django_db
URL = "/api/billing/ingest/"


@pytest.fixture
def meter():
    return MeterFactory(serial_number="E-API")


def _upload(text: str, name="batch.csv"):
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


@pytest.mark.objective("SO-U2")
def test_an_operator_ingests_csv_and_gets_a_report(olga, meter):
    body = csv_text(readings("E-API", utc(2025, 6, 1, 5), hours=1))
    response = signed_in(olga).post(URL, {"file": _upload(body)})
    assert response.status_code == 201
    assert (response.json()["accepted"], response.json()["rejected"], response.json()["status"]) == (4, 0, "committed")
    again = signed_in(olga).post(URL, {"file": _upload(body)})
    assert again.json()["duplicates"] == 4 and IntervalReading.objects.count() == 4


def test_a_batch_with_a_bad_row_commits_nothing_unless_asked(olga, meter):
    body = csv_text(readings("E-API", utc(2025, 6, 1, 5), hours=1)) + "E-API,delivered,2025-06-01T09:00:00Z,900,-3,Wh,actual\n"
    refused = signed_in(olga).post(URL, {"file": _upload(body)})
    assert refused.status_code == 422
    assert refused.json()["errors"] == [{"ref": "row 6", "reason": "negative reading -3"}]
    assert not IntervalReading.objects.exists()
    partial = signed_in(olga).post(URL, {"file": _upload(body), "accept_valid": "true"})
    assert partial.status_code == 201 and partial.json()["status"] == "partial"
    assert IntervalReading.objects.count() == 4


def test_malformed_files_get_a_clear_error(olga, meter):
    assert signed_in(olga).post(URL, {"file": _upload("no,header,here\n1,2,3\n")}).json()["status"] == "rejected"
    assert signed_in(olga).post(URL, {"file": SimpleUploadedFile("x.csv", b"\xff\xfe\x00bad")}).status_code == 400
    espi = signed_in(olga).post(
        URL, {"file": _upload("<!DOCTYPE x [<!ENTITY a 'b'>]><feed/>", "x.xml"), "format": "espi", "meter": "E-API"}
    )
    assert espi.status_code == 400 and "DOCTYPE" in espi.json()["error"]


@pytest.mark.objective("SO-U2")
@pytest.mark.parametrize("persona", ["alice", "ivan", "trent"])
def test_only_operators_may_ingest(request, persona, meter):
    user = request.getfixturevalue(persona)
    body = csv_text(readings("E-API", utc(2025, 6, 1, 5), hours=1))
    assert signed_in(user).post(URL, {"file": _upload(body)}).status_code == 403
    assert CsrfClient().post(URL, {"file": _upload(body)}).status_code == 403
    assert not IntervalReading.objects.exists()


def test_the_command_ingests_files_and_prints_reports(meter, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(csv_text(readings("E-API", utc(2025, 6, 1, 5), hours=1)))
    out = StringIO()
    call_command("ingest_readings", str(good), stdout=out)
    assert json.loads(out.getvalue())["accepted"] == 4
    bad = tmp_path / "bad.csv"
    bad.write_text("meter,channel\n")
    with pytest.raises(CommandError):
        call_command("ingest_readings", str(bad), stdout=StringIO())
