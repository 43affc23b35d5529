"""Demo usage, tariffs and prices for ``make run``: a year of realistic readings per demo premise.

The readings go through the same ingest service as head-end data. Load shapes
depend on customer class, season, weekday and hour; premises with DER export
solar at midday. Idempotent and incremental: each run adds only the intervals
after the newest stored reading, so a second ``seed_demo`` is quick.

``AMI_DEMO_USAGE_DAYS`` sets the span (default 400, so last year's bill period is there to compare; 3 under the test profile,
so the demo tests stay fast).
"""

from __future__ import annotations

import math
import random
import zoneinfo
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max

from amiportal.env import env_int
from amiportal.premises.models import CustomerClass, Meter, MeterKind, Premise
from billing.models import (
    Channel,
    CriticalPeakEvent,
    ExportCredit,
    IntervalReading,
    PremiseTariff,
    PricingKind,
    RealTimePrice,
    Source,
    Tariff,
)
from billing.services.ingest import RawReading, readings_ingest
from billing.services.meter_units import meter_unit_set
from billing.services.similar_homes import similar_homes_due_day, similar_homes_refresh
from billing.services.tariffs import premise_tariff_assign, real_time_prices_publish, tariff_version_create

TARIFF_START = date(2024, 1, 1)
ELECTRIC_SECONDS = 900
HOURLY = 3600


def _holidays(years) -> list[str]:
    days = []
    for year in years:
        november = date(year, 11, 1)
        thanksgiving = november + timedelta(days=(3 - november.weekday()) % 7 + 21)
        may_end = date(year, 5, 31)
        memorial = may_end - timedelta(days=may_end.weekday())
        september = date(year, 9, 1)
        labor = september + timedelta(days=(0 - september.weekday()) % 7)
        days += [date(year, 1, 1), memorial, date(year, 7, 4), labor, thanksgiving, date(year, 12, 25)]
    return sorted(d.isoformat() for d in days)


def _tou_definition() -> dict:
    return {
        "periods": {"off_peak": "Off-peak", "mid_peak": "Mid-peak", "on_peak": "Peak"},
        "holidays": _holidays(range(2024, 2029)),
        "seasons": [
            {
                "name": "Summer",
                "months": [6, 7, 8, 9],
                "default": "off_peak",
                "rates": {"off_peak": "9.2", "mid_peak": "14.8", "on_peak": "31.5"},
                "windows": [
                    {"period": "on_peak", "days": "weekday", "start": 14, "end": 19},
                    {"period": "mid_peak", "days": "weekday", "start": 7, "end": 14},
                    {"period": "mid_peak", "days": "weekday", "start": 19, "end": 22},
                ],
            },
            {
                "name": "Winter",
                "months": [1, 2, 3, 4, 5, 10, 11, 12],
                "default": "off_peak",
                "rates": {"off_peak": "8.4", "mid_peak": "12.1", "on_peak": "19.6"},
                "windows": [
                    {"period": "on_peak", "days": "weekday", "start": 17, "end": 20},
                    {"period": "mid_peak", "days": "weekday", "start": 7, "end": 11},
                ],
            },
        ],
    }


