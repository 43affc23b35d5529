"""Who may reach every route. tests/test_access_table.py fails on any route missing here.

Each entry: the URL name, how to build its arguments from the personas, and
the personas allowed. Everyone else must be turned away: anonymous users are
sent to sign-in (302) or refused (401/403), signed-in users without the role
get 403 or 404.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

ANYONE = frozenset({"anonymous", "alice", "bob", "ivan", "olga", "trent"})
SIGNED_IN = ANYONE - {"anonymous"}
OPERATORS = frozenset({"olga"})
CUSTOMERS = frozenset({"alice", "bob"})


@dataclass(frozen=True)
class Route:
    allowed: frozenset[str]
    kwargs: Callable[[dict], dict] = field(default=lambda people: {})
    method: str = "GET"
    # Routes that only accept POST answer GET with 405 for everyone; say so.
    get_not_allowed: bool = False
    # Public pages that redirect signed-in users elsewhere are fine for all.
    note: str = ""


def _alice_account(people):
    return {"account_id": people["alice"].customer_account.pk}


ROUTES: dict[str, Route] = {
    "portal:root": Route(ANYONE, note="redirects to sign-in or home"),
    "portal:health": Route(ANYONE),
    "portal:robots": Route(ANYONE),
    "portal:home": Route(ANYONE, note="redirects to the role's home"),
    "portal:customer_home": Route(CUSTOMERS),
    "portal:customer_activity": Route(CUSTOMERS),
    "portal:installer_home": Route(frozenset({"ivan"})),
    "portal:developer_home": Route(frozenset({"trent"})),
    "portal:operator_home": Route(OPERATORS),
    "portal:operator_customers": Route(OPERATORS),
    "portal:operator_customer_detail": Route(OPERATORS, kwargs=_alice_account),
    "portal:operator_audit": Route(OPERATORS),
    "accounts:login": Route(ANYONE),
    "accounts:logout": Route(SIGNED_IN, get_not_allowed=True),
    "accounts:logout_everywhere": Route(SIGNED_IN, get_not_allowed=True),
    "accounts:security": Route(SIGNED_IN),
    "accounts:two_factor_verify": Route(SIGNED_IN),
    "accounts:two_factor_setup": Route(SIGNED_IN),
    "accounts:backup_codes": Route(SIGNED_IN, get_not_allowed=True),
    "accounts:totp_remove": Route(SIGNED_IN, kwargs=lambda p: {"device_id": 999999}, get_not_allowed=True),
    "accounts:step_up": Route(SIGNED_IN),
    "accounts:password_change": Route(SIGNED_IN),
    "accounts:password_reset": Route(ANYONE),
    "accounts:password_reset_done": Route(ANYONE),
    "accounts:password_reset_confirm": Route(ANYONE, kwargs=lambda p: {"uidb64": "MQ", "token": "set-password"}),
    "accounts:password_reset_complete": Route(ANYONE),
    # The Django admin: staff with a verified second factor only (no persona is staff).
    "admin:*": Route(frozenset()),
}
