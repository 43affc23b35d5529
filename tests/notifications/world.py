"""Builders for notification tests: tariffs for the personas' homes, and a declared event."""

from __future__ import annotations

from datetime import date

from billing.models import CriticalPeakEvent
from billing.services.tariffs import critical_peak_declare
from tests.billing.tariffs import flat_tariff, tou_tariff


def home_of(user):
    return user.customer_account.agreements.order_by("-move_in").first().premise


def cpp_tariff(*users):
    """A time-of-use tariff with critical-peak pricing, for the users' homes."""
    from decimal import Decimal

    tariff = tou_tariff(critical_peak_multiplier=Decimal(3))
    tariff.name = "Peak Saver"
    tariff.save(update_fields=["name"])
    from billing.services.tariffs import premise_tariff_assign

    for user in users:
        premise_tariff_assign(premise=home_of(user), tariff=tariff, start=date(2024, 1, 1))
    return tariff


def plain_tariff(*users):
    tariff = flat_tariff()
    from billing.services.tariffs import premise_tariff_assign

    for user in users:
        premise_tariff_assign(premise=home_of(user), tariff=tariff, start=date(2024, 1, 1))
    return tariff


def declare(tariff, day: date, olga, start_hour: int = 16, end_hour: int = 19) -> CriticalPeakEvent:
    return critical_peak_declare(tariff=tariff, day=day, start_hour=start_hour, end_hour=end_hour, actor=olga)
