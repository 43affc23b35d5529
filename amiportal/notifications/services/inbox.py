"""The customer marks notifications read."""

from __future__ import annotations

from django.utils import timezone

from amiportal.notifications.selectors import notification_get_for, unread_count_forget


def notification_mark_read(*, user, notification_id: int) -> None:
    """Mark the customer's own notification read (404 for anyone else's); reading twice keeps the first time."""
    notification = notification_get_for(user=user, notification_id=notification_id)
    type(notification).objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())
    unread_count_forget(user=user)


def notifications_mark_all_read(*, user) -> int:
    from amiportal.notifications.models import Notification

    marked = Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
    unread_count_forget(user=user)
    return marked
