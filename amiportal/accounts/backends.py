"""The authentication backend: Django's model backend, with a per-request user load of one query."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from amiportal.accounts.selectors import user_for_request


class PortalModelBackend(ModelBackend):
    """Password sign-in as ``ModelBackend``; the session's user comes with its roles and second factor (``user_for_request``)."""

    def get_user(self, user_id):
        user = user_for_request(user_id=user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
