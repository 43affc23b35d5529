"""Every meter on the dashboard: gas and water each in their own section, in the unit the utility reads, with the tariff's cost.

Personas: Alice sees her own gas in m³ with its cost; Bob cannot open Alice's page and never sees her gas;
Peter (who lived at Alice's home before her) sees only his own time there.
"""

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from amiportal.premises.models import MeterKind
from amiportal.premises.selectors import Occupancy
from billing.commodities import commodity_section
from billing.models import PricingKind
from billing.services.ingest import local_day_bounds
from billing.services.meter_units import meter_unit_set
from billing.services.tariffs import premise_tariff_assign, tariff_create, tariff_version_create
from tests.billing.helpers import ingest, readings, up_to_now
from tests.conftest import signed_in
from tests.factories import MeterFactory

pytestmark = pytest.mark.django_db
TEN_KWH_PER_M3 = {"calorific_value_mj_per_m3": "36", "volume_correction": "1"}


def _gas_in_m3(premise, serial="G-ALICE"):
    meter = MeterFactory(premise=premise, serial_number=serial, kind=MeterKind.GAS)
    meter_unit_set(meter=meter, unit="m3")
    tariff = tariff_create(code=f"GAS-{serial}", name="Gas by the kWh", commodity=MeterKind.GAS, unit="kWh")
    tariff_version_create(
        tariff=tariff,
        effective_from=date(2020, 1, 1),
        pricing=PricingKind.TIERED,
        definition={**TEN_KWH_PER_M3, "tiers": [{"up_to": 100, "rate": "6"}, {"up_to": None, "rate": "8"}]},
    )
    premise_tariff_assign(premise=premise, tariff=tariff, start=date(2020, 1, 1))
    return meter


def _a_day_of_gas(premise, meter, day, litres_an_hour=500):
    start, _ = local_day_bounds(day, premise.timezone)
    ingest(up_to_now(readings(meter.serial_number, start, hours=24, seconds=3600, unit="L", value=lambda m: litres_an_hour)))


def test_a_month_of_gas_in_m3_is_priced_by_hand():
    from tests.factories import PremiseFactory

    premise = PremiseFactory()
    meter = _gas_in_m3(premise)
    _a_day_of_gas(premise, meter, date(2025, 3, 10))  # 24 × 0.5 m³ = 12 m³ = 120 kWh
    _a_day_of_gas(premise, meter, date(2025, 3, 11), litres_an_hour=250)  # 6 m³ = 60 kWh
    section = commodity_section(
        premise=premise,
        meter=meter,
        occupancies=[Occupancy(date(2024, 1, 1), None)],
        first_day=date(2025, 3, 1),
        last_day=date(2025, 3, 31),
    )
    # 10 March: 100 kWh × 6¢ + 20 kWh × 8¢ = 760¢; 11 March: 60 kWh all in tier 2 = 480¢.
    assert (section.symbol, section.quantity, section.billed, section.billed_symbol) == ("m³", Decimal(18), Decimal(180), "kWh")
    assert section.usage_cents == Decimal(1240)
    assert [(line.label, line.quantity, line.cents) for line in section.months if line.label == "Mar 2025"] == [
        ("Mar 2025", Decimal(18), Decimal(1240))
    ]


def test_alice_sees_her_gas_in_m3_with_its_cost(alice):
    premise = alice.customer_account.agreements.get().premise
    meter = _gas_in_m3(premise)
    today = datetime.now(UTC).astimezone(ZoneInfo(premise.timezone)).date()
    day = today - timedelta(days=2)
    _a_day_of_gas(premise, meter, day)
    page = signed_in(alice).get(f"/customer/premises/{premise.pk}/usage/").content.decode()
    assert 'id="commodity-gas-' in page and "read in m³" in page
    # The month's row: 12 m³, and 100 kWh × 6¢ + 20 kWh × 8¢ = $7.60
    assert f'<th scope="row">{day:%b %Y}</th><td>12</td><td>$7.60</td>' in page
    assert "Gas by the kWh" in page


