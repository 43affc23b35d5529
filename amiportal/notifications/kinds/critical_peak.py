"""A critical-peak event declared for the premise's tariff: sent when declared, and on the morning of the day.

Audience: the premises on the event's tariff on the event day, each to the account that lives
there now (``current_account_ids``: never a former occupant, never a vacant home's last one).
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time, timedelta
from functools import lru_cache
from typing import Any

from django.db.models import Q
from django.utils import timezone

from amiportal.notifications.kinds.base import Message, Recipient
from amiportal.notifications.kinds.wording import clock, day_words, zone_abbreviation
from amiportal.premises.models import CustomerAccount, Premise
from amiportal.premises.selectors import current_account_ids, premise_local_date

NAME = "critical_peak"
LABEL = "Critical-peak price events"
DESCRIPTION = "When the utility declares a critical-peak day on your tariff: when it is declared, and that morning."
DEFAULT_CHANNELS = ("inbox", "email")
CAN_TURN_OFF = True

DECLARED = "declared"
MORNING = "morning"
MORNING_HOUR = 6


def subject_of(event) -> str:
    return f"critical_peak_event:{event.pk}"


def facts_of(event) -> dict[str, Any]:
    return {"day": event.day, "start_hour": event.start_hour, "end_hour": event.end_hour, "tariff": event.tariff.name}


@lru_cache(maxsize=256)
def _text(day, start_hour: int, end_hour: int, tariff: str, zone: str, morning: bool) -> Message:
    abbreviation = zone_abbreviation(day, start_hour, zone)
    when = f"{clock(start_hour)} to {clock(end_hour)} {abbreviation}"
    which = "Today" if morning else day_words(day)
    return Message(
        title=f"Critical-peak prices {'today' if morning else 'on ' + day_words(day)}, {when}",
        body=(
            f"{which}, from {when}, electricity on your {tariff} tariff costs much more than usual: "
            "the utility has declared a critical-peak event.\n\n"
            "Running the dishwasher, laundry, or car charging before or after those hours saves money "
            "and helps keep the grid steady for everyone."
        ),
        display_text=f"Peak price {'today' if morning else f'{day:%a %-d %b}'} {clock(start_hour)}-{clock(end_hour)}",
        link="/customer/notifications/",
    )


def render(recipient: Recipient, facts: dict[str, Any]) -> Message:
    return _text(facts["day"], facts["start_hour"], facts["end_hour"], facts["tariff"], recipient.zone, facts.get("period") == MORNING)


def audience(*, event, premise_filter: Q | None = None, now: datetime | None = None) -> list[Recipient]:
    """Who lives now in a premise on the event's tariff on the event day."""
    from billing.models import PremiseTariff

    on_tariff = PremiseTariff.objects.filter(tariff_id=event.tariff_id, start__lte=event.day).filter(
        Q(end__isnull=True) | Q(end__gte=event.day)
    )
    premises = Premise.objects.filter(pk__in=on_tariff.values("premise_id"))
    if premise_filter is not None:
        premises = premises.filter(premise_filter)
    zones = dict(premises.values_list("pk", "timezone"))
    accounts = {premise: account for premise, account in current_account_ids(premise_ids=set(zones), now=now).items() if account}
    users = dict(CustomerAccount.objects.filter(pk__in=set(accounts.values()), user__isnull=False).values_list("pk", "user_id"))
    return [
        Recipient(user_id=users[account], account_id=account, premise_id=premise, zone=zones[premise])
        for premise, account in sorted(accounts.items())
        if account in users
    ]


def declared_send(*, event_id: int):
    """The notice when an operator declares the event."""
    from amiportal.notifications.services.sending import notifications_send
    from billing.models import CriticalPeakEvent

    event = CriticalPeakEvent.objects.select_related("tariff").get(pk=event_id)
    return notifications_send(
        kind=NAME,
        subject=subject_of(event),
        period=DECLARED,
        recipients=audience(event=event),
        facts={**facts_of(event), "period": DECLARED},
    )


def _morning_has_come(zone: str, event, now: datetime) -> bool:
    local_now = timezone.localtime(now, timezone=zoneinfo.ZoneInfo(zone))
    return (
        premise_local_date(zone=zone, now=now) == event.day and time(MORNING_HOUR) <= local_now.time() and local_now.hour < event.end_hour
    )


def morning_send(*, now: datetime | None = None) -> int:
    """On the event day, from 6 am in each premise's own zone until the event ends: the reminder (once per premise)."""
    from amiportal.notifications.services.sending import notifications_send
    from billing.models import CriticalPeakEvent

    now = now or timezone.now()
    utc_day = now.date()
    stored = 0
    events = CriticalPeakEvent.objects.select_related("tariff").filter(
        day__range=(utc_day - timedelta(days=1), utc_day + timedelta(days=1))
    )
    for event in events:
        zones = [zone for zone in Premise.objects.values_list("timezone", flat=True).distinct() if _morning_has_come(zone, event, now)]
        if not zones:
            continue
        recipients = audience(event=event, premise_filter=Q(timezone__in=zones), now=now)
        result = notifications_send(
            kind=NAME,
            subject=subject_of(event),
            period=MORNING,
            recipients=recipients,
            facts={**facts_of(event), "period": MORNING},
            now=now,
        )
        stored += result.stored
    return stored
