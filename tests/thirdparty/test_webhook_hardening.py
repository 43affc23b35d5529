"""Webhooks: public destinations only, no redirects, Standard Webhooks signatures, secret rotation with overlap."""

from __future__ import annotations

import json
import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from amiportal.audit.models import AuditEntry
from tests.conftest import signed_in
from tests.thirdparty import world
from thirdparty.models import ThirdPartyApplication, WebhookEvent
from thirdparty.services.webhook_destinations import WebhookDestinationError, webhook_destination_check
from thirdparty.services.webhook_signing import standard_signature, standard_signature_valid
from thirdparty.services.webhooks import WebhookDeliveryError, signature_valid, webhook_configure, webhook_deliver

pytestmark = pytest.mark.django_db

_real_getaddrinfo = socket.getaddrinfo


@pytest.fixture
def dns(monkeypatch):
    """Names under .example.test resolve to whatever the test says; others resolve for real."""
    table: dict[str, str] = {}

    def getaddrinfo(host, port, *args, **kwargs):
        if host in table:
            family = socket.AF_INET6 if ":" in table[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (table[host], port))]
        return _real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


def _post_webhook(user, application, url):
    return signed_in(user, stepped_up=True).post(f"/developer/applications/{application.pk}/webhook/", {"webhook_url": url}, follow=True)