def _tariffs() -> dict[str, Tariff]:
    specs = {
        "RES-FLAT": ("Residential standard", dict(pricing=PricingKind.FLAT, flat_rate=Decimal("13.9"), fixed_daily=Decimal("32"))),
        "RES-TOU": (
            "Residential time of use with critical peak",
            dict(
                pricing=PricingKind.TOU,
                definition=_tou_definition(),
                fixed_daily=Decimal("32"),
                critical_peak_multiplier=Decimal("3"),
                export_credit=ExportCredit.RETAIL,
            ),
        ),
        "RES-TIER": (
            "Residential tiered",
            dict(
                pricing=PricingKind.TIERED,
                definition={
                    "tiers": [{"up_to_kwh": 500, "rate": "11.8"}, {"up_to_kwh": 1000, "rate": "14.6"}, {"up_to_kwh": None, "rate": "18.9"}]
                },
                fixed_daily=Decimal("32"),
            ),
        ),
        "RES-RTP": (
            "Residential real-time pricing",
            dict(
                pricing=PricingKind.REAL_TIME,
                flat_rate=Decimal("12.5"),
                fixed_monthly=Decimal("1200"),
                export_credit=ExportCredit.EXPORT_RATE,
                export_rate=Decimal("4.1"),
            ),
        ),
        "COM-TOU": (
            "Commercial time of use",
            dict(
                pricing=PricingKind.TOU,
                definition=_tou_definition(),
                fixed_monthly=Decimal("4500"),
                critical_peak_adder=Decimal("60"),
                export_credit=ExportCredit.EXPORT_RATE,
                export_rate=Decimal("5.2"),
            ),
        ),
        "IND-TOU-D": (
            "Industrial time of use with demand charge",
            dict(
                pricing=PricingKind.TOU,
                definition={**_tou_definition(), "demand": {"cents_per_kw": "1450"}},  # $14.50 per kW of the cycle's peak
                fixed_monthly=Decimal("25000"),
                critical_peak_adder=Decimal("60"),
            ),
        ),
        "MUN-FLAT": (
            "Municipal flat",
            dict(pricing=PricingKind.FLAT, flat_rate=Decimal("10.4"), fixed_monthly=Decimal("3000"), export_credit=ExportCredit.RETAIL),
        ),
    }
    # Gas and water (billing/units.py): gas priced per therm, from the m³ a meter reads through the
    # default calorific value (39.5 MJ/m³, correction 1.02264); water per thousand US gallons.
    specs["RES-GAS"] = (
        "Residential gas",
        dict(
            pricing=PricingKind.TIERED,
            definition={"tiers": [{"up_to": 50, "rate": "89.5"}, {"up_to": None, "rate": "104.2"}]},
            fixed_daily=Decimal("35"),
        ),
    )
    specs["WATER"] = (
        "Water and sewer",
        dict(
            pricing=PricingKind.TIERED,
            definition={"tiers": [{"up_to": 3, "rate": "450"}, {"up_to": None, "rate": "620"}]},
            fixed_monthly=Decimal("1250"),
        ),
    )
    kinds = {"RES-GAS": (MeterKind.GAS, "therm"), "WATER": (MeterKind.WATER, "kgal")}
    tariffs = {}
    for code, (name, terms) in specs.items():
        commodity, unit = kinds.get(code, (MeterKind.ELECTRIC, "kWh"))
        tariff, created = Tariff.objects.get_or_create(code=code, defaults={"name": name, "commodity": commodity, "unit": unit})
        if created or not tariff.versions.exists():
            tariff_version_create(tariff=tariff, effective_from=TARIFF_START, **terms)
        tariffs[code] = tariff
    return tariffs


def _tariff_code(premise: Premise, index: int) -> str:
    if premise.customer_class == CustomerClass.RESIDENTIAL:
        return (
            ["RES-TOU", "RES-TIER", "RES-TOU", "RES-FLAT", "RES-RTP"][index % 5] if premise.service_point_id != "SP-100002" else "RES-TIER"
        )
    if premise.customer_class == CustomerClass.INDUSTRIAL:
        return "IND-TOU-D"
    if premise.customer_class == CustomerClass.COMMERCIAL:
        return "COM-TOU"
    return "MUN-FLAT"


# --- Load shapes (kW at a local time) --------------------------------------------------


def _season_cooling(day: date) -> float:
    """0 in winter, 1 at the height of summer."""
    return max(0.0, math.cos(2 * math.pi * (day.timetuple().tm_yday - 200) / 365)) ** 2


def _season_heating(day: date) -> float:
    return max(0.0, math.cos(2 * math.pi * (day.timetuple().tm_yday - 15) / 365)) ** 2


