"""Who may see which premise, and for which dates. The access rule for premises lives here."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from amiportal.accounts.roles import Role, user_has_role
from amiportal.compiled_queries import AnyOf, CompiledQuery, model_columns, model_from_row
from amiportal.premises.models import CustomerAccount, Meter, Premise, ServiceAgreement


@dataclass(frozen=True)
class Occupancy:
    start: date
    end: date | None  # inclusive last day; None while still occupied

    def contains(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


def customer_account_for_user(*, user) -> CustomerAccount | None:
    return CustomerAccount.objects.filter(user=user).first() if user.is_authenticated else None


# --- The occupancy rule: one place, called by HAN, billing and third-party code ---------------
#
# "Today" is always the premise's own local date (Premise.timezone), never the server's: a
# move-out on the 31st ends at midnight in that home, wherever the server runs. Each rule
# below is checked on ONE agreement row: move-in and move-out of the same agreement, never
# two conditions spread over the premise's many agreements (which once let a former occupant
# count as current while someone else lived there).


def premise_local_date(*, zone: str, now: datetime | None = None) -> date:
    """The calendar date at ``now`` (default: this instant) in the IANA time zone ``zone``."""
    return timezone.localdate(now or timezone.now(), timezone=zoneinfo.ZoneInfo(zone))


def _loose_window(now: datetime) -> dict[str, date]:
    """The bounds of ``_loosely_in_force`` at ``now``: every zone's date is within a day of UTC's."""
    utc_day = timezone.localdate(now, timezone=UTC)
    return {"move_in_by": utc_day + timedelta(days=1), "move_out_from": utc_day - timedelta(days=1)}


def _loosely_in_force(*, move_in_by: date, move_out_from: date) -> Q:
    """Agreements that may be in force in some zone, given ``_loose_window``'s bounds."""
    return Q(move_in__lte=move_in_by) & (Q(move_out__isnull=True) | Q(move_out__gte=move_out_from))


def agreement_in_force(*, move_in: date, move_out: date | None, zone: str, now: datetime | None = None) -> bool:
    """Whether one agreement covers the premise-local date at ``now``."""
    return Occupancy(move_in, move_out).contains(premise_local_date(zone=zone, now=now))


def _in_force_candidates(agreements: QuerySet[ServiceAgreement], *, move_in_by: date, move_out_from: date) -> QuerySet:
    """(premise id, account id, move-in, move-out, premise zone) of the agreements that may be in force (``_loose_window``)."""
    return agreements.filter(_loosely_in_force(move_in_by=move_in_by, move_out_from=move_out_from)).values_list(
        "premise_id", "account_id", "move_in", "move_out", "premise__timezone"
    )


def _in_force_now(candidates, now: datetime) -> list[tuple[int, int, date]]:
    """(premise id, account id, move-in) of the ``_in_force_candidates`` rows in force at ``now``, each on its premise's local date."""
    # The same rule as agreement_in_force, with each zone's local date worked out once (a fan-out reads 100,000 rows).
    today_in: dict[str, date] = {}
    found = []
    for premise_id, account_id, move_in, move_out, zone in candidates:
        if zone not in today_in:
            today_in[zone] = premise_local_date(zone=zone, now=now)
        if Occupancy(move_in, move_out).contains(today_in[zone]):
            found.append((premise_id, account_id, move_in))
    return found


def _agreements_in_force(agreements: QuerySet[ServiceAgreement], now: datetime | None) -> list[tuple[int, int, date]]:
    """(premise id, account id, move-in) of the agreements in force now, each on its premise's local date."""
    now = now or timezone.now()
    return _in_force_now(_in_force_candidates(agreements, **_loose_window(now)), now)


def premises_occupied_now(*, user, now: datetime | None = None) -> QuerySet[Premise]:
    """The premises this customer occupies today (premise-local date): the only ones they may act on.

    Acting on equipment (HAN devices, device scopes of a consent) needs this; reading data
    does not, but is bounded by ``occupancies_for``.
    """
    if not user.is_authenticated:
        return Premise.objects.none()
    current = _agreements_in_force(ServiceAgreement.objects.filter(account__user=user), now)
    return Premise.objects.filter(pk__in=sorted({premise_id for premise_id, _, _ in current})).order_by("service_point_id")


def premise_occupied_now_by(*, user, premise_id: int, now: datetime | None = None) -> bool:
    return premises_occupied_now(user=user, now=now).filter(pk=premise_id).exists()


def premises_for_customer(*, user) -> QuerySet[Premise]:
    """Every premise the user's account occupies or occupied (their own period only is visible)."""
    return Premise.objects.filter(agreements__account__user=user).distinct().order_by("service_point_id")


def _occupancies(agreements: QuerySet[ServiceAgreement]) -> list[Occupancy]:
    return [Occupancy(move_in, move_out) for move_in, move_out in agreements.order_by("move_in").values_list("move_in", "move_out")]


