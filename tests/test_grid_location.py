"""Where premises sit on the grid: operators place them one by one or from the utility's CSV file.

Commands (and later outages) target areas through ``premises_in_area``, so a wrong or half-loaded
grid would send them to the wrong homes: a file is checked whole, and a bad line changes nothing.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from amiportal.audit.models import AuditEntry
from amiportal.premises.grid_selectors import grid_overview, premises_in_area
from amiportal.premises.grid_services import GridPath, grid_location_set, grid_locations_import
from amiportal.premises.models import Feeder, Premise, Substation, Transformer
from tests.conftest import form_errors, signed_in
from tests.factories import PremiseFactory

pytestmark = pytest.mark.django_db


def _premises(*spids: str) -> list[Premise]:
    return [PremiseFactory(service_point_id=spid) for spid in spids]


def _located() -> dict[str, str | None]:
    return {
        premise.service_point_id: str(GridPath.of(premise.transformer)) if premise.transformer_id else None
        for premise in Premise.objects.select_related("transformer__feeder__substation")
    }


CSV = (
    "service_point_id,substation,feeder,transformer\n"
    "SP-1,SUB-A,F1,T-101\n"
    "SP-2,SUB-A,F1,T-101\n"
    "SP-3,SUB-A,F2,T-101\n"  # the same transformer code on another feeder is another transformer
    "SP-4,SUB-B,F1,T-900\n"
)


def test_a_file_places_every_premise_and_areas_select_them(olga):
    _premises("SP-1", "SP-2", "SP-3", "SP-4", "SP-5")
    report = grid_locations_import(data=CSV.encode(), actor=olga, filename="grid.csv")
    assert (report.rows, report.changed, report.unchanged, report.areas_created) == (4, 4, 0, 2 + 3 + 3)
    assert _located() == {
        "SP-1": "SUB-A / F1 / T-101",
        "SP-2": "SUB-A / F1 / T-101",
        "SP-3": "SUB-A / F2 / T-101",
        "SP-4": "SUB-B / F1 / T-900",
        "SP-5": None,
    }
    spids = lambda premises: [p.service_point_id for p in premises]  # noqa: E731
    assert spids(premises_in_area(substation="SUB-A")) == ["SP-1", "SP-2", "SP-3"]
    assert spids(premises_in_area(substation="SUB-A", feeder="F1")) == ["SP-1", "SP-2"]
    assert spids(premises_in_area(substation="SUB-A", feeder="F2", transformer="T-101")) == ["SP-3"]
    assert spids(premises_in_area(substation="SUB-B", feeder="F1", transformer="T-101")) == []
    with pytest.raises(ValueError):
        premises_in_area(substation="SUB-A", transformer="T-101")
    payload = json.loads(AuditEntry.objects.get(action="premise.grid_locations_imported").payload)
    assert payload["rows"] == 4 and payload["changed"] == 4 and len(payload["sha256"]) == 64
    # Loading the same file again changes nothing and writes no second entry.
    again = grid_locations_import(data=CSV.encode(), actor=olga)
    assert (again.changed, again.unchanged, again.areas_created) == (0, 4, 0)
    assert AuditEntry.objects.filter(action="premise.grid_locations_imported").count() == 1
    substations, unplaced = grid_overview()
    assert unplaced == 1
    assert [(row.substation.code, row.premise_count) for row in substations] == [("SUB-A", 3), ("SUB-B", 1)]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("service_point_id,substation,feeder\nSP-1,A,B\n", "lacks transformer"),
        ("", "The file is empty"),
        ("service_point_id,substation,feeder,transformer\n", "no premises"),
        ("service_point_id,substation,feeder,transformer\nSP-1,SUB-A,F1,T-1\nSP-404,SUB-A,F1,T-1\n", "Line 3: no premise has"),
        ("service_point_id,substation,feeder,transformer\nSP-1,SUB-A,,T-1\n", "Line 2 (SP-1): The feeder is empty"),
        ("service_point_id,substation,feeder,transformer\nSP-1,SUB-A,F1,<script>\n", "is not a grid code"),
        ("service_point_id,substation,feeder,transformer\nSP-1,A,F1,T-1\nSP-1,A,F1,T-2\n", "Line 3: SP-1 is already placed"),
        ("service_point_id,substation,feeder,transformer\nSP-1,A,F1," + "T" * 40 + "\n", "is not a grid code"),
    ],
)
def test_a_bad_file_is_refused_whole_with_the_line_named(olga, content, expected):
    """Bad input: a clear message naming the line, and nothing written, not even the good lines."""
    _premises("SP-1", "SP-2")
    with pytest.raises(ValidationError) as refused:
        grid_locations_import(data=content.encode(), actor=olga)
    assert any(expected in message for message in refused.value.messages), refused.value.messages
    assert _located() == {"SP-1": None, "SP-2": None}
    assert not Substation.objects.exists()
    assert not AuditEntry.objects.filter(action="premise.grid_locations_imported").exists()


def test_files_as_spreadsheets_save_them_are_read_and_their_quirks_reported(olga):
    """Excel's "CSV UTF-8" starts with a byte-order mark; "Unicode text" is UTF-16. Both are read, and said so."""
    _premises("SP-1", "SP-2")
    bom = grid_locations_import(
        data=b"\xef\xbb\xbf" + b"Service_Point_ID,Substation,Feeder,Transformer\r\nSP-1,A,F1,T-1\r\n,,,\r\n", actor=olga
    )
    assert bom.changed == 1 and any("byte-order mark" in line for line in bom.lines) and any("blank line" in line for line in bom.lines)
    utf16 = grid_locations_import(data="service_point_id,substation,feeder,transformer\nSP-2,A,F1,T-2\n".encode("utf-16"), actor=olga)
    assert utf16.changed == 1 and any("UTF-16" in line for line in utf16.lines)
    with pytest.raises(ValidationError, match="NUL"):
        grid_locations_import(data=b"service_point_id,substation,feeder,transformer\nSP-1,A\x00,F1,T-1\n", actor=olga)
    with pytest.raises(ValidationError, match="not UTF-8 or UTF-16"):
        grid_locations_import(data=b"service_point_id,substation,feeder,transformer\nSP-1,\xff\xfe\xfa,F1,T-1\n", actor=olga)
    assert _located() == {"SP-1": "A / F1 / T-1", "SP-2": "A / F1 / T-2"}


