"""Who may see which premise, and for which dates. The access rule for premises lives here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from amiportal.accounts.roles import Role, user_has_role
from amiportal.premises.models import CustomerAccount, Meter, Premise, ServiceAgreement


@dataclass(frozen=True)
class Occupancy:
    start: date
    end: date | None  # inclusive last day; None while still occupied

    def contains(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


def customer_account_for_user(*, user) -> CustomerAccount | None:
    return CustomerAccount.objects.filter(user=user).first() if user.is_authenticated else None


def premises_for_customer(*, user) -> QuerySet[Premise]:
    """Every premise the user's account occupies or occupied (their own period only is visible)."""
    return Premise.objects.filter(agreements__account__user=user).distinct().order_by("service_point_id")


def occupancies_for(*, user, premise: Premise) -> list[Occupancy]:
    agreements = ServiceAgreement.objects.filter(premise=premise, account__user=user).order_by("move_in")
    return [Occupancy(a.move_in, a.move_out) for a in agreements]


def premise_get_for_customer(*, user, premise_id: int) -> Premise:
    """The premise if this customer occupies or occupied it; 404 otherwise, whether or not it exists."""
    if not user_has_role(user, Role.CUSTOMER):
        raise PermissionDenied("Only customers have premises in the customer portal.")
    premise = premises_for_customer(user=user).filter(pk=premise_id).first()
    if premise is None:
        raise Http404("No such premise.")
    return premise


def current_agreement(*, premise: Premise, on: date | None = None) -> ServiceAgreement | None:
    day = on or timezone.localdate()
    return (
        ServiceAgreement.objects.filter(premise=premise, move_in__lte=day)
        .filter(Q(move_out__isnull=True) | Q(move_out__gte=day))
        .select_related("account")
        .first()
    )


def meters_for_premise(*, premise: Premise) -> QuerySet[Meter]:
    return premise.meters.order_by("kind", "serial_number")


def customer_accounts_search(*, query: str = "") -> QuerySet[CustomerAccount]:
    accounts = CustomerAccount.objects.select_related("user").order_by("account_number")
    if query:
        accounts = accounts.filter(Q(account_number__icontains=query) | Q(name__icontains=query) | Q(user__email__icontains=query))
    return accounts


def customer_overview(*, account: CustomerAccount) -> list[dict]:
    rows = []
    for agreement in account.agreements.select_related("premise").order_by("-move_in"):
        rows.append({"agreement": agreement, "premise": agreement.premise, "meters": list(meters_for_premise(premise=agreement.premise))})
    return rows
