"""The customer's Account activity page: their own events, in plain words and their home's local time.

Personas: Alice and Bob (customers), Peter (Alice's home's earlier occupant), Olga (operator),
and an anonymous visitor who guesses passwords.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, date, datetime

import pytest

from amiportal.audit.models import AuditEntry
from amiportal.audit.services import audit_append
from amiportal.portal.activity.names import Event, Names
from amiportal.portal.activity.registry import PHRASES
from amiportal.premises.models import ServiceAgreement
from tests.conftest import CsrfClient, add_totp, signed_in
from tests.factories import CustomerAccountFactory, ServiceAgreementFactory, UserFactory

pytestmark = pytest.mark.django_db

ACTIVITY = "/customer/activity/"
# Raw audit text a customer must never read on this page.
RAW_MARKERS = ("user:", "auth.", "two_factor.", "staff.", "second factor pending", "second_factor", "{", "(UTC)")


def activity_of(user) -> str:
    response = signed_in(user).get(ACTIVITY)
    assert response.status_code == 200
    return response.content.decode()


def table_of(html: str) -> str:
    """Only the activity table: the page's navigation mentions the signed-in user by design."""
    return html[html.index("<table") : html.index("</table>")]


def sign_in(email: str, password: str, *, address: str = "198.51.100.7"):
    return CsrfClient(REMOTE_ADDR=address).post("/accounts/login/", {"email": email, "password": password})


def chicago(moment: datetime) -> str:
    local = moment.astimezone(zoneinfo.ZoneInfo("America/Chicago"))
    return f"{local:%-d %b %Y, %H:%M} {local.tzname()}"


def test_alice_reads_her_sign_in_in_words_and_her_home_time(alice, password):
    sign_in("alice@example.test", password, address="198.51.100.7")
    entry = AuditEntry.objects.get(action="auth.login_succeeded", customer_account_id=alice.customer_account.pk)
    table = table_of(activity_of(alice))
    assert "You signed in with your password from 198.51.100.7" in table
    assert chicago(entry.occurred_at) in table  # e.g. "3 Dec 2026, 01:27 CST": local time, zone named
    for raw in RAW_MARKERS:
        assert raw not in table, raw


@pytest.mark.objective("SO-C7")
def test_the_second_factor_state_is_the_true_one(alice, bob, password):
    add_totp(alice)
    sign_in("alice@example.test", password)
    sign_in("bob@example.test", password)
    alice_page, bob_page = activity_of(alice), activity_of(bob)
    assert "your authenticator code was asked for next" in alice_page
    assert "Two-step sign-in: <strong>on</strong>" in alice_page
    assert "two-step sign-in is not set up" in bob_page
    assert "Two-step sign-in: <strong>off</strong>" in bob_page
    assert '"second_factor_required":false' in AuditEntry.objects.get(action="auth.login_succeeded", actor_id=bob.pk).payload


@pytest.mark.objective("SO-C4")
def test_failed_sign_ins_on_her_account_are_listed_with_the_address_they_came_from(alice, bob):
    wrong = sign_in("alice@example.test", "not-the-password-1", address="203.0.113.5")
    unknown = sign_in("nobody@example.test", "not-the-password-1", address="203.0.113.5")
    # The guesser learns nothing: both answers are the same page.
    assert wrong.status_code == unknown.status_code == 200
    assert re.sub(r'value="[^"]*"', "", wrong.content.decode()) == re.sub(r'value="[^"]*"', "", unknown.content.decode())
    assert "Someone tried to sign in to your account with a wrong password from 203.0.113.5" in activity_of(alice)
    assert "203.0.113.5" not in activity_of(bob)
    unknown_entry = AuditEntry.objects.get(action="auth.login_failed", target="unknown account")
    assert unknown_entry.customer_account_id is None


@pytest.mark.objective("SO-C4")
def test_attempts_while_sign_in_is_paused_are_listed_too(alice, settings):
    settings.AMI_LOGIN_MAX_FAILURES = 2
    for _ in range(3):
        sign_in("alice@example.test", "not-the-password-1", address="203.0.113.9")
    assert AuditEntry.objects.filter(action="auth.login_locked", customer_account_id=alice.customer_account.pk).exists()
    assert "while sign-in was paused after too many wrong passwords" in activity_of(alice)


