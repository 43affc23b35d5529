"""The customer's choices: which kinds reach them on which channel, and their alert thresholds.

Every change is audited and applies to the next notification sent (senders read them live).
A choice the page did not offer (an unknown kind or channel, a channel not built, the inbox
of a safety notice, a multiple not in the list) changes nothing at all, is refused with the
reason, and is audited.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from amiportal.audit.services import audit_append
from amiportal.notifications.channels import CHANNELS
from amiportal.notifications.kinds import KINDS
from amiportal.notifications.models import AlertThresholds, Preference
from amiportal.notifications.selectors import USAGE_MULTIPLES, channel_offered
from amiportal.premises.selectors import customer_account_for_user

USAGE_MULTIPLE_CHOICES = tuple(Decimal(value) for value in USAGE_MULTIPLES)
BILL_DOLLARS_MAX = 100_000


def _account_id(user) -> int | None:
    account = customer_account_for_user(user=user)
    return account.pk if account else None


def preferences_refused(*, user, reason: str, values: dict) -> None:
    """On record: the customer sent a choice the page does not offer. Nothing changes."""
    audit_append(
        action="notifications.preferences_refused",
        actor=user,
        target=f"user:{user.pk}",
        customer_account_id=_account_id(user),
        payload={
            "reason": reason[:200],
            "values": {str(k)[:60]: str(v)[:40] for k, v in list(values.items())[:20] if k != "csrfmiddlewaretoken"},
        },
    )


def _problem(choices: dict[tuple[str, str], bool], bill_to_date_dollars: int | None, usage_multiple: Decimal) -> str:
    for kind_name, channel_name in choices:
        kind = KINDS.get(kind_name)
        if kind is None or channel_name not in CHANNELS or not channel_offered(kind, channel_name):
            return f"“{kind_name[:40]} by {channel_name[:20]}” is not a choice this page offers."
    if usage_multiple not in USAGE_MULTIPLE_CHOICES:
        return "Choose one of the usage multiples offered."
    if bill_to_date_dollars is not None and not 1 <= bill_to_date_dollars <= BILL_DOLLARS_MAX:
        return f"The bill amount is a whole number of dollars from 1 to {BILL_DOLLARS_MAX:,}."
    return ""


def notification_settings_set(
    *, user, choices: dict[tuple[str, str], bool], bill_to_date_dollars: int | None, usage_multiple: Decimal
) -> list[str]:
    """Set the (kind, channel) switches and the thresholds together; returns what changed. All or nothing."""
    problem = _problem(choices, bill_to_date_dollars, usage_multiple)
    if problem:
        # Audited outside any transaction, so the refusal stays on record.
        preferences_refused(
            user=user,
            reason=problem,
            values={**{f"{k}/{c}": v for (k, c), v in choices.items()}, "bill": bill_to_date_dollars, "multiple": usage_multiple},
        )
        raise ValidationError(problem)
    with transaction.atomic():
        changed = _switches_store(user, choices) + _thresholds_store(user, bill_to_date_dollars, usage_multiple)
        if changed:
            audit_append(
                action="notifications.preferences_changed",
                actor=user,
                target=f"user:{user.pk}",
                customer_account_id=_account_id(user),
                payload={"changed": changed},
            )
    return changed


def _switches_store(user, choices: dict[tuple[str, str], bool]) -> list[str]:
    rows = Preference.objects.select_for_update(no_key=True).filter(user=user).values_list("kind", "channel", "enabled")
    current = {(k, c): on for k, c, on in rows}
    changed = []
    for (kind_name, channel_name), enabled in sorted(choices.items()):
        before = current.get((kind_name, channel_name), channel_name in KINDS[kind_name].DEFAULT_CHANNELS)
        if before != enabled:
            Preference.objects.update_or_create(user=user, kind=kind_name, channel=channel_name, defaults={"enabled": enabled})
            changed.append(f"{kind_name} by {channel_name} {'on' if enabled else 'off'}")
    return changed


def _thresholds_store(user, bill_to_date_dollars: int | None, usage_multiple: Decimal) -> list[str]:
    thresholds = AlertThresholds.objects.select_for_update(no_key=True).filter(user=user).first() or AlertThresholds(user=user)
    changed = []
    if thresholds.bill_to_date_dollars != bill_to_date_dollars:
        changed.append(f"bill alert at {bill_to_date_dollars} dollars" if bill_to_date_dollars else "bill alert off")
    if Decimal(thresholds.usage_multiple) != usage_multiple:
        changed.append(f"usage alert at {usage_multiple:g} times usual")
    if changed:
        thresholds.bill_to_date_dollars, thresholds.usage_multiple = bill_to_date_dollars, usage_multiple
        thresholds.save()
    return changed
