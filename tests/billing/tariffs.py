"""Tariff builders shared by billing tests."""

from datetime import date
from decimal import Decimal

from billing.models import ExportCredit, PricingKind, Tariff
from billing.services.tariffs import premise_tariff_assign, tariff_version_create

TOU = {
    "periods": {"off_peak": "Off-peak", "mid_peak": "Mid-peak", "on_peak": "Peak"},
    "holidays": ["2025-07-04"],
    "seasons": [
        {
            "name": "Summer",
            "months": [6, 7, 8, 9],
            "default": "off_peak",
            "rates": {"off_peak": "10", "mid_peak": "15", "on_peak": "30"},
            "windows": [
                {"period": "on_peak", "days": "weekday", "start": 16, "end": 21},
                {"period": "mid_peak", "days": "weekday", "start": 7, "end": 16},
            ],
        },
        {
            "name": "Winter",
            "months": [1, 2, 3, 4, 5, 10, 11, 12],
            "default": "off_peak",
            "rates": {"off_peak": "8", "mid_peak": "12", "on_peak": "20"},
            "windows": [{"period": "on_peak", "days": "weekday", "start": 17, "end": 20}],
        },
    ],
}


def tou_tariff(premise=None, *, start=date(2024, 1, 1), **extra) -> Tariff:
    tariff = Tariff.objects.create(code=f"TOU-{Tariff.objects.count()}", name="Time of use")
    tariff_version_create(tariff=tariff, effective_from=start, pricing=PricingKind.TOU, definition=TOU, **extra)
    if premise is not None:
        premise_tariff_assign(premise=premise, tariff=tariff, start=start)
    return tariff


def flat_tariff(premise=None, *, rate="12", start=date(2024, 1, 1), **extra) -> Tariff:
    tariff = Tariff.objects.create(code=f"FLAT-{Tariff.objects.count()}", name="Flat")
    tariff_version_create(tariff=tariff, effective_from=start, pricing=PricingKind.FLAT, flat_rate=Decimal(rate), **extra)
    if premise is not None:
        premise_tariff_assign(premise=premise, tariff=tariff, start=start)
    return tariff


NET_RETAIL = {"export_credit": ExportCredit.RETAIL}
