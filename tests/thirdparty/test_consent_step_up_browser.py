"""In Debian's Chromium: a customer who ticks device control on the consent screen confirms it's them, and comes
back to the choices they made, not to the defaults (SO-T1).

Granting control of equipment at home asks for a fresh second check (``thirdparty.grant_device_control``).
The check never replays the POST, so the customer presses Allow again; what they ticked, the history they
chose and the end date they typed must still be there, and are what the consent records.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from requests_oauthlib import OAuth2Session

from tests.conftest import signed_in
from tests.han.world import han_world
from tests.test_browser import page  # noqa: F401 (the Chromium page fixture)
from tests.thirdparty import world
from tests.thirdparty.callback_server import CallbackServer
from thirdparty.models import Consent, DataKind

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ASKED = [DataKind.INTERVAL_USAGE, DataKind.USAGE_SUMMARY, DataKind.HAN_CONTROL]


def _kind(page, kind: str):  # noqa: F811
    return page.locator(f'input[name="data_kinds"][value="{kind}"]')


@pytest.mark.objective("SO-T1")
def test_choices_survive_the_step_up_on_the_consent_screen(page, live_server, alice, bob, ivan, olga, trent, password, monkeypatch):  # noqa: F811
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    han_world({"alice": alice, "bob": bob, "ivan": ivan, "olga": olga, "trent": trent})  # a home with a HAN, so control is offered
    with CallbackServer() as callback:
        application = world.register(trent, scopes=ASKED, redirect_uris=[callback.redirect_uri])
        cookie = signed_in(alice).cookies["sessionid"].value  # signed in, but no recent step-up
        page.context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])
        session = OAuth2Session(application.client_id, redirect_uri=callback.redirect_uri, scope=ASKED, pkce="S256")
        url, state = session.authorization_url(f"{live_server.url}/oauth/authorize/")
        page.goto(url)

        # The customer's own choices: control yes, summaries no, 3 months back, until a date of their own.
        end = (timezone.localdate() + timedelta(days=40)).isoformat()
        _kind(page, DataKind.HAN_CONTROL).check()
        _kind(page, DataKind.USAGE_SUMMARY).uncheck()
        page.get_by_label("How far back").select_option("3")
        page.get_by_label("Until").fill(end)
        page.get_by_role("button", name="Allow", exact=True).click()

        page.wait_for_url("**/accounts/step-up/**")
        assert "To let a company control devices in your home, we need a fresh check." in page.get_by_role("main").inner_text()
        assert not Consent.objects.exists(), "nothing is granted before the check"
        page.get_by_label("Confirm it's you").fill(password)
        page.get_by_role("button", name="Continue").click()

        page.wait_for_url("**/oauth/authorize/?*")
        assert _kind(page, DataKind.HAN_CONTROL).is_checked()
        assert not _kind(page, DataKind.USAGE_SUMMARY).is_checked()
        assert _kind(page, DataKind.INTERVAL_USAGE).is_checked()
        assert page.get_by_label("How far back").input_value() == "3"
        assert page.get_by_label("Until").input_value() == end

        page.get_by_role("button", name="Allow", exact=True).click()
        query = callback.next_callback(0)
        assert query["state"] == state and query["code"]
    consent = Consent.objects.get()
    assert set(consent.data_kinds) == {DataKind.INTERVAL_USAGE, DataKind.HAN_CONTROL}
    assert consent.history_months == 3
    assert timezone.localtime(consent.expires_at).date().isoformat() == end


@pytest.mark.objective("SO-T1")
def test_kept_choices_belong_to_one_request_and_are_used_once(alice, trent):
    """Another authorization request (another URL) starts from the defaults; so does a reload after use."""
    from thirdparty.views.oauth import CHOICES_SESSION_KEY

    application = world.register(trent, scopes=ASKED)
    _, challenge = world.pkce_pair()
    client = signed_in(alice)
    first = world.authorize_url(application, challenge=challenge, scope=" ".join(ASKED), state="one")
    session = client.session
    session[CHOICES_SESSION_KEY] = {
        "path": first,
        "premises": [],
        "data_kinds": [DataKind.HAN_CONTROL],
        "history_months": 3,
        "end_date": (timezone.localdate() + timedelta(days=9)).isoformat(),
    }
    session.save()
    other = client.get(world.authorize_url(application, challenge=challenge, scope=" ".join(ASKED), state="two"))
    assert other.context["form"].initial["history_months"] != 3
    kept = client.get(first)
    assert kept.context["form"].initial["history_months"] == 3
    assert kept.context["form"].initial["data_kinds"] == [DataKind.HAN_CONTROL]
    again = client.get(first)
    assert again.context["form"].initial["history_months"] != 3
