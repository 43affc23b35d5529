from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from amiportal.accounts.roles import two_factor_required
from amiportal.accounts.selectors import user_has_confirmed_device
from amiportal.accounts.services.authentication import session_seen, session_timed_out

# Views a signed-in but not yet OTP-verified user may reach: finishing sign-in.
TWO_FACTOR_EXEMPT = {
    "accounts:login",
    "accounts:logout",
    "accounts:two_factor_verify",
    "accounts:two_factor_setup",
    # Enrolling is a sensitive action: a user who must enrol may need to re-confirm their password first.
    "accounts:step_up",
    "portal:health",
}


def _url_name(request) -> str | None:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    return match.view_name


class SessionTimeoutMiddleware:
    """Idle and absolute session timeouts, on top of the cookie's own expiry."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = timezone.now().timestamp()
            reason = session_timed_out(session=request.session, now=now)
            if reason:
                logout(request)
                if not request.path_info.startswith("/api/"):
                    messages.info(request, "Your session has ended. Please sign in again.")
                    return redirect("accounts:login")
            else:
                session_seen(session=request.session, now=now)
        return self.get_response(request)


class RequireTwoFactorMiddleware:
    """No page of a privileged user is reachable until the session is OTP-verified."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and not user.is_verified() and two_factor_required(user):
            name = _url_name(request)
            if name not in TWO_FACTOR_EXEMPT and not request.path_info.startswith("/static/"):
                if request.path_info.startswith("/api/"):
                    return JsonResponse({"detail": "Two-factor verification required."}, status=403)
                if user_has_confirmed_device(user=user):
                    return redirect("accounts:two_factor_verify")
                return redirect("accounts:two_factor_setup")
        return self.get_response(request)


class NoStoreForSignedInMiddleware:
    """Pages for a signed-in user carry account data: never cache them anywhere."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.user.is_authenticated or request.path_info.startswith("/accounts/"):
            add_never_cache_headers(response)
        return response