INTERNAL = [
    ("https://127.0.0.1/hook", "loopback"),
    ("https://[::1]/hook", "loopback"),
    ("https://10.1.2.3/hook", "private"),
    ("https://192.168.0.10/hook", "private"),
    ("https://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("https://[fd00:ec2::254]/latest/meta-data/", "cloud metadata"),
    ("https://[fe80::1]/hook", "link-local"),
    ("https://100.64.0.1/hook", "carrier-grade NAT"),
    ("https://224.0.0.1/hook", "multicast"),
    ("https://0.0.0.0/hook", "unspecified"),
    ("https://[::ffff:127.0.0.1]/hook", "loopback"),
    ("https://metadata.example.test/hook", "cloud metadata"),  # a name resolving to the metadata address
]


@pytest.mark.objective("SO-U1")
@pytest.mark.parametrize(("url", "reason"), INTERNAL)
def test_registration_refuses_internal_destinations_and_audits_the_attempt(trent, dns, settings, url, reason):
    settings.AMI_WEBHOOK_ALLOWED_NETWORKS = []
    dns["metadata.example.test"] = "169.254.169.254"
    application = world.register(trent)
    response = _post_webhook(trent, application, url)
    assert reason in response.content.decode()
    application.refresh_from_db()
    assert (application.webhook_url, application.webhook_secret_sealed) == ("", "")
    refused = AuditEntry.objects.get(action="thirdparty.webhook_destination_refused")
    assert refused.actor_id == trent.pk and url in refused.payload


def test_a_public_destination_is_accepted(trent, dns):
    dns["hooks.example.test"] = "93.184.215.14"
    application = world.register(trent)
    assert webhook_configure(application=application, url="https://hooks.example.test/ami", actor=trent).startswith("whsec_")
    checked = webhook_destination_check("https://hooks.example.test:8443/ami?x=1")
    assert (checked.address, checked.port, checked.path, checked.host) == ("93.184.215.14", 8443, "/ami?x=1", "hooks.example.test")


def test_unresolvable_hosts_and_http_to_public_hosts_are_refused(dns):
    dns["hooks.example.test"] = "93.184.215.14"
    with pytest.raises(WebhookDestinationError, match="https"):
        webhook_destination_check("http://hooks.example.test/ami")
    with pytest.raises(WebhookDestinationError, match="could not be resolved"):
        webhook_destination_check("https://no-such-host.invalid/ami")


@pytest.fixture
def hooked(trent, receiver, dns):
    """An application whose webhook host name resolves to the local receiver (allowed in test settings)."""
    dns["hooks.example.test"] = "127.0.0.1"
    application = world.register(trent)
    secret = webhook_configure(application=application, url=f"http://hooks.example.test:{receiver[0].server_port}/hook", actor=trent)
    application.refresh_from_db()
    return application, secret


@pytest.mark.objective("SO-U1")
def test_the_destination_is_checked_again_at_send_time(alice, hooked, receiver, dns):
    application, _ = hooked
    world.grant(application, alice)
    event = WebhookEvent.objects.get()
    dns["hooks.example.test"] = "10.0.0.7"  # re-pointed after registration (DNS rebinding)
    with pytest.raises(WebhookDeliveryError, match="private address"):
        webhook_deliver(event_id=str(event.pk), max_attempts=3)
    assert receiver[1].received == []
    event.refresh_from_db()
    assert event.state == WebhookEvent.State.PENDING and "private address" in event.last_error
    assert AuditEntry.objects.filter(action="thirdparty.webhook_destination_refused", actor_label="webhook_deliver").exists()


@pytest.mark.objective("SO-U1")
def test_redirects_are_not_followed(alice, hooked, receiver):
    application, _ = hooked
    world.grant(application, alice)
    event = WebhookEvent.objects.get()
    receiver[1].answer = 307
    receiver[1].location = "http://169.254.169.254/latest/meta-data/"
    with pytest.raises(WebhookDeliveryError, match="redirects are not followed"):
        webhook_deliver(event_id=str(event.pk), max_attempts=3)
    assert len(receiver[1].received) == 1
    event.refresh_from_db()
    assert event.state == WebhookEvent.State.PENDING and "307" in event.last_error


def test_standard_webhooks_signature_matches_the_specifications_test_vector():
    signature = standard_signature(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        message_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
        timestamp=1614265330,
        body=b'{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@pytest.mark.objective("SO-U1")
def test_deliveries_carry_standard_webhooks_headers_beside_ami_signature(alice, hooked, receiver):
    application, secret = hooked
    world.grant(application, alice)
    event = WebhookEvent.objects.get()
    assert webhook_deliver(event_id=str(event.pk), max_attempts=3) == "delivered"
    headers, body = receiver[1].received[0]
    assert headers["webhook-id"] == headers["AMI-Event-Id"] == str(event.pk) == json.loads(body)["id"]
    assert standard_signature_valid(secret, body, headers)
    assert signature_valid(secret, body, headers["AMI-Signature"])
    assert not standard_signature_valid("whsec_" + "A" * 44, body, headers)
    stale = {**dict(headers), "webhook-timestamp": str(int(headers["webhook-timestamp"]) - 301)}
    assert not standard_signature_valid(secret, body, stale)


@pytest.mark.objective("SO-U1")
def test_secret_rotation_shows_the_new_secret_once_and_both_sign_during_the_overlap(trent, alice, hooked, receiver):
    application, old_secret = hooked
    response = signed_in(trent, stepped_up=True).post(f"/developer/applications/{application.pk}/webhook/secret/")
    new_secret = response.context["secret"]
    assert new_secret.startswith("whsec_") and new_secret != old_secret and new_secret in response.content.decode()
    application.refresh_from_db()
    assert new_secret not in application.webhook_secret_sealed and old_secret not in application.webhook_previous_secret_sealed
    assert AuditEntry.objects.filter(action="thirdparty.webhook_secret_rotated", actor_id=trent.pk).exists()
    page = signed_in(trent).get(f"/developer/applications/{application.pk}/").content.decode()
    assert new_secret not in page and old_secret not in page  # shown once only
    assert "The previous secret also signs until" in page

    world.grant(application, alice)
    event = WebhookEvent.objects.get()
    assert webhook_deliver(event_id=str(event.pk), max_attempts=3) == "delivered"
    headers, body = receiver[1].received[-1]
    for secret in (old_secret, new_secret):
        assert standard_signature_valid(secret, body, headers) and signature_valid(secret, body, headers["AMI-Signature"])

    # After the overlap only the new secret signs.
    ThirdPartyApplication.objects.filter(pk=application.pk).update(webhook_previous_secret_until=timezone.now() - timedelta(seconds=1))
    world.grant(application, alice)
    # The second grant supersedes the first (one live consent per customer and app): deliver the new one's event.
    event = WebhookEvent.objects.filter(state=WebhookEvent.State.PENDING, event="authorization.created").get()
    assert webhook_deliver(event_id=str(event.pk), max_attempts=3) == "delivered"
    headers, body = receiver[1].received[-1]
    assert standard_signature_valid(new_secret, body, headers) and signature_valid(new_secret, body, headers["AMI-Signature"])
    assert not standard_signature_valid(old_secret, body, headers) and not signature_valid(old_secret, body, headers["AMI-Signature"])


def test_another_developer_cannot_rotate_the_secret(hooked, db):
    from amiportal.accounts.roles import Role
    from tests.conftest import _staff

    application, _ = hooked
    mallory = _staff("mallory@example.test", "Mallory", Role.THIRD_PARTY_DEVELOPER, with_totp=False)
    before = ThirdPartyApplication.objects.get(pk=application.pk).webhook_secret_sealed
    assert signed_in(mallory, stepped_up=True).post(f"/developer/applications/{application.pk}/webhook/secret/").status_code == 404
    assert ThirdPartyApplication.objects.get(pk=application.pk).webhook_secret_sealed == before