def _load_kw(customer_class: str, spid: str, local: datetime, noise: float) -> float:
    hour = local.hour + local.minute / 60
    weekend = local.weekday() >= 5
    cooling, heating = _season_cooling(local.date()), _season_heating(local.date())
    if customer_class == CustomerClass.RESIDENTIAL:
        kw = 0.35 + 0.3 * heating
        kw += (0.9 if weekend else 1.1) * math.exp(-((hour - (9 if weekend else 7.5)) ** 2) / 2)
        kw += 1.6 * math.exp(-((hour - 19) ** 2) / 4)
        kw += (0.6 if weekend else 0.2) * math.exp(-((hour - 13) ** 2) / 6)
        kw += 2.4 * cooling * max(0.0, math.sin(math.pi * (hour - 11) / 11)) if 11 <= hour <= 22 else 0
    elif customer_class == CustomerClass.COMMERCIAL:
        open_hours = 7 <= hour < 21 if spid == "SP-200002" else 8 <= hour < 18
        busy = open_hours and (not weekend or spid == "SP-200002")
        kw = (6 + 4 * cooling) + (28 + 18 * cooling) * busy
    elif customer_class == CustomerClass.INDUSTRIAL:
        shift = 6 <= hour < 22 and not weekend
        kw = 140 + (320 if shift else 60) + 80 * cooling
    else:
        kw = 45 + 10 * cooling if spid == "SP-400002" else 4 + (16 + 8 * cooling) * (8 <= hour < 18 and not weekend)
    return max(0.05, kw * noise)


def _solar_kw(capacity: float, local: datetime, clouds: float) -> float:
    day = local.timetuple().tm_yday
    daylight = 12 + 3 * math.sin(2 * math.pi * (day - 80) / 365)
    sunrise = 12.5 - daylight / 2
    hour = local.hour + local.minute / 60 + 1 / 8  # middle of the interval
    if not sunrise < hour < sunrise + daylight:
        return 0.0
    strength = 0.55 + 0.45 * math.sin(2 * math.pi * (day - 80) / 365)
    return capacity * strength * clouds * math.sin(math.pi * (hour - sunrise) / daylight)


SOLAR_KW = {CustomerClass.RESIDENTIAL: 6.5, CustomerClass.COMMERCIAL: 60.0, CustomerClass.INDUSTRIAL: 150.0, CustomerClass.MUNICIPAL: 25.0}


def electric_rows(premise: Premise, meter: Meter, start: datetime, end: datetime) -> tuple[list[RawReading], list[RawReading]]:
    zone = zoneinfo.ZoneInfo(premise.timezone)
    delivered, received = [], []
    rng = random.Random(f"{premise.service_point_id}-{start.date()}")
    moment = start
    day_key, clouds = None, 1.0
    capacity = SOLAR_KW[premise.customer_class] if premise.has_der else 0.0
    step = timedelta(seconds=ELECTRIC_SECONDS)
    while moment < end:
        local = moment.astimezone(zone)
        if local.date() != day_key:
            day_key = local.date()
            clouds = rng.choice([1.0, 0.95, 0.85, 0.7, 0.4, 0.2]) if capacity else 1.0
        load = _load_kw(premise.customer_class, premise.service_point_id, local, rng.uniform(0.85, 1.15))
        solar = _solar_kw(capacity, local, clouds) if capacity else 0.0
        ref = moment.isoformat()
        delivered.append(
            RawReading(ref, meter.serial_number, Channel.DELIVERED, moment, ELECTRIC_SECONDS, round(max(0.0, load - solar) * 250), "Wh")
        )
        if capacity:
            received.append(
                RawReading(ref, meter.serial_number, Channel.RECEIVED, moment, ELECTRIC_SECONDS, round(max(0.0, solar - load) * 250), "Wh")
            )
        moment += step
    return delivered, received


# Alice's gas meter reads m³ and her water meter US gallons, as many real meters do (billing/units.py).
DEMO_METER_UNITS = {("SP-100001", MeterKind.GAS): "m3", ("SP-100001", MeterKind.WATER): "gal"}
# m³ of gas per therm at the default calorific value: 105.4804 MJ / (39.5 MJ/m³ × 1.02264)
_M3_PER_THERM = 2.611


