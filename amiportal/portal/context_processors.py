from django.urls import reverse

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


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "role_label": ""}
    if not user.is_verified() and any(role in user_roles(user) for role in (Role.INSTALLER, Role.OPERATOR, Role.ADMIN)):
        return {"nav_items": [], "role_label": ""}
    items, seen = [], set()
    for role in user_roles(user):
        for label, name in _NAV.get(role, []):
            if name not in seen:
                seen.add(name)
                items.append({"label": label, "url": reverse(name), "active": request.path == reverse(name)})
    items.append({"label": "Security", "url": reverse("accounts:security"), "active": request.path == reverse("accounts:security")})
    role = primary_role(user)
    return {"nav_items": items, "role_label": ROLE_LABELS.get(role, "") if role else ""}
