from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Exists, OuterRef, StringAgg, Subquery, Value

from amiportal.accounts.models import BackupCodeDevice, SealedTOTPDevice
from amiportal.accounts.roles import roles_from_group_names
from amiportal.compiled_queries import CompiledQuery, model_columns, model_from_row

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
    from amiportal.notifications.selectors import unread_count_annotation

    unread = unread_count_annotation()
    return (
        user_model._default_manager.filter(pk=user_id)
        .annotate(_ami_groups=Subquery(groups), _ami_backup=Exists(backup), _ami_totp=Exists(totp), **unread)
        .order_by()
        .values_list(*model_columns(user_model), "_ami_groups", "_ami_backup", "_ami_totp", *unread)
    )


_USER_WITH_FACTS = CompiledQuery(_user_with_facts, "user_id")
_FACTS = 4  # the columns after the user's own: group names, the two device flags, the unread count


def user_for_request(*, user_id):
    """The signed-in user of a request, with what every page asks about them, in one query.

    The row itself, which roles they hold, whether they have a confirmed second factor and (for
    the header) their unread notifications: one query instead of four, compiled once per process
    (building its subqueries cost more than running them). Nothing is cached between requests:
    every request reads them again.
    """
    try:
        user_id = int(user_id)
    except (TypeError, ValueError):
        return None
    from amiportal.notifications.selectors import unread_count_set

    rows = _USER_WITH_FACTS.rows(user_id=user_id)
    if not rows:
        return None
    row = rows[0]
    user = model_from_row(get_user_model(), DEFAULT_DB_ALIAS, row[:-_FACTS])
    groups, backup, totp, unread = row[-_FACTS:]
    names = set(groups.split(",")) if groups else set()
    user._ami_roles = roles_from_group_names(names, is_superuser=user.is_superuser)
    setattr(user, _CONFIRMED_DEVICE, bool(backup or totp))
    unread_count_set(user=user, count=unread)
    return user


def totp_devices_for_user(*, user):
    return SealedTOTPDevice.objects.filter(user=user, confirmed=True).order_by("created_at")


def backup_codes_remaining(*, user) -> int:
    device = BackupCodeDevice.objects.filter(user=user, confirmed=True).first()
    return device.remaining() if device else 0
