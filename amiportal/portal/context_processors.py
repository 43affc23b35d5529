import functools

from django.urls import get_script_prefix, reverse

from amiportal.accounts.roles import ROLE_LABELS, Role, primary_role, user_roles

_NAV = {
    Role.CUSTOMER: [
        ("My home", "portal:customer_home"),
        ("Home devices", "han:customer_devices"),
        ("Notifications", "notifications:inbox"),
        ("Account activity", "portal:customer_activity"),
        ("Who can see my data", "thirdparty:customer_access"),
    ],
    Role.INSTALLER: [("Installer home", "portal:installer_home"), ("Work orders", "han:installer_work_orders")],
    Role.OPERATOR: [
        ("Operations", "portal:operator_home"),
        ("Customers", "portal:operator_customers"),
        ("Audit trail", "portal:operator_audit"),
        ("HAN networks", "han:operator_networks"),
        ("Tariffs", "billing:operator_tariffs"),
        ("Grid", "premises:operator_grid"),
        ("Third parties", "thirdparty:operator_registry"),
        ("Notifications", "notifications:operator_statistics"),
    ],
    Role.THIRD_PARTY_DEVELOPER: [
        ("Developer home", "portal:developer_home"),
        ("Applications", "thirdparty:developer_applications"),
        ("API reference", "thirdparty:api_docs"),
    ],
    Role.ADMIN: [
        ("Operations", "portal:operator_home"),
        ("Customers", "portal:operator_customers"),
        ("Audit trail", "portal:operator_audit"),
        ("HAN networks", "han:operator_networks"),
        ("Tariffs", "billing:operator_tariffs"),
        ("Grid", "premises:operator_grid"),
        ("Third parties", "thirdparty:operator_registry"),
        ("Notifications", "notifications:operator_statistics"),
        ("Administration", "admin:index"),
    ],
}


@functools.cache
def _nav_links(roles: frozenset[Role], script_prefix: str) -> tuple[tuple[str, str], ...]:
    """(label, url) of a set of roles' menu: reversed once per process, not on every page (URLs do not depend on the request)."""
    links, seen = [], set()
    for role in (role for role in Role if role in roles):
        for label, name in _NAV.get(role, []):
            if name not in seen:
                seen.add(name)
                links.append((label, reverse(name)))
    links.append(("Security", reverse("accounts:security")))
    return tuple(links)


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "role_label": ""}
    roles = user_roles(user)
    if not user.is_verified() and any(role in roles for role in (Role.INSTALLER, Role.OPERATOR, Role.ADMIN)):
        return {"nav_items": [], "role_label": ""}
    path = request.path
    items = [{"label": label, "url": url, "active": path == url} for label, url in _nav_links(frozenset(roles), get_script_prefix())]
    role = primary_role(user)
    return {"nav_items": items, "role_label": ROLE_LABELS.get(role, "") if role else ""}
