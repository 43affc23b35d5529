"""What a customer tried on HAN objects outside the homes they occupy now: refused, and recorded."""

from __future__ import annotations

from amiportal.audit.services import audit_append
from amiportal.premises.selectors import customer_account_for_user


def customer_device_access_refused(*, actor, attempted: str, target: str) -> None:
    """Record the refusal under the actor's own account, never the premise's occupant's.

    The occupant must not be told someone probed their home (the answer was a 404 that
    says nothing), but the actor's attempt stays on the record for staff and for them.
    """
    account = customer_account_for_user(user=actor)
    audit_append(
        action="han.customer_access_refused",
        actor=actor,
        target=target,
        customer_account_id=account.pk if account else None,
        payload={"attempted": attempted},
    )