def hourly_rows(premise: Premise, meter: Meter, start: datetime, end: datetime) -> list[RawReading]:
    zone = zoneinfo.ZoneInfo(premise.timezone)
    measured = DEMO_METER_UNITS.get((premise.service_point_id, meter.kind))
    rng = random.Random(f"{meter.serial_number}-{start.date()}")
    rows, moment = [], start
    while moment < end:
        local = moment.astimezone(zone)
        hour = local.hour
        if meter.kind == MeterKind.GAS:
            # therms an hour: space heating in winter, water heating and cooking all year (stored as mtherm)
            base = 0.02 + 0.03 * math.exp(-((hour - 7) ** 2) / 3) + 0.03 * math.exp(-((hour - 19) ** 2) / 3)
            scale = (
                20 if premise.customer_class == CustomerClass.INDUSTRIAL else 4 if premise.customer_class == CustomerClass.COMMERCIAL else 1
            )
            value = round(1000 * scale * (base + 0.12 * _season_heating(local.date())) * rng.uniform(0.8, 1.2))
            unit = "mtherm"
            if measured == "m3":
                value, unit = round(value * _M3_PER_THERM), "L"  # mtherm -> litres of gas
        else:
            litres = (900 if premise.service_point_id == "SP-400002" else 60) * (0.3 + (8 <= hour < 18))
            value, unit = round(litres * rng.uniform(0.8, 1.2)), "L"
            if measured == "gal":
                value, unit = round(value / 3.785411784 * 1000), "mgal"
        rows.append(RawReading(moment.isoformat(), meter.serial_number, Channel.DELIVERED, moment, HOURLY, value, unit))
        moment += timedelta(seconds=HOURLY)
    return rows


def _next_start(meter: Meter, channel: int, first: datetime, seconds: int) -> datetime:
    latest = IntervalReading.objects.filter(meter=meter, channel=channel, is_current=True).aggregate(last=Max("start"))["last"]
    return max(first, latest + timedelta(seconds=seconds)) if latest else first


def _real_time_prices(tariff: Tariff, first: datetime, end: datetime) -> None:
    rng = random.Random("rtp")
    prices, moment = [], first.replace(minute=0, second=0, microsecond=0)
    zone = zoneinfo.ZoneInfo("America/Chicago")
    while moment < end:
        local = moment.astimezone(zone)
        shape = 6 + 5 * math.exp(-((local.hour - 18) ** 2) / 5) + 4 * _season_cooling(local.date()) * (14 <= local.hour < 20)
        prices.append((moment, Decimal(f"{shape * rng.uniform(0.7, 1.4):.4f}")))
        moment += timedelta(hours=1)
    real_time_prices_publish(tariff=tariff, prices=prices)  # audited like any publication


def _critical_peak_days(tariffs: dict[str, Tariff], today: date) -> None:
    olga = get_user_model().objects.filter(email="olga@demo.ami").first()
    if olga is None:
        return
    summer = [d for d in (date(today.year - 1, 7, 16), date(today.year - 1, 8, 20), date(today.year, 7, 15)) if d <= today]
    for code in ("RES-TOU", "COM-TOU", "IND-TOU-D"):
        for day in summer + [today + timedelta(days=1)]:
            CriticalPeakEvent.objects.get_or_create(
                tariff=tariffs[code], day=day, defaults={"start_hour": 14, "end_hour": 19, "declared_by": olga}
            )


