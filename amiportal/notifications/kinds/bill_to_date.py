"""The bill so far in this billing cycle has passed the amount the customer set.

Audience: customers who set an amount, for each premise they occupy now, counting only their
own period there. Once per premise and billing cycle.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from amiportal.notifications.kinds.base import Message, Recipient
from amiportal.notifications.kinds.wording import dollars

NAME = "bill_to_date"
LABEL = "Bill above my amount"
DESCRIPTION = "When your bill so far this billing cycle passes the amount you set below."
DEFAULT_CHANNELS = ("inbox", "email")
CAN_TURN_OFF = True


def render(recipient: Recipient, facts: dict[str, Any]) -> Message:
    so_far, limit, address = recipient.facts["cents"], recipient.facts["limit_dollars"], recipient.facts["address"]
    return Message(
        title=f"Your bill so far is {dollars(so_far)}, above the ${limit:,} you set",
        body=(
            f"Since this billing cycle began on {recipient.facts['cycle_start']:%B %-d}, electricity at {address} "
            f"has cost {dollars(so_far)}, more than the ${limit:,} you asked us to tell you about.\n\n"
            "Your usage page shows which days and hours cost the most."
        ),
        display_text=f"Bill so far {dollars(so_far)} (over ${limit:,})",
        link=f"/customer/premises/{recipient.premise_id}/usage/",
    )


def alerts_send(*, now: datetime | None = None) -> int:
    from amiportal.notifications.kinds.usage_reading import bill_to_date_cents
    from amiportal.notifications.models import AlertThresholds
    from amiportal.notifications.services.sending import notifications_send
    from amiportal.premises.selectors import customer_account_for_user, occupancies_for, premises_occupied_now

    now = now or timezone.now()
    stored = 0
    for thresholds in AlertThresholds.objects.filter(bill_to_date_dollars__isnull=False).select_related("user"):
        user, account = thresholds.user, customer_account_for_user(user=thresholds.user)
        for premise in premises_occupied_now(user=user, now=now):
            found = bill_to_date_cents(premise=premise, occupancies=occupancies_for(user=user, premise=premise), now=now)
            if found is None or found[0] <= thresholds.bill_to_date_dollars * 100:
                continue
            facts = {
                "cents": found[0],
                "limit_dollars": thresholds.bill_to_date_dollars,
                "cycle_start": found[1],
                "address": premise.address_line,
            }
            recipient = Recipient(
                user_id=user.pk, account_id=account.pk if account else None, premise_id=premise.pk, zone=premise.timezone, facts=facts
            )
            stored += notifications_send(
                kind=NAME, subject=f"bill_cycle:{found[1].isoformat()}", period=found[1].isoformat(), recipients=[recipient], now=now
            ).stored
    return stored
