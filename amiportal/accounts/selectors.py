from __future__ import annotations

import functools

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, StringAgg, Subquery, Value

from amiportal.accounts.models import BackupCodeDevice, SealedTOTPDevice
from amiportal.accounts.roles import roles_from_group_names

# Per-request facts kept on the user object the request loaded (never across requests: the next
# request loads them again, so a revoked role or a removed second factor counts at once).
_CONFIRMED_DEVICE = "_ami_has_confirmed_device"


def _confirmed_devices(user_ref):
    """Both device tables' confirmed rows of ``user_ref`` (a user, an id or an OuterRef): the one rule for "has a second factor"."""
    return (
        BackupCodeDevice.objects.filter(user=user_ref, confirmed=True).values("pk"),
        SealedTOTPDevice.objects.filter(user=user_ref, confirmed=True).values("pk"),
    )


def user_has_confirmed_device(*, user) -> bool:
    """Whether the user has a confirmed second factor: one query over both device tables (it runs on every page).

    A user the request loaded (``user_for_request``) carries the answer from that same query.
    """
    if not user.is_authenticated:
        return False
    known = getattr(user, _CONFIRMED_DEVICE, None)
    if known is not None:
        return known
    backup, totp = _confirmed_devices(user)
    return backup.union(totp, all=True).exists()


def second_factor_facts_forget(*, user) -> None:
    """Drop the request's answer after the devices changed (the services that change them call this)."""
    if getattr(user, _CONFIRMED_DEVICE, None) is not None:
        delattr(user, _CONFIRMED_DEVICE)


def _user_with_facts(user_id):
    """The ORM query ``user_for_request`` runs: the user row, their group names, the two device flags, the unread count."""
    from amiportal.notifications.selectors import unread_count_annotation

    user_model = get_user_model()
    backup, totp = _confirmed_devices(OuterRef("pk"))
    # Group names never hold a comma (they are Role values).
    groups = (
        user_model.groups.through.objects.filter(user_id=OuterRef("pk"))
        .order_by()
        .values("user_id")
        .annotate(names=StringAgg("group__name", delimiter=Value(",")))
        .values("names")
    )
    return (
        user_model._default_manager.filter(pk=user_id)
        .annotate(_ami_groups=Subquery(groups), _ami_backup=Exists(backup), _ami_totp=Exists(totp), **unread_count_annotation())
        .order_by()
    )


_SENTINEL_ID = -7_291_044_615


@functools.cache
def _user_with_facts_sql() -> tuple[str, tuple, int]:
    """``_user_with_facts`` compiled once per process (building its subqueries cost more than running them).

    The SQL, its parameters and where the user id goes among them.
    """
    sql, params = _user_with_facts(_SENTINEL_ID).query.sql_with_params()
    return sql, tuple(params), params.index(_SENTINEL_ID)


def user_for_request(*, user_id):
    """The signed-in user of a request, with what every page asks about them, in one query.

    The row itself, which roles they hold, whether they have a confirmed second factor and (for
    the header) their unread notifications: one query instead of four. Nothing is cached between
    requests: every request reads them again.
    """
    try:
        user_id = int(user_id)
    except (TypeError, ValueError):
        return None
    sql, params, at = _user_with_facts_sql()
    found = list(get_user_model()._default_manager.raw(sql, (*params[:at], user_id, *params[at + 1 :])))
    if not found:
        return None
    user = found[0]
    names = set(user._ami_groups.split(",")) if user._ami_groups else set()
    user._ami_roles = roles_from_group_names(names, is_superuser=user.is_superuser)
    setattr(user, _CONFIRMED_DEVICE, bool(user._ami_backup or user._ami_totp))
    return user


def totp_devices_for_user(*, user):
    return SealedTOTPDevice.objects.filter(user=user, confirmed=True).order_by("created_at")


def backup_codes_remaining(*, user) -> int:
    device = BackupCodeDevice.objects.filter(user=user, confirmed=True).first()
    return device.remaining() if device else 0
