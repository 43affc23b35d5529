"""Step-up re-verification for sensitive actions.

Use ``@step_up_required("<action>")`` on a view (or ``StepUpRequiredMixin`` with
``step_up_action`` on a class view), naming an entry of the one list in
``amiportal/accounts/sensitive_actions.py``. Unless the user re-verified (one-time
code, or password when they have no second factor) within the last N minutes,
they are sent to re-verify and then back to where they were going.

A form submission (POST) is never replayed after the check: the user comes back
to the page they submitted from and submits again.
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from amiportal.accounts.sensitive_actions import sensitive_action
from amiportal.accounts.services.two_factor import step_up_is_fresh

SAFE_METHODS = ("GET", "HEAD")


def _return_to(request: HttpRequest) -> str:
    if request.method in SAFE_METHODS:
        return request.get_full_path()
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return referer
    return reverse("portal:home")


def _redirect_to_step_up(request: HttpRequest, action: str | None, *, return_to: str | None = None) -> HttpResponse:
    query = {"next": return_to or _return_to(request)}
    if action:
        query["action"] = action
    return redirect(f"{reverse('accounts:step_up')}?{urlencode(query)}")


def step_up_needed(request: HttpRequest, *, action: str | None, minutes: int | None = None) -> bool:
    if action and not sensitive_action(action).guards_get and request.method in SAFE_METHODS:
        return False
    return not step_up_is_fresh(request=request, minutes=minutes)


def step_up_redirect(request: HttpRequest, action: str, *, return_to: str | None = None) -> HttpResponse | None:
    """For a view that needs the check only for some submissions (its list entry says when): the redirect, or None."""
    if not step_up_needed(request, action=action):
        return None
    return _redirect_to_step_up(request, action, return_to=return_to)


def step_up_required(action: str | None = None, *, minutes: int | None = None):
    if action:
        sensitive_action(action)  # fail at import on a name missing from the list

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if step_up_needed(request, action=action, minutes=minutes):
                return _redirect_to_step_up(request, action)
            return view(request, *args, **kwargs)

        wrapper.step_up_action = action
        return wrapper

    return decorator


class StepUpRequiredMixin:
    step_up_action: str | None = None
    step_up_minutes: int | None = None

    def dispatch(self, request, *args, **kwargs):
        if step_up_needed(request, action=self.step_up_action, minutes=self.step_up_minutes):
            return _redirect_to_step_up(request, self.step_up_action)
        return super().dispatch(request, *args, **kwargs)
