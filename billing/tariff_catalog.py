"""Reads for the operator's tariff pages: the tariffs with their versions and premise counts, a version's terms in words.

Operators may see every tariff and every premise's tariff history (no customer usage is shown here).
The terms are read from the same ``definition`` the engine prices with; TOU hours come from
``tou_schedule``, which asks the engine for each hour's price.
"""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Prefetch, Q

from amiportal.premises.models import MeterKind, Premise
from billing.models import BillCycle, ExportCredit, PremiseTariff, PricingKind, Tariff, TariffVersion
from billing.tariff_engine import demand_rate, tou_schedule
from billing.units import DEFAULT_CALORIFIC_VALUE_MJ_PER_M3, DEFAULT_VOLUME_CORRECTION, UNITS


def _on_day(day: date) -> Q:
    """Assignments in force on ``day`` (seen from ``PremiseTariff``)."""
    return Q(start__lte=day) & (Q(end__isnull=True) | Q(end__gte=day))


def tariff_list(*, today: date) -> list[Tariff]:
    """Every tariff with its versions (oldest first), ``current_version`` and ``premises_now``."""
    tariffs = list(Tariff.objects.prefetch_related(Prefetch("versions", queryset=TariffVersion.objects.order_by("effective_from"))))
    counts = dict(
        PremiseTariff.objects.filter(_on_day(today))
        .values("tariff_id")
        .annotate(n=Count("premise_id", distinct=True))
        .values_list("tariff_id", "n")
    )
    for tariff in tariffs:
        tariff.premises_now = counts.get(tariff.pk, 0)
        tariff.unit_symbol = UNITS[tariff.unit].symbol if tariff.unit in UNITS else tariff.unit
        tariff.current_version = _version_on(list(tariff.versions.all()), today)
    return tariffs


def _version_on(versions: list[TariffVersion], day: date) -> TariffVersion | None:
    in_force = [v for v in versions if v.effective_from <= day]
    return in_force[-1] if in_force else (versions[0] if versions else None)


@dataclass
class VersionSummary:
    version: TariffVersion
    in_force: bool
    lines: list[tuple[str, str]]  # (term, what it says), for a definition list
    unit: str  # what the rates are per: kWh, therms, m³, ...
    tiers: list[dict]
    tou: list[dict]  # tou_schedule(), with the period labels
    holidays: list[str]


def tariff_detail(*, tariff: Tariff, today: date) -> dict:
    versions = list(tariff.versions.order_by("effective_from"))
    current = _version_on(versions, today)
    premises_now = PremiseTariff.objects.filter(_on_day(today), tariff=tariff).count()
    return {
        "tariff": tariff,
        "summaries": [version_summary(version=v, in_force=v == current and v.effective_from <= today) for v in versions],
        "premises_now": premises_now,
    }


def _cents(value) -> str:
    return f"{Decimal(str(value)).normalize():f}¢"


def version_summary(*, version: TariffVersion, in_force: bool = False) -> VersionSummary:
    tariff = version.tariff
    per = UNITS[tariff.unit].symbol if tariff.unit in UNITS else tariff.unit
    lines = [("Prices", f"{tariff.get_commodity_display()}, per {per}"), ("Pricing", version.get_pricing_display())]
    if version.pricing == PricingKind.FLAT:
        lines.append(("Rate", f"{_cents(version.flat_rate)} per {per}"))
    elif version.pricing == PricingKind.REAL_TIME:
        lines.append(("Rate", f"the published hourly price; {_cents(version.flat_rate)} per kWh in hours without one"))
    lines.append(("Fixed charges", f"{_cents(version.fixed_daily)} a day, {_cents(version.fixed_monthly)} a billing month"))
    export = version.get_export_credit_display()
    if version.export_credit == ExportCredit.EXPORT_RATE:
        export += f" ({_cents(version.export_rate)} per kWh)"
    lines.append(("Export", export))
    peak = []
    if version.critical_peak_multiplier:
        peak.append(f"prices × {version.critical_peak_multiplier.normalize():f}")
    if version.critical_peak_adder:
        peak.append(f"plus {_cents(version.critical_peak_adder)} per kWh")
    lines.append(("Critical peak events", " then ".join(peak) if peak else "no change in price"))
    rate = demand_rate(version)
    if rate is not None:
        lines.append(("Demand charge", f"{_cents(rate)} per kW of the billing period's highest 15-minute demand"))
    tiers, tou, holidays = [], [], []
    if tariff.commodity == MeterKind.GAS:
        energy = version.definition
        if "therms_per_ccf" in energy:
            lines.append(("Gas energy content", f"{energy['therms_per_ccf']} therms per CCF"))
        else:
            lines.append(
                (
                    "Gas energy content",
                    f"{energy.get('calorific_value_mj_per_m3', DEFAULT_CALORIFIC_VALUE_MJ_PER_M3)} MJ per m³, "
                    f"volume correction {energy.get('volume_correction', DEFAULT_VOLUME_CORRECTION)}",
                )
            )
    if version.pricing == PricingKind.TIERED:
        lower = 0
        limit_key = "up_to_kwh" if tariff.commodity == MeterKind.ELECTRIC else "up_to"
        for number, tier in enumerate(version.definition["tiers"], 1):
            limit = tier.get(limit_key)
            tiers.append({"number": number, "from_kwh": lower, "up_to_kwh": limit, "rate": _cents(tier["rate"])})
            lower = limit
    if version.pricing == PricingKind.TOU:
        for season in tou_schedule(version.definition):
            season["month_names"] = ", ".join(calendar.month_abbr[m] for m in sorted(season["months"]))
            tou.append(season)
        holidays = sorted(version.definition.get("holidays", []))
    return VersionSummary(version, in_force, lines, per, tiers, tou, holidays)


def version_form_initial(*, tariff: Tariff) -> dict:
    """A new version starts from the latest one's terms, so an operator changes only what changes."""
    latest = tariff.versions.order_by("-effective_from").first()
    if latest is None:
        return {"definition": "{}"}
    return {
        "pricing": latest.pricing,
        "flat_rate": latest.flat_rate,
        "definition": json.dumps(latest.definition, indent=2),
        "fixed_daily": latest.fixed_daily,
        "fixed_monthly": latest.fixed_monthly,
        "export_credit": latest.export_credit,
        "export_rate": latest.export_rate,
        "critical_peak_multiplier": latest.critical_peak_multiplier,
        "critical_peak_adder": latest.critical_peak_adder,
    }


def premise_tariff_overview(*, premise: Premise) -> dict:
    """The premise's tariff history (oldest first) and billing cycle day (None: calendar months)."""
    return {
        "premise": premise,
        "history": list(PremiseTariff.objects.filter(premise=premise).select_related("tariff").order_by("start")),
        "cycle_day": BillCycle.objects.filter(premise=premise).values_list("start_day", flat=True).first(),
    }
