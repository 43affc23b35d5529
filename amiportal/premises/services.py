"""Occupancy changes and staff access to customer data."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from amiportal.audit.services import audit_append
from amiportal.premises.models import CustomerAccount, Premise, ServiceAgreement
from amiportal.premises.move_out import move_out_handlers_run

STAFF_ACCESS_SESSION_KEY = "_ami_staff_access"
STAFF_ACCESS_MINUTES = 15


@transaction.atomic
def agreement_move_in(*, account: CustomerAccount, premise: Premise, move_in: date, actor=None) -> ServiceAgreement:
    Premise.objects.select_for_update(no_key=True).filter(pk=premise.pk).first()  # serialize occupancy changes per premise
    clash = ServiceAgreement.objects.filter(premise=premise).filter(Q(move_out__isnull=True) | Q(move_out__gte=move_in))
    if clash.exists():
        raise ValidationError(f"{premise} is occupied on {move_in}: record the previous occupant's move-out first.")
    agreement = ServiceAgreement.objects.create(account=account, premise=premise, move_in=move_in)
    audit_append(
        action="premise.move_in",
        actor=actor,
        target=f"premise:{premise.pk}",
        customer_account_id=account.pk,
        payload={"agreement_id": agreement.pk, "move_in": move_in.isoformat()},
    )
    return agreement


@transaction.atomic
def agreement_move_out(*, agreement: ServiceAgreement, move_out: date, actor=None) -> ServiceAgreement:
    """Record the last day of an occupancy; what other apps end with it runs now (``move_out_handlers_run``).

    Handlers act when the move-out is recorded, even for a date ahead: control of equipment
    in a home should not outlive the notice that its occupant is leaving.
    """
    agreement = ServiceAgreement.objects.select_for_update(no_key=True).get(pk=agreement.pk)
    if agreement.move_out is not None:
        raise ValidationError("This agreement already has a move-out date.")
    if move_out < agreement.move_in:
        raise ValidationError("Move-out cannot be before move-in.")
    agreement.move_out = move_out
    agreement.save(update_fields=["move_out"])
    audit_append(
        action="premise.move_out",
        actor=actor,
        target=f"premise:{agreement.premise_id}",
        customer_account_id=agreement.account_id,
        payload={"agreement_id": agreement.pk, "move_out": move_out.isoformat()},
    )
    move_out_handlers_run(agreement=agreement, actor=actor)
    return agreement


def _reason_checked(reason: str) -> str:
    reason = reason.strip()
    if len(reason) < 10:
        raise ValidationError("Give the reason in a few words (at least 10 characters), e.g. the case or ticket number.")
    return reason


def staff_access_open(*, request, account: CustomerAccount, reason: str) -> None:
    """Record why a staff member opens a customer's data; the customer sees this entry."""
    reason = _reason_checked(reason)
    audit_append(
        action="staff.customer_data_opened",
        actor=request.user,
        target=f"account:{account.pk}",
        customer_account_id=account.pk,
        payload={"reason": reason},
    )
    grants = request.session.get(STAFF_ACCESS_SESSION_KEY, {})
    grants[str(account.pk)] = timezone.now().timestamp() + STAFF_ACCESS_MINUTES * 60
    request.session[STAFF_ACCESS_SESSION_KEY] = grants


def staff_access_is_open(*, request, account_id: int) -> bool:
    expires = request.session.get(STAFF_ACCESS_SESSION_KEY, {}).get(str(account_id))
    return expires is not None and expires > timezone.now().timestamp()


def staff_access_open_many(*, request, accounts: list[CustomerAccount], reason: str) -> None:
    """One reason for several customers' data (e.g. everyone who lived at a premise): each customer sees their entry."""
    reason = _reason_checked(reason)
    for account in accounts:
        if not staff_access_is_open(request=request, account_id=account.pk):
            staff_access_open(request=request, account=account, reason=reason)


STAFF_ADMIN_ACCESS_SESSION_KEY = "_ami_staff_admin_access"


def staff_admin_access_open(*, request, reason: str) -> None:
    """An admin's reason for working on customer records in the Django admin, asked before any list or record."""
    reason = _reason_checked(reason)
    audit_append(action="staff.admin_customer_records_opened", actor=request.user, target="admin", payload={"reason": reason})
    request.session[STAFF_ADMIN_ACCESS_SESSION_KEY] = {
        "reason": reason,
        "expires": timezone.now().timestamp() + STAFF_ACCESS_MINUTES * 60,
    }


def staff_admin_access_reason(*, request) -> str | None:
    """The admin's recorded reason while it is still valid, else None."""
    grant = request.session.get(STAFF_ADMIN_ACCESS_SESSION_KEY) or {}
    if grant.get("expires", 0) > timezone.now().timestamp():
        return grant.get("reason")
    return None
