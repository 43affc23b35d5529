"""Consents follow occupancy (SO-C15, SO-T1): at move-out, device access to that home ends.

Data the customer shared stays theirs to share: the consent's data scopes go on, bounded
by the customer's own occupancy windows (``thirdparty.selectors.consent_windows``). Device
status and control reach equipment that now belongs to the next occupant, so they end.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from amiportal.audit.services import audit_append
from amiportal.premises.models import ServiceAgreement
from thirdparty.models import Consent, ConsentStatus
from thirdparty.scopes import DEVICE_KINDS
from thirdparty.services.tokens import tokens_revoke_for_consent


@transaction.atomic
def consents_end_device_access_at_move_out(*, agreement: ServiceAgreement, actor) -> int:
    """End the device scopes of the account's live consents that cover the premise. Returns how many changed.

    A consent keeps its data scopes (it is ``authorization.updated``); one that held only
    device scopes has nothing left and ends (``authorization.revoked``, its tokens die).
    The device scopes end for every premise of such a consent, not only this one: the
    customer consents again for a home they still live in, rather than the company
    keeping control of a home on a consent that no longer matches who lives where.
    """
    from thirdparty.services.webhooks import webhook_event_emit

    consents = (
        Consent.objects.select_for_update(no_key=True)
        .filter(account_id=agreement.account_id, premises=agreement.premise_id, status=ConsentStatus.ACTIVE)
        .select_related("application")
        .order_by("pk")
    )
    now = timezone.now()
    changed = 0
    for consent in consents:
        ended_kinds = sorted(set(consent.data_kinds) & DEVICE_KINDS)
        if not ended_kinds:
            continue
        consent.data_kinds = sorted(set(consent.data_kinds) - DEVICE_KINDS)
        consent.updated_at = now
        fields = ["data_kinds", "updated_at"]
        tokens_ended = 0
        if not consent.data_kinds:
            consent.status, consent.ended_at = ConsentStatus.REVOKED, now
            fields += ["status", "ended_at"]
        consent.save(update_fields=fields)
        if consent.status == ConsentStatus.REVOKED:
            tokens_ended = tokens_revoke_for_consent(consent=consent)
        audit_append(
            action="thirdparty.consent_device_access_ended",
            actor=actor,
            actor_label=None if actor else "move-out",
            target=f"consent:{consent.pk}",
            customer_account_id=consent.account_id,
            payload={
                "application_id": consent.application_id,
                "reason": "move_out",
                "agreement_id": agreement.pk,
                "premise_id": agreement.premise_id,
                "ended_kinds": ended_kinds,
                "consent_ended": consent.status == ConsentStatus.REVOKED,
                "access_ended": tokens_ended,
            },
        )
        event = "authorization.revoked" if consent.status == ConsentStatus.REVOKED else "authorization.updated"
        webhook_event_emit(application=consent.application, event=event, consent=consent, extra={"reason": "move_out"})
        changed += 1
    return changed
