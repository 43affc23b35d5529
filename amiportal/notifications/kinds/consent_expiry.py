"""A third party's access to the customer's data ends soon: re-consent or let it end.

Audience: the customer who granted the consent (it is theirs alone, about no premise). Sent
once per consent and end date (period), so a re-consent to a new end date is reminded again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from amiportal.notifications.kinds.base import Message, Recipient

NAME = "consent_expiry"
LABEL = "Third-party access ending"
DESCRIPTION = "Before an app's access to your energy data ends, so you can renew it or let it end."
DEFAULT_CHANNELS = ("inbox", "email")
CAN_TURN_OFF = True


def render(recipient: Recipient, facts: dict[str, Any]) -> Message:
    name, ends = recipient.facts["application"], recipient.facts["ends"]
    return Message(
        title=f"{name}'s access to your energy data ends on {ends:%B %-d, %Y}",
        body=(
            f"{name} ({recipient.facts['organisation']}) can read your energy data until {ends:%B %-d, %Y}.\n\n"
            "To keep it going, choose a new end date in the portal under “Who can see my data”. To let it end, do nothing."
        ),
        display_text=f"{name[:30]} access ends {ends:%-d %b}",
        link=reverse("thirdparty:customer_consent_extend", args=[recipient.facts["consent_id"]]),
    )


def reminders_send(*, now: datetime | None = None) -> int:
    """Remind each customer whose consent ends within AMI_TP_REMINDER_DAYS; once per consent and end date."""
    from amiportal.notifications.services.sending import notifications_send
    from thirdparty.models import Consent, ConsentStatus

    now = now or timezone.now()
    due = Consent.objects.filter(
        status=ConsentStatus.ACTIVE, expires_at__gt=now, expires_at__lte=now + timedelta(days=settings.AMI_TP_REMINDER_DAYS)
    ).select_related("application")
    stored = 0
    for consent in due:
        zone = timezone.get_current_timezone_name()
        recipient = Recipient(
            user_id=consent.customer_id,
            account_id=consent.account_id,
            premise_id=None,
            zone=zone,
            facts={
                "consent_id": consent.pk,
                "application": consent.application.name,
                "organisation": consent.application.organisation,
                "ends": timezone.localtime(consent.expires_at),
            },
        )
        result = notifications_send(
            kind=NAME, subject=f"consent:{consent.pk}", period=consent.expires_at.date().isoformat(), recipients=[recipient], now=now
        )
        stored += result.stored
        Consent.objects.filter(pk=consent.pk, reminder_sent_at__isnull=True).update(reminder_sent_at=now)
    return stored
