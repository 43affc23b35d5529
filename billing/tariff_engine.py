"""The tariff engine: the price of each premise-local hour and the cost of hourly usage.

Prices are per local hour: TOU windows, critical-peak windows and real-time
prices all start and end on the hour (``tariff_version_create`` refuses
anything else), so hourly rollups carry everything a bill needs, and a 23- or
25-hour day simply has 23 or 25 priced hours. Money is Decimal cents.

A ``PriceBook`` is built once per request for a premise and a span of dates:
it preloads the premise's tariff history, the versions, the event days and the
real-time prices, then answers ``price(local_hour)`` without queries.
"""

from __future__ import annotations

import json
import zoneinfo
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import connection, models

from amiportal.premises.models import MeterKind
from billing.models import BillCycle, CriticalPeakEvent, ExportCredit, PremiseTariff, PricingKind, RealTimePrice, TariffVersion
from billing.units import TARIFF_UNITS

KWH = Decimal(1000)
ZERO = Decimal(0)


@dataclass(frozen=True)
class Price:
    cents_per_kwh: Decimal
    period: str  # machine name, also the CSS class suffix: off_peak, on_peak, cpp, standard, tier_2, ...
    label: str  # what the customer reads: "Peak", "Critical peak event", "Tier 2"


@dataclass
class HourCost:
    start: datetime  # UTC
    local: datetime
    delivered_wh: int
    received_wh: int
    price: Price | None
    cost: Decimal  # cents for delivered energy
    credit: Decimal  # cents credited for export


class NoTariff(LookupError):
    pass


@dataclass
class TariffHistory:
    """What a ``PriceBook`` needs to know about a premise: its assignments, their versions, event days, billing cycle."""

    assignments: list[PremiseTariff]  # by start
    versions: list[TariffVersion]  # by effective_from
    events: list[CriticalPeakEvent]
    cycle_day: int | None  # BillCycle.start_day, None without a row


def tariff_history(premise_id: int, first_day: date, last_day: date, commodity: str = MeterKind.ELECTRIC) -> TariffHistory:
    """The premise's tariff history for one commodity up to ``last_day``, and the event days from ``first_day``: one query on PostgreSQL."""
    if connection.vendor == "postgresql":
        return _tariff_history_postgresql(premise_id, first_day, last_day, commodity)
    return tariff_history_orm(premise_id, first_day, last_day, commodity)


def tariff_history_orm(premise_id: int, first_day: date, last_day: date, commodity: str = MeterKind.ELECTRIC) -> TariffHistory:
    """The portable form of ``tariff_history``: four queries."""
    assignments = list(
        PremiseTariff.objects.filter(premise_id=premise_id, commodity=commodity, start__lte=last_day).order_by("start", "pk")
    )
    tariff_ids = {a.tariff_id for a in assignments}
    versions = list(TariffVersion.objects.filter(tariff_id__in=tariff_ids, effective_from__lte=last_day).order_by("effective_from", "pk"))
    events = list(CriticalPeakEvent.objects.filter(tariff_id__in=tariff_ids, day__gte=first_day, day__lte=last_day).order_by("day", "pk"))
    cycle_day = BillCycle.objects.filter(premise_id=premise_id).values_list("start_day", flat=True).first()
    return TariffHistory(assignments, versions, events, cycle_day)


def _json_row(model, alias: str) -> tuple[str, list]:
    """A ``json_build_array`` of the model's concrete columns (decimals as text, so none goes through a float), and the fields."""
    fields = list(model._meta.concrete_fields)
    columns = [f"{alias}.{connection.ops.quote_name(f.column)}" + ("::text" if isinstance(f, models.DecimalField) else "") for f in fields]
    return f"json_build_array({', '.join(columns)})", fields


def _from_json(model, fields: list, rows: list[list]) -> list:
    """Model instances from ``_json_row`` arrays, each value turned into what the database adapter would have returned."""
    out = []
    for row in rows:
        values = []
        for model_field, value in zip(fields, row, strict=True):
            if value is not None:
                if isinstance(model_field, models.DecimalField):
                    value = Decimal(value)
                elif isinstance(model_field, models.DateTimeField):
                    value = datetime.fromisoformat(value)
                elif isinstance(model_field, models.DateField):
                    value = date.fromisoformat(value)
            values.append(value)
        out.append(model.from_db(connection.alias, [f.attname for f in fields], values))
    return out


