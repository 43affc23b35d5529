"""Reading the preferences form: a switch per offered (kind, channel), and the two alert thresholds."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.http import QueryDict

from amiportal.notifications.selectors import PreferenceRow

PREFIX = "pref"


def switch_name(kind: str, channel: str) -> str:
    return f"{PREFIX}:{kind}:{channel}"


def switches_from_post(*, post: QueryDict, table: list[PreferenceRow]) -> dict[tuple[str, str], bool]:
    """Each offered switch is on when posted (a checkbox), off when not; a posted switch not offered is kept for refusal."""
    choices = {(row.kind, cell.channel): switch_name(row.kind, cell.channel) in post for row in table for cell in row.cells if cell.offered}
    for name in post:
        if name.startswith(f"{PREFIX}:"):
            parts = name.split(":")
            key = (parts[1] if len(parts) > 1 else "", parts[2] if len(parts) > 2 else "")
            choices.setdefault(key, True)  # not on the page: the service refuses it and nothing changes
    return choices


class ThresholdsInvalid(ValueError):
    pass


def thresholds_from_post(*, post: QueryDict) -> tuple[int | None, Decimal]:
    """(bill amount in whole dollars or None, usage multiple); what is not a number is refused with the reason."""
    amount = post.get("bill_to_date_dollars", "").strip().lstrip("$").replace(",", "")
    try:
        dollars = int(amount) if amount else None
    except ValueError:
        raise ThresholdsInvalid("The bill amount is a whole number of dollars, such as 150.") from None
    try:
        multiple = Decimal(post.get("usage_multiple", "2"))
    except InvalidOperation:
        raise ThresholdsInvalid("Choose one of the usage multiples offered.") from None
    return dollars, multiple
