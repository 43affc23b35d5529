"""The one list of step-up actions (amiportal/accounts/sensitive_actions.py), walked route by route (SO-C4, SO-C15).

Each listed route, for the persona who may use it: without a fresh check it sends
them to confirm and changes nothing; with one it does the action.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from amiportal.accounts.models import BackupCode, SealedTOTPDevice
from amiportal.accounts.roles import Role, role_assign
from amiportal.accounts.sensitive_actions import SENSITIVE_ACTIONS
from amiportal.premises.services import STAFF_ACCESS_SESSION_KEY
from han.models import Coordinator, Device, DeviceState
from han.protocol import CoordinatorIdentity
from tests.conftest import add_totp, signed_in
from tests.han import world as han_world
from tests.han.conftest import install_code_for, random_eui64
from tests.thirdparty import world as thirdparty_world
from thirdparty.models import Consent, DataKind
from thirdparty.services.webhooks import webhook_configure

pytestmark = pytest.mark.django_db


def _views_by_route(patterns=None, namespace=""):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _views_by_route(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}", pattern.callback


_NOT_GUARDED = object()


def _step_up_action(view) -> object:
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        return getattr(view_class, "step_up_action", _NOT_GUARDED) if hasattr(view_class, "step_up_minutes") else _NOT_GUARDED
    return getattr(view, "step_up_action", _NOT_GUARDED)


@pytest.mark.objective("SO-C4")
def test_every_route_that_asks_for_step_up_is_in_the_list_and_every_listed_route_asks():
    guarded = {name: _step_up_action(view) for name, view in _views_by_route() if _step_up_action(view) is not _NOT_GUARDED}
    listed = {url_name: action for action, entry in SENSITIVE_ACTIONS.items() for url_name in entry.url_names if not entry.only_when}
    # Conditional entries are enforced inside their view (step_up_redirect); the walk below proves they are.
    assert guarded == listed, (
        f"guarded routes not in the list (or under another action): {set(guarded.items()) - set(listed.items())}; "
        f"listed routes that do not ask: {set(listed.items()) - set(guarded.items())}"
    )


def test_every_listed_service_exists():
    for action, entry in SENSITIVE_ACTIONS.items():
        for dotted in entry.services:
            module, name = dotted.rsplit(".", 1)
            assert callable(getattr(importlib.import_module(module), name, None)), f"{action}: {dotted} does not exist"


@dataclass
class Scenario:
    """How one persona uses one listed route, and how to tell it happened."""

    persona: str
    method: str
    url: str
    data: dict
    happened: Callable[[], bool]
    session: dict | None = None


# Destructive routes act only on the confirmed second POST (amiportal/portal/confirm.py).
CONFIRMED = {"confirm": "yes"}


def _people(alice, bob, ivan, olga, trent):
    return {"alice": alice, "bob": bob, "ivan": ivan, "olga": olga, "trent": trent}


def _scenario(url_name: str, people: dict) -> Scenario:
    alice, olga, trent = people["alice"], people["olga"], people["trent"]
    if url_name == "accounts:two_factor_setup":
        return Scenario("alice", "GET", reverse(url_name), {}, lambda: SealedTOTPDevice.objects.filter(user=alice).exists())
    if url_name == "accounts:totp_remove":
        device = add_totp(alice)
        removed = lambda: not SealedTOTPDevice.objects.filter(pk=device.pk).exists()  # noqa: E731
        return Scenario("alice", "POST", reverse(url_name, args=[device.pk]), CONFIRMED, removed)
    if url_name == "accounts:backup_codes":
        return Scenario("olga", "POST", reverse(url_name), CONFIRMED, lambda: BackupCode.objects.filter(device__user=olga).exists())
    if url_name == "han:customer_device_add":
        network = han_world.han_world(people)["network"]
        eui64 = random_eui64()
        data = {"install_code": install_code_for(), "eui64": eui64, "device_type": "ihd", "label": "Hall display", "network": network.pk}
        return Scenario("alice", "POST", reverse(url_name), data, lambda: Device.objects.filter(eui64=eui64).exists())
    if url_name == "han:customer_device_remove":
        device = han_world.han_world(people)["device"]
        return Scenario(
            "alice",
            "POST",
            reverse(url_name, args=[device.uid]),
            CONFIRMED,
            lambda: Device.objects.get(pk=device.pk).state == DeviceState.DECOMMISSIONED,
        )
    if url_name == "han:installer_device_remove":
        world = han_world.han_world(people)
        device = world["device"]
        return Scenario(
            "ivan",
            "POST",
            reverse(url_name, args=[world["work_order"].pk, device.uid]),
            {},
            lambda: Device.objects.get(pk=device.pk).state == DeviceState.DECOMMISSIONED,
        )
    if url_name == "han:operator_network_replace":
        network = han_world.han_world(people)["network"]
        spare = CoordinatorIdentity.generate("gw-spare")
        coordinator = Coordinator.objects.create(
            name=spare.name, box_public_key=spare.box_public_hex, verify_public_key=spare.verify_public_hex
        )
        # The reason gate is open (tests/test_staff_access.py covers it); only the step-up is under test here.
        grants = {str(alice.customer_account.pk): 4102444800.0}
        return Scenario(
            "olga",
            "POST",
            reverse(url_name, args=[network.pk]),
            {"coordinator": coordinator.pk},
            lambda: type(network).objects.get(pk=network.pk).coordinator_id == coordinator.pk,
            session={STAFF_ACCESS_SESSION_KEY: grants},
        )
    if url_name == "thirdparty:developer_application":
        application = thirdparty_world.trent_application(people)
        new_uri = "https://client.example.test/new-callback"
        data = {"redirect_uris": new_uri, "stated_use": application.stated_use, "public_key_pem": application.public_key_pem}
        return Scenario(
            "trent",
            "POST",
            reverse(url_name, args=[application.pk]),
            data,
            lambda: type(application).objects.get(pk=application.pk).redirect_uris == new_uri,
        )
    if url_name == "thirdparty:developer_secret_rotate":
        application = thirdparty_world.trent_application(people)
        before = application.oauth_application.client_secret
        return Scenario(
            "trent",
            "POST",
            reverse(url_name, args=[application.pk]),
            CONFIRMED,
            lambda: type(application.oauth_application).objects.get(pk=application.oauth_application_id).client_secret != before,
        )
    if url_name == "thirdparty:developer_webhook":
        application = thirdparty_world.trent_application(people)
        new_url = "http://127.0.0.1:9/ami"  # loopback, the destination test settings allow
        return Scenario(
            "trent",
            "POST",
            reverse(url_name, args=[application.pk]),
            {"webhook_url": new_url},
            lambda: type(application).objects.get(pk=application.pk).webhook_url == new_url,
        )
    if url_name == "thirdparty:developer_webhook_secret_rotate":
        application = thirdparty_world.trent_application(people)
        webhook_configure(application=application, url="http://127.0.0.1:9/ami", actor=trent)
        before = type(application).objects.get(pk=application.pk).webhook_secret_sealed
        return Scenario(
            "trent",
            "POST",
            reverse(url_name, args=[application.pk]),
            {},
            lambda: type(application).objects.get(pk=application.pk).webhook_secret_sealed != before,
        )
    if url_name == "thirdparty:operator_application_criticalities":
        role_assign(user=olga, role=Role.ADMIN)  # only an admin may grant; operators are refused before the check
        application = thirdparty_world.trent_application(people)
        return Scenario(
            "olga",
            "POST",
            reverse(url_name, args=[application.pk]),
            {"levels": ["8"], "reason": "Ticket 77: storm emergency programme"},
            lambda: 8 in type(application).objects.get(pk=application.pk).granted_utility_criticalities,
        )
    if url_name == "thirdparty:authorize":
        application = thirdparty_world.register(trent, name="Thermostat Co", scopes=[DataKind.INTERVAL_USAGE, DataKind.HAN_CONTROL])
        _, challenge = thirdparty_world.pkce_pair()
        url = thirdparty_world.authorize_url(application, scope="interval_usage han_control", challenge=challenge)
        data = thirdparty_world.consent_form(alice, kinds=[DataKind.HAN_CONTROL])
        return Scenario("alice", "POST", url, data, lambda: Consent.objects.filter(application=application, customer=alice).exists())
    raise AssertionError(f"{url_name} is in the step-up list but this test does not know how to use it: add a scenario")


LISTED_ROUTES = [(action, url_name) for action, entry in SENSITIVE_ACTIONS.items() for url_name in entry.url_names]


def _client(people: dict, scenario: Scenario, *, stepped_up: bool):
    client = signed_in(people[scenario.persona], stepped_up=stepped_up)
    if scenario.session:
        session = client.session
        session.update(scenario.session)
        session.save()
    return client


def _send(client, scenario: Scenario, referer: str = ""):
    extra = {"HTTP_REFERER": referer} if referer else {}
    if scenario.method == "GET":
        return client.get(scenario.url, **extra)
    return client.post(scenario.url, scenario.data, **extra)


@pytest.mark.objective("SO-C4")
@pytest.mark.parametrize(("action", "url_name"), LISTED_ROUTES)
def test_each_listed_route_refuses_without_a_fresh_check_and_works_with_one(action, url_name, alice, bob, ivan, olga, trent):
    people = _people(alice, bob, ivan, olga, trent)
    scenario = _scenario(url_name, people)

    refused = _send(_client(people, scenario, stepped_up=False), scenario, referer="http://testserver/came/from/")
    assert refused.status_code == 302 and refused.url.startswith(reverse("accounts:step_up")), (url_name, refused)
    assert f"action={action}" in refused.url
    if scenario.method == "POST" and not SENSITIVE_ACTIONS[action].only_when:
        # A form is never replayed after the check: the user goes back to the page they submitted from.
        assert "next=http%3A%2F%2Ftestserver%2Fcame%2Ffrom%2F" in refused.url
    assert not scenario.happened(), f"{url_name} acted without a fresh check"

    done = _send(_client(people, scenario, stepped_up=True), scenario)
    assert done.status_code < 400 and not (done.status_code == 302 and reverse("accounts:step_up") in done.url), (url_name, done)
    assert scenario.happened(), f"{url_name} did not act after a fresh check"


@pytest.mark.objective("SO-C4")
def test_the_step_up_page_says_which_action_it_is_for_and_confirms_it(alice, password):
    client = signed_in(alice)
    page = client.get(reverse("accounts:step_up"), {"action": "han.device_remove", "next": "/han/devices/"})
    assert "To remove a device from your home&#x27;s network and destroy its key, we need a fresh check." in page.content.decode()
    response = client.post(f"{reverse('accounts:step_up')}?action=han.device_remove", {"secret": password, "next": "/han/devices/"})
    assert response.url == "/han/devices/"
    listing = client.get("/han/devices/").content.decode()
    assert "Confirmed. You can now remove a device from your home&#x27;s network and destroy its key." in listing


@pytest.mark.objective("SO-C4")
def test_pages_that_only_guard_their_form_stay_readable_without_a_fresh_check(trent):
    application = thirdparty_world.register(trent)
    page = signed_in(trent).get(reverse("thirdparty:developer_application", args=[application.pk]))
    assert page.status_code == 200


def test_first_enrolment_right_after_sign_in_needs_no_second_password(db, password):
    from amiportal.accounts.roles import Role, role_assign
    from tests.conftest import CsrfClient
    from tests.factories import UserFactory

    newbie = UserFactory(email="new.operator@example.test")
    role_assign(user=newbie, role=Role.OPERATOR)
    client = CsrfClient()
    assert client.post(reverse("accounts:login"), {"email": newbie.email, "password": password}).url == reverse("accounts:two_factor_setup")
    assert client.get(reverse("accounts:two_factor_setup")).status_code == 200
