"""The operator's page for a meter's unit of measure: a confirm page that says what changes, audited, bad units refused."""

import html
import json

import pytest

from amiportal.audit.models import AuditEntry
from amiportal.premises.models import MeterKind
from billing.models import Channel, IntervalReading, MeterUnit
from tests.billing.helpers import ingest, readings, utc
from tests.conftest import CsrfClient, form_errors, signed_in
from tests.factories import MeterFactory

pytestmark = pytest.mark.django_db


def _water_meter(alice):
    premise = alice.customer_account.agreements.get().premise
    meter = MeterFactory(premise=premise, serial_number="W-UNIT", kind=MeterKind.WATER)
    ingest(readings("W-UNIT", utc(2025, 1, 1), hours=2, seconds=3600, unit="L", value=lambda moment: 120))
    return meter


def _audits():
    return [json.loads(entry.payload) for entry in AuditEntry.objects.filter(action="billing.meter_unit_set")]


@pytest.mark.objective("SO-C4")
def test_olga_changes_a_water_meter_from_litres_to_cubic_metres_after_confirming(alice, olga):
    meter = _water_meter(alice)
    client = signed_in(olga)
    grid = client.get(f"/operator/grid/premises/{meter.premise_id}/").content.decode()
    assert f'<a href="/operator/meters/{meter.pk}/unit/">Unit of measure' in grid  # from the premise's meters
    page = client.get(f"/operator/meters/{meter.pk}/unit/").content.decode()
    assert "Read in <strong>litres</strong>" in page and '<option value="m3">m³</option>' in page

    confirm = client.post(f"/operator/meters/{meter.pk}/unit/set/", {"unit": "m3"})
    html = confirm.content.decode()
    assert confirm.status_code == 200 and "Read meter W-UNIT in m³ instead of litres?" in html
    assert "shows it in m³ instead of litres" in html
    assert "Stored readings are not rewritten: they stay as they are, whole litres" in html
    assert "audit log with the old unit (litres) and the new one (m³)" in html
    assert '<input type="hidden" name="unit" value="m3">' in html
    assert not MeterUnit.objects.filter(meter=meter).exists() and _audits() == []  # nothing before the confirmation

    done = client.post(f"/operator/meters/{meter.pk}/unit/set/", {"unit": "m3", "confirm": "yes"})
    assert done.status_code == 302 and done.url == f"/operator/meters/{meter.pk}/unit/"
    assert MeterUnit.objects.get(meter=meter).unit == "m3"
    assert _audits() == [{"unit": "m3", "was": "L"}]
    assert AuditEntry.objects.get(action="billing.meter_unit_set").actor_id == olga.pk
    assert sorted(IntervalReading.objects.filter(meter=meter).values_list("value", flat=True)) == [120, 120]  # not rewritten
    assert "Read in <strong>m³</strong>" in client.get(done.url).content.decode()


@pytest.mark.objective("SO-C4")
def test_a_bad_unit_is_refused_with_a_clear_message_and_nothing_written(alice, olga):
    meter = _water_meter(alice)
    client = signed_in(olga)
    for data in ({"unit": "kWh"}, {"unit": "kWh", "confirm": "yes"}, {"unit": ""}, {"unit": "m3" * 10}):
        response = client.post(f"/operator/meters/{meter.pk}/unit/set/", data)
        assert response.status_code == 400
    response = client.post(f"/operator/meters/{meter.pk}/unit/set/", {"unit": "kWh", "confirm": "yes"})
    assert [html.unescape(e) for e in form_errors(response.content.decode())] == [
        "Water meters are read in litres, m³, gallons, ft³, CCF, not 'kWh'."
    ]
    # Gallons are stored as thousandths of a gallon, litres as litres: the stored readings would be misread.
    response = client.post(f"/operator/meters/{meter.pk}/unit/set/", {"unit": "gal", "confirm": "yes"})
    assert response.status_code == 400
    assert form_errors(response.content.decode()) == [
        "Meter W-UNIT already has readings in litres (stored as whole litres); its unit cannot change to gallons "
        "(stored as whole thousandths of a gallon): the stored readings would be misread. Nothing was changed."
    ]
    electric = alice.customer_account.agreements.get().premise.meters.get(kind=MeterKind.ELECTRIC)
    response = client.post(f"/operator/meters/{electric.pk}/unit/set/", {"unit": "therm", "confirm": "yes"})
    assert response.status_code == 400
    assert "Electric meters are read in kWh, not &#x27;therm&#x27;." in response.content.decode()
    assert not MeterUnit.objects.exists() and _audits() == []


def test_a_gas_meter_without_readings_says_its_readings_will_be_stored_anew(olga):
    meter = MeterFactory(serial_number="G-NEW", kind=MeterKind.GAS)
    client = signed_in(olga)
    html = client.post(f"/operator/meters/{meter.pk}/unit/set/", {"unit": "m3"}).content.decode()
    assert "The meter has no readings yet; readings imported from now on are stored as whole litres (until now mtherm)." in html
    assert client.post(f"/operator/meters/{meter.pk}/unit/set/", {"unit": "m3", "confirm": "yes"}).status_code == 302
    same = client.post(f"/operator/meters/{meter.pk}/unit/set/", {"unit": "m3"}, follow=True).content.decode()
    assert "already read in m³; nothing changed" in same and len(_audits()) == 1
    ingest(readings("G-NEW", utc(2025, 1, 1), hours=1, seconds=3600, unit="m3", channel=Channel.DELIVERED))
    assert IntervalReading.objects.filter(meter=meter).get().value == 250_000  # 250 m³, stored in litres


@pytest.mark.objective("SO-C4")
@pytest.mark.parametrize("persona", ["ivan", "alice", "peter", "bob", "trent", "dora", "anonymous"])
def test_only_operators_change_a_meter_s_unit(persona, request, alice, peter):
    meter = _water_meter(alice)
    client = CsrfClient() if persona == "anonymous" else signed_in(request.getfixturevalue(persona), stepped_up=True)
    page = client.get(f"/operator/meters/{meter.pk}/unit/")
    assert page.status_code in (302, 403, 404) and b"Unit of measure" not in page.content
    for data in ({"unit": "m3"}, {"unit": "m3", "confirm": "yes"}):
        response = client.post(f"/operator/meters/{meter.pk}/unit/set/", data)
        assert response.status_code in (302, 403, 404)
        if response.status_code == 302:
            assert response.url.startswith("/accounts/login/")  # sent to sign in, not to the meter's page
    assert not MeterUnit.objects.exists() and _audits() == []
