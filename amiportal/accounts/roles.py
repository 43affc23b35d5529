"""Roles are Django groups with permissions; code asks about roles only here."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CUSTOMER = "customer"
    INSTALLER = "installer"
    OPERATOR = "operator"
    THIRD_PARTY_DEVELOPER = "third_party_developer"
    ADMIN = "admin"


ROLE_LABELS = {
    Role.CUSTOMER: "Customer",
    Role.INSTALLER: "Installer",
    Role.OPERATOR: "Utility operator",
    Role.THIRD_PARTY_DEVELOPER: "Third-party developer",
    Role.ADMIN: "Administrator",
}

# app_label.codename for every permission a role carries.
ROLE_PERMISSIONS: dict[Role, list[str]] = {
    Role.CUSTOMER: ["accounts.use_customer_portal"],
    Role.INSTALLER: ["accounts.commission_han_devices"],
    Role.OPERATOR: [
        "accounts.operate_utility",
        "accounts.view_customer_data",
        "audit.view_audit_trail",
        "premises.view_premise",
        "premises.view_meter",
        "premises.view_customeraccount",
        "premises.view_serviceagreement",
    ],
    Role.THIRD_PARTY_DEVELOPER: ["accounts.develop_third_party_apps"],
    Role.ADMIN: [
        "accounts.operate_utility",
        "accounts.view_customer_data",
        "audit.view_audit_trail",
        "accounts.view_user",
        "accounts.change_user",
        "premises.view_premise",
        "premises.change_premise",
        "premises.add_premise",
        "premises.view_meter",
        "premises.change_meter",
        "premises.add_meter",
        "premises.view_customeraccount",
        "premises.change_customeraccount",
        "premises.add_customeraccount",
        "premises.view_serviceagreement",
        "premises.change_serviceagreement",
        "premises.add_serviceagreement",
    ],
}

# Roles whose every page is closed until the session is OTP-verified.
TWO_FACTOR_ROLES = {Role.INSTALLER, Role.OPERATOR, Role.ADMIN}


def roles_sync() -> None:
    from django.contrib.auth.models import Group, Permission

    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".")
            perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if perm is not None:
                wanted.append(perm)
        group.permissions.set(wanted)


def user_roles(user) -> set[Role]:
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_ami_roles", None)
    if cached is None:
        cached = roles_from_group_names(set(user.groups.values_list("name", flat=True)), is_superuser=user.is_superuser)
        user._ami_roles = cached
    return cached


def roles_from_group_names(names: set[str], *, is_superuser: bool) -> set[Role]:
    """The roles a user holds, from their group names: the one rule (a superuser is an administrator)."""
    roles = {role for role in Role if role.value in names}
    if is_superuser:
        roles.add(Role.ADMIN)
    return roles


def user_has_role(user, role: Role) -> bool:
    return role in user_roles(user)


def role_assign(*, user, role: Role) -> None:
    from django.contrib.auth.models import Group

    group, _ = Group.objects.get_or_create(name=role.value)
    user.groups.add(group)
    if hasattr(user, "_ami_roles"):
        del user._ami_roles


def two_factor_mandatory(user) -> bool:
    """Privileged roles and staff may never sign in on a password alone."""
    return user.is_authenticated and bool(user.is_staff or user.is_superuser or user_roles(user) & TWO_FACTOR_ROLES)


def two_factor_required(user) -> bool:
    """Mandatory for privileged roles and staff; for anyone else, once they have enrolled."""
    if not user.is_authenticated:
        return False
    if two_factor_mandatory(user):
        return True
    from amiportal.accounts.selectors import user_has_confirmed_device

    return user_has_confirmed_device(user=user)


def primary_role(user) -> Role | None:
    roles = user_roles(user)
    for role in (Role.ADMIN, Role.OPERATOR, Role.INSTALLER, Role.THIRD_PARTY_DEVELOPER, Role.CUSTOMER):
        if role in roles:
            return role
    return None
