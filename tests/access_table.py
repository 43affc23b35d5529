"""Who may reach every route. tests/test_access_table.py fails on any route missing here.

Each entry: the URL name, how to build its arguments from the personas, and
the personas allowed. Everyone else must be turned away: anonymous users are
sent to sign-in (302) or refused (401/403), signed-in users without the role
get 403 or 404. Personas in ``not_found_for`` must get exactly 404: an outsider
with the right role (Peter, who once lived in Alice's home; Dora, a developer of
another organisation) must not learn that the object exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

ANYONE = frozenset({"anonymous", "alice", "bob", "peter", "ivan", "olga", "trent", "dora"})
SIGNED_IN = ANYONE - {"anonymous"}
OPERATORS = frozenset({"olga"})
CUSTOMERS = frozenset({"alice", "bob", "peter"})
DEVELOPERS = frozenset({"trent", "dora"})
# Customers who never lived there, and the one who did before Alice: Alice's things are 404 to them.
NOT_ALICES = frozenset({"bob", "peter"})
# Usage is read through the reader's own occupancy windows: Alice for hers, Peter for his earlier period.
READERS_OF_ALICES_HOME = frozenset({"alice", "peter"})


@dataclass(frozen=True)
class Route:
    allowed: frozenset[str]
    kwargs: Callable[[dict], dict] = field(default=lambda people: {})
    method: str = "GET"
    # Routes that only accept POST answer GET with 405 for everyone; say so.
    get_not_allowed: bool = False
    # Public pages that redirect signed-in users elsewhere are fine for all.
    note: str = ""
    # Personas refused with exactly 404 (for POST-only routes, on a POST).
    not_found_for: frozenset[str] = frozenset()


def _alice_account(people):
    return {"account_id": people["alice"].customer_account.pk}


def _han():
    from tests.han import world

    return world


def _thirdparty():
    from tests.thirdparty import world

    return world


def _tp_application(people):
    return _thirdparty().application_kwargs(people)


def _tp_consent(people):
    return _thirdparty().consent_kwargs(people)


def _alice_premise(people):
    return {"premise_id": people["alice"].customer_account.agreements.get().premise_id}


def _alice_meter(people):
    return {"meter_id": people["alice"].customer_account.agreements.get().premise.meters.get().pk}


def _alices_first_bill(people):
    """Alice's first billing cycle, with a day of readings (a cycle without any readings is not a bill)."""
    from billing.models import IntervalReading
    from billing.services.ingest import local_day_bounds
    from tests.billing.helpers import ingest, readings

    agreement = people["alice"].customer_account.agreements.get()
    meter = agreement.premise.meters.get()
    if not IntervalReading.objects.filter(meter=meter).exists():
        ingest(readings(meter.serial_number, local_day_bounds(agreement.move_in, agreement.premise.timezone)[0]))
    return {"premise_id": agreement.premise_id, "first_day": agreement.move_in}


def _alice_premise_for_staff(people):
    return {"account_id": people["alice"].customer_account.pk, **_alice_premise(people)}


def _a_tariff(people):
    from billing.models import Tariff

    tariff, _ = Tariff.objects.get_or_create(code="ACCESS-TABLE", defaults={"name": "Access table tariff"})
    return {"tariff_id": tariff.pk}


def _alice_notification(people):
    import uuid

    from django.utils import timezone

    from amiportal.notifications.models import Notification

    alice = people["alice"]
    notification, _ = Notification.objects.get_or_create(
        kind="critical_peak",
        subject="access-table",
        period="declared",
        premise_id=_alice_premise(people)["premise_id"],
        defaults={
            "user": alice,
            "title": "A notice",
            "body": "Text",
            "display_text": "Text",
            "created_at": timezone.now(),
            "batch": uuid.uuid4(),
        },
    )
    return {"notification_id": notification.pk}


