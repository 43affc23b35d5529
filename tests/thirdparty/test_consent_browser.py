"""The consent screen in Debian's Chromium: Allow, Don't allow and re-consent reach the application's callback (SO-T1).

The application's redirect URI is a real HTTP server of the test; the code it receives is
exchanged by a real OAuth2 client (requests-oauthlib), and the data it then reads, and the
refused call after the customer revokes, are what the customer sees.
"""

from __future__ import annotations

import pytest
from django.utils import timezone
from requests_oauthlib import OAuth2Session

from tests.conftest import signed_in
from tests.test_browser import page  # noqa: F401 (the Chromium page fixture)
from tests.thirdparty import world
from tests.thirdparty.callback_server import CallbackServer
from thirdparty.models import AccessLogEntry, Consent, ConsentStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCOPES = ["interval_usage", "usage_summary"]


@pytest.fixture
def callback():
    with CallbackServer() as server:
        yield server


@pytest.fixture
def app_and_customer(page, live_server, trent, alice, callback, monkeypatch):  # noqa: F811
    # oauthlib refuses plain http unless told this is a development setup (the live server has no TLS).
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    application = world.register(trent, redirect_uris=[callback.redirect_uri])
    session_cookie = signed_in(alice).cookies["sessionid"].value
    page.context.add_cookies([{"name": "sessionid", "value": session_cookie, "url": live_server.url}])
    return application


def _session(application, callback) -> OAuth2Session:
    return OAuth2Session(application.client_id, redirect_uri=callback.redirect_uri, scope=SCOPES, pkce="S256")


def _consent_in_browser(page, live_server, session, button: str) -> str:  # noqa: F811
    url, state = session.authorization_url(f"{live_server.url}/oauth/authorize/")
    page.goto(url)
    assert page.get_by_role("heading", level=1).inner_text() == "Share your data with Energy Insights?"
    page.get_by_role("button", name=button, exact=True).click()
    return state


def _exchange(session, live_server, application, callback_query: dict) -> dict:
    from urllib.parse import urlencode

    return session.fetch_token(
        f"{live_server.url}/oauth/token/",
        authorization_response=f"http://127.0.0.1/callback?{urlencode(callback_query)}",
        client_secret=world.SECRETS[application.pk],
        include_client_id=False,
    )


@pytest.mark.objective("SO-T1")
def test_allow_reaches_the_callback_with_code_and_state_and_the_code_buys_tokens(page, live_server, app_and_customer, callback):  # noqa: F811
    session = _session(app_and_customer, callback)
    state = _consent_in_browser(page, live_server, session, "Allow")
    query = callback.next_callback(0)
    assert query["state"] == state and query["code"] and query["iss"] == live_server.url
    page.wait_for_url(f"{callback.redirect_uri}?*")
    assert "Back at the application." in page.content()

    token = _exchange(session, live_server, app_and_customer, query)
    assert set(token["scope"]) == set(SCOPES)
    consent = Consent.objects.get()
    assert consent.status == ConsentStatus.ACTIVE
    served = session.get(f"{live_server.url}/espi/1_1/resource/Subscription/{consent.pk}/UsagePoint")
    assert served.status_code == 200


@pytest.mark.objective("SO-T1")
def test_dont_allow_reaches_the_callback_with_access_denied_and_grants_nothing(page, live_server, app_and_customer, callback):  # noqa: F811
    state = _consent_in_browser(page, live_server, _session(app_and_customer, callback), "Don't allow")
    query = callback.next_callback(0)
    assert query == {"error": "access_denied", "state": state, "iss": live_server.url}
    page.wait_for_url(f"{callback.redirect_uri}?*")
    assert not Consent.objects.exists()


@pytest.mark.objective("SO-T1")
def test_re_consent_in_the_browser_replaces_the_first_authorization(page, live_server, app_and_customer, callback):  # noqa: F811
    first_session = _session(app_and_customer, callback)
    _consent_in_browser(page, live_server, first_session, "Allow")
    _exchange(first_session, live_server, app_and_customer, callback.next_callback(0))
    second_session = _session(app_and_customer, callback)
    state = _consent_in_browser(page, live_server, second_session, "Allow")
    query = callback.next_callback(1)
    assert query["state"] == state
    _exchange(second_session, live_server, app_and_customer, query)
    old, new = Consent.objects.order_by("pk")
    assert old.status == ConsentStatus.SUPERSEDED and new.status == ConsentStatus.ACTIVE
    assert first_session.get(f"{live_server.url}/espi/1_1/resource/ReadServiceStatus").status_code == 401
    assert second_session.get(f"{live_server.url}/espi/1_1/resource/ReadServiceStatus").status_code == 200
    page.goto("/customer/access/")
    assert page.get_by_role("button", name="Revoke access now for Energy Insights").count() == 1
    assert page.get_by_role("cell", name="Replaced by a newer authorization").is_visible()


@pytest.mark.objective("SO-T1")
def test_customer_revokes_in_the_browser_and_sees_the_refused_call_in_the_access_log(page, live_server, app_and_customer, callback):  # noqa: F811
    session = _session(app_and_customer, callback)
    _consent_in_browser(page, live_server, session, "Allow")
    _exchange(session, live_server, app_and_customer, callback.next_callback(0))
    consent = Consent.objects.get()
    assert session.get(f"{live_server.url}/espi/1_1/resource/Subscription/{consent.pk}/UsagePoint").status_code == 200

    page.goto("/customer/access/")
    page.get_by_role("button", name="Revoke access now for Energy Insights").click()
    page.wait_for_url("**/revoke/")
    assert page.get_by_role("heading", level=1).inner_text() == "Revoke Energy Insights's access?"
    assert session.get(f"{live_server.url}/espi/1_1/resource/Subscription/{consent.pk}/UsagePoint").status_code == 200
    page.get_by_role("button", name="Revoke access for Energy Insights").click()
    page.wait_for_url("**/customer/access/")
    assert page.get_by_text("Energy Insights no longer has access").is_visible()

    refused = session.get(f"{live_server.url}/espi/1_1/resource/Subscription/{consent.pk}/UsagePoint")
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
    entry = AccessLogEntry.objects.get(consent=consent, status_code=401)
    assert entry.at <= timezone.now()

    page.goto("/customer/access/log/")
    row = page.get_by_role("row").filter(has_text="Refused")
    assert row.count() == 1 and "Energy Insights" in row.inner_text()