def test_bob_cannot_open_alices_page_and_never_sees_her_gas(alice, bob):
    """SO-C7: another customer's gas is not reachable, by page or on his own page."""
    premise = alice.customer_account.agreements.get().premise
    _a_day_of_gas(premise, _gas_in_m3(premise), date.today() - timedelta(days=2))
    client = signed_in(bob)
    assert client.get(f"/customer/premises/{premise.pk}/usage/").status_code == 404
    bobs = bob.customer_account.agreements.get().premise
    page = client.get(f"/customer/premises/{bobs.pk}/usage/").content.decode()
    assert "G-ALICE" not in page and "commodity-gas" not in page


def test_peter_sees_no_gas_from_after_he_moved_out(alice, peter):
    """SO-C5: a previous occupant's gas section holds only his own time at the premise."""
    premise = alice.customer_account.agreements.get().premise
    meter = _gas_in_m3(premise)
    _a_day_of_gas(premise, meter, date.today() - timedelta(days=2))  # Alice's time
    page = signed_in(peter).get(f"/customer/premises/{premise.pk}/usage/").content.decode()
    assert "read in m³" in page and "$7.60" not in page and "<td>12</td>" not in page


def test_water_in_gallons_shows_in_gallons(alice):
    premise = alice.customer_account.agreements.get().premise
    meter = MeterFactory(premise=premise, serial_number="W-ALICE", kind=MeterKind.WATER)
    meter_unit_set(meter=meter, unit="gal")
    start, _ = local_day_bounds(date.today() - timedelta(days=2), premise.timezone)
    ingest(up_to_now(readings("W-ALICE", start, hours=24, seconds=3600, unit="gal", value=lambda m: 5)))
    page = signed_in(alice).get(f"/customer/premises/{premise.pk}/usage/").content.decode()
    assert "read in gallons" in page and "<td>120</td>" in page and "no water tariff on file" in page


def test_a_home_with_gas_and_no_electricity_meter_still_shows_its_gas(alice):
    premise = alice.customer_account.agreements.get().premise
    premise.meters.filter(kind=MeterKind.ELECTRIC).delete()
    meter = _gas_in_m3(premise)
    _a_day_of_gas(premise, meter, date.today() - timedelta(days=2))
    page = signed_in(alice).get(f"/customer/premises/{premise.pk}/usage/").content.decode()
    assert "This address has no electricity meter yet." in page and "read in m³" in page and "$7.60" in page
    assert "billing-commodities.js" in page and "chart.umd.min.js" in page


def test_alice_chooses_a_past_month_and_her_gas_section_shows_that_month(alice):
    premise = alice.customer_account.agreements.get().premise
    meter = _gas_in_m3(premise)
    _a_day_of_gas(premise, meter, date(2025, 3, 10))  # 12 m³: $7.60
    client = signed_in(alice)
    march = client.get(f"/customer/premises/{premise.pk}/usage/?period=month&on=2025-03-15").content.decode()
    assert "<dt>1 Mar to 31 Mar 2025</dt>" in march
    assert '<span class="commodity-quantity">12 m³</span>' in march and '<span class="commodity-cost">$7.60' in march
    default = client.get(f"/customer/premises/{premise.pk}/usage/").content.decode()  # no period chosen: the cycle to date
    assert "Mar 2025</dt>" not in default


@pytest.mark.objective("SO-C5")
def test_peter_choosing_his_last_week_sees_only_his_own_gas(alice, peter):
    """SO-C5: a chosen period ends, for a previous occupant, on the day he moved out (31 Dec 2023; Alice moved in next day)."""
    premise = alice.customer_account.agreements.get().premise
    meter = _gas_in_m3(premise)
    _a_day_of_gas(premise, meter, date(2023, 12, 30))  # Peter's: 12 m³
    _a_day_of_gas(premise, meter, date(2024, 1, 1), litres_an_hour=250)  # Alice's: 6 m³
    page = signed_in(peter).get(f"/customer/premises/{premise.pk}/usage/?period=week&on=2023-12-31").content.decode()
    assert re.search(r"<dt>\d+ \w+ to 31 Dec 2023</dt>", page)
    assert '<span class="commodity-quantity">12 m³</span>' in page and "<td>6</td>" not in page
    page = signed_in(alice).get(f"/customer/premises/{premise.pk}/usage/?period=month&on=2024-01-15").content.decode()
    assert '<span class="commodity-quantity">6 m³</span>' in page
