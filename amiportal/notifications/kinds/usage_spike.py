"""Usage today has passed N times the usual for this weekday (N set by the customer, 2 by default).

Audience: every customer, for each premise they occupy now, comparing only their own period's
readings. Once per premise and day.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from amiportal.notifications.kinds.base import Message, Recipient

NAME = "usage_spike"
LABEL = "Unusually high use today"
DESCRIPTION = "When your electricity use today passes the multiple of a usual day you set below (twice, unless you change it)."
DEFAULT_CHANNELS = ("inbox",)
CAN_TURN_OFF = True
DEFAULT_MULTIPLE = Decimal(2)


def render(recipient: Recipient, facts: dict[str, Any]) -> Message:
    used, usual, multiple = recipient.facts["used_wh"], recipient.facts["usual_wh"], recipient.facts["multiple"]
    day = recipient.facts["day"]
    return Message(
        title=f"High electricity use today: {used / 1000:.1f} kWh so far",
        body=(
            f"At {recipient.facts['address']}, you have used {used / 1000:.1f} kWh so far today ({day:%A %B %-d}), "
            f"more than {multiple:g} times a usual {day:%A} ({usual / 1000:.1f} kWh).\n\n"
            "Something may have been left on, such as a heater, an oven or a pump."
        ),
        display_text=f"High use today: {used / 1000:.1f} kWh",
        link=f"/customer/premises/{recipient.premise_id}/usage/",
    )


def alerts_send(*, now: datetime | None = None) -> int:
    from amiportal.notifications.kinds.usage_reading import today_and_usual_wh
    from amiportal.notifications.models import AlertThresholds
    from amiportal.notifications.services.sending import notifications_send
    from amiportal.premises.models import CustomerAccount
    from amiportal.premises.selectors import occupancies_for, premises_occupied_now

    now = now or timezone.now()
    multiples = dict(AlertThresholds.objects.values_list("user_id", "usage_multiple"))
    stored = 0
    for account in CustomerAccount.objects.filter(user__isnull=False).select_related("user"):
        user, multiple = account.user, Decimal(multiples.get(account.user_id, DEFAULT_MULTIPLE))
        for premise in premises_occupied_now(user=user, now=now):
            found = today_and_usual_wh(premise=premise, occupancies=occupancies_for(user=user, premise=premise), now=now)
            if found is None or found[0] <= found[1] * multiple:
                continue
            used, usual, day = found
            facts = {"used_wh": used, "usual_wh": usual, "multiple": multiple, "day": day, "address": premise.address_line}
            recipient = Recipient(user_id=user.pk, account_id=account.pk, premise_id=premise.pk, zone=premise.timezone, facts=facts)
            stored += notifications_send(
                kind=NAME, subject=f"usage_day:{day.isoformat()}", period=day.isoformat(), recipients=[recipient], now=now
            ).stored
    return stored
