"""Tariff versions, tariff history per premise, critical-peak event days and real-time prices."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from amiportal.audit.services import audit_append
from amiportal.premises.models import MeterKind, Premise
from billing.content_hash import prices_content_sha256
from billing.models import BillCycle, CriticalPeakEvent, ExportCredit, PremiseTariff, RealTimePrice, Tariff, TariffVersion
from billing.services.rollups import period_rollups_rebuild, period_rollups_rebuild_for_version
from billing.tariff_engine import validate_definition
from billing.units import TARIFF_UNITS


@transaction.atomic
def tariff_create(*, code: str, name: str, commodity: str = MeterKind.ELECTRIC, unit: str = "", actor=None) -> Tariff:
    """A new tariff with no terms yet: its first version (``tariff_version_create``) gives it prices.

    ``commodity`` is what it prices (electricity, gas or water) and ``unit`` what its rates are
    per (``billing.units.TARIFF_UNITS``; the commodity's first unit when not given).
    """
    code, name = code.strip(), name.strip()
    if not code or not name:
        raise ValidationError("A tariff needs a code and a name.")
    if commodity not in TARIFF_UNITS:
        raise ValidationError(f"A tariff prices electricity, gas or water, not {commodity!r}.")
    unit = unit or TARIFF_UNITS[commodity][0]
    if unit not in TARIFF_UNITS[commodity]:
        raise ValidationError(f"A {commodity} tariff is priced per {', '.join(TARIFF_UNITS[commodity])}, not {unit!r}.")
    if Tariff.objects.filter(code__iexact=code).exists():
        raise ValidationError(f"There is already a tariff with the code {code}.")
    tariff = Tariff.objects.create(code=code, name=name, commodity=commodity, unit=unit)
    audit_append(
        action="billing.tariff_created",
        actor=actor,
        actor_label=None if actor else "system",
        target=f"tariff:{tariff.pk}",
        payload={"code": code, "name": name, "commodity": commodity, "unit": unit},
    )
    return tariff


@transaction.atomic
def tariff_version_create(
    *,
    tariff: Tariff,
    effective_from: date,
    pricing: str,
    flat_rate: Decimal | None = None,
    definition: dict | None = None,
    fixed_daily: Decimal = Decimal(0),
    fixed_monthly: Decimal = Decimal(0),
    export_credit: str = ExportCredit.NONE,
    export_rate: Decimal | None = None,
    critical_peak_multiplier: Decimal | None = None,
    critical_peak_adder: Decimal | None = None,
    actor=None,
) -> TariffVersion:
    definition = definition or {}
    problems = validate_definition(pricing, definition, flat_rate, tariff.commodity, tariff.unit)
    if export_credit == ExportCredit.EXPORT_RATE and export_rate is None:
        problems.append("an export rate is needed to credit export at the export rate")
    if tariff.commodity != MeterKind.ELECTRIC:
        if export_credit != ExportCredit.NONE or export_rate is not None:
            problems.append(f"a {tariff.commodity} tariff has no export credit (net metering is for electricity)")
        if critical_peak_multiplier is not None or critical_peak_adder is not None:
            problems.append(f"a {tariff.commodity} tariff has no critical-peak pricing")
    Tariff.objects.select_for_update(no_key=True).filter(pk=tariff.pk).first()
    if TariffVersion.objects.filter(tariff=tariff, effective_from=effective_from).exists():
        # Refused here with a reason rather than by the unique constraint's IntegrityError.
        problems.append(f"{tariff.name} already has a version effective from {effective_from.isoformat()}")
    if problems:
        raise ValidationError(problems)
    version = TariffVersion.objects.create(
        tariff=tariff,
        effective_from=effective_from,
        pricing=pricing,
        flat_rate=flat_rate,
        definition=definition,
        fixed_daily=fixed_daily,
        fixed_monthly=fixed_monthly,
        export_credit=export_credit,
        export_rate=export_rate,
        critical_peak_multiplier=critical_peak_multiplier,
        critical_peak_adder=critical_peak_adder,
    )
    # The version decides each hour's TOU period from its effective day on, for every premise on the tariff.
    if tariff.commodity == MeterKind.ELECTRIC:
        period_rollups_rebuild_for_version(version=version)
    audit_append(
        action="billing.tariff_version_created",
        actor=actor,
        actor_label=None if actor else "system",
        target=f"tariff:{tariff.pk}",
        payload={"effective_from": effective_from.isoformat(), "pricing": pricing},
    )
    return version


@transaction.atomic
def premise_tariff_assign(*, premise: Premise, tariff: Tariff, start: date, actor=None) -> PremiseTariff:
    """Put the premise on ``tariff`` from ``start``; its open assignment for the same commodity ends the day before.

    A premise has one tariff per commodity at a time: electricity, gas and water are priced apart.
    """
    Premise.objects.select_for_update(no_key=True).filter(pk=premise.pk).first()
    commodity = tariff.commodity
    if PremiseTariff.objects.filter(premise=premise, commodity=commodity, start__gte=start).exists():
        which = "" if commodity == MeterKind.ELECTRIC else f"{commodity} "
        raise ValidationError(f"The premise already has a {which}tariff starting on or after that day.")
    PremiseTariff.objects.filter(premise=premise, commodity=commodity, end__isnull=True).update(end=start - timedelta(days=1))
    assignment = PremiseTariff.objects.create(premise=premise, tariff=tariff, commodity=commodity, start=start)
    if commodity == MeterKind.ELECTRIC:
        period_rollups_rebuild(premise=premise, first_day=start)
    audit_append(
        action="billing.premise_tariff_assigned",
        actor=actor,
        actor_label=None if actor else "system",
        target=f"premise:{premise.pk}",
        payload={"tariff": tariff.code, "commodity": commodity, "start": start.isoformat()},
    )
    return assignment


@transaction.atomic
def critical_peak_declare(*, tariff: Tariff, day: date, start_hour: int, end_hour: int, actor) -> CriticalPeakEvent:
    if not 0 <= start_hour < end_hour <= 24:
        raise ValidationError("An event runs on whole hours between 0 and 24, and ends after it starts.")
    if CriticalPeakEvent.objects.filter(tariff=tariff, day=day).exists():
        raise ValidationError(f"{tariff.name} already has an event on {day}.")
    event = CriticalPeakEvent.objects.create(tariff=tariff, day=day, start_hour=start_hour, end_hour=end_hour, declared_by=actor)
    audit_append(
        action="billing.critical_peak_declared",
        actor=actor,
        target=f"tariff:{tariff.pk}",
        payload={"day": day.isoformat(), "start_hour": start_hour, "end_hour": end_hour},
    )
    # The customers on this tariff hear of it through the notification centre, once committed.
    from amiportal.notifications.tasks import critical_peak_declared_task

    transaction.on_commit(lambda: critical_peak_declared_task.delay(event.pk))
    return event


@transaction.atomic
def real_time_prices_publish(*, tariff: Tariff, prices: list[tuple[datetime, Decimal]], actor=None) -> int:
    """Publish hourly prices; returns how many price rows were written.

    An hour published again at a different price takes the new price as a new version: the old
    row stays, marked superseded, as a utility's settlement needs (what was quoted, and when it
    was revised), and the audit entry names every revision with its old and new price. An hour
    published again at the same price writes nothing. The whole list is checked before anything
    is written; one bad price refuses it all.
    """
    wanted = _checked_prices(prices)
    Tariff.objects.select_for_update(no_key=True).filter(pk=tariff.pk).first()  # one publisher per tariff at a time
    current = {}
    if wanted:  # a range, not IN: a year of hours would exceed SQLite's parameter limit
        stored = RealTimePrice.objects.filter(tariff=tariff, is_current=True, start__gte=min(wanted), start__lte=max(wanted))
        current = {price.start: price for price in stored.only("id", "start", "cents_per_kwh", "version") if price.start in wanted}
    rows, revisions, superseded = [], [], []
    for start, cents in sorted(wanted.items()):
        old = current.get(start)
        if old is not None and old.cents_per_kwh == cents:
            continue
        version = 1 if old is None else old.version + 1
        rows.append(RealTimePrice(tariff=tariff, start=start, cents_per_kwh=cents, version=version))
        if old is not None:
            superseded.append(old.pk)
            revisions.append({"hour": start.isoformat(), "old": str(old.cents_per_kwh), "new": str(cents), "version": version})
    if superseded:
        RealTimePrice.objects.filter(pk__in=superseded).update(is_current=False, superseded_at=timezone.now())
    RealTimePrice.objects.bulk_create(rows)
    audit_append(
        action="billing.real_time_prices_published",
        actor=actor,
        actor_label=None if actor else "system",
        target=f"tariff:{tariff.pk}",
        payload={
            "hours": len(wanted),
            "written": len(rows),
            "unchanged": len(wanted) - len(rows),
            "revised": revisions,
            "content_sha256": prices_content_sha256(
                tariff_id=tariff.pk, rows=[(int(row.start.timestamp()), row.cents_per_kwh, row.version) for row in rows]
            ),
        },
    )
    return len(rows)


_PRICE_STEP = Decimal("0.0001")  # the column's four decimal places
_PRICE_LIMIT = Decimal(10_000)  # and its eight digits


def _checked_prices(prices: list[tuple[datetime, Decimal]]) -> dict[datetime, Decimal]:
    """The prices by UTC hour, or ValidationError naming every problem (prices may be negative, as in real markets)."""
    problems, wanted = [], {}
    for start, cents in prices:
        # Judged in UTC, where prices are keyed: 00:00 at +05:30 is half past a UTC hour.
        hour = start.astimezone(UTC) if start.tzinfo is not None else None
        if hour is None or hour.minute or hour.second or hour.microsecond:
            problems.append(f"{start} is not the start of an hour with a time zone.")
            continue
        if not isinstance(cents, Decimal) or not cents.is_finite() or abs(cents) >= _PRICE_LIMIT or cents != cents.quantize(_PRICE_STEP):
            problems.append(f"the price for {start.isoformat()} must be a number of cents below 10,000 with at most four decimals.")
            continue
        cents = cents.quantize(_PRICE_STEP)
        if wanted.get(hour, cents) != cents:
            problems.append(f"{hour.isoformat()} is listed twice with different prices.")
        wanted[hour] = cents
    if problems:
        raise ValidationError(problems)
    return wanted


@transaction.atomic
def bill_cycle_set(*, premise: Premise, start_day: int, actor=None) -> BillCycle:
    """Bill the premise in cycles that start on ``start_day`` of each month (1 to 31; a shorter month starts on its last day)."""
    if not 1 <= start_day <= 31:
        raise ValidationError("A billing cycle starts on a day of the month, 1 to 31.")
    cycle, _ = BillCycle.objects.update_or_create(premise=premise, defaults={"start_day": start_day})
    audit_append(
        action="billing.bill_cycle_set",
        actor=actor,
        actor_label=None if actor else "system",
        target=f"premise:{premise.pk}",
        payload={"start_day": start_day},
    )
    return cycle
