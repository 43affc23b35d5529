"""The home advice page's reads: the customer's own profile, the load estimate, and what replacing things would save.

Reads go through the reader's own occupancy windows (``occupancies_for``), as every usage read
does; the profile belongs to the reader's current agreement at the premise, so only the
person living there now sees or edits it (SO-C5, SO-C7).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.http import Http404

from amiportal.premises.models import CustomerClass, Premise, ServiceAgreement
from amiportal.premises.selectors import Occupancy, current_agreement
from billing.advice.catalogue import CATALOGUE, SHARE_SAVED, WATER_KWH_PER_PERSON, Appliance
from billing.advice.estimate import LoadEstimate, load_estimate
from billing.advice.models import AgeBand, HomeProfile
from billing.selectors import electric_meter, hourly_usage, occupancy_windows, period_cost, window_for_dates

LOOKBACK_DAYS = 365


def advice_agreement(*, user, premise: Premise) -> ServiceAgreement:
    """The reader's agreement in force at the premise today; 404 for anyone else (a former occupant included)."""
    agreement = current_agreement(premise=premise)
    if agreement is None or agreement.account.user_id != user.pk:
        raise Http404("Only the person living here now has a home profile for it.")
    return agreement


def home_profile_get(*, agreement: ServiceAgreement) -> HomeProfile | None:
    return HomeProfile.objects.filter(agreement=agreement).prefetch_related("appliances").first()


@dataclass(frozen=True)
class LoadRow:
    label: str
    kwh: float
    share: float
    words: str


@dataclass(frozen=True)
class Suggestion:
    appliance: Appliance
    age: str
    kwh_saved: Decimal
    dollars_saved: Decimal
    payback_years: Decimal | None
    replace_now: bool
    words: str


@dataclass(frozen=True)
class Advice:
    estimate: LoadEstimate | None
    loads: list[LoadRow]
    price_cents: Decimal | None  # average energy price per kWh over the same days, from the tariff engine
    suggestions: list[Suggestion]
    missing: str  # why there is no estimate or no prices, in words


def _kwh(value: float) -> str:
    return f"{value:,.0f} kWh"


def _load_rows(estimate: LoadEstimate, profile: HomeProfile | None, *, residential: bool, has_solar: bool) -> list[LoadRow]:
    span = f"the {estimate.days} whole days read from {estimate.first:%d %b %Y} to {estimate.last:%d %b %Y}"
    what = (
        "fridges, freezers, standby and the router"
        if residential
        else "equipment that never switches off: refrigeration, controls, standby"
    )
    rows = [
        LoadRow(
            "Always on (base load)",
            estimate.base_kwh,
            estimate.share(estimate.base_kwh),
            f"On a typical night you never drew less than {estimate.base_kw:.2f} kW, even in the quietest hour between midnight"
            f" and 6 a.m.: {what}. Running every hour of {span}, it took {_kwh(estimate.base_kwh)} from the grid"
            f"{' (less by day, when your solar panels covered it)' if has_solar else ''}.",
        )
    ]
    if estimate.ev_sessions:
        what = "EV charging" if profile and profile.has_ev else "Long high loads (EV charging?)"
        rows.append(
            LoadRow(
                what,
                estimate.ev_kwh,
                estimate.share(estimate.ev_kwh),
                f"{estimate.ev_sessions} times your use stepped up by 3 kW or more at once, stayed there for 2 to 10 hours and"
                f" stepped down again, as an electric-car charger does: {_kwh(estimate.ev_kwh)} above what the home drew before.",
            )
        )
    mild = f"{estimate.mild_month:%B %Y}" if estimate.mild_month else ""
    for kind, kwh in (("heating", estimate.heating_kwh), ("cooling", estimate.cooling_kwh)):
        months = [m for m in estimate.months if m.kind == kind]
        if not months:
            continue
        names = ", ".join(f"{m.month:%b %Y}" for m in months)
        when = "mostly between noon and 8 p.m." if kind == "cooling" else "mostly at night, in the morning and in the evening"
        # A business's seasons may be its trade's, not the weather's: it is told what was measured, not what it was for.
        label = kind.capitalize() if residential else f"Seasonal, {'afternoon' if kind == 'cooling' else 'night and morning'}-shaped"
        rows.append(
            LoadRow(
                label,
                kwh,
                estimate.share(kwh),
                f"In {names} your average day used more than in {mild}, your mildest month, {when}: {_kwh(kwh)} in all."
                " It is at least this much: some of it may run in the mild month too.",
            )
        )
    rows.append(
        LoadRow(
            "Everything else",
            estimate.other_kwh,
            estimate.share(estimate.other_kwh),
            f"{'Cooking, laundry, lighting, electronics' if residential else 'Process, lighting, equipment'} and the rest:"
            " what is left of the "
            f"{_kwh(estimate.total_kwh)} your home took from the grid in {span}.",
        )
    )
    return rows


