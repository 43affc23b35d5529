"""Password sign-in, sign-out, and "log out everywhere"."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model, login, logout
from django.db.models import F
from django.utils import timezone

from amiportal.accounts.client_address import client_address
from amiportal.accounts.roles import two_factor_required
from amiportal.accounts.services.sign_in_throttle import sign_in_audit_target, sign_in_failed, sign_in_succeeded, sign_in_wait
from amiportal.audit.services import audit_append

SESSION_LOGIN_AT = "_ami_login_at"
SESSION_SEEN_AT = "_ami_seen_at"


@dataclass(frozen=True)
class LoginOutcome:
    user: object | None
    locked_seconds: int = 0


def customer_account_id_for(user) -> int | None:
    account = getattr(user, "customer_account", None) if user is not None else None
    return account.pk if account is not None else None


def audit_user_event(*, user, action: str, payload: dict | None = None) -> None:
    """An audit entry about a user's own account, visible to them if they are a customer."""
    audit_append(action=action, actor=user, target=f"user:{user.pk}", customer_account_id=customer_account_id_for(user), payload=payload)


def _account_named(email: str) -> tuple[int | None, int | None]:
    """The user and customer account an attempt names, so the account holder sees it in their activity.

    One query whether or not the email exists, and nothing of it reaches the person signing in.
    """
    row = get_user_model().objects.filter(email=email).values_list("pk", "customer_account__id").first()
    return (row[0], row[1]) if row else (None, None)


def login_attempt(*, request, email: str, password: str) -> LoginOutcome:
    email = email.strip().lower()
    address = client_address(request)
    wait = sign_in_wait(email=email, address=address)
    if wait is not None:
        audit_append(
            action="auth.login_locked",
            actor_label="anonymous",
            target=sign_in_audit_target(email=email),
            customer_account_id=_account_named(email)[1],
            payload={"ip": address, "wait_seconds": wait.seconds, "limit": wait.limit},
        )
        return LoginOutcome(user=None, locked_seconds=wait.seconds)
    user = authenticate(request, email=email, password=password)
    if user is None:
        sign_in_failed(email=email, address=address)
        known, account_id = _account_named(email)
        audit_append(
            action="auth.login_failed",
            actor_label="anonymous",
            target=f"user:{known}" if known else "unknown account",
            customer_account_id=account_id,
            payload={"ip": address},
        )
        return LoginOutcome(user=None)
    sign_in_succeeded(email=email, address=address)
    login(request, user)  # Django cycles the session key here: no fixation.
    now = timezone.now().timestamp()
    request.session[SESSION_LOGIN_AT] = now
    request.session[SESSION_SEEN_AT] = now
    # The true state: whether this sign-in still needs a code (a hard-coded "pending: True" misled customers).
    payload = {"ip": address, "second_factor_required": two_factor_required(user)}
    audit_user_event(user=user, action="auth.login_succeeded", payload=payload)
    return LoginOutcome(user=user)


def logout_current(*, request, reason: str = "user") -> None:
    user = request.user if request.user.is_authenticated else None
    if user is not None:
        audit_user_event(user=user, action="auth.logout", payload={"reason": reason})
    logout(request)


def sessions_logout_everywhere(*, request) -> None:
    user = request.user
    get_user_model().objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
    audit_user_event(user=user, action="auth.logout_everywhere")
    logout(request)


# Activity is recorded at this granularity: writing the session row on every request would
# cost a database write per page view, while the idle timeout (minutes) needs no finer clock.
# A session may therefore end up to this many seconds before its idle limit, never after.
SESSION_SEEN_GRANULARITY_SECONDS = 60


def session_seen(*, session, now: float) -> None:
    """Note activity on a live session, writing the session only when the last note is stale."""
    seen_at = session.get(SESSION_SEEN_AT)
    if seen_at is None or now - seen_at >= SESSION_SEEN_GRANULARITY_SECONDS:
        session[SESSION_SEEN_AT] = now


def session_timed_out(*, session, now: float) -> str | None:
    login_at = session.get(SESSION_LOGIN_AT)
    seen_at = session.get(SESSION_SEEN_AT)
    if login_at is None or seen_at is None:
        return "missing"
    if now - seen_at > settings.AMI_SESSION_IDLE_SECONDS:
        return "idle"
    if now - login_at > settings.AMI_SESSION_ABSOLUTE_SECONDS:
        return "absolute"
    return None
