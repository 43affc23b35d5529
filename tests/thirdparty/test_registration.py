"""Registration, the data agreement and operator review (SO-C11, SO-C12)."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from oauth2_provider.models import AccessToken, Application

from amiportal.audit.models import AuditEntry
from tests.conftest import form_errors, signed_in
from tests.factories import UserFactory
from tests.thirdparty import world
from thirdparty.models import AgreementAcceptance, ApplicationStatus, ThirdPartyApplication
from thirdparty.services.registration import agreement_publish

pytestmark = pytest.mark.django_db


def _pem(key) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _form(**overrides) -> dict:
    form = {
        "organisation": "Insights Ltd",
        "name": "Energy Insights",
        "stated_use": "Hourly charts of your use.",
        "requested_scopes": ["interval_usage", "usage_summary"],
        "redirect_uris": "https://app.example.test/cb\nhttp://127.0.0.1:8765/callback",
        "public_key_pem": _pem(ed25519.Ed25519PrivateKey.generate()),
        "signatory_name": "Trent Thirdparty",
        "accept_agreement": "on",
        "agreement_version": "1",
    }
    form.update(overrides)
    return form


@pytest.mark.objective("SO-C11")
@pytest.mark.objective("SO-C12")
def test_developer_registers_signs_the_agreement_and_sees_the_secret_once(trent):
    client = signed_in(trent)
    page = client.get("/developer/applications/new/")
    assert "Third-party data confidentiality and access agreement" in page.content.decode()
    response = client.post("/developer/applications/new/", _form())
    assert response.status_code == 200
    secret = response.context["secret"]
    application = ThirdPartyApplication.objects.get()
    assert application.status == ApplicationStatus.REVIEW
    assert secret in response.content.decode()
    acceptance = AgreementAcceptance.objects.get()
    assert acceptance.agreement.version == 1 and acceptance.developer == trent and application.agreement_acceptance == acceptance
    stored = Application.objects.get().client_secret
    assert secret not in stored and stored.startswith("amihmac$")
    assert secret not in client.get(f"/developer/applications/{application.pk}/").content.decode()
    entry = AuditEntry.objects.get(action="thirdparty.application_registered")
    assert secret not in entry.payload


def test_registration_needs_the_agreement_accepted(trent):
    response = signed_in(trent).post("/developer/applications/new/", _form(accept_agreement=""))
    assert response.status_code == 200 and not ThirdPartyApplication.objects.exists()


@pytest.mark.parametrize(
    "uri",
    ["http://app.example.test/cb", "https://app.example.test/cb#frag", "ftp://app.example.test/", "https://*.example.test/cb", "/relative"],
)
def test_redirect_uris_must_be_https_except_loopback(trent, uri):
    response = signed_in(trent).post("/developer/applications/new/", _form(redirect_uris=uri))
    assert response.status_code == 200 and not ThirdPartyApplication.objects.exists()
    assert form_errors(response.content.decode())


def test_loopback_redirect_uris_are_allowed_for_development(trent):
    response = signed_in(trent).post("/developer/applications/new/", _form(redirect_uris="http://localhost:8000/cb\nhttp://127.0.0.1/cb"))
    assert response.status_code == 200 and ThirdPartyApplication.objects.exists()


def test_the_signing_key_must_be_ed25519(trent):
    other = _pem(ec.generate_private_key(ec.SECP256R1()))
    response = signed_in(trent).post("/developer/applications/new/", _form(public_key_pem=other))
    assert "Ed25519" in response.content.decode() and not ThirdPartyApplication.objects.exists()
    garbage = signed_in(trent).post("/developer/applications/new/", _form(public_key_pem="hello"))
    assert "PEM" in garbage.content.decode()


def test_rotating_the_secret_shows_a_new_one_and_the_old_stops_working(trent, alice, api):
    application = world.register(trent)
    old = world.SECRETS[application.pk]
    response = signed_in(trent, stepped_up=True).post(f"/developer/applications/{application.pk}/secret/", {"confirm": "yes"})
    new = response.context["secret"]
    assert new != old
    world.SECRETS[application.pk] = old
    verifier, challenge = world.pkce_pair()
    code_response = signed_in(alice).post(world.authorize_url(application, challenge=challenge), world.consent_form(alice))
    code = world.query_of(code_response["Location"])["code"]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": world.REDIRECT_URI, "code_verifier": verifier}
    assert world.token_request(api, application, data).status_code == 401
    world.SECRETS[application.pk] = new
    assert world.token_request(api, application, data).status_code == 200


def test_another_developer_cannot_see_the_application(trent):
    application = world.register(trent)
    mallory = UserFactory(email="mallory@example.test")
    from amiportal.accounts.roles import Role, role_assign

    role_assign(user=mallory, role=Role.THIRD_PARTY_DEVELOPER)
    assert signed_in(mallory).get(f"/developer/applications/{application.pk}/").status_code == 404
    assert signed_in(mallory, stepped_up=True).post(f"/developer/applications/{application.pk}/secret/").status_code == 404


def test_an_application_in_review_cannot_ask_customers(trent, alice):
    application = world.register(trent, status=ApplicationStatus.REVIEW)
    _, challenge = world.pkce_pair()
    response = signed_in(alice).get(world.authorize_url(application, challenge=challenge))
    assert response.status_code == 400 and "not approved" in response.content.decode()


@pytest.mark.objective("SO-C11")
def test_a_new_agreement_version_must_be_accepted_before_new_consents(trent, alice):
    application = world.register(trent)
    agreement_publish(version=2, title="Agreement", body="Version two terms.")
    _, challenge = world.pkce_pair()
    client = signed_in(alice)
    assert client.get(world.authorize_url(application, challenge=challenge)).status_code == 400
    developer = signed_in(trent)
    assert "has not been accepted yet" in developer.get("/developer/applications/").content.decode()
    response = developer.post(
        "/developer/agreement/",
        {"application": application.pk, "signatory_name": "Trent", "accept_agreement": "on", "agreement_version": "2"},
    )
    assert response.status_code == 302
    page = client.get(world.authorize_url(application, challenge=challenge))
    assert page.status_code == 200 and "(version 2)" in page.content.decode()


def test_accepting_an_outdated_version_is_refused(trent):
    application = world.register(trent)
    agreement_publish(version=2, title="Agreement", body="Version two terms.")
    response = signed_in(trent).post(
        "/developer/agreement/",
        {"application": application.pk, "signatory_name": "Trent", "accept_agreement": "on", "agreement_version": "1"},
    )
    assert response.status_code == 200 and "has changed" in response.content.decode()
    assert AgreementAcceptance.objects.filter(agreement__version=1).count() == 1
    assert not AgreementAcceptance.objects.filter(agreement__version=2).exists()


def test_operator_reviews_and_puts_into_production(trent, olga):
    application = world.register(trent, status=ApplicationStatus.REVIEW)
    client = signed_in(olga)
    registry = client.get("/operator/third-parties/").content.decode()
    assert "Energy Insights" in registry and "In review" in registry
    response = client.post(f"/operator/third-parties/{application.pk}/", {"status": "production", "reason": "Checked the company"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.PRODUCTION
    entry = AuditEntry.objects.get(action="thirdparty.application_status_changed")
    assert entry.actor_id == olga.pk and json.loads(entry.payload)["to"] == "production"


def test_suspension_kills_every_token_of_the_client_at_once(trent, alice, bob, olga, api):
    application = world.register(trent)
    first = world.obtain_tokens(signed_in(alice), api, application, alice)
    second = world.obtain_tokens(signed_in(bob), api, application, bob)
    assert AccessToken.objects.count() == 2
    signed_in(olga).post(f"/operator/third-parties/{application.pk}/", {"status": "on_hold", "reason": "Complaint"})
    assert not AccessToken.objects.exists()
    for tokens in (first, second):
        assert api.get("/espi/1_1/resource/ReadServiceStatus", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").status_code == 401
        refresh = world.token_request(api, application, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
        assert refresh.status_code in (400, 401)


def test_revoked_is_final(trent, olga):
    application = world.register(trent, status=ApplicationStatus.REVOKED)
    response = signed_in(olga).post(f"/operator/third-parties/{application.pk}/", {"status": "production", "reason": "oops"})
    assert response.status_code == 200
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REVOKED


def test_operator_sees_access_statistics(trent, alice, olga, api):
    application = world.register(trent)
    tokens = world.obtain_tokens(signed_in(alice), api, application, alice)
    for _ in range(3):
        api.get("/espi/1_1/resource/ReadServiceStatus", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    page = signed_in(olga).get(f"/operator/third-parties/{application.pk}/")
    assert page.context["stats"].requests_24h == 3
    assert page.context["application"].active_consents == 1


def test_only_data_kinds_the_api_serves_can_be_requested(trent):
    response = signed_in(trent).post("/developer/applications/new/", _form(requested_scopes=["interval_usage", "billing"]))
    assert response.status_code == 200 and not ThirdPartyApplication.objects.exists()
    assert 'value="billing"' not in signed_in(trent).get("/developer/applications/new/").content.decode()


def test_agreement_publish_command_makes_the_next_version_current(tmp_path, trent):
    import io

    from django.core.management import call_command

    from thirdparty.selectors import acceptance_current_for, agreement_current

    world.register(trent)
    terms = tmp_path / "terms.txt"
    terms.write_text("New terms.\n", encoding="utf-8")
    out = io.StringIO()
    call_command("agreement_publish", str(terms), stdout=out)
    assert agreement_current().version == 2 and agreement_current().body == "New terms."
    assert acceptance_current_for(application=ThirdPartyApplication.objects.get()) is None
    assert AuditEntry.objects.filter(action="thirdparty.agreement_published").exists()


def test_loopback_http_redirects_are_refused_in_production(trent, settings):
    settings.IS_PRODUCTION = True
    response = signed_in(trent).post("/developer/applications/new/", _form(redirect_uris="http://127.0.0.1:8765/callback"))
    assert response.status_code == 200 and not ThirdPartyApplication.objects.exists()


@pytest.mark.objective("SO-C11")
def test_a_second_application_of_the_same_developer_keeps_its_own_organisation_and_signatory(trent, alice):
    world.register(trent)
    heatwise = world.register(trent, name="Heatwise", organisation="Heatwise GmbH", signatory_name="Hanna Heat")
    assert AgreementAcceptance.objects.count() == 2
    assert heatwise.agreement_acceptance.organisation == "Heatwise GmbH"
    assert heatwise.agreement_acceptance.signatory_name == "Hanna Heat"
    assert heatwise.agreement_acceptance.application == heatwise
    _, challenge = world.pkce_pair()
    screen = signed_in(alice).get(world.authorize_url(heatwise, challenge=challenge)).content.decode()
    assert "Heatwise GmbH signed our data agreement" in screen and "signed by Hanna Heat" in screen
    assert "Insights Ltd" not in screen and "Trent Thirdparty" not in screen
    world.grant(heatwise, alice)
    access = signed_in(alice).get("/customer/access/").content.decode()
    assert "Heatwise GmbH" in access and "Insights Ltd" not in access


def test_a_new_agreement_version_is_signed_per_application(trent, alice):
    insights = world.register(trent)
    heatwise = world.register(trent, name="Heatwise", organisation="Heatwise GmbH", signatory_name="Hanna Heat")
    agreement_publish(version=2, title="Agreement", body="Version two terms.")
    developer = signed_in(trent)
    form = {"application": heatwise.pk, "signatory_name": "Hanna Heat", "accept_agreement": "on", "agreement_version": "2"}
    assert developer.post("/developer/agreement/", form).status_code == 302
    signed = AgreementAcceptance.objects.get(agreement__version=2)
    assert signed.application == heatwise and signed.organisation == "Heatwise GmbH"
    _, challenge = world.pkce_pair()
    assert signed_in(alice).get(world.authorize_url(heatwise, challenge=challenge)).status_code == 200
    # The other application is not signed for by Heatwise's signature.
    assert signed_in(alice).get(world.authorize_url(insights, challenge=challenge)).status_code == 400
    assert "Energy Insights" in developer.get("/developer/applications/").content.decode()


def test_a_developer_cannot_sign_for_another_developers_application(trent):
    other = UserFactory(email="mallory@example.test")
    from amiportal.accounts.roles import Role, role_assign

    role_assign(user=other, role=Role.THIRD_PARTY_DEVELOPER)
    application = world.register(trent)
    agreement_publish(version=2, title="Agreement", body="Version two terms.")
    form = {"application": application.pk, "signatory_name": "Mallory", "accept_agreement": "on", "agreement_version": "2"}
    response = signed_in(other).post("/developer/agreement/", form)
    assert response.status_code == 200 and not AgreementAcceptance.objects.filter(agreement__version=2).exists()