def _price_cents(premise: Premise, estimate: LoadEstimate, windows) -> Decimal | None:
    meter = electric_meter(premise)
    summary = period_cost(premise=premise, meter=meter, first_day=estimate.first, last_day=estimate.last, windows=windows)
    if not summary.delivered_wh or not summary.energy:
        return None
    return (summary.energy * 1000 / summary.delivered_wh).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _saving_kwh(appliance: Appliance, profile: HomeProfile, estimate: LoadEstimate | None) -> tuple[Decimal | None, str]:
    """Yearly kWh a replacement saves, and where that figure comes from (or None, and why not)."""
    if appliance.scales_with in SHARE_SAVED:
        load = Decimal(str(getattr(estimate, f"{appliance.scales_with}_kwh", 0) or 0)) if estimate else Decimal(0)
        if not load:
            return None, f"we saw no {appliance.scales_with} in your meter data, so we cannot say what replacing it would save."
        share = SHARE_SAVED[appliance.scales_with]
        return (
            (load * share).quantize(Decimal(1)),
            f"we estimated {load:,.0f} kWh of {appliance.scales_with} from your meter; {appliance.replacement} would use about"
            f" {share:.0%} less for the same comfort",
        )
    if appliance.scales_with == "water":
        people = profile.occupants or 2
        used = Decimal(WATER_KWH_PER_PERSON * people)
        share = 1 - Decimal(appliance.replacement_kwh) / Decimal(appliance.yearly_kwh)
        return (
            (used * share).quantize(Decimal(1)),
            f"an electric tank heats water for {people} {'person' if people == 1 else 'people'} with about {used:,.0f} kWh a year;"
            f" {appliance.replacement} would use about {share:.0%} less",
        )
    saved = Decimal(appliance.yearly_kwh - appliance.replacement_kwh)
    typical = f"a typical one of that age uses about {appliance.yearly_kwh:,} kWh a year"
    return saved, f"{typical}, {appliance.replacement} about {appliance.replacement_kwh:,}"


def _suggestion(appliance: Appliance, age: AgeBand, profile, estimate, price_cents: Decimal | None) -> Suggestion | None:
    saved, basis = _saving_kwh(appliance, profile, estimate)
    intro = f"Your {appliance.name.lower()} is {age.label.lower()} old (they last about {appliance.lifetime_years} years):"
    if saved is None or saved <= 0 or price_cents is None:
        why = basis if saved is None else "we have no price for your electricity yet (no tariff on your account), so no figure."
        return Suggestion(appliance, age.label, Decimal(0), Decimal(0), None, False, f"{intro} {why}")
    dollars = (saved * price_cents / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
    payback = (appliance.replacement_cost / dollars).quantize(Decimal("0.1"), ROUND_HALF_UP) if dollars else None
    old_enough = age.lowest_years >= appliance.lifetime_years - 2
    replace_now = payback is not None and payback <= appliance.lifetime_years and (old_enough or payback <= 3)
    if replace_now:
        verdict = "worth replacing now."
    elif payback is not None and payback <= appliance.lifetime_years:
        verdict = "it pays back within a lifetime, so choose the efficient model when this one is due."
    else:
        verdict = "that takes longer than the replacement lasts, so replace it when it fails, not before."
    words = (
        f"{intro} {basis}. At your average price of {price_cents}¢ per kWh that saves {saved:,} kWh, about ${dollars:,} a year;"
        f" a typical ${appliance.replacement_cost:,.0f} for {appliance.replacement} pays back in {payback} years: {verdict}"
    )
    return Suggestion(appliance, age.label, saved, dollars, payback, replace_now, words)


def home_advice(*, premise: Premise, occupancies: list[Occupancy], profile: HomeProfile | None, today: date) -> Advice:
    meter = electric_meter(premise)
    if meter is None:
        return Advice(None, [], None, [], "This home has no electricity meter, so there is nothing to estimate from.")
    last = today - timedelta(days=1)
    first = last - timedelta(days=LOOKBACK_DAYS - 1)
    windows = occupancy_windows(premise, occupancies, first, last)
    span = window_for_dates(premise, first, last)
    zone = zoneinfo.ZoneInfo(premise.timezone)
    rows = hourly_usage(meter=meter, start=span.start, end=span.end, windows=windows)
    estimate = load_estimate([(moment.astimezone(zone), delivered / 1000) for moment, delivered, _ in rows])
    if estimate is None:
        return Advice(None, [], None, [], "We need at least four weeks of your meter readings to estimate where your electricity goes.")
    price = _price_cents(premise, estimate, windows)
    suggestions = []
    if profile is not None:
        for entry in profile.appliances.all():
            appliance = CATALOGUE.get(entry.kind)
            if appliance is not None:
                suggestion = _suggestion(appliance, AgeBand(entry.age), profile, estimate, price)
                if suggestion is not None:
                    suggestions.append(suggestion)
    suggestions.sort(key=lambda s: (not s.replace_now, s.payback_years is None, s.payback_years or 0))
    missing = "" if price is not None else "There is no tariff on your account for these days, so savings cannot be priced."
    residential = premise.customer_class == CustomerClass.RESIDENTIAL
    return Advice(estimate, _load_rows(estimate, profile, residential=residential, has_solar=premise.has_der), price, suggestions, missing)