def _tariff_history_postgresql(premise_id: int, first_day: date, last_day: date, commodity: str = MeterKind.ELECTRIC) -> TariffHistory:
    assignment_row, assignment_fields = _json_row(PremiseTariff, "a")
    version_row, version_fields = _json_row(TariffVersion, "v")
    event_row, event_fields = _json_row(CriticalPeakEvent, "e")
    assigned = (
        "SELECT tariff_id FROM billing_premisetariff WHERE premise_id = %(premise)s AND commodity = %(commodity)s AND start <= %(last)s"
    )
    sql = (
        f"SELECT (SELECT coalesce(json_agg({assignment_row} ORDER BY a.start, a.id), '[]')::text FROM billing_premisetariff a"  # noqa: S608 (column names from the models)
        " WHERE a.premise_id = %(premise)s AND a.commodity = %(commodity)s AND a.start <= %(last)s),"
        f" (SELECT coalesce(json_agg({version_row} ORDER BY v.effective_from, v.id), '[]')::text FROM billing_tariffversion v"
        f" WHERE v.tariff_id IN ({assigned}) AND v.effective_from <= %(last)s),"
        f" (SELECT coalesce(json_agg({event_row} ORDER BY e.day, e.id), '[]')::text FROM billing_criticalpeakevent e"
        f" WHERE e.tariff_id IN ({assigned}) AND e.day >= %(first)s AND e.day <= %(last)s),"
        " (SELECT start_day FROM billing_billcycle WHERE premise_id = %(premise)s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"premise": premise_id, "first": first_day, "last": last_day, "commodity": commodity})
        assignments, versions, events, cycle_day = cursor.fetchone()
    return TariffHistory(
        _from_json(PremiseTariff, assignment_fields, json.loads(assignments)),
        _from_json(TariffVersion, version_fields, json.loads(versions)),
        _from_json(CriticalPeakEvent, event_fields, json.loads(events)),
        cycle_day,
    )


def _is_weekend(day: date, holidays: set[str]) -> bool:
    return day.weekday() >= 5 or day.isoformat() in holidays


class PriceBook:
    """One premise's prices for one commodity (electricity unless ``commodity`` says gas or water)."""

    def __init__(self, premise, first_day: date, last_day: date, commodity: str = MeterKind.ELECTRIC) -> None:
        self.zone = zoneinfo.ZoneInfo(premise.timezone)
        self.premise_id = premise.pk
        self.commodity = commodity
        history = tariff_history(premise.pk, first_day, last_day, commodity)
        self._cycle_day: int | None = history.cycle_day
        self.assignments = history.assignments
        self.versions: dict[int, list[TariffVersion]] = {}
        for version in history.versions:
            self.versions.setdefault(version.tariff_id, []).append(version)
        self.events: dict[tuple[int, date], CriticalPeakEvent] = {(e.tariff_id, e.day): e for e in history.events}
        self._version_cache: dict[date, TariffVersion | None] = {}
        # A TOU price depends only on the version, month, weekend-or-holiday and hour.
        self._tou_cache: dict[tuple[int, int, bool, int], Price] = {}
        self._holidays: dict[int, set[str]] = {}
        # Real-time prices are loaded a local month at a time, when an hour of that month is first priced.
        self.real_time: dict[int, dict[datetime, Decimal]] = {}
        self.real_time_months: set[tuple[int, int, int]] = set()

    def _real_time_price(self, tariff_id: int, local_hour: datetime) -> Decimal | None:
        month = (tariff_id, local_hour.year, local_hour.month)
        if month not in self.real_time_months:
            self.real_time_months.add(month)
            begin = datetime(local_hour.year, local_hour.month, 1, tzinfo=self.zone)
            end = (begin + timedelta(days=32)).replace(day=1)
            prices = self.real_time.setdefault(tariff_id, {})
            published = RealTimePrice.objects.filter(tariff_id=tariff_id, is_current=True, start__gte=begin, start__lt=end)
            for start, cents in published.values_list("start", "cents_per_kwh"):
                prices[start.astimezone(UTC)] = cents
        return self.real_time.get(tariff_id, {}).get(local_hour.astimezone(UTC).replace(minute=0, second=0, microsecond=0))

    def version_on(self, day: date) -> TariffVersion | None:
        if day in self._version_cache:
            return self._version_cache[day]
        self._version_cache[day] = found = self._version_on(day)
        return found

    def _version_on(self, day: date) -> TariffVersion | None:
        assignment = None
        for candidate in self.assignments:
            if candidate.start <= day and (candidate.end is None or day <= candidate.end):
                assignment = candidate
        if assignment is None:
            return None
        versions = self.versions.get(assignment.tariff_id, [])
        index = bisect_right([v.effective_from for v in versions], day) - 1
        return versions[index] if index >= 0 else None

    def price(self, local_hour: datetime, month_kwh_before: Decimal = ZERO) -> Price | None:
        """The price of energy in this local hour; ``month_kwh_before`` places tiered usage in its block."""
        day = local_hour.date()
        version = self.version_on(day)
        if version is None:
            return None
        base = self._base_price(version, local_hour, month_kwh_before)
        event = self.events.get((version.tariff_id, day))
        if event is not None and event.start_hour <= local_hour.hour < event.end_hour:
            cents = base.cents_per_kwh
            if version.critical_peak_multiplier:
                cents *= version.critical_peak_multiplier
            if version.critical_peak_adder:
                cents += version.critical_peak_adder
            return Price(cents, "cpp", "Critical peak event")
        return base

    def _base_price(self, version: TariffVersion, local_hour: datetime, month_kwh_before: Decimal) -> Price:
        if version.pricing == PricingKind.FLAT:
            return Price(version.flat_rate, "standard", "Standard")
        if version.pricing == PricingKind.TIERED:
            tiers = version.definition["tiers"]
            for number, tier in enumerate(tiers, 1):
                limit = tier.get("up_to_kwh")
                if limit is None or month_kwh_before < Decimal(str(limit)):
                    return Price(Decimal(str(tier["rate"])), f"tier_{number}", f"Tier {number}")
            return Price(Decimal(str(tiers[-1]["rate"])), f"tier_{len(tiers)}", f"Tier {len(tiers)}")
        if version.pricing == PricingKind.REAL_TIME:
            cents = self._real_time_price(version.tariff_id, local_hour)
            if cents is None:  # no published price for this hour: the version's fallback rate
                return Price(version.flat_rate, "standard", "Standard (no real-time price published)")
            return Price(cents, "real_time", "Real-time price")
        definition = version.definition
        holidays = self._holidays.get(version.pk)
        if holidays is None:
            self._holidays[version.pk] = holidays = set(definition.get("holidays", []))
        weekend = _is_weekend(local_hour.date(), holidays)
        key = (version.pk, local_hour.month, weekend, local_hour.hour)
        price = self._tou_cache.get(key)
        if price is None:
            self._tou_cache[key] = price = _tou_price(definition, local_hour.date(), local_hour.hour, weekend)
        return price

    def base_period(self, day: date, hour: int) -> str:
        """The key a ``PeriodRollup`` of this local hour is stored under (see its docstring).

        The TOU period name for a TOU version, ``standard`` for a flat one, ``""`` otherwise
        (tiered, real-time, no tariff): those days are priced from the hourly rollups.
        """
        version = self.version_on(day)
        if version is None:
            return ""
        if version.pricing == PricingKind.FLAT:
            return "standard"
        if version.pricing != PricingKind.TOU:
            return ""
        return self._base_price(version, datetime(day.year, day.month, day.day, hour), ZERO).period

    def period_price(self, day: date, period: str) -> Price | None:
        """The price of a whole ``PeriodRollup`` (no critical-peak event that day), or None if it must be priced by the hour."""
        version = self.version_on(day)
        if version is None or not period:
            return None
        if version.pricing == PricingKind.FLAT and period == "standard":
            return Price(version.flat_rate, "standard", "Standard")
        if version.pricing != PricingKind.TOU:
            return None
        definition = version.definition
        for season in definition["seasons"]:
            if day.month in season["months"]:
                rate = season["rates"].get(period)
                if rate is None:
                    return None
                return Price(Decimal(str(rate)), period, f"{definition['periods'][period]} ({season['name']})")
        return None

    def any_tiered(self, first_day: date, last_day: date) -> bool:
        """Whether a tiered version applies on any day of the span (its blocks need the month's running total)."""
        day = first_day
        while day <= last_day:
            version = self.version_on(day)
            if version is not None and version.pricing == PricingKind.TIERED:
                return True
            day += timedelta(days=1)
        return False

    def has_event(self, day: date) -> bool:
        version = self.version_on(day)
        return version is not None and (version.tariff_id, day) in self.events

    def cost_hours(self, hours: list[tuple[datetime, int, int]], month_kwh_before: Decimal = ZERO) -> list[HourCost]:
        """Cost each (UTC hour start, delivered Wh, received Wh), in time order.

        Tiered blocks reset at the start of each local month; ``month_kwh_before``
        is the delivered energy of the first hour's month before that hour.
        """
        out = []
        month_total = month_kwh_before
        current_month = None
        for start, delivered, received in hours:
            local = start.astimezone(self.zone)
            if current_month is not None and (local.year, local.month) != current_month:
                month_total = ZERO
            current_month = (local.year, local.month)
            price = self.price(local, month_total)
            kwh_in, kwh_out = Decimal(delivered) / KWH, Decimal(received) / KWH
            month_total += kwh_in
            cost = credit = ZERO
            if price is not None:
                cost = kwh_in * price.cents_per_kwh
                version = self.version_on(local.date())
                if version.export_credit == ExportCredit.RETAIL:
                    credit = kwh_out * price.cents_per_kwh
                elif version.export_credit == ExportCredit.EXPORT_RATE:
                    credit = kwh_out * (version.export_rate or ZERO)
            out.append(HourCost(start, local, delivered, received, price, cost, credit))
        return out

    @property
    def cycle_day(self) -> int:
        """The day of the month the premise's billing cycles start (``BillCycle``; the 1st without one)."""
        return self._cycle_day or 1

    def fixed_charges(self, first_day: date, last_day: date) -> Decimal:
        """Daily charges for every day, and the monthly charge for every billing cycle that starts in the span."""
        cycle_day = self.cycle_day
        total = ZERO
        day = first_day
        while day <= last_day:
            version = self.version_on(day)
            if version is not None:
                total += version.fixed_daily
                if day == cycle_start_in_month(day.year, day.month, cycle_day):
                    total += version.fixed_monthly
            day += timedelta(days=1)
        return total


def cycle_start_in_month(year: int, month: int, cycle_day: int) -> date:
    """The day a billing cycle starting on ``cycle_day`` begins in this month (its last day if the month is shorter)."""
    following = date(year + month // 12, month % 12 + 1, 1)
    return date(year, month, min(cycle_day, (following - timedelta(days=1)).day))


def cycle_bounds(day: date, cycle_day: int = 1) -> tuple[date, date]:
    """The first and last day of the billing cycle that contains ``day``."""
    start = cycle_start_in_month(day.year, day.month, cycle_day)
    if day < start:
        previous = date(day.year, day.month, 1) - timedelta(days=1)
        start = cycle_start_in_month(previous.year, previous.month, cycle_day)
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    end = cycle_start_in_month(following.year, following.month, cycle_day) - timedelta(days=1)
    return start, end


def _tou_price(definition: dict, day: date, hour: int, weekend: bool) -> Price:
    labels = definition["periods"]
    for season in definition["seasons"]:
        if day.month not in season["months"]:
            continue
        period = season["default"]
        for window in season.get("windows", []):
            applies = window["days"] == "all" or (window["days"] == "weekend") == weekend
            if applies and window["start"] <= hour < window["end"]:
                period = window["period"]
                break
        return Price(Decimal(str(season["rates"][period])), period, f"{labels[period]} ({season['name']})")
    raise NoTariff(f"no TOU season covers month {day.month}")


def tou_schedule(definition: dict) -> list[dict]:
    """Each TOU season's day as the engine prices it: runs of hours with one price, for weekdays and for weekends and holidays.

    Built from ``_tou_price`` itself, so what an operator reads is what customers are charged.
    """
    schedule = []
    for season in definition.get("seasons", []):
        if not season["months"]:
            continue
        sample = date(2000, season["months"][0], 1)
        days = []
        for weekend, label in ((False, "Weekdays"), (True, "Weekends and holidays")):
            runs: list[dict] = []
            for hour in range(24):
                price = _tou_price(definition, sample, hour, weekend)
                if runs and runs[-1]["price"] == price:
                    runs[-1]["end"] = hour + 1
                else:
                    runs.append({"start": hour, "end": hour + 1, "price": price})
            days.append({"label": label, "runs": runs})
        schedule.append({"name": season["name"], "months": season["months"], "days": days})
    return schedule


def _is_number(value) -> bool:
    """A JSON number or numeric string that the engine's ``Decimal(str(value))`` reads as a finite amount."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return False
    try:
        return Decimal(str(value)).is_finite()
    except ArithmeticError:
        return False


def validate_definition(pricing: str, definition: dict, flat_rate, commodity: str = MeterKind.ELECTRIC, unit: str = "kWh") -> list[str]:
    """Problems with a tariff version's terms, in words an operator can act on.

    The definition may come from an operator's form, so any JSON shape gives problems, never an
    exception. Gas and water tariffs (``commodity``) are flat or tiered, priced per ``unit``
    (tier limits ``up_to`` in that unit); a gas tariff may give its gas's energy content.
    """
    problems = []
    if commodity != MeterKind.ELECTRIC:
        return _commodity_problems(pricing, definition, flat_rate, commodity, unit)
    if pricing in (PricingKind.FLAT, PricingKind.REAL_TIME) and flat_rate is None:
        problems.append("a flat rate is needed (for real-time pricing it is the fallback for hours without a published price)")
    if not isinstance(definition, dict):
        return [*problems, "the definition must be a JSON object"]
    if "demand" in definition:
        problems += _demand_problems(definition["demand"])
    if pricing == PricingKind.TIERED:
        problems += _tier_problems(definition.get("tiers") or [])
    if pricing == PricingKind.TOU:
        problems += _tou_problems(definition)
    return problems


def _demand_problems(demand) -> list[str]:
    if not isinstance(demand, dict) or set(demand) != {"cents_per_kw"}:
        return ["demand must be an object with one key, cents_per_kw (the charge per kW of the billing period's peak)"]
    rate = demand["cents_per_kw"]
    if not _is_number(rate) or Decimal(str(rate)) <= 0:
        return ["demand: cents_per_kw must be a positive number of cents per kW"]
    return []


def demand_rate(version: TariffVersion | None) -> Decimal | None:
    """The version's demand charge in cents per kW of the billing period's peak, or None if it has none."""
    if version is None or not isinstance(version.definition, dict):
        return None
    demand = version.definition.get("demand")
    return Decimal(str(demand["cents_per_kw"])) if isinstance(demand, dict) and "cents_per_kw" in demand else None


# Plausible bounds for a gas's energy content, so a slip of a decimal point is refused.
_ENERGY_CONTENT_BOUNDS = {
    "calorific_value_mj_per_m3": (Decimal(20), Decimal(60), "MJ per m³ (natural gas is about 35 to 45)"),
    "volume_correction": (Decimal("0.9"), Decimal("1.1"), "(UK bills use 1.02264)"),
    "therms_per_ccf": (Decimal("0.5"), Decimal("2"), "therms per CCF (US natural gas is about 1.0 to 1.1)"),
}


def _commodity_problems(pricing: str, definition, flat_rate, commodity: str, unit: str) -> list[str]:
    name = "gas" if commodity == MeterKind.GAS else "water"
    allowed = TARIFF_UNITS.get(commodity, ())
    problems = []
    if unit not in allowed:
        problems.append(f"a {name} tariff is priced per {', '.join(allowed)}, not {unit!r}")
    if pricing not in (PricingKind.FLAT, PricingKind.TIERED):
        return [*problems, f"a {name} tariff is a flat rate or tiered blocks (time of use and real-time prices are for electricity)"]
    if pricing == PricingKind.FLAT and flat_rate is None:
        problems.append(f"a flat rate is needed, in cents per {unit}")
    if not isinstance(definition, dict):
        return [*problems, "the definition must be a JSON object"]
    if pricing == PricingKind.TIERED:
        problems += _tier_problems(definition.get("tiers") or [], limit_key="up_to", unit=unit)
    for key, value in definition.items():
        if key == "tiers":
            continue
        bounds = _ENERGY_CONTENT_BOUNDS.get(key)
        if bounds is None or commodity != MeterKind.GAS:
            problems.append(f"{key!r} is not a term of a {name} tariff")
        elif not _is_number(value) or not bounds[0] <= Decimal(str(value)) <= bounds[1]:
            problems.append(f"{key} must be a number from {bounds[0]} to {bounds[1]} {bounds[2]}")
    if "therms_per_ccf" in definition and ({"calorific_value_mj_per_m3", "volume_correction"} & set(definition)):
        problems.append("give the gas's energy content either as therms_per_ccf or as a calorific value, not both")
    return problems


def _tier_problems(tiers, limit_key: str = "up_to_kwh", unit: str = "kWh") -> list[str]:
    if not isinstance(tiers, list) or not all(isinstance(tier, dict) for tier in tiers):
        return [f"tiers must be a list of objects, each with {limit_key} and rate"]
    problems = []
    if not tiers or tiers[-1].get(limit_key) is not None:
        problems.append(f"tiers must end with an open tier ({limit_key} null)")
    limits = [t.get(limit_key) for t in tiers[:-1]]
    if not all(_is_number(limit) and not isinstance(limit, str) for limit in limits) or limits != sorted(limits):
        problems.append("tier limits must rise")
    for number, tier in enumerate(tiers, 1):
        if not _is_number(tier.get("rate")):
            problems.append(f"tier {number}: the rate must be a number of cents per {unit}")
    return problems


def _tou_problems(definition: dict) -> list[str]:
    problems = []
    periods = definition.get("periods") or {}
    if not isinstance(periods, dict) or not all(isinstance(label, str) for label in periods.values()):
        return ["periods must be an object of period names and their labels"]
    holidays = definition.get("holidays", [])
    if not isinstance(holidays, list) or not all(_is_iso_date(day) for day in holidays):
        problems.append("holidays must be a list of dates such as 2025-07-04")
    seasons = definition.get("seasons") or []
    if not isinstance(seasons, list) or not all(isinstance(season, dict) for season in seasons):
        return [*problems, "seasons must be a list of objects"]
    months: list[int] = []
    for season in seasons:
        name = season.get("name")
        if not isinstance(name, str) or not name:
            problems.append(f"season {name!r}: each season needs a name")
        season_months = season.get("months", [])
        if not isinstance(season_months, list) or not all(isinstance(m, int) and not isinstance(m, bool) for m in season_months):
            problems.append(f"season {name!r}: months must be a list of month numbers, 1 to 12")
            season_months = []
        months += season_months
        if not isinstance(season.get("default"), str) or season["default"] not in periods:
            problems.append(f"season {name!r}: default period is not a named period")
        rates = season.get("rates", {})
        if not isinstance(rates, dict):
            problems.append(f"season {name!r}: rates must be an object of period names and cents per kWh")
            rates = {}
        for period in periods:
            if period not in rates:
                problems.append(f"season {name!r}: no rate for period {period!r}")
            elif not _is_number(rates[period]):
                problems.append(f"season {name!r}: the rate for period {period!r} must be a number of cents per kWh")
        windows = season.get("windows", [])
        if not isinstance(windows, list) or not all(isinstance(window, dict) for window in windows):
            problems.append(f"season {name!r}: windows must be a list of objects")
            windows = []
        for window in windows:
            if not isinstance(window.get("period"), str) or window["period"] not in periods:
                problems.append(f"season {name!r}: window names unknown period {window.get('period')!r}")
            if not (
                isinstance(window.get("start"), int)
                and isinstance(window.get("end"), int)
                and not isinstance(window["start"], bool)
                and not isinstance(window["end"], bool)
                and 0 <= window["start"] < window["end"] <= 24
            ):
                problems.append(f"season {name!r}: windows start and end on whole hours, 0 to 24")
            if window.get("days") not in ("weekday", "weekend", "all"):
                problems.append(f"season {name!r}: window days must be weekday, weekend or all")
    if sorted(months) != list(range(1, 13)):
        problems.append("TOU seasons must cover each month exactly once")
    return problems


def _is_iso_date(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True
