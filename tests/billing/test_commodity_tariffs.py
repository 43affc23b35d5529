"""Gas and water tariffs in the tariff engine: validated like electricity's, priced per the tariff's unit (hand-worked figures)."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from amiportal.premises.models import MeterKind
from billing.commodity_pricing import days_cost
from billing.models import ExportCredit, PremiseTariff, PricingKind
from billing.services.meter_units import meter_unit_set
from billing.services.tariffs import premise_tariff_assign, tariff_create, tariff_version_create
from billing.tariff_engine import PriceBook, validate_definition
from tests.billing.tariffs import flat_tariff
from tests.conftest import form_errors, signed_in
from tests.factories import MeterFactory, PremiseFactory

pytestmark = pytest.mark.django_db

# 36 MJ per m³ with no volume correction: one m³ is exactly 10 kWh, so the figures can be worked by hand.
TEN_KWH_PER_M3 = {"calorific_value_mj_per_m3": "36", "volume_correction": "1"}


def gas_tariff(premise=None, *, unit="kWh", pricing=PricingKind.TIERED, definition=None, **terms):
    tariff = tariff_create(code=f"GAS-{unit}", name="Gas", commodity=MeterKind.GAS, unit=unit)
    definition = (
        definition if definition is not None else {**TEN_KWH_PER_M3, "tiers": [{"up_to": 100, "rate": "6"}, {"up_to": None, "rate": "8"}]}
    )
    tariff_version_create(tariff=tariff, effective_from=date(2024, 1, 1), pricing=pricing, definition=definition, **terms)
    if premise is not None:
        premise_tariff_assign(premise=premise, tariff=tariff, start=date(2024, 1, 1))
    return tariff


def test_gas_in_m3_priced_per_kwh_in_monthly_tiers():
    premise = PremiseFactory()
    gas_tariff(premise, fixed_daily=Decimal(30))
    book = PriceBook(premise, date(2025, 3, 1), date(2025, 3, 31), commodity=MeterKind.GAS)
    # Day 1: 8 m³ = 80 kWh, all in tier 1: 80 × 6¢ = 480¢.
    # Day 2: 5 m³ = 50 kWh: 20 kWh left in tier 1 (120¢) and 30 kWh in tier 2 (240¢) = 360¢.
    costs = days_cost(book=book, days=[(date(2025, 3, 1), 8000), (date(2025, 3, 2), 5000)], stored="L")
    assert [(c.billed, c.cents) for c in costs] == [(Decimal(80), Decimal(480)), (Decimal(50), Decimal(360))]
    assert book.fixed_charges(date(2025, 3, 1), date(2025, 3, 2)) == Decimal(60)  # 2 days × 30¢


def test_the_tiers_start_again_each_month():
    premise = PremiseFactory()
    gas_tariff(premise)
    book = PriceBook(premise, date(2025, 3, 1), date(2025, 4, 30), commodity=MeterKind.GAS)
    costs = days_cost(book=book, days=[(date(2025, 3, 31), 12000), (date(2025, 4, 1), 1000)], stored="L")
    # 31 March: 120 kWh = 100 × 6 + 20 × 8 = 760¢; 1 April: 10 kWh, back in tier 1 = 60¢.
    assert [c.cents for c in costs] == [Decimal(760), Decimal(60)]


def test_water_in_gallons_priced_per_thousand_gallons():
    premise = PremiseFactory()
    tariff = tariff_create(code="WATER", name="Water", commodity=MeterKind.WATER, unit="kgal")
    tariff_version_create(
        tariff=tariff,
        effective_from=date(2024, 1, 1),
        pricing=PricingKind.TIERED,
        definition={"tiers": [{"up_to": 3, "rate": "450"}, {"up_to": None, "rate": "620"}]},
        fixed_monthly=Decimal(1250),
    )
    premise_tariff_assign(premise=premise, tariff=tariff, start=date(2024, 1, 1))
    book = PriceBook(premise, date(2025, 6, 1), date(2025, 6, 30), commodity=MeterKind.WATER)
    # 4,500 gallons (4,500,000 mgal) = 4.5 kgal: 3 × 450¢ + 1.5 × 620¢ = 1,350 + 930 = 2,280¢.
    [cost] = days_cost(book=book, days=[(date(2025, 6, 10), 4_500_000)], stored="mgal")
    assert (cost.billed, cost.cents) == (Decimal("4.5"), Decimal(2280))
    assert book.fixed_charges(date(2025, 6, 1), date(2025, 6, 30)) == Decimal(1250)


def test_us_gas_in_ccf_priced_per_therm_with_the_therm_factor():
    premise = PremiseFactory()
    gas_tariff(premise, unit="therm", pricing=PricingKind.FLAT, definition={"therms_per_ccf": "1.037"}, flat_rate=Decimal("95"))
    book = PriceBook(premise, date(2025, 1, 1), date(2025, 1, 31), commodity=MeterKind.GAS)
    # 50 CCF × 1.037 = 51.85 therms × 95¢ = 4,925.75¢
    [cost] = days_cost(book=book, days=[(date(2025, 1, 5), 5_000_000)], stored="mft3")
    assert cost.cents.quantize(Decimal("0.0001")) == Decimal("4925.7500")


def test_a_premise_has_one_tariff_per_commodity_and_electricity_pricing_is_untouched():
    premise = PremiseFactory()
    flat = flat_tariff(premise, rate="12")
    gas_tariff(premise)
    assert set(PremiseTariff.objects.filter(premise=premise, end__isnull=True).values_list("commodity", flat=True)) == {"electric", "gas"}
    electric = PriceBook(premise, date(2025, 1, 1), date(2025, 1, 2))
    assert electric.version_on(date(2025, 1, 1)).tariff_id == flat.pk
    assert electric.price(datetime(2025, 1, 1, 12, tzinfo=electric.zone)).cents_per_kwh == Decimal(12)


@pytest.mark.parametrize(
    ("pricing", "definition", "flat_rate", "unit", "problem"),
    [
        (PricingKind.TOU, {}, None, "therm", "a gas tariff is a flat rate or tiered blocks"),
        (PricingKind.FLAT, {}, None, "therm", "a flat rate is needed, in cents per therm"),
        (PricingKind.FLAT, {}, Decimal(1), "gal", "a gas tariff is priced per therm, kWh, m3, ccf, ft3, not 'gal'"),
        (PricingKind.TIERED, {"tiers": [{"up_to": 5, "rate": "5"}]}, None, "m3", "tiers must end with an open tier (up_to null)"),
        (PricingKind.TIERED, {"tiers": [{"up_to": None, "rate": "cheap"}]}, None, "m3", "the rate must be a number of cents per m3"),
        (
            PricingKind.FLAT,
            {"calorific_value_mj_per_m3": "395"},
            Decimal(1),
            "kWh",
            "calorific_value_mj_per_m3 must be a number from 20 to 60",
        ),
        (PricingKind.FLAT, {"therms_per_ccf": "1.037", "volume_correction": "1.02264"}, Decimal(1), "therm", "either as therms_per_ccf"),
        (PricingKind.FLAT, {"holidays": []}, Decimal(1), "therm", "'holidays' is not a term of a gas tariff"),
    ],
)
def test_the_engine_names_what_is_wrong_with_gas_terms(pricing, definition, flat_rate, unit, problem):
    assert any(problem in found for found in validate_definition(pricing, definition, flat_rate, MeterKind.GAS, unit))


def test_water_has_no_calorific_value_and_gas_has_no_export_credit():
    assert validate_definition(PricingKind.FLAT, {"therms_per_ccf": "1"}, Decimal(1), MeterKind.WATER, "m3") == [
        "'therms_per_ccf' is not a term of a water tariff"
    ]
    tariff = tariff_create(code="GAS-X", name="Gas", commodity=MeterKind.GAS, unit="therm")
    with pytest.raises(ValidationError, match="no export credit"):
        tariff_version_create(
            tariff=tariff,
            effective_from=date(2024, 1, 1),
            pricing=PricingKind.FLAT,
            flat_rate=Decimal(1),
            export_credit=ExportCredit.RETAIL,
        )


def test_a_meter_with_readings_keeps_its_unit():
    from billing.models import Channel
    from tests.billing.helpers import ingest, readings, utc

    meter = MeterFactory(serial_number="G-KEEP", kind=MeterKind.GAS)
    ingest(readings("G-KEEP", utc(2025, 1, 1), hours=2, seconds=3600, unit="mtherm", channel=Channel.DELIVERED))
    with pytest.raises(ValidationError, match="already has readings in therms"):
        meter_unit_set(meter=meter, unit="m3")


def test_olga_creates_a_gas_tariff_and_the_engine_refuses_time_of_use_for_it(olga):
    client = signed_in(olga)
    response = client.post("/operator/tariffs/new/", {"code": "GAS-UK", "name": "Gas per kWh", "commodity": "gas", "unit": "kWh"})
    assert response.status_code == 302
    from billing.models import Tariff

    tariff = Tariff.objects.get(code="GAS-UK")
    assert (tariff.commodity, tariff.unit) == ("gas", "kWh")
    form = {
        "effective_from": "2025-01-01",
        "pricing": "tou",
        "definition": "{}",
        "fixed_daily": "0",
        "fixed_monthly": "0",
        "export_credit": "none",
    }
    refused = client.post(f"/operator/tariffs/{tariff.pk}/versions/new/", form)
    assert refused.status_code == 200
    assert any("a gas tariff is a flat rate or tiered blocks" in error for error in form_errors(refused.content.decode()))
    form.update(pricing="flat", flat_rate="6.1", definition='{"calorific_value_mj_per_m3": "39.5"}')
    assert client.post(f"/operator/tariffs/{tariff.pk}/versions/new/", form).status_code == 302
    page = client.get(f"/operator/tariffs/{tariff.pk}/").content.decode()
    assert "6.1¢ per kWh" in page and "39.5 MJ per m³" in page


def test_olga_cannot_make_a_water_tariff_per_therm(olga):
    client = signed_in(olga)
    response = client.post("/operator/tariffs/new/", {"code": "W-BAD", "name": "Water", "commodity": "water", "unit": "therm"})
    assert response.status_code == 200
    assert any("water tariff is priced per" in error for error in form_errors(response.content.decode()))


def test_olga_puts_a_premise_on_a_gas_tariff_and_its_electricity_tariff_stays(olga):
    premise = PremiseFactory()
    flat = flat_tariff(premise)
    gas = gas_tariff()
    client = signed_in(olga)
    response = client.post(f"/operator/tariffs/premises/{premise.pk}/assign/", {"tariff": gas.pk, "start": "2025-02-01"})
    assert response.status_code == 302
    open_now = dict(PremiseTariff.objects.filter(premise=premise, end__isnull=True).values_list("commodity", "tariff_id"))
    assert open_now == {"electric": flat.pk, "gas": gas.pk}
    page = client.get(f"/operator/tariffs/premises/{premise.pk}/").content.decode()
    assert "<td>Gas</td>" in page and "<td>Electric</td>" in page