ROUTES: dict[str, Route] = {
    "portal:root": Route(ANYONE, note="redirects to sign-in or home"),
    "portal:health": Route(ANYONE),
    "portal:robots": Route(ANYONE),
    "portal:favicon": Route(ANYONE, note="redirects to the static icon"),
    "portal:home": Route(ANYONE, note="redirects to the role's home"),
    "portal:customer_home": Route(CUSTOMERS),
    "portal:customer_activity": Route(CUSTOMERS),
    "portal:installer_home": Route(frozenset({"ivan"})),
    "portal:developer_home": Route(DEVELOPERS),
    "portal:operator_home": Route(OPERATORS),
    "portal:operator_customers": Route(OPERATORS),
    "portal:operator_customer_detail": Route(OPERATORS, kwargs=_alice_account),
    "portal:operator_audit": Route(OPERATORS),
    "notifications:inbox": Route(CUSTOMERS),
    "notifications:history": Route(CUSTOMERS),
    "notifications:mark_read": Route(
        frozenset({"alice"}), kwargs=_alice_notification, method="POST", get_not_allowed=True, not_found_for=NOT_ALICES
    ),
    "notifications:mark_all_read": Route(CUSTOMERS, method="POST", get_not_allowed=True),
    "notifications:preferences": Route(CUSTOMERS, method="POST", get_not_allowed=True),
    "notifications:operator_statistics": Route(OPERATORS),
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
    # HAN (issue 4): installers only at premises with their open work order; customers only their own devices.
    "han:installer_work_orders": Route(frozenset({"ivan"})),
    "han:installer_work_order": Route(frozenset({"ivan"}), kwargs=lambda p: _han().work_order_kwargs(p)),
    "han:installer_device_retry": Route(frozenset({"ivan"}), kwargs=lambda p: _han().work_order_device_kwargs(p), get_not_allowed=True),
    "han:installer_device_install_code": Route(frozenset({"ivan"}), kwargs=lambda p: _han().work_order_device_kwargs(p)),
    "han:installer_device_remove": Route(
        frozenset({"ivan"}), kwargs=lambda p: _han().work_order_device_kwargs(p), get_not_allowed=True, note="POST, step-up"
    ),
    "han:installer_device_status": Route(frozenset({"ivan"}), kwargs=lambda p: _han().device_kwargs(p)),
    "han:customer_devices": Route(CUSTOMERS),
    "han:customer_device_add": Route(CUSTOMERS, note="behind step-up: redirects to re-verify first"),
    "han:customer_device_remove": Route(
        frozenset({"alice"}), kwargs=lambda p: _han().device_kwargs(p), get_not_allowed=True, not_found_for=NOT_ALICES
    ),
    "han:customer_device_status": Route(frozenset({"alice"}), kwargs=lambda p: _han().device_kwargs(p), not_found_for=NOT_ALICES),
    "han:operator_networks": Route(OPERATORS),
    "han:operator_network": Route(OPERATORS, kwargs=lambda p: _han().network_kwargs(p), note="the reason form until access is opened"),
    "han:operator_area_command": Route(OPERATORS),
    "han:operator_area_command_send": Route(frozenset(), get_not_allowed=True, note="POST only, operators: confirm, then send"),
    "han:operator_area_request": Route(OPERATORS, kwargs=lambda p: _han().area_request_kwargs(p)),
    "han:operator_network_replace": Route(OPERATORS, kwargs=lambda p: _han().network_kwargs(p), get_not_allowed=True, note="POST, step-up"),
    # Usage and cost (billing): a customer's own premises only; others answer 404. Peter lived there before
    # Alice: he reaches the pages, and they hold only his own period (tests/billing/test_dashboard.py, occupancy).
    "billing:dashboard": Route(READERS_OF_ALICES_HOME, kwargs=_alice_premise, not_found_for=frozenset({"bob"})),
    "billing:download_csv": Route(READERS_OF_ALICES_HOME, kwargs=_alice_premise, note="the current month unless a range is given"),
    "billing:download_greenbutton": Route(READERS_OF_ALICES_HOME, kwargs=_alice_premise, note="the current month unless a range is given"),
    "billing:interval_data": Route(READERS_OF_ALICES_HOME, kwargs=_alice_premise, note="the current month unless a range is given"),
    # The home profile belongs to the current occupancy: Peter (who lived there before) and Bob get 404.
    "advice:home": Route(frozenset({"alice"}), kwargs=_alice_premise, not_found_for=NOT_ALICES),
    # Live demand is "now": only the household living there (Peter lived there before) reads it.
    "han:customer_live_demand": Route(frozenset({"alice"}), kwargs=_alice_premise, not_found_for=NOT_ALICES),
    # Past bills: the list is each reader's own (Peter's holds only his period); a bill is addressed by its first day,
    # and Alice's first bill began the day she moved in, so Peter (who had moved out) and Bob get 404.
    "billing:bills": Route(READERS_OF_ALICES_HOME, kwargs=_alice_premise, not_found_for=frozenset({"bob"})),
    "billing:bill": Route(frozenset({"alice"}), kwargs=_alices_first_bill, not_found_for=NOT_ALICES),
    "billing:bill_csv": Route(frozenset({"alice"}), kwargs=_alices_first_bill, not_found_for=NOT_ALICES),
    "billing:operator_usage": Route(OPERATORS, kwargs=_alice_premise_for_staff, note="redirects to the reason form until access is opened"),
    "billing:operator_critical_peak": Route(OPERATORS),
    # Operator tariff pages: terms, versions, premise tariff history and billing cycle (no usage shown).
    "billing:operator_tariffs": Route(OPERATORS),
    "billing:operator_tariff_new": Route(OPERATORS),
    "billing:operator_tariff": Route(OPERATORS, kwargs=_a_tariff),
    "billing:operator_tariff_version_new": Route(OPERATORS, kwargs=_a_tariff),
    "billing:operator_premise_tariff": Route(OPERATORS, kwargs=_alice_premise),
    "billing:operator_premise_tariff_assign": Route(frozenset(), kwargs=_alice_premise, get_not_allowed=True, note="POST only, operators"),
    "billing:operator_bill_cycle_set": Route(frozenset(), kwargs=_alice_premise, get_not_allowed=True, note="POST only, operators"),
    "billing:operator_meter_unit": Route(OPERATORS, kwargs=_alice_meter),
    "billing:operator_meter_unit_set": Route(frozenset(), kwargs=_alice_meter, get_not_allowed=True, note="POST only, operators"),
    "billing:api_ingest": Route(frozenset(), get_not_allowed=True, note="POST only, operators"),
    # Where premises sit on the grid (substation, feeder, transformer): operators only.
    "premises:operator_grid": Route(OPERATORS),
    "premises:operator_grid_import": Route(frozenset(), get_not_allowed=True, note="POST only, operators"),
    "premises:operator_grid_premise": Route(OPERATORS, kwargs=_alice_premise),
    # Third-party access (issue 5): developers register, customers consent, operators review.
    "thirdparty:developer_applications": Route(DEVELOPERS),
    "thirdparty:developer_register": Route(DEVELOPERS),
    "thirdparty:developer_application": Route(frozenset({"trent"}), kwargs=_tp_application, not_found_for=frozenset({"dora"})),
    "thirdparty:developer_secret_rotate": Route(
        frozenset({"trent"}), kwargs=_tp_application, get_not_allowed=True, not_found_for=frozenset({"dora"})
    ),
    "thirdparty:developer_webhook": Route(
        frozenset({"trent"}), kwargs=_tp_application, get_not_allowed=True, not_found_for=frozenset({"dora"})
    ),
    "thirdparty:developer_webhook_secret_rotate": Route(
        frozenset({"trent"}), kwargs=_tp_application, get_not_allowed=True, not_found_for=frozenset({"dora"})
    ),
    "thirdparty:developer_agreement": Route(DEVELOPERS),
    "thirdparty:api_docs": Route(ANYONE, note="public API reference"),
    "thirdparty:openapi": Route(ANYONE, note="public OpenAPI schema"),
    "thirdparty:operator_registry": Route(OPERATORS),
    "thirdparty:operator_application": Route(OPERATORS, kwargs=_tp_application),
    "thirdparty:operator_application_criticalities": Route(
        frozenset(), kwargs=_tp_application, note="admins only (superusers), after a step-up; operators get 403"
    ),
    "thirdparty:customer_access": Route(CUSTOMERS),
    "thirdparty:customer_access_log": Route(CUSTOMERS),
    "thirdparty:customer_consent_revoke": Route(frozenset({"alice"}), kwargs=_tp_consent, get_not_allowed=True, not_found_for=NOT_ALICES),
    "thirdparty:customer_consent_extend": Route(frozenset({"alice"}), kwargs=_tp_consent, not_found_for=NOT_ALICES),
    "thirdparty:authorize": Route(frozenset(), note="customers only, and only with a valid OAuth request: tests/thirdparty"),
    "thirdparty:token": Route(frozenset(), get_not_allowed=True, note="POST with client authentication"),
    "thirdparty:revoke_token": Route(frozenset(), get_not_allowed=True, note="POST with client authentication"),
    "thirdparty:authorization_server_metadata": Route(ANYONE, note="public RFC 8414 metadata"),
    # The Django admin: staff with a verified second factor only (no persona is staff).
    "admin:*": Route(frozenset()),
}

# The ESPI API (issue 5) answers only bearer tokens under a live consent: 401 to every persona's session.
ROUTES.update(
    {
        f"thirdparty:espi:{name}": Route(frozenset(), kwargs=lambda p, name=name: _thirdparty().espi_kwargs(p, name))
        for name in (
            *("read_service_status", "authorization_list", "authorization", "usage_point_list", "usage_point", "meter_reading_list"),
            *("meter_reading", "interval_block_list", "interval_block", "usage_summary_list", "reading_type", "batch_subscription"),
            *("device_list", "device_load_control", "device_status_read", "device_command"),
            *("subscription", "usage_summary", "reading_type_list", "device", "local_time_parameters_list"),
            *("local_time_parameters", "application_information_list", "application_information"),
        )
    }
)
