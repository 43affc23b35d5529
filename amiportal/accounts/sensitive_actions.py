"""The one list of actions that need a fresh second factor (or password) first.

Each entry names the action, says in plain words what it does (the step-up page
shows it), and lists the URL names whose views enforce it with
``@step_up_required("<action>")`` (or, for a check needed only for some submissions,
``step_up_redirect(request, "<action>")``) and the services those views call.
tests/test_step_up_registry.py walks this list: every listed route refuses
without a fresh check and works with one, and every route that asks for a
fresh check is listed here. Adding a sensitive action means adding it here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SensitiveAction:
    description: str
    url_names: tuple[str, ...]
    services: tuple[str, ...]
    # False: looking at the page is free, only submitting it needs the fresh check.
    guards_get: bool = True
    # Set when the route needs the check only for some submissions: the view calls
    # ``step_up_redirect(request, "<action>")`` in that case instead of using the decorator.
    only_when: str = ""


SENSITIVE_ACTIONS: dict[str, SensitiveAction] = {
    "two_factor.enrol": SensitiveAction(
        description="add an authenticator app to your account",
        url_names=("accounts:two_factor_setup",),
        services=("amiportal.accounts.services.two_factor.totp_enrolment_confirm",),
    ),
    "two_factor.remove": SensitiveAction(
        description="remove an authenticator app from your account",
        url_names=("accounts:totp_remove",),
        services=("amiportal.accounts.services.two_factor.totp_device_remove",),
    ),
    "two_factor.backup_codes": SensitiveAction(
        description="make new backup codes (the old ones stop working)",
        url_names=("accounts:backup_codes",),
        services=("amiportal.accounts.services.two_factor.backup_codes_generate",),
    ),
    "han.device_add": SensitiveAction(
        description="add a device to your home's network",
        url_names=("han:customer_device_add",),
        services=("han.services.commissioning.device_commission",),
    ),
    "han.device_remove": SensitiveAction(
        description="remove a device from your home's network and destroy its key",
        url_names=("han:customer_device_remove", "han:installer_device_remove"),
        services=("han.services.commissioning.device_remove",),
    ),
    "han.key_restore": SensitiveAction(
        description="move a home's network to another gateway and restore its escrowed keys there",
        url_names=("han:operator_network_replace",),
        services=("han.services.networks.coordinator_replace",),
    ),
    "thirdparty.application_credentials": SensitiveAction(
        description="change your application's redirect URIs or signing key",
        url_names=("thirdparty:developer_application",),
        services=("thirdparty.services.registration.application_update",),
        guards_get=False,
    ),
    "thirdparty.webhook": SensitiveAction(
        description="change where your application's event notifications are sent, and its webhook signing secret",
        url_names=("thirdparty:developer_webhook", "thirdparty:developer_webhook_secret_rotate"),
        services=("thirdparty.services.webhooks.webhook_configure", "thirdparty.services.webhooks.webhook_secret_rotate"),
    ),
    "thirdparty.grant_device_control": SensitiveAction(
        description="let a company control devices in your home",
        url_names=("thirdparty:authorize",),
        services=("thirdparty.services.consent.consent_grant",),
        only_when="the consent includes control of devices at home (scopes.STEP_UP_KINDS)",
    ),
    "thirdparty.client_secret": SensitiveAction(
        description="make a new client secret for your application (the old one stops working)",
        url_names=("thirdparty:developer_secret_rotate",),
        services=("thirdparty.services.registration.application_secret_rotate",),
    ),
    "thirdparty.grant_utility_criticalities": SensitiveAction(
        description="let a company send utility-only demand-response levels (emergency, planned outage, disconnect)",
        url_names=("thirdparty:operator_application_criticalities",),
        services=("thirdparty.services.criticality.application_criticalities_grant",),
        only_when="the user is an admin: operators are refused before any check (views/operator.py)",
    ),
}


def sensitive_action(name: str) -> SensitiveAction:
    """The registry entry; an unknown name is a programming error, caught at import time."""
    try:
        return SENSITIVE_ACTIONS[name]
    except KeyError:
        raise LookupError(f"{name!r} is not in amiportal/accounts/sensitive_actions.py: add it to the list first") from None