def billing_demo_seed() -> None:
    from amiportal.portal.demo import PREMISES

    days = env_int("AMI_DEMO_USAGE_DAYS", 3 if settings.PROFILE == "test" else 400, minimum=1, maximum=800)
    tariffs = _tariffs()
    now = datetime.now(UTC)
    end = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    first = (end - timedelta(days=days)).replace(minute=0)
    _real_time_prices(tariffs["RES-RTP"], _next_price_start(tariffs["RES-RTP"], first), end + timedelta(days=2))
    _critical_peak_days(tariffs, end.date())
    spids = [spec.service_point_id for spec in PREMISES]
    for index, premise in enumerate(Premise.objects.filter(service_point_id__in=spids).order_by("service_point_id")):
        if not PremiseTariff.objects.filter(premise=premise, commodity=MeterKind.ELECTRIC).exists():
            code = _tariff_code(premise, index)
            if premise.service_point_id == "SP-100001":
                # Alice moved from the standard rate to time of use: her tariff history shows both.
                premise_tariff_assign(premise=premise, tariff=tariffs["RES-FLAT"], start=TARIFF_START)
                code_start = (end - timedelta(days=120)).date()
                premise_tariff_assign(premise=premise, tariff=tariffs["RES-TOU"], start=code_start)
            else:
                premise_tariff_assign(premise=premise, tariff=tariffs[code], start=TARIFF_START)
        _commodity_tariffs(premise, tariffs)
        for meter in premise.meters.all():
            if (premise.service_point_id, meter.kind) in DEMO_METER_UNITS:
                try:
                    meter_unit_set(meter=meter, unit=DEMO_METER_UNITS[(premise.service_point_id, meter.kind)])
                except ValidationError:
                    pass  # seeded before meters had units: its readings stay in the kind's default unit
    demo_readings_append(now=now, first=first)
    # The similar-homes ranking the beat task makes once a day, so the first page after seeding has it.
    similar_homes_refresh(as_of=similar_homes_due_day(now), recompute=True)


def _commodity_tariffs(premise: Premise, tariffs: dict[str, Tariff]) -> None:
    """Gas and water tariffs for the premises with those meters (once: a premise already on one keeps it)."""
    for kind, code in ((MeterKind.GAS, "RES-GAS"), (MeterKind.WATER, "WATER")):
        if premise.meters.filter(kind=kind).exists() and not PremiseTariff.objects.filter(premise=premise, commodity=kind).exists():
            premise_tariff_assign(premise=premise, tariff=tariffs[code], start=TARIFF_START)


# A fixed advisory-lock id: one append at a time, so two runs never generate the same intervals twice
# (the generator is seeded by the first day it writes, so a second writer would send corrections).
_DEMO_APPEND_LOCK = 0x414D4944454D4F  # "AMIDEMO"


def demo_readings_append(*, now: datetime | None = None, first: datetime | None = None) -> int:
    """The demo premises' simulated meters, from their newest reading up to the last whole quarter hour (hour for gas and water).

    Idempotent: each meter continues after its newest stored reading, through the normal ingest
    service (``Source.DEMO``), so a run with nothing new writes nothing. Runs one at a time (a
    transaction-scoped advisory lock on PostgreSQL, released however the run ends). Returns the
    number of readings accepted.
    """
    from amiportal.portal.demo import PREMISES

    now = now or datetime.now(UTC)
    end = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    first = first or end - timedelta(days=2)
    accepted = 0
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_DEMO_APPEND_LOCK])
                if not cursor.fetchone()[0]:
                    return 0  # another run is appending
        spids = [spec.service_point_id for spec in PREMISES]
        for premise in Premise.objects.filter(service_point_id__in=spids).order_by("service_point_id"):
            accepted += _premise_append(premise, first, end)
    return accepted


def _premise_append(premise: Premise, first: datetime, end: datetime) -> int:
    accepted = 0
    for meter in premise.meters.all():
        if meter.kind == MeterKind.ELECTRIC:
            start = _next_start(meter, Channel.DELIVERED, first, ELECTRIC_SECONDS)
            if start >= end:
                continue
            delivered, received = electric_rows(premise, meter, start, end)
            report = readings_ingest(readings=delivered + received, source=Source.DEMO, filename=f"demo {meter.serial_number}")
            accepted += report.accepted
        else:
            start = _next_start(meter, Channel.DELIVERED, first, HOURLY)
            hour_end = end.replace(minute=0)
            if start < hour_end:
                report = readings_ingest(
                    readings=hourly_rows(premise, meter, start, hour_end), source=Source.DEMO, filename=f"demo {meter.serial_number}"
                )
                accepted += report.accepted
    return accepted


def _next_price_start(tariff: Tariff, first: datetime) -> datetime:
    latest = RealTimePrice.objects.filter(tariff=tariff).aggregate(last=Max("start"))["last"]
    return max(first, latest + timedelta(hours=1)) if latest else first
