"""Home profile and advice (seed 1.2.16.5): where the electricity goes, estimated from the meter, and what to replace.

The estimate is checked against a synthetic year whose loads are known by construction; the
pages by persona: only the person living there now has a profile (SO-C5, SO-C7).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from amiportal.audit.models import AuditEntry
from amiportal.premises.services import agreement_move_in, agreement_move_out
from billing.advice.estimate import load_estimate
from billing.advice.models import HomeProfile
from tests.billing.helpers import ingest, readings, up_to_now
from tests.billing.tariffs import flat_tariff
from tests.conftest import form_errors, signed_in
from tests.factories import CustomerAccountFactory

BASE = 0.3
HEATING_HOURS = (5, 6, 7, 8, 17, 18, 19, 20)  # night, morning and evening: 3 of 8 in the afternoon
COOLING_HOURS = range(13, 19)  # the afternoon
COOKING_HOURS = range(17, 21)


def _known_year() -> list[tuple[datetime, float]]:
    """2025, hour by hour: a 0.3 kW base, 0.2 kWh of cooking 17-21 h, an EV charged 7 kW for 3 hours every
    Tuesday from 22:00, 1 kWh of heating in 8 hours a day in Jan, Feb and Dec, 1.5 kWh of cooling 13-19 h in Jul and Aug."""
    hours, moment = [], datetime(2025, 1, 1, tzinfo=UTC)
    while moment.year == 2025:
        value = BASE + (0.2 if moment.hour in COOKING_HOURS else 0.0)
        if moment.month in (1, 2, 12) and moment.hour in HEATING_HOURS:
            value += 1.0
        if moment.month in (7, 8) and moment.hour in COOLING_HOURS:
            value += 1.5
        charging = (moment.weekday() == 1 and moment.hour >= 22) or (moment.weekday() == 2 and moment.hour == 0)
        if charging and not (moment.month == 1 and moment.day == 1):
            value += 7.0
        hours.append((moment, value))
        moment += timedelta(hours=1)
    return hours


def test_the_estimate_finds_each_load_of_a_known_year():
    estimate = load_estimate(_known_year())
    assert estimate.days == 365 and estimate.full_year
    assert estimate.base_kw == pytest.approx(BASE)
    assert estimate.base_kwh == pytest.approx(BASE * 24 * 365)  # 2,628 kWh
    assert estimate.ev_sessions == 52  # every Tuesday of 2025
    assert estimate.ev_kwh == pytest.approx(52 * 3 * 7.0)  # 1,092 kWh
    assert estimate.heating_kwh == pytest.approx(8 * 1.0 * (31 + 28 + 31))  # 720 kWh
    assert estimate.cooling_kwh == pytest.approx(6 * 1.5 * (31 + 31))  # 558 kWh
    assert estimate.other_kwh == pytest.approx(0.2 * 4 * 365)  # the cooking: 292 kWh
    assert {m.month.month for m in estimate.months if m.kind == "heating"} == {1, 2, 12}
    assert {m.month.month for m in estimate.months if m.kind == "cooling"} == {7, 8}
    assert sum(
        estimate.share(x) for x in (estimate.base_kwh, estimate.ev_kwh, estimate.heating_kwh, estimate.cooling_kwh, estimate.other_kwh)
    ) == pytest.approx(100)


def test_too_little_data_gives_no_estimate_rather_than_a_guess():
    assert load_estimate(_known_year()[: 24 * 27]) is None


def _sixty_days(alice):
    premise = alice.customer_account.agreements.get().premise
    flat_tariff(premise, rate="12")
    meter = premise.meters.get(kind="electric")
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=61)
    ingest(up_to_now(readings(meter.serial_number, start, hours=61 * 24, seconds=3600, value=lambda moment: 500)))
    return premise


@pytest.mark.django_db
@pytest.mark.objective("SO-C5")
def test_alice_describes_her_home_and_gets_priced_advice(alice):
    premise = _sixty_days(alice)
    client = signed_in(alice)
    url = f"/customer/premises/{premise.pk}/home/"
    page = client.get(url).content.decode()
    assert "Always on (base load)" in page and "0.50 kW" in page
    assert "Tell us below which of these appliances" in page
    response = client.post(
        url,
        {
            "home_type": "detached",
            "occupants": "3",
            "heating": "gas",
            "appliance_refrigerator": "15+",
            "appliance_incandescent_lighting": "5-9",
            "appliance_water_heater": "10-14",
        },
    )
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "12.00¢ per kWh" in page
    # Lighting: (1,300 - 200) kWh at 12¢ = $132.00 a year; $60 pays back in 0.5 years.
    assert "saves 1,100 kWh, about $132.00 a year" in page and "pays back in 0.5 years: worth replacing now." in page
    # Fridge: 300 kWh = $36.00 a year; $1,200 takes 33.3 years, longer than it lasts.
    assert "about $36.00 a year" in page and "33.3 years: that takes longer than the replacement lasts" in page
    # Water heater for 3 people: 3,000 kWh a year, 65 % less = 1,950 kWh = $234.00; $2,500 in 10.7 years.
    assert "saves 1,950 kWh, about $234.00 a year" in page and "10.7 years" in page
    profile = HomeProfile.objects.get(agreement__premise=premise)
    assert profile.occupants == 3 and sorted(a.kind for a in profile.appliances.all()) == [
        "incandescent_lighting",
        "refrigerator",
        "water_heater",
    ]
    entry = AuditEntry.objects.get(action="home_profile.saved")
    assert entry.actor_id == alice.pk and "refrigerator" in json.loads(entry.payload)["appliances"]


@pytest.mark.django_db
def test_a_bad_answer_is_refused_and_nothing_is_saved(alice):
    premise = alice.customer_account.agreements.get().premise
    response = signed_in(alice).post(f"/customer/premises/{premise.pk}/home/", {"occupants": "0", "appliance_refrigerator": "99"})
    assert response.status_code == 400
    errors = form_errors(response.content.decode())
    assert any("greater than or equal to 1" in e for e in errors) and any("Select a valid choice" in e for e in errors)
    assert not HomeProfile.objects.exists()


@pytest.mark.django_db
@pytest.mark.objective("SO-C7")
def test_only_the_person_living_there_now_has_the_profile(alice, bob, peter):
    premise = alice.customer_account.agreements.get().premise
    signed_in(alice).post(f"/customer/premises/{premise.pk}/home/", {"occupants": "2", "has_ev": "on"})
    assert signed_in(peter).get(f"/customer/premises/{premise.pk}/home/").status_code == 404  # he lived here before
    assert signed_in(bob).get(f"/customer/premises/{premise.pk}/home/").status_code == 404
    # Alice moves out; the next occupant starts with an empty profile, and Alice no longer reaches hers.
    agreement_move_out(agreement=alice.customer_account.agreements.get(), move_out=date.today() - timedelta(days=2))
    newcomer_account = CustomerAccountFactory()
    from amiportal.accounts.roles import Role, role_assign

    role_assign(user=newcomer_account.user, role=Role.CUSTOMER)
    agreement_move_in(account=newcomer_account, premise=premise, move_in=date.today() - timedelta(days=1))
    page = signed_in(newcomer_account.user).get(f"/customer/premises/{premise.pk}/home/").content.decode()
    assert 'name="has_ev" id="id_has_ev" checked' not in page and 'value="2"' not in page
    assert signed_in(alice).get(f"/customer/premises/{premise.pk}/home/").status_code == 404
    assert HomeProfile.objects.filter(agreement__account=alice.customer_account).exists()  # hers, kept, not shown to others


def test_solar_covered_hours_and_dst_days_are_counted_as_read():
    """A net-metered home takes nothing from the grid at noon: its base is what it drew at night, and only
    the base it took from the grid is counted. The spring DST day (23 hours) is a whole day."""
    import zoneinfo

    zone = zoneinfo.ZoneInfo("America/Chicago")
    hours, moment = [], datetime(2025, 3, 1, tzinfo=UTC)
    while moment < datetime(2025, 4, 5, tzinfo=UTC):
        local = moment.astimezone(zone)
        hours.append((local, 0.0 if 10 <= local.hour < 16 else 0.4))
        moment += timedelta(hours=1)
    estimate = load_estimate(hours)
    assert estimate.days == 34  # 1 March to 3 April, local; 4 April is cut short by UTC midnight
    assert estimate.base_kw == pytest.approx(0.4)
    assert estimate.base_kwh == pytest.approx(0.4 * 18 * 34 - 0.4)  # 18 grid hours a day; the DST day has 17
