"""Reads: which channels a customer chose, their inbox and history, and operators' delivery counts.

A customer reads only notifications addressed to them (``user``); operators read counts per
kind and channel, never a notification's text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404

from amiportal.notifications.channels import CHANNELS
from amiportal.notifications.kinds import KINDS, KindModule
from amiportal.notifications.models import AlertThresholds, Delivery, Notification, Preference

# Where a safety notice always goes, whatever the customer chose (kinds with CAN_TURN_OFF = False).
ALWAYS_ON_CHANNEL = "inbox"


def channel_locked_on(kind: KindModule, channel: str) -> bool:
    """The one rule for safety notices: they cannot be turned off entirely, so their inbox stays on."""
    return not kind.CAN_TURN_OFF and channel == ALWAYS_ON_CHANNEL


def channel_offered(kind: KindModule, channel: str) -> bool:
    """A channel the customer may switch for this kind: built, and not locked on."""
    return channel in CHANNELS and CHANNELS[channel].ENABLED and not channel_locked_on(kind, channel)


def channels_chosen(*, kind: KindModule, user_ids_query: QuerySet) -> Callable[[int], list[str]]:
    """For the users in ``user_ids_query``: a function user id -> the enabled channels this kind goes to."""
    choices: dict[int, dict[str, bool]] = {}
    for user_id, channel, enabled in Preference.objects.filter(kind=kind.NAME, user_id__in=user_ids_query).values_list(
        "user_id", "channel", "enabled"
    ):
        choices.setdefault(user_id, {})[channel] = enabled
    defaults = set(kind.DEFAULT_CHANNELS)

    def chosen(user_id: int) -> list[str]:
        own = choices.get(user_id, {})
        return [
            name
            for name, channel in CHANNELS.items()
            if channel.ENABLED and (channel_locked_on(kind, name) or own.get(name, name in defaults))
        ]

    return chosen


@dataclass(frozen=True)
class PreferenceCell:
    channel: str
    label: str
    on: bool
    offered: bool
    why_not: str  # shown when not offered


@dataclass(frozen=True)
class PreferenceRow:
    kind: str
    label: str
    description: str
    cells: list[PreferenceCell]


def preferences_table(*, user) -> list[PreferenceRow]:
    """The customer's preferences page: each kind, each channel, on or off, and why a switch is not offered."""
    own = {
        (kind, channel): enabled
        for kind, channel, enabled in Preference.objects.filter(user=user).values_list("kind", "channel", "enabled")
    }
    rows = []
    for name, kind in KINDS.items():
        cells = []
        for channel_name, channel in CHANNELS.items():
            if not channel.ENABLED:
                cells.append(PreferenceCell(channel_name, channel.LABEL, False, False, channel.DISABLED_REASON))
            elif channel_locked_on(kind, channel_name):
                cells.append(PreferenceCell(channel_name, channel.LABEL, True, False, "Safety notices always reach your portal inbox."))
            else:
                on = own.get((name, channel_name), channel_name in kind.DEFAULT_CHANNELS)
                cells.append(PreferenceCell(channel_name, channel.LABEL, on, True, ""))
        rows.append(PreferenceRow(name, kind.LABEL, kind.DESCRIPTION, cells))
    return rows


def alert_thresholds_for(*, user) -> AlertThresholds:
    """The customer's thresholds (unsaved defaults when they never set any)."""
    return AlertThresholds.objects.filter(user=user).first() or AlertThresholds(user=user)


USAGE_MULTIPLES = ("1.5", "2", "3", "4")


def preferences_page_context(*, user) -> dict:
    """What the preferences form on the customer's account page shows."""
    thresholds = alert_thresholds_for(user=user)
    return {
        "notification_preferences": preferences_table(user=user),
        "notification_thresholds": thresholds,
        "notification_thresholds_multiple": f"{Decimal(thresholds.usage_multiple).normalize():f}",
        "usage_multiple_choices": [(value, f"{value} times") for value in USAGE_MULTIPLES],
    }


def inbox_for(*, user) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user, deliveries__channel=ALWAYS_ON_CHANNEL).order_by("-created_at", "-pk")


_UNREAD = "_ami_unread_notifications"


def _unread(user_ref) -> QuerySet[Notification]:
    """Unread notifications in the inbox of ``user_ref`` (a user or an OuterRef): the one rule for the header's count."""
    return Notification.objects.filter(user=user_ref, deliveries__channel=ALWAYS_ON_CHANNEL, read_at__isnull=True)


def unread_count_annotation() -> dict:
    """The unread count as an annotation of a user query (``user_for_request`` loads it with the user, in one query)."""
    counted = _unread(OuterRef("pk")).order_by().values("user").annotate(n=Count("pk")).values("n")
    return {_UNREAD: Coalesce(Subquery(counted), 0)}


def unread_count_set(*, user, count: int) -> None:
    """Keep the count a user query loaded with the user (``unread_count_annotation``) for this request."""
    setattr(user, _UNREAD, count)


def unread_count(*, user) -> int:
    """The header's count; a user the request loaded carries it from that load (``unread_count_forget`` drops it)."""
    if not user.is_authenticated:
        return 0
    known = getattr(user, _UNREAD, None)
    if known is not None:
        return known
    return _unread(user).count()


def unread_count_forget(*, user) -> None:
    """Drop the request's count after marking read, so a page in the same request counts again."""
    if getattr(user, _UNREAD, None) is not None:
        delattr(user, _UNREAD)


def notification_get_for(*, user, notification_id: int) -> Notification:
    """The customer's own notification; 404 for anyone else's, whether or not it exists."""
    notification = Notification.objects.filter(user=user, pk=notification_id).first()
    if notification is None:
        raise Http404("No such notification.")
    return notification


def history_for(*, user) -> QuerySet[Notification]:
    """Every notification sent to the customer, with its deliveries (channel, state)."""
    return Notification.objects.filter(user=user).prefetch_related("deliveries").order_by("-created_at", "-pk")


@dataclass(frozen=True)
class KindStatistics:
    kind: str
    label: str
    notifications: int
    read: int
    by_channel: dict[str, dict[str, int]]  # channel -> state -> count

    @property
    def channel_rows(self) -> list[dict]:
        rows = []
        for name, channel in CHANNELS.items():
            states = self.by_channel.get(name, {})
            waiting = states.get(Delivery.State.PENDING, 0) + states.get(Delivery.State.SENDING, 0)
            rows.append(
                {
                    "label": channel.LABEL,
                    "delivered": states.get(Delivery.State.DELIVERED, 0),
                    "waiting": waiting,
                    "failed": states.get(Delivery.State.FAILED, 0),
                    "refused": states.get(Delivery.State.REFUSED, 0),
                }
            )
        return rows


def delivery_statistics() -> list[KindStatistics]:
    """Counts per kind and channel for operators: how many, in which state. No text, no customer."""
    totals = {
        row["kind"]: row
        for row in Notification.objects.values("kind").annotate(total=Count("pk"), read=Count("pk", filter=Q(read_at__isnull=False)))
    }
    channels: dict[str, dict[str, dict[str, int]]] = {}
    for row in Delivery.objects.values("notification__kind", "channel", "state").annotate(count=Count("pk")):
        channels.setdefault(row["notification__kind"], {}).setdefault(row["channel"], {})[row["state"]] = row["count"]
    return [
        KindStatistics(
            name,
            kind.LABEL,
            totals.get(name, {}).get("total", 0),
            totals.get(name, {}).get("read", 0),
            channels.get(name, {}),
        )
        for name, kind in KINDS.items()
    ]
