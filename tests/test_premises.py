"""Customers, premises, meters and occupancy; staff access with a reason (SO-C5, SO-C7)."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from amiportal.audit.models import AuditEntry
from amiportal.premises.models import ServiceAgreement
from amiportal.premises.selectors import premise_get_for_customer
from amiportal.premises.services import agreement_move_in, agreement_move_out
from tests.conftest import signed_in
from tests.factories import CustomerAccountFactory, PremiseFactory

pytestmark = pytest.mark.django_db


@pytest.mark.objective("SO-C5")
def test_customer_home_lists_only_their_own_premises(alice, bob):
    page = signed_in(alice).get("/customer/").content.decode()
    alice_premise = alice.customer_account.agreements.get().premise
    bob_premise = bob.customer_account.agreements.get().premise
    assert alice_premise.address_line in page
    assert bob_premise.address_line not in page
    assert alice_premise.meters.get().serial_number in page


@pytest.mark.objective("SO-C5")
def test_another_customers_premise_is_not_found_rather_than_forbidden(alice, bob):
    from django.http import Http404

    bob_premise = bob.customer_account.agreements.get().premise
    with pytest.raises(Http404):
        premise_get_for_customer(user=alice, premise_id=bob_premise.pk)
    with pytest.raises(Http404):
        premise_get_for_customer(user=alice, premise_id=987654)


@pytest.mark.objective("SO-C7")
def test_a_new_occupant_sees_only_their_own_period(alice):
    from amiportal.accounts.roles import Role, role_assign
    from amiportal.premises.selectors import occupancies_for
    from tests.factories import UserFactory

    premise = alice.customer_account.agreements.get().premise
    agreement_move_out(agreement=alice.customer_account.agreements.get(), move_out=date(2025, 6, 30))
    newcomer = UserFactory(email="newcomer@example.test")
    role_assign(user=newcomer, role=Role.CUSTOMER)
    account = CustomerAccountFactory(user=newcomer)
    agreement_move_in(account=account, premise=premise, move_in=date(2025, 7, 1))
    (period,) = occupancies_for(user=newcomer, premise=premise)
    assert period.start == date(2025, 7, 1) and period.end is None
    assert not period.contains(date(2025, 6, 30))
    (alice_period,) = occupancies_for(user=alice, premise=premise)
    assert alice_period.end == date(2025, 6, 30)


def test_move_in_over_an_open_agreement_is_refused(alice):
    premise = alice.customer_account.agreements.get().premise
    with pytest.raises(ValidationError, match="occupied"):
        agreement_move_in(account=CustomerAccountFactory(), premise=premise, move_in=date(2026, 1, 1))
    assert ServiceAgreement.objects.filter(premise=premise).count() == 1


def test_move_out_before_move_in_is_refused(alice):
    agreement = alice.customer_account.agreements.get()
    with pytest.raises(ValidationError, match="before move-in"):
        agreement_move_out(agreement=agreement, move_out=date(2020, 1, 1))


def test_an_invalid_time_zone_is_rejected():
    premise = PremiseFactory.build(timezone="Mars/Olympus_Mons")
    with pytest.raises(ValidationError, match="IANA time zone"):
        premise.full_clean()


@pytest.mark.objective("SO-C7")
def test_operator_must_give_a_reason_and_the_customer_sees_it(alice, olga):
    account = alice.customer_account
    operator = signed_in(olga)
    url = f"/operator/customers/{account.pk}/"
    gate = operator.get(url)
    assert "Why do you need this customer" in gate.content.decode()
    assert alice.customer_account.agreements.get().premise.address_line not in gate.content.decode()
    too_short = operator.post(url, {"reason": "because"})
    assert "at least 10 characters" in too_short.content.decode()
    operator.post(url, {"reason": "Ticket 4711: high bill complaint"})
    detail = operator.get(url).content.decode()
    assert alice.customer_account.agreements.get().premise.address_line in detail
    entry = AuditEntry.objects.get(action="staff.customer_data_opened")
    assert entry.customer_account_id == account.pk and "Ticket 4711" in entry.payload
    activity = signed_in(alice).get("/customer/activity/").content.decode()
    assert "Olga (utility staff) opened your account: Ticket 4711: high bill complaint" in activity


@pytest.mark.objective("SO-C5")
def test_customer_activity_shows_only_their_own_events(alice, bob, olga):
    operator = signed_in(olga)
    operator.post(f"/operator/customers/{bob.customer_account.pk}/", {"reason": "Ticket 99: meter exchange"})
    assert "Ticket 99" not in signed_in(alice).get("/customer/activity/").content.decode()
    assert "Ticket 99" in signed_in(bob).get("/customer/activity/").content.decode()


def test_operator_customer_search(alice, bob, olga):
    page = signed_in(olga).get("/operator/customers/", {"q": "alice@example"}).content.decode()
    assert alice.customer_account.account_number in page and bob.customer_account.account_number not in page


def test_operator_home_counts(alice, bob, olga):
    page = signed_in(olga).get("/operator/").content.decode()
    assert "Premises" in page and "Meters in service" in page
