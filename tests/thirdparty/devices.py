"""Helpers for third-party device tests: a verified device, control tokens, signed requests as a third party sends them."""

from __future__ import annotations

import secrets
import time

from django.utils import timezone

from amiportal.accounts.services.two_factor import SESSION_STEP_UP_AT
from han.models import Device, DeviceState, DeviceType
from tests.conftest import signed_in
from tests.thirdparty import world
from thirdparty.api.signatures import request_sign
from thirdparty.models import DataKind

DEVICE_SCOPES = [DataKind.INTERVAL_USAGE, DataKind.HAN_STATUS, DataKind.HAN_CONTROL]
CONTROL = [DataKind.HAN_STATUS, DataKind.HAN_CONTROL]
LOAD_CONTROL_BODY = b'{"device_classes": ["hvac"], "duration_minutes": 30, "criticality": 3, "cooling_offset_celsius": "2.0"}'


def stepped_up(user):
    """The customer's browser right after a second-factor step-up (needed to grant device control)."""
    client = signed_in(user)
    session = client.session
    session[SESSION_STEP_UP_AT] = timezone.now().timestamp()
    session.save()
    return client


def control_tokens(api, application, customer, kinds=CONTROL) -> str:
    tokens = world.obtain_tokens(stepped_up(customer), api, application, customer, kinds=kinds, scope=" ".join(kinds))
    return tokens["access_token"]


def verified_thermostat(people) -> Device:
    """Alice's HAN network with a thermostat the coordinator verified (rows only; the relay is not under test here)."""
    from tests.han.world import han_world

    network = han_world(people)["network"]
    device = Device.objects.filter(network=network, device_type=DeviceType.THERMOSTAT).first()
    if device is None:
        device = Device.objects.create(
            network=network,
            eui64="00:0d:6f:00:00:00:aa:01",
            device_type=DeviceType.THERMOSTAT,
            state=DeviceState.VERIFIED,
            model="T-9",
            interview={"endpoints": [{"id": 1, "profile": 0x0109, "in_clusters": [0, 3, 0x0201], "out_clusters": [0x0700, 0x0701]}]},
        )
    return device


def device_path(consent, meter_id: int, device: Device, action: str = "") -> str:
    path = f"/espi/1_1/resource/Subscription/{consent.pk}/UsagePoint/{meter_id}/Device/{device.uid}"
    return f"{path}/{action}" if action else path


def signed_post(
    api, application, path: str, token: str | None, body: bytes = b"", *, key=None, keyid=None, nonce=None, created=None, **extra
):
    headers = request_sign(
        private_key=key or world.SIGNING_KEYS[application.pk],
        method="POST",
        target_uri=f"http://testserver{path}",
        body=extra.pop("signed_body", body),
        keyid=keyid or application.client_id,
        nonce=nonce or secrets.token_urlsafe(16),
        created=int(time.time()) if created is None else created,
    )
    return post(api, path, token, body, headers=headers, **extra)


def post(api, path: str, token: str | None, body: bytes = b"", *, headers: dict | None = None, **extra):
    meta = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in (headers or {}).items()}
    if token:
        meta["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return api.post(path, data=body, content_type="application/json", HTTP_ACCEPT="application/json", **meta, **extra)