@pytest.mark.objective("SO-C5")
def test_staff_access_is_told_with_the_staff_members_name_and_reason_to_that_customer_only(alice, bob, olga):
    signed_in(olga).post(f"/operator/customers/{alice.customer_account.pk}/", {"reason": "Ticket 42: meter exchange"})
    table = table_of(activity_of(alice))
    assert "Olga (utility staff) opened your account: Ticket 42: meter exchange" in table
    assert "olga@example.test" not in table
    assert "Ticket 42" not in activity_of(bob)


@pytest.mark.objective("SO-C5")
def test_bob_sees_none_of_alices_events(alice, bob, password):
    sign_in("alice@example.test", password, address="198.51.100.44")
    sign_in("alice@example.test", "not-the-password-1", address="203.0.113.44")
    table = table_of(activity_of(bob))
    assert "198.51.100.44" not in table and "203.0.113.44" not in table
    assert "Nothing recorded yet." in table


@pytest.mark.objective("SO-C5")
def test_a_former_occupants_events_do_not_show_to_the_current_one(alice, password):
    home = alice.customer_account.agreements.get().premise
    ServiceAgreement.objects.filter(account=alice.customer_account).update(move_in=date(2024, 6, 1))
    peter = UserFactory(email="peter@example.test", full_name="Peter Past")
    from amiportal.accounts.roles import Role, role_assign

    role_assign(user=peter, role=Role.CUSTOMER)
    ServiceAgreementFactory(
        account=CustomerAccountFactory(user=peter, name="Peter Past"), premise=home, move_in=date(2023, 1, 1), move_out=date(2024, 5, 31)
    )
    sign_in("peter@example.test", password, address="198.51.100.99")
    sign_in("peter@example.test", "not-the-password-1", address="203.0.113.99")
    peter_page = activity_of(peter)
    assert "198.51.100.99" in peter_page and "203.0.113.99" in peter_page
    alice_table = table_of(activity_of(alice))
    assert "198.51.100.99" not in alice_table and "203.0.113.99" not in alice_table


def test_an_action_without_wording_reads_as_a_plain_sentence_never_its_payload(alice):
    account_id = alice.customer_account.pk
    audit_append(action="han.something_new", actor_label="han-relay", target="x:1", customer_account_id=account_id, payload={"n": "RAW-1"})
    audit_append(action="novel.thing", actor_label="system", target="y:2", customer_account_id=account_id, payload={"n": "RAW-2"})
    table = table_of(activity_of(alice))
    assert "Something happened on your home network." in table
    assert "Something was recorded on your account." in table
    assert "RAW-1" not in table and "RAW-2" not in table and "han.something_new" not in table and "x:1" not in table


def test_local_time_names_the_zone_and_follows_daylight_saving():
    from amiportal.portal.templatetags.portal_format import local_time

    winter = datetime(2026, 12, 3, 15, 14, tzinfo=UTC)
    summer = datetime(2026, 7, 3, 14, 14, tzinfo=UTC)
    assert local_time(winter, "America/Chicago") == "3 Dec 2026, 09:14 CST"
    assert local_time(summer, "America/Chicago") == "3 Jul 2026, 09:14 CDT"
    assert local_time(winter, "Not/AZone") == "3 Dec 2026, 15:14 UTC"


@pytest.mark.parametrize("action", sorted(PHRASES))
def test_every_worded_action_reads_as_a_sentence_even_with_an_empty_or_odd_payload(action, alice):
    for payload in ("{}", '{"premise_id": "x", "event": [], "origin": 3, "data_kinds": null, "count": "ten"}', "not json"):
        entry = AuditEntry(seq=1, occurred_at=datetime.now(UTC), actor_label="system", action=action, target="device:nope", payload=payload)
        event = Event.of(entry)
        text = PHRASES[action](event, Names.load(viewer=alice, events=[event]))
        assert text[0].isupper() and text.endswith("."), text
        assert "{" not in text and "None" not in text and "nope" not in text, text