def account_occupancies(*, account: CustomerAccount, premise_id: int) -> list[Occupancy]:
    """This account's windows at the premise, oldest first (staff views of one account read through these)."""
    return _occupancies(ServiceAgreement.objects.filter(premise_id=premise_id, account=account))


def occupancies_for(*, user, premise: Premise) -> list[Occupancy]:
    """The reader's own windows at the premise (inclusive premise-local dates): reading data is bounded by these."""
    return _occupancies(ServiceAgreement.objects.filter(premise=premise, account__user=user))


def premise_get_for_customer(*, user, premise_id: int) -> Premise:
    """The premise if this customer occupies or occupied it; 404 otherwise, whether or not it exists."""
    return premise_and_occupancies_for_customer(user=user, premise_id=premise_id)[0]


def _agreements_with_premise(*, premise_id, user_id) -> QuerySet:
    """The reader's agreements at the premise, oldest first, each with the premise's columns: the rule the customer portal reads by."""
    return (
        ServiceAgreement.objects.filter(premise_id=premise_id, account__user_id=user_id)
        .order_by("move_in")
        .values_list("move_in", "move_out", *model_columns(Premise, "premise__"))
    )


_AGREEMENTS_WITH_PREMISE = CompiledQuery(_agreements_with_premise, "premise_id", "user_id")


def premise_and_occupancies_for_customer(*, user, premise_id: int) -> tuple[Premise, list[Occupancy]]:
    """The premise and the reader's own windows at it (as ``occupancies_for``), in one query compiled once per process.

    403 for anyone but a customer; 404 if the customer never occupied it, whether or not it exists.
    """
    if not user_has_role(user, Role.CUSTOMER):
        raise PermissionDenied("Only customers have premises in the customer portal.")
    rows = _AGREEMENTS_WITH_PREMISE.rows(premise_id=premise_id, user_id=user.pk)
    if not rows:
        raise Http404("No such premise.")
    return model_from_row(Premise, DEFAULT_DB_ALIAS, rows[0][2:]), [Occupancy(row[0], row[1]) for row in rows]


def _premises_agreements(premise_ids) -> QuerySet[ServiceAgreement]:
    return ServiceAgreement.objects.filter(premise_id__in=premise_ids)


# One premise's candidates (an audited change at one premise asks on every request): compiled once per process.
_ONE_PREMISE_CANDIDATES = CompiledQuery(
    lambda premise_id, move_in_by, move_out_from: _in_force_candidates(
        _premises_agreements([premise_id]), move_in_by=move_in_by, move_out_from=move_out_from
    ),
    "premise_id",
    "move_in_by",
    "move_out_from",
    types={"move_in_by": date, "move_out_from": date},
)
# Several premises' candidates (a report batch or relay pass, a notice to an area): one compiled query on PostgreSQL,
# with the premise ids as one array parameter (``column = ANY(%s)``, planned as ``IN`` is).
_PREMISES_CANDIDATES = CompiledQuery(
    lambda premise_ids, move_in_by, move_out_from: _in_force_candidates(
        ServiceAgreement.objects.filter(AnyOf("premise_id", premise_ids)), move_in_by=move_in_by, move_out_from=move_out_from
    ),
    "premise_ids",
    "move_in_by",
    "move_out_from",
    types={"premise_ids": list, "move_in_by": date, "move_out_from": date},
)


def current_account_ids(*, premise_ids: set[int], now: datetime | None = None) -> dict[int, int | None]:
    """The account of each premise's agreement in force now (None when vacant), in one query.

    Where two agreements overlap (a data error the constraints do not rule out), the
    earliest move-in wins, as in ``current_agreement``.
    """
    found: dict[int, int | None] = dict.fromkeys(premise_ids)
    if not premise_ids:
        return found
    now = now or timezone.now()
    if len(premise_ids) == 1:
        (premise_id,) = premise_ids
        candidates = _ONE_PREMISE_CANDIDATES.rows(premise_id=premise_id, **_loose_window(now))
    elif connection.vendor == "postgresql":
        candidates = _PREMISES_CANDIDATES.rows(premise_ids=sorted(premise_ids), **_loose_window(now))
    else:
        candidates = _in_force_candidates(_premises_agreements(premise_ids), **_loose_window(now))
    picked: dict[int, date] = {}
    for premise_id, account_id, move_in in _in_force_now(candidates, now):
        if premise_id not in picked or move_in < picked[premise_id]:
            picked[premise_id] = move_in
            found[premise_id] = account_id
    return found


def current_agreement(*, premise: Premise, on: date | None = None) -> ServiceAgreement | None:
    """The agreement in force at the premise on ``on`` (default: today, premise-local)."""
    day = on or premise_local_date(zone=premise.timezone)
    return (
        ServiceAgreement.objects.filter(premise=premise, move_in__lte=day)
        .filter(Q(move_out__isnull=True) | Q(move_out__gte=day))
        .select_related("account")
        .order_by("move_in")
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
