"""Sign-in and account security, in the customer's words."""

from __future__ import annotations

from amiportal.portal.activity.names import Event, Names

AREAS = ("auth", "two_factor")
FALLBACK = "A sign-in or security setting on your account changed."

_LOGOUT_REASONS = {
    "user": "You signed out",
    "two_factor_locked": "You were signed out after too many wrong codes",
    "step_up_locked": "You were signed out after too many wrong answers when confirming it was you",
}
_METHODS = {"otp": "your authenticator code", "password": "your password"}
_DEVICES = {"totp": "your authenticator app", "backup_code": "a backup code"}


def _from(event: Event) -> str:
    ip = event.payload.get("ip")
    return f" from {ip}" if isinstance(ip, str) and ip and ip != "unknown" else ""


def login_succeeded(event: Event, names: Names) -> str:
    required = event.payload.get("second_factor_required")
    if required is True:
        return f"You signed in with your password{_from(event)}; your authenticator code was asked for next."
    if required is False:
        return f"You signed in with your password{_from(event)} (two-step sign-in is not set up)."
    return f"You signed in{_from(event)}."


def login_failed(event: Event, names: Names) -> str:
    return f"Someone tried to sign in to your account with a wrong password{_from(event)}."


def login_locked(event: Event, names: Names) -> str:
    return f"Someone tried to sign in to your account{_from(event)} while sign-in was paused after too many wrong passwords."


def logout(event: Event, names: Names) -> str:
    return _LOGOUT_REASONS.get(event.payload.get("reason"), "You were signed out") + "."


def step_up(ok: bool):
    def phrase(event: Event, names: Names) -> str:
        method = _METHODS.get(event.payload.get("method"), "your password or code")
        if ok:
            return f"You confirmed it was you with {method} before a sensitive change."
        return f"A wrong answer was given for {method} when confirming it was you before a sensitive change."

    return phrase


def two_factor_verified(event: Event, names: Names) -> str:
    return f"You finished signing in with {_DEVICES.get(event.payload.get('device'), 'your second factor')}."


def backup_codes(event: Event, names: Names) -> str:
    count = event.payload.get("count")
    amount = f"{count} " if isinstance(count, int) else ""
    return f"You made a new set of {amount}backup codes; the old ones no longer work."


PHRASES = {
    "auth.login_succeeded": login_succeeded,
    "auth.login_failed": login_failed,
    "auth.login_locked": login_locked,
    "auth.logout": logout,
    "auth.logout_everywhere": lambda event, names: "You signed out on every device.",
    "auth.password_changed": lambda event, names: "Your password was changed.",
    "auth.password_reset": lambda event, names: "Your password was reset with a link sent to your email address.",
    "auth.step_up_succeeded": step_up(True),
    "auth.step_up_failed": step_up(False),
    "two_factor.enrolled": lambda event, names: "You set up an authenticator app for two-step sign-in.",
    "two_factor.removed": lambda event, names: "You removed an authenticator app from your account.",
    "two_factor.verified": two_factor_verified,
    "two_factor.failed": lambda event, names: "A wrong authenticator code was entered after your password during sign-in.",
    "two_factor.backup_codes_generated": backup_codes,
}
