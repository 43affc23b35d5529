"""The unread count in the header of every page, for customers."""

from __future__ import annotations

from amiportal.accounts.roles import Role, user_has_role
from amiportal.notifications.selectors import unread_count


def unread_notifications(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user_has_role(user, Role.CUSTOMER):
        return {}
    return {"notifications_unread": unread_count(user=user)}
