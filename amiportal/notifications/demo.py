"""For `manage.py seed_demo`: who hears of a critical-peak event when olga declares one in `make run`."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from amiportal.notifications.kinds import critical_peak


def critical_peak_audiences() -> list[tuple[str, list[str]]]:
    """(tariff name, emails of the customers it would reach tomorrow) for each tariff with critical-peak pricing."""
    from billing.models import CriticalPeakEvent, Tariff

    tomorrow = timezone.localdate() + timedelta(days=1)
    tariffs = Tariff.objects.filter(Q(versions__critical_peak_multiplier__isnull=False) | Q(versions__critical_peak_adder__isnull=False))
    found = []
    for tariff in tariffs.distinct().order_by("name"):
        user_ids = {recipient.user_id for recipient in critical_peak.audience(event=CriticalPeakEvent(tariff=tariff, day=tomorrow))}
        emails = sorted(get_user_model().objects.filter(pk__in=user_ids).values_list("email", flat=True))
        found.append((tariff.name, emails))
    return found
