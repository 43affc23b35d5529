"""Consents follow occupancy (issue 9, finding 2; SO-C15, SO-T1, SO-C5).

Device status and control only for a home the customer lives in now; at move-out the
device scopes end (status, webhook, audit); data stays bounded by the grantor's own windows.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from amiportal.audit.models import AuditEntry
from amiportal.premises.models import ServiceAgreement
from amiportal.premises.move_out import move_out_handlers
from amiportal.premises.services import agreement_move_in, agreement_move_out
from han.models import CoordinatorCommand
from tests.conftest import signed_in
from tests.factories import CustomerAccountFactory, MeterFactory, PremiseFactory, UserFactory
from tests.thirdparty import world
from tests.thirdparty.devices import CONTROL, DEVICE_SCOPES, LOAD_CONTROL_BODY, control_tokens, device_path, signed_post, stepped_up
from tests.thirdparty.devices import verified_thermostat as thermostat_at_alices
from thirdparty.models import Consent, ConsentStatus, DataKind, WebhookEvent
from thirdparty.selectors import consent_devices, consent_windows
from thirdparty.services.consent import consent_grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(alice, bob, ivan, olga, trent):
    return {"alice": alice, "bob": bob, "ivan": ivan, "olga": olga, "trent": trent}


@pytest.fixture
def control_app(trent):
    application = world.register(trent, name="Thermostat Co", scopes=DEVICE_SCOPES)
    application.webhook_url = "https://client.example.test/hooks"
    application.save(update_fields=["webhook_url"])
    return application


@pytest.fixture
def peters_new_home(peter):
    """Peter lives elsewhere now: one past home (Alice's) and one current home."""
    premise = PremiseFactory()
    MeterFactory(premise=premise)
    agreement_move_in(account=peter.customer_account, premise=premise, move_in=date(2024, 1, 1))
    return premise


def _alices_home(alice):
    return world.premise_of(alice)


def _move_alice_out_and_carol_in(alice):
    """Alice leaves yesterday (recorded through the service, as staff would); Carol moves in today."""
    agreement = alice.customer_account.agreements.get()
    agreement_move_out(agreement=agreement, move_out=timezone.localdate() - timedelta(days=1), actor=None)
    carol = UserFactory(email="carol@example.test", full_name="Carol Current")
    from amiportal.accounts.roles import Role, role_assign

    role_assign(user=carol, role=Role.CUSTOMER)
    account = CustomerAccountFactory(user=carol, name="Carol Current")
    agreement_move_in(account=account, premise=agreement.premise, move_in=timezone.localdate(), actor=None)
    return carol


def _another_control_app(like, name):
    application = world.register(like.developer, name=name, scopes=DEVICE_SCOPES)
    application.webhook_url = like.webhook_url
    application.save(update_fields=["webhook_url"])
    return application


def _grant(application, customer, premise, kinds):
    return consent_grant(
        application=application,
        customer=customer,
        premises=[premise],
        data_kinds=list(kinds),
        history_months=13,
        expires_at=timezone.now() + timedelta(days=30),
    )


# --- granting ---------------------------------------------------------------------------------------


@pytest.mark.objective("SO-C15")
def test_device_scopes_cannot_be_granted_for_a_past_home(alice, peter, peters_new_home, control_app):
    with pytest.raises(ValidationError, match="home you live in now"):
        _grant(control_app, peter, _alices_home(alice), [DataKind.HAN_STATUS])
    with pytest.raises(ValidationError, match="home you live in now"):
        _grant(control_app, peter, _alices_home(alice), [DataKind.INTERVAL_USAGE, DataKind.HAN_CONTROL])
    assert not Consent.objects.exists()
    # His own home now, yes; and his own past period's data at his former home, yes.
    assert _grant(control_app, peter, peters_new_home, CONTROL).status == ConsentStatus.ACTIVE
    assert _grant(control_app, peter, _alices_home(alice), [DataKind.INTERVAL_USAGE]).status == ConsentStatus.ACTIVE


@pytest.mark.objective("SO-C15")
def test_the_consent_screen_offers_past_homes_only_for_data(alice, peter, peters_new_home, control_app, trent):
    _, challenge = world.pkce_pair()
    device_page = signed_in(peter).get(world.authorize_url(control_app, scope="han_status han_control", challenge=challenge))
    assert device_page.status_code == 200
    device_html = device_page.content.decode()
    assert peters_new_home.address_line in device_html and _alices_home(alice).address_line not in device_html
    data_app = world.register(trent, name="Charts Co")
    data_html = signed_in(peter).get(world.authorize_url(data_app, challenge=challenge)).content.decode()
    assert peters_new_home.address_line in data_html and _alices_home(alice).address_line in data_html


@pytest.mark.objective("SO-C15")
def test_a_forged_consent_for_a_past_home_with_device_control_is_refused_and_audited(alice, peter, peters_new_home, control_app):
    _, challenge = world.pkce_pair()
    form = world.consent_form(alice, kinds=CONTROL)  # the form as Alice would fill it: her home, which was his
    form["premises"] = [_alices_home(alice).pk]
    response = stepped_up(peter).post(world.authorize_url(control_app, scope="han_status han_control", challenge=challenge), form)
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not Consent.objects.exists()
    entry = AuditEntry.objects.get(action="thirdparty.consent_refused")
    assert entry.actor_id == peter.pk and entry.customer_account_id == peter.customer_account.pk


# --- what a consent reaches ---------------------------------------------------------------------------


@pytest.mark.objective("SO-C15")
def test_consent_devices_are_only_those_of_a_home_the_grantor_occupies_now(alice, people, control_app):
    device = thermostat_at_alices(people)
    consent = _grant(control_app, alice, _alices_home(alice), CONTROL)
    meter = _alices_home(alice).meters.get()
    assert list(consent_devices(consent=consent, meter=meter)) == [device]
    # The move-out written straight to the row (as an admin edit would): no handler ran, the rule still holds.
    ServiceAgreement.objects.filter(account__user=alice).update(move_out=timezone.localdate() - timedelta(days=1))
    assert list(consent_devices(consent=consent, meter=meter)) == []


@pytest.mark.objective("SO-C5")
@pytest.mark.objective("SO-T1")
def test_data_scopes_stay_inside_the_grantors_own_windows(alice, peter, peters_new_home, control_app):
    home = _alices_home(alice)
    consent = _grant(control_app, peter, home, [DataKind.INTERVAL_USAGE])
    Consent.objects.filter(pk=consent.pk).update(history_months=120)
    consent.refresh_from_db()
    windows = consent_windows(consent=consent, premise=home)
    (peters_period,) = peter.customer_account.agreements.filter(premise=home)
    alice_moved_in = alice.customer_account.agreements.get().move_in
    assert windows, "his own period stays his to share"
    assert all(window.end <= world_day_start(home, alice_moved_in) for window in windows)
    assert all(window.start >= world_day_start(home, peters_period.move_in) for window in windows)


def world_day_start(premise, day):
    from billing.selectors import window_for_dates

    return window_for_dates(premise, day, day).start


# --- move-out ---------------------------------------------------------------------------------------


def test_third_party_access_registers_its_move_out_handler():
    assert "thirdparty.consent_device_access" in move_out_handlers()


@pytest.mark.objective("SO-C15")
@pytest.mark.objective("SO-U8")
def test_at_move_out_device_scopes_end_with_status_webhook_and_audit(alice, people, api, control_app):
    thermostat_at_alices(people)
    # Three companies (one live consent per customer and company): control only, data and devices, and one with a live token.
    control_only = _grant(control_app, alice, _alices_home(alice), CONTROL)
    mixed = _grant(_another_control_app(control_app, "Energy Coach"), alice, _alices_home(alice), DEVICE_SCOPES)
    control_tokens(api, _another_control_app(control_app, "Heat Pump Co"), alice)  # a live token, control only
    third = Consent.objects.order_by("-pk").first()
    _move_alice_out_and_carol_in(alice)

    control_only.refresh_from_db(), mixed.refresh_from_db(), third.refresh_from_db()
    assert control_only.status == ConsentStatus.REVOKED and control_only.ended_at and control_only.data_kinds == []
    assert mixed.status == ConsentStatus.ACTIVE and mixed.data_kinds == [DataKind.INTERVAL_USAGE]
    assert third.status == ConsentStatus.REVOKED and not third.token_bindings.exists()
    assert WebhookEvent.objects.filter(consent=control_only, event="authorization.revoked").exists()
    assert WebhookEvent.objects.filter(consent=mixed, event="authorization.updated").exists()
    entries = AuditEntry.objects.filter(action="thirdparty.consent_device_access_ended")
    assert {e.target for e in entries} == {f"consent:{c.pk}" for c in (control_only, mixed, third)}
    assert all(e.customer_account_id == alice.customer_account.pk and '"reason":"move_out"' in e.payload for e in entries)


@pytest.mark.objective("SO-C13")
@pytest.mark.objective("SO-C15")
def test_a_signed_load_control_under_a_former_occupants_consent_is_refused(alice, people, api, control_app):
    device = thermostat_at_alices(people)
    token = control_tokens(api, control_app, alice, kinds=DEVICE_SCOPES)
    consent = Consent.objects.order_by("-pk").first()
    meter_id = _alices_home(alice).meters.get().pk
    carol = _move_alice_out_and_carol_in(alice)

    response = signed_post(api, control_app, device_path(consent, meter_id, device, "LoadControl"), token, LOAD_CONTROL_BODY)
    assert response.status_code in (403, 404), response.content
    assert not CoordinatorCommand.objects.filter(kind="load_control").exists()
    page = signed_in(carol).get(reverse("thirdparty:customer_access")).content.decode()
    assert "Thermostat Co" not in page


@pytest.mark.objective("SO-C13")
@pytest.mark.objective("SO-C15")
def test_a_signed_load_control_is_refused_once_the_grantor_has_left_even_if_no_handler_ran(alice, people, api, control_app):
    device = thermostat_at_alices(people)
    token = control_tokens(api, control_app, alice, kinds=DEVICE_SCOPES)
    consent = Consent.objects.order_by("-pk").first()
    meter_id = _alices_home(alice).meters.get().pk
    ServiceAgreement.objects.filter(account__user=alice).update(move_out=timezone.localdate() - timedelta(days=1))

    response = signed_post(api, control_app, device_path(consent, meter_id, device, "LoadControl"), token, LOAD_CONTROL_BODY)
    assert response.status_code == 404, response.content
    assert not CoordinatorCommand.objects.filter(kind="load_control").exists()
