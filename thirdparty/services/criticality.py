"""Which DRLC criticality levels a third party may send to a device (SO-C2, SO-C13).

One rule, in one place: levels 1-6 are open to any application with a control consent;
7 (emergency), 8 (planned outage) and 9 (service disconnect) speak for the utility, so an
application uses them only after an admin granted them, with a fresh step-up (the view)
and a recorded reason (here). Every refusal and every grant is in the audit trail.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from amiportal.accounts.roles import Role, user_has_role
from amiportal.audit.services import audit_append
from han.drlc import CRITICALITY_LEVELS, UTILITY_ONLY_CRITICALITIES
from thirdparty.models import Consent, ThirdPartyApplication

OPEN_CRITICALITIES = frozenset(CRITICALITY_LEVELS) - UTILITY_ONLY_CRITICALITIES


class CriticalityNotGranted(Exception):
    """The application asked for a criticality level its registration does not grant."""

    def __init__(self, *, criticality: int, allowed: frozenset[int]) -> None:
        self.criticality = criticality
        self.allowed = allowed
        label = CRITICALITY_LEVELS.get(criticality, "unknown")
        super().__init__(
            f"Criticality {criticality} ({label}) is reserved for the utility and not granted to this application;"
            f" it may use {', '.join(str(level) for level in sorted(allowed))}. Nothing was sent."
        )


def application_criticalities(*, application: ThirdPartyApplication) -> frozenset[int]:
    """The criticality levels the application may put in a load-control event."""
    granted = {level for level in application.granted_utility_criticalities or [] if level in UTILITY_ONLY_CRITICALITIES}
    return OPEN_CRITICALITIES | frozenset(granted)


def load_control_criticality_check(*, consent: Consent, criticality: int, target: str) -> None:
    """Refuse (audited, nothing queued) an event whose criticality the consent's application was not granted."""
    allowed = application_criticalities(application=consent.application)
    if criticality in allowed:
        return
    refusal = CriticalityNotGranted(criticality=criticality, allowed=allowed)
    audit_append(
        action="thirdparty.device_request_refused",
        actor_label=f"thirdparty:{consent.application.client_id}",
        target=target,
        customer_account_id=consent.account_id,
        payload={"consent_id": consent.pk, "reason": "criticality not granted", "criticality": criticality},
    )
    raise refusal


def application_criticalities_grant(*, application: ThirdPartyApplication, levels: set[int], reason: str, actor) -> ThirdPartyApplication:
    """Set which utility-only levels (7-9) the application may use. Admins only, with a reason; audited either way.

    Not one atomic block: a refused attempt's audit entry must outlive the refusal.
    """
    target = f"thirdparty_application:{application.pk}"
    wanted = sorted({int(level) for level in levels})
    if not user_has_role(actor, Role.ADMIN):
        audit_append(
            action="thirdparty.criticality_grant_refused",
            actor=actor,
            target=target,
            payload={"levels": wanted, "reason": "only an admin grants utility-only criticality levels"},
        )
        raise PermissionDenied("Only an admin may grant utility-only criticality levels.")
    if not set(wanted) <= UTILITY_ONLY_CRITICALITIES:
        raise ValidationError("Only the utility-only levels 7, 8 and 9 are granted; 1 to 6 are open to every control consent.")
    if not reason.strip():
        raise ValidationError("Give the reason for this grant; it is recorded in the audit trail.")
    with transaction.atomic():
        return _grant(application=application, wanted=wanted, reason=reason.strip(), actor=actor, target=target)


def _grant(*, application: ThirdPartyApplication, wanted: list[int], reason: str, actor, target: str) -> ThirdPartyApplication:
    application = ThirdPartyApplication.objects.select_for_update(no_key=True).get(pk=application.pk)
    previous = sorted(application.granted_utility_criticalities or [])
    application.granted_utility_criticalities = wanted
    application.save(update_fields=["granted_utility_criticalities"])
    audit_append(
        action="thirdparty.criticalities_granted",
        actor=actor,
        target=target,
        payload={"from": previous, "to": wanted, "reason": reason},
    )
    return application
