"""Third-party device status and control: consent, signatures, audit (SO-C12, SO-C13, SO-C14, SO-C15, SO-U4)."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.urls import reverse
from django.utils import timezone

from amiportal.audit.models import AuditEntry
from amiportal.celery import app as celery_app
from han.models import CoordinatorCommand, JobKind
from tests.conftest import signed_in
from tests.thirdparty import world
from tests.thirdparty.devices import (
    CONTROL,
    DEVICE_SCOPES,
    LOAD_CONTROL_BODY,
    control_tokens,
    device_path,
    post,
    signed_post,
    verified_thermostat,
)
from thirdparty.models import AccessLogEntry, ApplicationStatus, Consent, DataKind, DeviceCommandRequest, SignatureNonce
from thirdparty.services.consent import consent_revoke
from thirdparty.services.registration import application_status_set

pytestmark = pytest.mark.django_db

DEVICE_ROUTES = {
    "device_list": ("GET", None),
    "device": ("GET", ""),
    "device_load_control": ("POST", "LoadControl"),
    "device_status_read": ("POST", "StatusRead"),
    "device_command": ("GET", "Command"),
}


@pytest.fixture
def relayed(monkeypatch):
    """Commands go through the real relay task (eagerly); envelopes put on coordinator queues are captured."""
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr("han.broker.command_publish", lambda *, coordinator_name, envelope: sent.append((coordinator_name, envelope)))
    monkeypatch.setattr(celery_app.conf, "task_always_eager", True)
    monkeypatch.setattr(celery_app.conf, "task_eager_propagates", True)
    return sent


@pytest.fixture
def people(alice, bob, ivan, olga, trent):
    return {"alice": alice, "bob": bob, "ivan": ivan, "olga": olga, "trent": trent}


@pytest.fixture
def device(people):
    return verified_thermostat(people)


@pytest.fixture
def control_app(trent):
    return world.register(trent, name="Thermostat Co", scopes=DEVICE_SCOPES)


@pytest.fixture
def control(api, control_app, alice, device):
    token = control_tokens(api, control_app, alice)
    consent = Consent.objects.order_by("-pk").first()
    return token, consent, world.premise_of(alice).meters.get().pk


def _load_control(api, app, control, device, **kwargs):
    token, consent, meter_id = control
    return signed_post(api, app, device_path(consent, meter_id, device, "LoadControl"), token, LOAD_CONTROL_BODY, **kwargs)


# --- consent screen and customer page ----------------------------------------------------------


@pytest.mark.objective("SO-C15")
def test_the_consent_screen_offers_device_status_and_control_and_control_needs_step_up(alice, control_app, api):
    _, challenge = world.pkce_pair()
    url = world.authorize_url(control_app, scope="han_status han_control", challenge=challenge)
    page = signed_in(alice).get(url).content.decode()
    assert 'value="han_status"' in page and 'value="han_control"' in page
    assert "second factor" in page
    refused = signed_in(alice).post(url, world.consent_form(alice, kinds=CONTROL))
    assert refused.status_code == 302 and "/accounts/step-up/" in refused["Location"]
    assert not Consent.objects.exists()


@pytest.mark.objective("SO-C15")
def test_the_customer_sees_which_company_can_control_their_devices(alice, control, device):
    page = signed_in(alice).get(reverse("thirdparty:customer_access")).content.decode()
    assert "Can control" in page and "Home-area-network device status" in page


@pytest.mark.objective("SO-C12")
def test_registering_for_device_access_needs_a_signing_key(trent):
    from django.core.exceptions import ValidationError

    from thirdparty.services.registration import application_register

    with pytest.raises(ValidationError, match="public key"):
        application_register(
            developer=trent,
            organisation="Keyless Ltd",
            name="Keyless",
            stated_use="Control.",
            requested_scopes=[DataKind.HAN_CONTROL],
            redirect_uris=[world.REDIRECT_URI],
            public_key_pem="",
            agreement_version=world.current_agreement().version,
            signatory_name="Trent",
        )


# --- the authorization matrix for the device routes ------------------------------------------------


@pytest.mark.objective("SO-C15")
@pytest.mark.objective("SO-C13")
@pytest.mark.parametrize("name", sorted(DEVICE_ROUTES))
def test_device_authorization_matrix(
    name, api, trent, alice, bob, control_app, control, device, relayed, django_capture_on_commit_callbacks
):
    token, consent, meter_id = control
    method, action = DEVICE_ROUTES[name]
    with django_capture_on_commit_callbacks(execute=True):
        command = _load_control(api, control_app, control, device).json()["id"]
    suspended_app = world.register(trent, name="Suspended Co", scopes=DEVICE_SCOPES)

    def url(case_consent) -> str:
        if name == "device_list":
            return f"/espi/1_1/resource/Subscription/{case_consent.pk}/UsagePoint/{meter_id}/Device"
        return device_path(case_consent, meter_id, device, f"Command/{command}" if action == "Command" else action)

    def issue(name: str, customer=alice, kinds=CONTROL, app=None):
        # One live consent per customer and application: each of Alice's cases is another application's.
        app = app or world.register(trent, name=name, scopes=DEVICE_SCOPES)
        return control_tokens(api, app, customer, kinds=kinds), Consent.objects.order_by("-pk").first(), app

    cases = {
        "status_only": issue("Status Co", kinds=[DataKind.HAN_STATUS]),
        "interval_only": issue("Interval Co", kinds=[DataKind.INTERVAL_USAGE]),
        "other_customer": issue("", customer=bob, app=control_app),
        "revoked": issue("Revoked Co"),
        "expired": issue("Expired Co"),
        "suspended": issue("", app=suspended_app),
    }
    consent_revoke(consent=cases["revoked"][1], actor=alice)
    Consent.objects.filter(pk=cases["expired"][1].pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    application_status_set(application=suspended_app, status=ApplicationStatus.ON_HOLD, reason="breach under review", actor=None)
    problems = []

    def expect(case, path, case_token, status, app=control_app):
        with django_capture_on_commit_callbacks(execute=True):
            if method == "GET":
                headers = {"HTTP_AUTHORIZATION": f"Bearer {case_token}"} if case_token else {}
                response = api.get(path, HTTP_ACCEPT="application/json", **headers)
            else:
                body = LOAD_CONTROL_BODY if action == "LoadControl" else b""
                response = signed_post(api, app, path, case_token, body)
        if response.status_code != status:
            problems.append(f"{case}: {method} {path} answered {response.status_code}, expected {status}")
        if status == 401 and "Bearer" not in response.get("WWW-Authenticate", ""):
            problems.append(f"{case}: 401 without WWW-Authenticate: Bearer")

    expect("no token", url(consent), None, 401)
    expect("garbage token", url(consent), "not-a-token", 401)
    for case, status in (("interval_only", 403), *((("status_only", 403),) if action == "LoadControl" else ())):
        case_token, case_consent, case_app = cases[case]
        expect(case, url(case_consent), case_token, status, app=case_app)
    other_token, _, _ = cases["other_customer"]
    expect("another customer's consent", url(consent), other_token, 404)
    for case in ("revoked", "expired", "suspended"):
        case_token, case_consent, case_app = cases[case]
        expect(case, url(case_consent), case_token, 401, app=case_app)
    # A client_credentials token (client access), even signed with the application's key: never a device.
    expect("client access", url(consent), world.client_access_token(api, control_app), 403)
    expect("correct", url(consent), token, 202 if method == "POST" else 200)
    if name == "device_command":
        # The status-only consent of the same customer did not send it: 404, as if it did not exist.
        status_token, status_consent, status_app = cases["status_only"]
        expect("another consent's command", url(status_consent), status_token, 404, app=status_app)
    assert not problems, "\n".join(problems)


def test_a_device_that_is_not_at_a_consented_premise_is_404(api, control_app, control, device, bob, people):
    from han.models import Device

    token, consent, meter_id = control
    foreign = Device(network=device.network, eui64="00:0d:6f:00:00:00:bb:02", device_type="pct", state="registered")
    foreign.save()  # not verified: as good as not there
    response = signed_post(api, control_app, device_path(consent, meter_id, foreign, "StatusRead"), token)
    assert response.status_code == 404


# --- signatures ------------------------------------------------------------------------------------


def _refusals():
    return list(AuditEntry.objects.filter(action="thirdparty.device_request_refused").order_by("seq"))


@pytest.mark.objective("SO-C13")
@pytest.mark.objective("SO-U4")
def test_a_signed_load_control_request_is_verified_audited_and_queued(
    api, control_app, control, device, relayed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _load_control(api, control_app, control, device)
    assert response.status_code == 202, response.content
    command = response.json()
    assert command["state"] in ("pending", "relayed")
    assert command["event"]["device_class"] == 1 and command["event"]["cooling_offset"] == 20
    job = CoordinatorCommand.objects.get(command_id=command["id"])
    assert job.kind == JobKind.LOAD_CONTROL and job.requested_by is None
    ((_, envelope),) = relayed
    assert envelope["type"] == "load_control" and envelope["coordinator"] == device.network.coordinator.name
    assert device.eui64 not in json.dumps(envelope)  # the body travels sealed to the coordinator

    verified = AuditEntry.objects.get(action="thirdparty.device_request_verified")
    evidence = json.loads(verified.payload)
    assert evidence["body"] == LOAD_CONTROL_BODY.decode()
    assert evidence["signature_base"].startswith('"@method": POST\n"@target-uri": http://testserver/espi/')
    assert evidence["keyid"] == control_app.client_id and evidence["public_key_sha256"]
    assert control[0] not in verified.payload  # never the bearer token
    assert DeviceCommandRequest.objects.get(job=job).audit_seq == verified.seq
    requested = json.loads(AuditEntry.objects.get(action="han.load_control_requested").payload)
    assert requested["origin"]["signed_request_audit_seq"] == verified.seq
    assert AccessLogEntry.objects.filter(consent=control[1], status_code=202).exists()


@pytest.mark.objective("SO-C13")
@pytest.mark.objective("SO-U4")
@pytest.mark.parametrize(
    "case, reason",
    [
        ("missing", "missing Signature-Input"),
        ("wrong key", "does not verify"),
        ("tampered body", "Content-Digest does not match"),
        ("re-digested body", "does not verify"),
        ("stale", "outside the accepted window"),
        ("from the future", "outside the accepted window"),
        ("another keyid", "keyid does not name"),
    ],
)
def test_a_bad_signature_is_refused_logged_and_nothing_is_sent(
    case, reason, api, control_app, control, device, relayed, django_capture_on_commit_callbacks
):
    from thirdparty.api.signatures import content_digest, request_sign

    token, consent, meter_id = control
    path = device_path(consent, meter_id, device, "LoadControl")
    tampered = LOAD_CONTROL_BODY.replace(b'"duration_minutes": 30', b'"duration_minutes": 1440')
    with django_capture_on_commit_callbacks(execute=True):
        if case == "missing":
            response = post(api, path, token, LOAD_CONTROL_BODY)
        elif case == "wrong key":
            response = _load_control(api, control_app, control, device, key=Ed25519PrivateKey.generate())
        elif case == "tampered body":
            response = signed_post(api, control_app, path, token, tampered, signed_body=LOAD_CONTROL_BODY)
        elif case == "re-digested body":
            # Sign the original, then swap in the tampered body with a digest that matches it.
            headers = request_sign(
                private_key=world.SIGNING_KEYS[control_app.pk],
                method="POST",
                target_uri=f"http://testserver{path}",
                body=LOAD_CONTROL_BODY,
                keyid=control_app.client_id,
                nonce="n-redigested-1",
                created=int(time.time()),
            )
            headers["Content-Digest"] = content_digest(tampered)
            response = post(api, path, token, tampered, headers=headers)
        elif case == "stale":
            response = _load_control(api, control_app, control, device, created=int(time.time()) - 301)
        elif case == "from the future":
            response = _load_control(api, control_app, control, device, created=int(time.time()) + 120)
        else:
            response = _load_control(api, control_app, control, device, keyid="someone-else")
    assert response.status_code == 401, response.content
    assert reason in response.json()["detail"]
    assert "content-digest" in response["Accept-Signature"]
    assert not CoordinatorCommand.objects.filter(kind=JobKind.LOAD_CONTROL).exists() and relayed == []
    (refusal,) = _refusals()
    payload = json.loads(refusal.payload)
    assert reason in payload["reason"] and refusal.target == f"device:{device.uid}"
    assert token not in refusal.payload
    assert AccessLogEntry.objects.filter(consent=consent, status_code=401).exists()


@pytest.mark.objective("SO-C13")
def test_a_replayed_request_is_refused_even_within_the_window(
    api, control_app, control, device, relayed, django_capture_on_commit_callbacks
):
    kwargs = {"nonce": "replay-me-0001", "created": int(time.time())}
    with django_capture_on_commit_callbacks(execute=True):
        first = _load_control(api, control_app, control, device, **kwargs)
        second = _load_control(api, control_app, control, device, **kwargs)
    assert first.status_code == 202 and second.status_code == 401
    assert "replay" in second.json()["detail"]
    assert CoordinatorCommand.objects.filter(kind=JobKind.LOAD_CONTROL).count() == 1 and len(relayed) == 1
    assert SignatureNonce.objects.filter(application=control_app, nonce="replay-me-0001").count() == 1
    assert "replay" in json.loads(_refusals()[0].payload)["reason"]


def test_an_event_outside_the_specification_is_a_clear_400(api, control_app, control, device, relayed):
    token, consent, meter_id = control
    path = device_path(consent, meter_id, device, "LoadControl")
    body = b'{"device_classes": ["spaceship"], "duration_minutes": 2000, "criticality": 3}'
    response = signed_post(api, control_app, path, token, body)
    assert response.status_code == 400
    assert set(response.json()) == {"device_classes", "duration_minutes"}
    assert not CoordinatorCommand.objects.exists()


def test_nonces_older_than_the_window_are_pruned(control_app):
    from thirdparty.services.device_control import signature_nonces_prune

    old = timezone.now() - timedelta(hours=2)
    SignatureNonce.objects.create(application=control_app, nonce="old-nonce-1", created=old, received_at=old)
    SignatureNonce.objects.create(application=control_app, nonce="new-nonce-1", created=timezone.now())
    assert signature_nonces_prune() == 1
    assert list(SignatureNonce.objects.values_list("nonce", flat=True)) == ["new-nonce-1"]


def test_the_documented_example_client_signs_requests_the_api_accepts(api, control_app, control, device, relayed):
    import importlib.util
    from pathlib import Path

    path_to_example = Path(__file__).resolve().parents[2] / "docs" / "examples" / "device_control.py"
    spec = importlib.util.spec_from_file_location("device_control_example", path_to_example)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    token, consent, meter_id = control
    path = device_path(consent, meter_id, device, "LoadControl")
    headers = example.sign(
        key=world.SIGNING_KEYS[control_app.pk],
        method="POST",
        url=f"http://testserver{path}",
        body=LOAD_CONTROL_BODY,
        client_id=control_app.client_id,
    )
    assert post(api, path, token, LOAD_CONTROL_BODY, headers=headers).status_code == 202
