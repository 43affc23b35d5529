"""The ``make run`` demo shows device access: the demo third party asks for it, a demo customer grants it, a signed StatusRead works."""

from __future__ import annotations

import base64
import importlib.util
import io
import stat
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from amiportal.portal.demo import DEMO_PASSWORD
from amiportal.premises.models import Meter
from han.models import Device, DeviceState, DeviceType, HanNetwork
from tests.thirdparty import world
from thirdparty.demo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REDIRECT_URI, DEMO_SIGNING_KEY_NAME, demo_public_key_pem
from thirdparty.models import Consent, DataKind, DeviceCommandRequest, ThirdPartyApplication

pytestmark = pytest.mark.django_db

DEVICE_KINDS = {DataKind.HAN_STATUS, DataKind.HAN_CONTROL}


def _example_client(monkeypatch):
    path = Path(__file__).resolve().parents[2] / "docs" / "examples" / "espi_client.py"
    spec = importlib.util.spec_from_file_location("espi_client_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # The example looks in the checkout's var/; the tests' settings may point var/ elsewhere.
    monkeypatch.setattr(module, "DEMO_SIGNING_KEY", settings.VAR_DIR / "dev-secrets" / DEMO_SIGNING_KEY_NAME)
    return module


def _demo_alice_grants(kinds: list[str]) -> tuple[str, Consent]:
    """alice@demo.ami on the consent screen, stepping up with her password for device control; the client exchanges the code."""
    alice = Client()
    assert alice.post("/accounts/login/", {"email": "alice@demo.ami", "password": DEMO_PASSWORD}).status_code == 302
    verifier, challenge = world.pkce_pair()
    params = {
        "response_type": "code",
        "client_id": DEMO_CLIENT_ID,
        "redirect_uri": DEMO_REDIRECT_URI,
        "scope": " ".join(kinds),
        "state": "demo",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    url = "/oauth/authorize/?" + urlencode(params)
    form = world.consent_form(_alice(), kinds=kinds)
    answer = alice.post(url, form)
    if DataKind.HAN_CONTROL in kinds:
        assert answer.status_code == 302 and "/accounts/step-up/" in answer["Location"]
        assert alice.post(answer["Location"], {"secret": DEMO_PASSWORD}).status_code == 302
        answer = alice.post(url, form)
    assert answer.status_code == 302 and answer["Location"].startswith(DEMO_REDIRECT_URI), answer.content[:500]
    code = world.query_of(answer["Location"])["code"]
    basic = "Basic " + base64.b64encode(f"{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}".encode()).decode()
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": DEMO_REDIRECT_URI, "code_verifier": verifier}
    token = Client().post("/oauth/token/", data, HTTP_AUTHORIZATION=basic)
    assert token.status_code == 200, token.content
    return token.json(), Consent.objects.get(customer=_alice())


def _alice():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(email="alice@demo.ami")


@pytest.fixture
def demo():
    call_command("seed_demo", stdout=io.StringIO())
    return ThirdPartyApplication.objects.get(oauth_application__client_id=DEMO_CLIENT_ID)


def test_the_demo_third_party_asks_for_device_status_and_control_with_a_dev_only_key(demo):
    assert DEVICE_KINDS <= set(demo.requested_scopes)
    assert demo.public_key_pem == demo_public_key_pem()
    key_file = settings.VAR_DIR / "dev-secrets" / DEMO_SIGNING_KEY_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # Seeding again changes nothing; an older demo database without device access catches up.
    ThirdPartyApplication.objects.filter(pk=demo.pk).update(requested_scopes=[DataKind.INTERVAL_USAGE], public_key_pem="")
    call_command("seed_demo", stdout=io.StringIO())
    demo.refresh_from_db()
    assert DEVICE_KINDS <= set(demo.requested_scopes) and demo.public_key_pem == demo_public_key_pem()
    assert ThirdPartyApplication.objects.filter(oauth_application__client_id=DEMO_CLIENT_ID).count() == 1


def test_a_demo_customer_grants_control_and_the_example_client_sends_a_signed_status_read(demo, monkeypatch):
    token, consent = _demo_alice_grants([DataKind.INTERVAL_USAGE, DataKind.HAN_STATUS, DataKind.HAN_CONTROL])
    assert DEVICE_KINDS <= set(consent.data_kinds) and DataKind.HAN_CONTROL in token["scope"]
    network = HanNetwork.objects.get(premise__service_point_id="SP-100001")
    device = Device.objects.create(
        network=network,
        eui64="00:0d:6f:00:00:00:de:01",
        device_type=DeviceType.THERMOSTAT,
        state=DeviceState.VERIFIED,
        model="T-9",
        interview={"endpoints": [{"id": 1, "profile": 0x0109, "in_clusters": [0, 3, 0x0201], "out_clusters": [0x0700, 0x0701]}]},
    )
    meter = Meter.objects.get(serial_number="E100001")
    path = f"/espi/1_1/resource/Subscription/{consent.pk}/UsagePoint/{meter.pk}/Device/{device.uid}/StatusRead"
    client = _example_client(monkeypatch)
    key = client.signing_key(None)
    assert key is not None
    headers = client._sign()(key=key, method="POST", url=f"http://testserver{path}", body=b"", client_id=DEMO_CLIENT_ID)
    meta = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
    response = Client().post(path, data=b"", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token['access_token']}", **meta)
    assert response.status_code == 202, response.content
    assert DeviceCommandRequest.objects.filter(consent=consent, job__device=device).exists()
