"""The demo: Alice's gas meter reads m³ and her water meter gallons, each with a tariff, and her dashboard shows both."""

import io

import pytest
from django.core.management import call_command

from amiportal.premises.models import Meter, MeterKind
from billing.models import IntervalReading, MeterUnit, PremiseTariff
from tests.conftest import CsrfClient

pytestmark = pytest.mark.django_db


def test_alice_sees_her_demo_gas_in_m3_and_water_in_gallons_with_costs(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", stdout=io.StringIO())
    from amiportal.portal.demo import DEMO_PASSWORD

    gas = Meter.objects.get(premise__service_point_id="SP-100001", kind=MeterKind.GAS)
    water = Meter.objects.get(premise__service_point_id="SP-100001", kind=MeterKind.WATER)
    assert (MeterUnit.objects.get(meter=gas).unit, MeterUnit.objects.get(meter=water).unit) == ("m3", "gal")
    assert IntervalReading.objects.filter(meter=gas).exists() and IntervalReading.objects.filter(meter=water).exists()
    tariffs = dict(PremiseTariff.objects.filter(premise=gas.premise, end__isnull=True).values_list("commodity", "tariff__code"))
    assert tariffs["gas"] == "RES-GAS" and tariffs["water"] == "WATER"
    client = CsrfClient()
    client.post("/accounts/login/", {"email": "alice@demo.ami", "password": DEMO_PASSWORD})
    page = client.get(f"/customer/premises/{gas.premise_id}/usage/").content.decode()
    assert f"meter {gas.serial_number}, read in m³" in page and f"meter {water.serial_number}, read in gallons" in page
    assert "Residential gas" in page and "Water and sewer" in page
