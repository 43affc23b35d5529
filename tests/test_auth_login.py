"""Customers and staff sign in with email and password (SO-C4: protect every access method)."""

import pytest
from django.contrib.auth import SESSION_KEY

from amiportal.accounts.views import GENERIC_LOGIN_ERROR
from amiportal.audit.models import AuditEntry
from tests.conftest import CsrfClient, signed_in

pytestmark = pytest.mark.django_db


def login(client, email, password):
    return client.post("/accounts/login/", {"email": email, "password": password})


def test_customer_signs_in_and_lands_on_their_home(alice, password):
    client = CsrfClient()
    response = login(client, "alice@example.test", password)
    assert response.status_code == 302
    assert client.get(response.url, follow=True).request["PATH_INFO"] == "/customer/"


def test_email_is_case_insensitive(alice, password):
    response = login(CsrfClient(), "ALICE@Example.TEST", password)
    assert response.status_code == 302


@pytest.mark.objective("SO-C4")
def test_wrong_password_and_unknown_email_get_the_same_answer(alice):
    wrong = login(CsrfClient(), "alice@example.test", "not-the-password-1")
    unknown = login(CsrfClient(), "nobody@example.test", "not-the-password-1")
    assert wrong.status_code == unknown.status_code == 200
    assert GENERIC_LOGIN_ERROR in wrong.content.decode()
    assert GENERIC_LOGIN_ERROR in unknown.content.decode()


@pytest.mark.objective("SO-C4")
def test_login_without_csrf_token_is_refused(alice, password):
    client = CsrfClient()
    response = client.post("/accounts/login/", {"email": "alice@example.test", "password": password, "csrfmiddlewaretoken": "forged"})
    assert response.status_code == 403


@pytest.mark.objective("SO-C4")
def test_session_key_rotates_at_login(alice, password):
    client = CsrfClient()
    client.get("/accounts/login/")
    client.session.save()
    before = client.session.session_key
    login(client, "alice@example.test", password)
    assert client.session.session_key != before
    assert SESSION_KEY in client.session


@pytest.mark.objective("SO-C4")
def test_five_failures_from_one_address_lock_that_pair_even_for_the_right_password(alice, password, settings):
    settings.AMI_LOGIN_MAX_FAILURES = 5
    client = CsrfClient()
    for _ in range(5):
        login(client, "alice@example.test", "wrong-password-xx")
    locked = login(CsrfClient(), "alice@example.test", password)
    assert locked.status_code == 429
    assert "try again" in locked.content.decode()
    assert SESSION_KEY not in locked.wsgi_request.session


@pytest.mark.objective("SO-C4")
def test_lockout_is_the_same_for_unknown_accounts(db, settings):
    settings.AMI_LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        login(CsrfClient(), "ghost@example.test", "wrong-password-xx")
    assert login(CsrfClient(), "ghost@example.test", "wrong-password-xx").status_code == 429


@pytest.mark.objective("SO-C4")
def test_lockout_backs_off_exponentially(alice, settings):
    from amiportal.accounts.models import AuthThrottle

    settings.AMI_LOGIN_MAX_FAILURES = 2
    settings.AMI_LOGIN_LOCKOUT_BASE_SECONDS = 60
    from amiportal.accounts.services.throttle import throttle_fail

    throttle_fail(keys=["k"], max_failures=2)
    throttle_fail(keys=["k"], max_failures=2)
    first = AuthThrottle.objects.get(key="k")
    throttle_fail(keys=["k"], max_failures=2)
    second = AuthThrottle.objects.get(key="k")
    first_span = (first.locked_until - first.last_failure_at).total_seconds()
    second_span = (second.locked_until - second.last_failure_at).total_seconds()
    assert round(first_span) == 60 and round(second_span) == 120


@pytest.mark.objective("SO-C13")
def test_failed_and_successful_logins_are_audited(alice, password):
    login(CsrfClient(), "alice@example.test", "wrong-password-xx")
    login(CsrfClient(), "alice@example.test", password)
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert "auth.login_failed" in actions and "auth.login_succeeded" in actions
    assert password not in "".join(AuditEntry.objects.values_list("payload", flat=True))


def test_idle_session_ends(alice, settings):
    client = signed_in(alice)
    session = client.session
    session["_ami_seen_at"] -= settings.AMI_SESSION_IDLE_SECONDS + 1
    session.save()
    response = client.get("/customer/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def _stored_session(client):
    from django.contrib.sessions.models import Session

    return Session.objects.get(session_key=client.session.session_key)


def test_page_views_within_a_minute_do_not_rewrite_the_session(alice):
    client = signed_in(alice)
    assert client.get("/customer/").status_code == 200
    stored = _stored_session(client)
    assert client.get("/customer/").status_code == 200
    assert _stored_session(client).session_data == stored.session_data


def test_activity_after_a_minute_moves_the_idle_clock(alice, settings):
    client = signed_in(alice)
    session = client.session
    session["_ami_seen_at"] -= 61
    session.save()
    before = client.session["_ami_seen_at"]
    assert client.get("/customer/").status_code == 200
    assert client.session["_ami_seen_at"] >= before + 61


def test_absolute_session_limit_ends_even_an_active_session(alice, settings):
    client = signed_in(alice)
    session = client.session
    session["_ami_login_at"] -= settings.AMI_SESSION_ABSOLUTE_SECONDS + 1
    session.save()
    response = client.get("/customer/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


@pytest.mark.objective("SO-C4")
def test_log_out_everywhere_ends_every_other_session(alice):
    laptop = signed_in(alice)
    phone = signed_in(alice)
    assert phone.get("/customer/").status_code == 200
    response = laptop.post("/accounts/logout/everywhere/")
    assert response.status_code == 302
    assert phone.get("/customer/").status_code == 302
    assert laptop.get("/customer/").status_code == 302


def test_logout_needs_post(alice):
    client = signed_in(alice)
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/customer/").status_code == 302


def test_passwords_shorter_than_12_characters_are_rejected(alice, password):
    client = signed_in(alice)
    response = client.post(
        "/accounts/password/change/", {"old_password": password, "new_password1": "Sh0rt-pass", "new_password2": "Sh0rt-pass"}
    )
    assert response.status_code == 200
    assert "at least 12 characters" in response.content.decode()


def test_open_redirect_after_login_is_refused(alice, password):
    client = CsrfClient()
    response = client.post(
        "/accounts/login/?next=https://evil.example/",
        {"email": "alice@example.test", "password": password, "next": "https://evil.example/"},
    )
    assert response.status_code == 302 and "evil" not in response.url