def test_operator_places_a_premise_and_the_change_is_audited_old_and_new(olga, alice):
    premise = alice.customer_account.agreements.get().premise
    client = signed_in(olga)
    url = f"/operator/grid/premises/{premise.pk}/"
    assert "No grid location recorded" in client.get(url).content.decode()
    response = client.post(url, {"substation": "SUB-A", "feeder": "F 7", "transformer": "T-1"})
    assert response.status_code == 302
    response = client.post(url, {"substation": "SUB-B", "feeder": "F1", "transformer": "T-9"})
    page = client.get(url).content.decode()
    assert "SUB-B" in page and "T-9" in page
    entries = list(AuditEntry.objects.filter(action="premise.grid_location_set").order_by("pk"))
    assert [(json.loads(e.payload)["old"], json.loads(e.payload)["new"]) for e in entries] == [
        (None, "SUB-A / F 7 / T-1"),
        ("SUB-A / F 7 / T-1", "SUB-B / F1 / T-9"),
    ]
    assert entries[-1].actor_id == olga.pk
    # Two of three is not a location: refused, nothing changed.
    response = client.post(url, {"substation": "SUB-C", "feeder": "", "transformer": "T-1"})
    assert response.status_code == 400
    assert any("together" in error for error in form_errors(response.content.decode()))
    # All three empty: the location becomes unknown (areas stay, for the other premises).
    client.post(url, {"substation": "", "feeder": "", "transformer": ""})
    premise.refresh_from_db()
    assert premise.transformer_id is None and Transformer.objects.count() == 2


def test_operator_loads_a_file_in_the_browserless_journey_and_sees_the_areas(olga):
    _premises("SP-1", "SP-2", "SP-3", "SP-4")
    client = signed_in(olga)
    dry = client.post("/operator/grid/import/", {"file": SimpleUploadedFile("grid.csv", CSV.encode()), "dry_run": "on"}, follow=True)
    assert "Checked, nothing changed" in dry.content.decode() and not Premise.objects.filter(transformer__isnull=False).exists()
    done = client.post("/operator/grid/import/", {"file": SimpleUploadedFile("grid.csv", CSV.encode())}, follow=True)
    page = done.content.decode()
    assert "Loaded: 4 premises in the file" in page and "SUB-A" in page and "T-900" in page
    area = client.get("/operator/grid/", {"substation": "SUB-A", "feeder": "F1"}).content.decode()
    assert "Premises at SUB-A / F1 (2)" in area and "SP-1" in area and "SP-3" not in area.split("Substations, feeders")[0]
    bad = client.post("/operator/grid/import/", {"file": SimpleUploadedFile("bad.csv", b"service_point_id,substation\nSP-1,A\n")})
    assert bad.status_code == 400 and any("lacks feeder, transformer" in e for e in form_errors(bad.content.decode()))
    found = client.get("/operator/grid/", {"service_point_id": "SP-2"})
    assert found.status_code == 302 and found["Location"].endswith(
        f"/operator/grid/premises/{Premise.objects.get(service_point_id='SP-2').pk}/"
    )


def test_the_command_loads_a_file_or_says_why_not(tmp_path):
    _premises("SP-1", "SP-2", "SP-3", "SP-4")
    good = tmp_path / "grid.csv"
    good.write_text(CSV)
    out = io.StringIO()
    call_command("grid_import", str(good), "--dry-run", stdout=out)
    assert "Checked, nothing changed: 4 premises" in out.getvalue() and not Feeder.objects.exists()
    call_command("grid_import", str(good), stdout=out)
    assert Premise.objects.filter(transformer__isnull=False).count() == 4
    assert AuditEntry.objects.get(action="premise.grid_locations_imported").actor_label == "manage.py grid_import"
    bad = tmp_path / "bad.csv"
    bad.write_text("service_point_id,substation,feeder,transformer\nSP-9,A,B,C\n")
    with pytest.raises(CommandError, match="nothing was loaded.\nLine 2: no premise"):
        call_command("grid_import", str(bad))
    with pytest.raises(CommandError, match="cannot be read"):
        call_command("grid_import", str(tmp_path / "missing.csv"))


def test_setting_the_same_location_twice_writes_nothing(olga):
    (premise,) = _premises("SP-1")
    path = GridPath("A", "F1", "T-1")
    grid_location_set(premise=premise, path=path, actor=olga)
    grid_location_set(premise=premise, path=path, actor=olga)
    assert AuditEntry.objects.filter(action="premise.grid_location_set").count() == 1


def test_the_demo_places_every_premise_on_the_grid():
    from amiportal.portal.demo import demo_seed

    demo_seed()
    assert not Premise.objects.filter(transformer__isnull=True).exists()
    maple = [p.service_point_id for p in premises_in_area(substation="RIV-NORTH", feeder="N1", transformer="T-MAPLE")]
    assert maple == ["SP-100001", "SP-100002"]
