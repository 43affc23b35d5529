"""Third-party objects the access table and the tests build from the personas."""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.utils import timezone

from thirdparty.models import ApplicationStatus, Consent, DataKind, ThirdPartyApplication
from thirdparty.selectors import agreement_current
from thirdparty.services.consent import consent_grant
from thirdparty.services.registration import agreement_publish, application_register, application_status_set

REDIRECT_URI = "https://client.example.test/callback"
ALL_DATA = [DataKind.INTERVAL_USAGE, DataKind.USAGE_SUMMARY]
# One secret (and signing key, for device access) per application, kept by the tests as a third party keeps them.
SECRETS: dict[int, str] = {}
SIGNING_KEYS: dict[int, Ed25519PrivateKey] = {}


def current_agreement():
    # Transactional tests flush the table the data migration filled.
    return agreement_current() or agreement_publish(version=1, title="Third-party data confidentiality and access agreement", body="Terms.")


def register(
    developer,
    *,
    name: str = "Energy Insights",
    scopes=None,
    status: str = ApplicationStatus.PRODUCTION,
    redirect_uris=None,
    organisation: str = "Insights Ltd",
    signatory_name: str = "Trent Thirdparty",
) -> ThirdPartyApplication:
    scopes = list(scopes or ALL_DATA)
    signing_key = Ed25519PrivateKey.generate() if {DataKind.HAN_STATUS, DataKind.HAN_CONTROL} & set(scopes) else None
    public_key_pem = signing_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode() if signing_key else ""
    application, secret = application_register(
        developer=developer,
        organisation=organisation,
        name=name,
        stated_use="Hourly charts of your use.",
        requested_scopes=scopes,
        redirect_uris=list(redirect_uris or [REDIRECT_URI]),
        public_key_pem=public_key_pem,
        agreement_version=current_agreement().version,
        signatory_name=signatory_name,
    )
    SECRETS[application.pk] = secret
    if signing_key is not None:
        SIGNING_KEYS[application.pk] = signing_key
    if status != ApplicationStatus.REVIEW:
        application_status_set(application=application, status=status, reason="approved in tests", actor=None)
        application.refresh_from_db()
    return application


def trent_application(people) -> ThirdPartyApplication:
    existing = ThirdPartyApplication.objects.filter(developer=people["trent"]).first()
    return existing or register(people["trent"])


def premise_of(user):
    return user.customer_account.agreements.get().premise


def grant(application, customer, *, kinds=None, history_months: int = 13, days: int = 365) -> Consent:
    return consent_grant(
        application=application,
        customer=customer,
        premises=[premise_of(customer)],
        data_kinds=list(kinds or ALL_DATA),
        history_months=history_months,
        expires_at=timezone.now() + timedelta(days=days),
    )


def alice_consent(people) -> Consent:
    application = trent_application(people)
    return Consent.objects.filter(application=application, customer=people["alice"]).first() or grant(application, people["alice"])


def application_kwargs(people) -> dict:
    return {"application_id": trent_application(people).pk}


def consent_kwargs(people) -> dict:
    return {"consent_id": alice_consent(people).pk}


def espi_kwargs(people, name: str) -> dict:
    consent = alice_consent(people)
    meter = premise_of(people["alice"]).meters.get()
    point = {"subscription_id": consent.pk, "usage_point_id": meter.pk}
    return {
        "read_service_status": {},
        "authorization_list": {},
        "authorization": {"authorization_id": consent.pk},
        "usage_point_list": {"subscription_id": consent.pk},
        "usage_point": point,
        "meter_reading_list": point,
        "meter_reading": {**point, "meter_reading_id": 1},
        "interval_block_list": {**point, "meter_reading_id": 1},
        "interval_block": {**point, "meter_reading_id": 1, "interval_block_id": 20250101},
        "usage_summary_list": point,
        "reading_type": {"reading_type_id": f"{meter.pk}-1"},
        "batch_subscription": {"subscription_id": consent.pk},
        "subscription": {"subscription_id": consent.pk},
        "usage_summary": {**point, "usage_summary_id": 202501},
        "reading_type_list": {},
        "local_time_parameters_list": {},
        "local_time_parameters": {"local_time_parameters_id": meter.premise_id},
        "application_information_list": {},
        "application_information": {"application_information_id": consent.application_id},
        **_device_kwargs(people, point, name),
    }[name]


def _device_kwargs(people, point: dict, name: str) -> dict:
    if not name.startswith("device"):
        return {}
    from tests.han.world import han_world

    device = {**point, "device_id": han_world(people)["device"].uid}
    return {
        "device_list": point,
        "device": device,
        "device_load_control": device,
        "device_status_read": device,
        "device_command": {**device, "command_id": "00000000-0000-4000-8000-000000000000"},
    }


# --- The OAuth dance, through Django's test client -------------------------------------------


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def authorize_url(
    application,
    *,
    scope: str = "interval_usage usage_summary",
    challenge: str | None = None,
    method: str = "S256",
    state: str = "xyz",
    **extra,
) -> str:
    params = {"response_type": "code", "client_id": application.client_id, "redirect_uri": REDIRECT_URI, "scope": scope, "state": state}
    if challenge is not None:
        params["code_challenge"] = challenge
        params["code_challenge_method"] = method
    params.update(extra)
    return "/oauth/authorize/?" + urlencode(params)


def consent_form(customer, *, kinds=None, history: int = 13, end=None) -> dict:
    return {
        "premises": [premise_of(customer).pk],
        "data_kinds": list(kinds or ALL_DATA),
        "history_months": history,
        "end_date": (end or (timezone.localdate() + timedelta(days=365))).isoformat(),
        "allow": "1",
    }


def query_of(location: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def basic_auth(application) -> str:
    raw = f"{application.client_id}:{SECRETS[application.pk]}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def token_request(client, application, data: dict):
    return client.post("/oauth/token/", data, HTTP_AUTHORIZATION=basic_auth(application))


def obtain_tokens(
    browser, api_client, application, customer, *, kinds=None, history: int = 13, scope: str = "interval_usage usage_summary"
) -> dict:
    """The customer consents in ``browser``; the third party exchanges the code with ``api_client``."""
    verifier, challenge = pkce_pair()
    response = browser.post(
        authorize_url(application, scope=scope, challenge=challenge), consent_form(customer, kinds=kinds, history=history)
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    code = query_of(response["Location"])["code"]
    token = token_request(
        api_client, application, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier}
    )
    assert token.status_code == 200, token.content
    return token.json()


def client_access_token(client, application, scope: str = "FB=34_35") -> str:
    """A client_credentials token for client access: the third party's own Authorization collection, nothing else."""
    response = token_request(client, application, {"grant_type": "client_credentials", "scope": scope})
    assert response.status_code == 200, response.content
    return response.json()["access_token"]
