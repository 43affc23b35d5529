"""What a page view knows about its user is read again on every request (SO-C4, SO-C5).

A page view loads the user with their roles, second factor and unread count in one query
(``amiportal.accounts.selectors.user_for_request``), reads its session from the cache (written
through to the database), and the premise with the reader's occupancy in one query
(``premise_and_occupancies_for_customer``). None of these facts is kept between requests, so
every change below must count on the very next request.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from amiportal.accounts.models import SealedTOTPDevice
from amiportal.accounts.roles import Role, user_roles
from amiportal.accounts.selectors import user_for_request, user_has_confirmed_device
from amiportal.accounts.services.two_factor import totp_device_remove
from amiportal.premises.selectors import premise_local_date
from amiportal.premises.services import agreement_move_out
from tests.conftest import CsrfClient, add_totp, signed_in

FORMER_NOTE = "You no longer live here"


def _home(user):
    return user.customer_account.agreements.get().premise


def _dashboard(user) -> str:
    return f"/customer/premises/{_home(user).pk}/usage/"


@pytest.mark.objective("SO-C4")
def test_a_revoked_role_closes_the_page_on_the_next_request(alice):
    client = signed_in(alice)
    url = _dashboard(alice)
    assert client.get(url).status_code == 200
    alice.groups.remove(Group.objects.get(name=Role.CUSTOMER.value))
    assert client.get(url).status_code == 403
    assert client.get("/customer/").status_code == 403


@pytest.mark.objective("SO-C4")
def test_a_granted_role_counts_on_the_next_request_too(trent):
    client = signed_in(trent)
    assert client.get("/customer/").status_code == 403
    trent.groups.add(Group.objects.get_or_create(name=Role.CUSTOMER.value)[0])
    assert client.get("/customer/").status_code == 200


@pytest.mark.objective("SO-C4")
def test_a_second_factor_added_elsewhere_is_asked_for_on_the_next_request(alice):
    client = signed_in(alice, verified=False)
    assert client.get("/customer/").status_code == 200
    add_totp(alice)  # confirmed in another browser
    response = client.get("/customer/")
    assert response.status_code == 302 and response.url == "/accounts/two-factor/verify/"


@pytest.mark.objective("SO-C4")
def test_a_removed_second_factor_is_no_longer_asked_for_on_the_next_request(alice):
    device = add_totp(alice)
    client = signed_in(alice, verified=False)
    response = client.get("/customer/")
    assert response.status_code == 302 and response.url == "/accounts/two-factor/verify/"
    SealedTOTPDevice.objects.filter(pk=device.pk).delete()  # removed in another, verified browser
    assert client.get("/customer/").status_code == 200


@pytest.mark.objective("SO-C4")
def test_the_removal_service_drops_the_request_s_answer_at_once(alice):
    device = add_totp(alice)
    request = RequestFactory().post("/accounts/two-factor/devices/1/remove/")
    request.user = user_for_request(user_id=alice.pk)
    assert user_has_confirmed_device(user=request.user)
    assert totp_device_remove(request=request, device_id=device.pk)
    assert not user_has_confirmed_device(user=request.user)  # the same request asks the database again


@pytest.mark.objective("SO-C4")
def test_an_operator_whose_second_factor_is_removed_is_sent_to_enrol_on_the_next_request(olga):
    client = signed_in(olga, verified=False)
    response = client.get("/operator/")
    assert response.status_code == 302 and response.url == "/accounts/two-factor/verify/"
    SealedTOTPDevice.objects.filter(user=olga).delete()
    response = client.get("/operator/")
    assert response.status_code == 302 and response.url == "/accounts/two-factor/setup/"


@pytest.mark.objective("SO-C5")
def test_moving_out_counts_on_the_next_request(alice):
    client = signed_in(alice)
    url = _dashboard(alice)
    page = client.get(url).content.decode()
    assert FORMER_NOTE not in page
    home = _home(alice)
    agreement = alice.customer_account.agreements.get()
    agreement_move_out(agreement=agreement, move_out=premise_local_date(zone=home.timezone) - timedelta(days=1))
    page = client.get(url).content.decode()
    assert FORMER_NOTE in page


@pytest.mark.objective("SO-C5")
def test_peter_sees_his_own_period_of_alice_s_home_and_nothing_of_hers(peter, alice):
    url = _dashboard(alice)
    page = signed_in(peter).get(url).content.decode()
    assert FORMER_NOTE in page
    peter_move_out = peter.customer_account.agreements.get().move_out
    assert f"up to {peter_move_out.day} {peter_move_out:%b %Y}" in page


@pytest.mark.objective("SO-C5")
def test_an_agreement_taken_away_closes_the_premise_on_the_next_request(peter, alice):
    client = signed_in(peter)
    url = _dashboard(alice)
    assert client.get(url).status_code == 200
    peter.customer_account.agreements.all().delete()  # a data correction: he never lived there
    assert client.get(url).status_code == 404


@pytest.mark.objective("SO-C4")
def test_signing_out_everywhere_ends_the_other_session_on_its_next_request(alice):
    laptop, phone = signed_in(alice), signed_in(alice)
    url = _dashboard(alice)
    assert phone.get(url).status_code == 200
    laptop.post("/accounts/logout/everywhere/")
    response = phone.get(url)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


@pytest.mark.objective("SO-C4")
def test_a_signed_out_session_cookie_opens_nothing(alice):
    client = signed_in(alice)
    url = _dashboard(alice)
    assert client.get(url).status_code == 200
    stolen = client.cookies["sessionid"].value
    client.post("/accounts/logout/")
    replay = CsrfClient()
    replay.cookies["sessionid"] = stolen
    response = replay.get(url)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


@pytest.mark.objective("SO-C4")
@pytest.mark.parametrize("clock", ["_ami_seen_at", "_ami_login_at"])
def test_a_timed_out_session_ends_on_the_next_request(alice, settings, clock):
    client = signed_in(alice)
    url = _dashboard(alice)
    assert client.get(url).status_code == 200
    session = client.session
    session[clock] -= max(settings.AMI_SESSION_IDLE_SECONDS, settings.AMI_SESSION_ABSOLUTE_SECONDS) + 1
    session.save()
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    assert client.get(url).status_code == 302  # and stays ended


def test_a_page_view_reads_the_user_once_and_no_session_row(alice):
    client = signed_in(alice)
    url = _dashboard(alice)
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    tables = [query["sql"] for query in queries.captured_queries]
    assert not [sql for sql in tables if "django_session" in sql]
    assert len([sql for sql in tables if sql.startswith('SELECT "accounts_user"')]) == 1
    assert not [sql for sql in tables if "auth_group" in sql and not sql.startswith('SELECT "accounts_user"')]
    assert not [sql for sql in tables if "notifications_notification" in sql and not sql.startswith('SELECT "accounts_user"')]


def test_the_request_user_carries_the_same_facts_as_the_separate_reads(alice, olga):
    for user in (alice, olga):
        loaded = user_for_request(user_id=user.pk)
        fresh = type(user).objects.get(pk=user.pk)
        assert user_roles(loaded) == user_roles(fresh)
        assert user_has_confirmed_device(user=loaded) == user_has_confirmed_device(user=fresh)
    assert user_for_request(user_id=987654321) is None
    assert user_for_request(user_id="not a number") is None
