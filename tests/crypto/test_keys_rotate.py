"""One registry of sealed columns and one key rotation over all of them (SO-U1, SO-C6)."""

from __future__ import annotations

import base64
import json
import os

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import models

from amiportal.audit.models import AuditEntry
from amiportal.crypto.envelope import sealed_key_id
from amiportal.crypto.rotation import keys_rotate
from amiportal.crypto.sealed_columns import SEALED_COLUMNS
from han.models import Device, JobKind
from han.protocol import CoordinatorIdentity, ReplayGuard, command_open
from han.services.keys import network_key_open
from han.services.networks import coordinator_register, coordinator_replace
from han.services.relay import head_end_public_key_hex
from tests.conftest import CsrfClient, current_code, signed_in
from tests.han.test_keys_at_rest import _register
from tests.thirdparty import world
from thirdparty.models import WebhookEvent
from thirdparty.services.webhook_signing import standard_signature_valid
from thirdparty.services.webhooks import signature_valid, webhook_deliver, webhook_secret_rotate

pytestmark = pytest.mark.django_db


def _kek(key_id: str) -> str:
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"


@pytest.mark.objective("SO-U1")
def test_every_column_that_stores_a_sealed_value_is_in_the_registry():
    registered = {(column.model().__name__, column.field) for column in SEALED_COLUMNS}
    sealed_fields = {
        (model.__name__, field.name)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.Field) and field.name.endswith("_sealed")
    }
    assert sealed_fields == registered
    for column in SEALED_COLUMNS:  # every binding names a real, stable attribute of the row
        assert column.binding == "pk" or column.model()._meta.get_field(column.binding).unique


@pytest.mark.objective("SO-U1")
@pytest.mark.objective("SO-C6")
def test_after_rotation_the_old_kek_can_go_and_staff_sign_in_webhooks_sign_and_han_keys_restore(
    olga,
    trent,
    alice,
    ivan,
    password,
    alice_network,
    receiver,
    captured,
    django_capture_on_commit_callbacks,
    settings,
):
    # Everything below was sealed under the keyring the fixtures used.
    old_ring = settings.AMI_KEYRING
    application = world.register(trent)
    response = signed_in(trent, stepped_up=True).post(
        f"/developer/applications/{application.pk}/webhook/", {"webhook_url": f"http://127.0.0.1:{receiver[0].server_port}/hook"}
    )
    first_webhook_secret = response.context["secret"]
    application.refresh_from_db()
    webhook_secret = webhook_secret_rotate(application=application, actor=trent)  # the first one still signs in the overlap
    application.refresh_from_db()
    device, link_key = _register(alice_network, ivan, django_capture_on_commit_callbacks)
    network_key = network_key_open(network=alice_network)

    new_kek = _kek("rot2")
    settings.AMI_KEYRING = f"{new_kek},{old_ring}"
    call_command("keys_rotate", "--batch-size", "1")
    entry = AuditEntry.objects.filter(action="crypto.keys_rotated").latest("seq")
    payload = json.loads(entry.payload)
    assert payload["complete"] and payload["remaining"] == 0 and payload["rewrapped"] >= 6
    assert all(column["rewrapped"] >= 1 for column in payload["columns"])  # every kind of sealed secret was there, and moved
    assert {c["column"] for c in payload["columns"]} == {c.label for c in SEALED_COLUMNS}
    for kek in (new_kek, old_ring):  # counts only, never key material
        assert kek.split(":", 1)[1] not in entry.payload

    settings.AMI_KEYRING = new_kek  # the old KEK leaves the keyring

    # Staff still sign in with their authenticator.
    client = CsrfClient()
    assert client.post("/accounts/login/", {"email": olga.email, "password": password}).url == "/accounts/two-factor/verify/"
    assert client.post("/accounts/two-factor/verify/", {"code": current_code()}).status_code == 302
    assert client.get("/operator/").status_code == 200

    # Webhooks still sign, with the secret the developer was shown.
    world.grant(application, alice)
    event = WebhookEvent.objects.get(event="authorization.created")
    assert webhook_deliver(event_id=str(event.pk), max_attempts=3) == "delivered"
    headers, body = receiver[1].received[-1]
    for secret in (webhook_secret, first_webhook_secret):
        assert signature_valid(secret, body, headers["AMI-Signature"]) and standard_signature_valid(secret, body, headers)

    # HAN keys are restored to a replacement gateway from escrow.
    replacement = CoordinatorIdentity.generate("gw-alice-2")
    coordinator = coordinator_register(
        name=replacement.name, box_public_key=replacement.box_public_hex, verify_public_key=replacement.verify_public_hex
    )
    sent_before = len(captured)
    with django_capture_on_commit_callbacks(execute=True):
        jobs = coordinator_replace(network=alice_network, coordinator=coordinator, actor=None)
    assert [job.kind for job in jobs] == [JobKind.NETWORK_CONFIGURE, JobKind.RESTORE]
    opened = [
        command_open(envelope=envelope, head_end_public_hex=head_end_public_key_hex(), identity=replacement, replay_guard=ReplayGuard())
        for name, envelope in captured[sent_before:]
        if name == replacement.name
    ]
    assert {command.secret for command in opened} == {network_key, link_key}
    assert sealed_key_id(Device.objects.get(pk=device.pk).link_key_sealed) == "rot2"


@pytest.mark.objective("SO-U1")
def test_a_value_no_kek_opens_is_reported_and_the_command_fails_until_it_is_resolved(olga, settings):
    settings.AMI_KEYRING = _kek("other")  # olga's authenticator was sealed under a KEK no longer present
    with pytest.raises(CommandError, match="Keep every older KEK"):
        call_command("keys_rotate")
    report = keys_rotate()
    totp = next(column for column in report.columns if column.column == "accounts.SealedTOTPDevice.key_sealed")
    assert (totp.unreadable, totp.remaining, report.complete) == (1, 1, False)
    olga.sealedtotpdevice_set.get()  # left as it was, never deleted
