"""A real OAuth2 client library (requests-oauthlib) through the whole flow against a live server (SO-T1)."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests
from django.utils import timezone
from requests_oauthlib import OAuth2Session

from tests.conftest import signed_in
from tests.thirdparty import world
from tests.thirdparty.data import day_of_readings
from thirdparty.models import AccessLogEntry, Consent

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def loopback_application(trent, live_server):
    redirect = "http://127.0.0.1:8765/callback"
    return world.register(trent, redirect_uris=[redirect]), redirect


@pytest.mark.objective("SO-T1")
def test_requests_oauthlib_runs_code_flow_with_pkce_reads_data_and_is_cut_off_by_revocation(
    alice, loopback_application, live_server, monkeypatch
):
    # oauthlib refuses plain http unless told this is a development setup (the live server has no TLS).
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    application, redirect = loopback_application
    meter = world.premise_of(alice).meters.get()
    day_of_readings(meter, timezone.localdate() - timedelta(days=1))

    session = OAuth2Session(application.client_id, redirect_uri=redirect, scope=["interval_usage", "usage_summary"], pkce="S256")
    authorization_url, state = session.authorization_url(f"{live_server.url}/oauth/authorize/")

    # The customer consents in their browser (a signed-in session against the live server).
    browser = requests.Session()
    django_client = signed_in(alice)
    browser.cookies.set("sessionid", django_client.cookies["sessionid"].value)
    page = browser.get(authorization_url)
    assert page.status_code == 200 and "Share your data with" in page.text
    form = world.consent_form(alice)
    form["csrfmiddlewaretoken"] = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = browser.post(authorization_url, data=form, allow_redirects=False, headers={"Referer": authorization_url})
    assert response.status_code == 302, response.text[:2000]
    callback = response.headers["Location"]
    assert urlsplit(callback).netloc == "127.0.0.1:8765"

    token = session.fetch_token(
        f"{live_server.url}/oauth/token/",
        authorization_response=callback,
        client_secret=world.SECRETS[application.pk],
        include_client_id=False,
    )
    assert set(token["scope"]) == {"interval_usage", "usage_summary"}
    consent = Consent.objects.get()
    points = session.get(f"{live_server.url}/espi/1_1/resource/Subscription/{consent.pk}/UsagePoint")
    assert points.status_code == 200 and points.json()["entries"][0]["content"]["ServiceCategory"]["kind"] == 0
    blocks = session.get(
        f"{live_server.url}/espi/1_1/resource/Subscription/{consent.pk}/UsagePoint/{meter.pk}/MeterReading/1/IntervalBlock"
    )
    assert blocks.json()["total_results"] == 1
    assert AccessLogEntry.objects.filter(consent=consent, status_code=200).count() == 2

    refreshed = session.refresh_token(f"{live_server.url}/oauth/token/", auth=(application.client_id, world.SECRETS[application.pk]))
    assert refreshed["refresh_token"] != token["refresh_token"]

    django_client.post(f"/customer/access/{consent.pk}/revoke/", {"confirm": "yes"})
    after = session.get(f"{live_server.url}/espi/1_1/resource/ReadServiceStatus")
    assert after.status_code == 401 and after.headers["WWW-Authenticate"].startswith("Bearer")
    assert os.environ["OAUTHLIB_INSECURE_TRANSPORT"] == "1"


def _example_client():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "docs" / "examples" / "espi_client.py"
    spec = importlib.util.spec_from_file_location("espi_client_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_documented_example_client_reads_the_demo_customers_data(alice, trent, live_server, monkeypatch):
    """docs/examples/espi_client.py, driven against a live server with the demo application's credentials."""
    from oauth2_provider.models import Application

    from amiportal.crypto.secret_hash import secret_digest
    from thirdparty.oauth import SECRET_PREFIX, SECRET_PURPOSE

    client = _example_client()
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT", raising=False)
    application = world.register(trent, redirect_uris=[client.REDIRECT_URI])
    Application.objects.filter(pk=application.oauth_application_id).update(
        client_id=client.DEMO_CLIENT_ID, client_secret=SECRET_PREFIX + secret_digest(client.DEMO_CLIENT_SECRET, purpose=SECRET_PURPOSE)
    )
    meter = world.premise_of(alice).meters.get()
    day_of_readings(meter, timezone.localdate() - timedelta(days=1))

    session, url = client.start_session(live_server.url, client.DEMO_CLIENT_ID, ["interval_usage", "usage_summary"])
    browser = requests.Session()
    browser.cookies.set("sessionid", signed_in(alice).cookies["sessionid"].value)
    page = browser.get(url)
    form = world.consent_form(alice)
    form["csrfmiddlewaretoken"] = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    callback = browser.post(url, data=form, allow_redirects=False).headers["Location"]

    token = client.exchange(session, live_server.url, callback, client.DEMO_CLIENT_SECRET)
    authorization_id = client.authorization_id_from(token, session, live_server.url)
    assert authorization_id == Consent.objects.get().pk
    (point,) = client.read_usage(session, live_server.url, authorization_id)
    readings = [r for block in point["blocks"] for r in block["content"]["IntervalReading"]]
    assert readings and all(r["value"] == 250 for r in readings)
