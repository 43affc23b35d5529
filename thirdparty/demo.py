"""Demo third party for ``make run``: Trent's application, in production, with published demo credentials.

The client id and secret are demo-only and printed in the docs so the example client
(docs/examples/espi_client.py) can run against ``make run``; production never loads demo data.

The application asks for HAN device status and control too, so the demo shows signed device
requests. Its Ed25519 signing key is a development secret like the others: generated once
into ``var/dev-secrets/`` (mode 0600, never committed), where the example client on the same
machine finds it. Only its public half is stored on the application.
"""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from oauth2_provider.models import Application

from amiportal.crypto.secret_hash import secret_digest
from amiportal.dev_secrets import dev_secret
from thirdparty.models import ApplicationStatus, DataKind, ThirdPartyApplication
from thirdparty.oauth import SECRET_PREFIX, SECRET_PURPOSE
from thirdparty.selectors import agreement_current
from thirdparty.services.registration import agreement_accept, application_register

DEMO_DEVELOPER = "trent@demo.ami"
DEMO_CLIENT_ID = "ami-demo-energy-insights"
DEMO_CLIENT_SECRET = "ami-demo-client-secret-not-for-production"
DEMO_REDIRECT_URI = "http://127.0.0.1:8765/callback"
DEMO_SCOPES = [DataKind.INTERVAL_USAGE, DataKind.USAGE_SUMMARY, DataKind.HAN_STATUS, DataKind.HAN_CONTROL]
# var/dev-secrets/<this>: base64 of the 32-byte Ed25519 seed (docs/examples/espi_client.py reads the same file).
DEMO_SIGNING_KEY_NAME = "thirdparty_demo_signing_key"


def demo_signing_key() -> Ed25519PrivateKey:
    """The demo application's signing key, generated on first use. Development and test profiles only."""
    if settings.IS_PRODUCTION:
        raise RuntimeError("The demo signing key does not exist in production.")
    seed = dev_secret(settings.VAR_DIR / "dev-secrets", DEMO_SIGNING_KEY_NAME, 32)
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(seed))


def demo_public_key_pem() -> str:
    return demo_signing_key().public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


@transaction.atomic
def thirdparty_demo_seed() -> None:
    developer = get_user_model().objects.filter(email=DEMO_DEVELOPER).first()
    if developer is None:
        return
    current = agreement_current()
    if current is None:
        return
    public_key_pem = demo_public_key_pem()
    existing = ThirdPartyApplication.objects.filter(oauth_application__client_id=DEMO_CLIENT_ID).first()
    if existing is not None:
        # A demo database seeded before the application asked for device access catches up; nothing else changes.
        if set(existing.requested_scopes) != set(DEMO_SCOPES) or existing.public_key_pem != public_key_pem:
            ThirdPartyApplication.objects.filter(pk=existing.pk).update(requested_scopes=list(DEMO_SCOPES), public_key_pem=public_key_pem)
        # Signed for under the current version (a no-op when it already is).
        agreement_accept(developer=developer, application=existing, agreement_version=current.version, signatory_name="Trent Thirdparty")
        return
    application, _ = application_register(
        developer=developer,
        organisation="Riverton Energy Insights Ltd",
        name="Energy Insights",
        stated_use=(
            "We chart your electricity use by the hour and tell you which appliances cost the most, so you can cut your bill. "
            "If you let us, we check your thermostat and ease it off at peak times."
        ),
        requested_scopes=list(DEMO_SCOPES),
        redirect_uris=[DEMO_REDIRECT_URI],
        public_key_pem=public_key_pem,
        agreement_version=current.version,
        signatory_name="Trent Thirdparty",
    )
    Application.objects.filter(pk=application.oauth_application_id).update(
        client_id=DEMO_CLIENT_ID, client_secret=SECRET_PREFIX + secret_digest(DEMO_CLIENT_SECRET, purpose=SECRET_PURPOSE)
    )
    ThirdPartyApplication.objects.filter(pk=application.pk).update(status=ApplicationStatus.PRODUCTION, status_reason="Demo application")
