"""Demo third party for ``make run``: Trent's application, in production, with published demo credentials.

The client id and secret are demo-only and printed in the docs so the example client
(docs/thirdparty-example-client.py) can run against ``make run``; production never loads demo data.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from oauth2_provider.models import Application

from amiportal.crypto.secret_hash import secret_digest
from thirdparty.models import ApplicationStatus, DataKind, ThirdPartyApplication
from thirdparty.oauth import SECRET_PREFIX, SECRET_PURPOSE
from thirdparty.selectors import agreement_current
from thirdparty.services.registration import agreement_accept, application_register

DEMO_DEVELOPER = "trent@demo.ami"
DEMO_CLIENT_ID = "ami-demo-energy-insights"
DEMO_CLIENT_SECRET = "ami-demo-client-secret-not-for-production"
DEMO_REDIRECT_URI = "http://127.0.0.1:8765/callback"


@transaction.atomic
def thirdparty_demo_seed() -> None:
    developer = get_user_model().objects.filter(email=DEMO_DEVELOPER).first()
    if developer is None:
        return
    current = agreement_current()
    if current is None:
        return
    agreement_accept(
        developer=developer,
        agreement_version=current.version,
        organisation="Riverton Energy Insights Ltd",
        signatory_name="Trent Thirdparty",
    )
    if ThirdPartyApplication.objects.filter(oauth_application__client_id=DEMO_CLIENT_ID).exists():
        return
    application, _ = application_register(
        developer=developer,
        organisation="Riverton Energy Insights Ltd",
        name="Energy Insights",
        stated_use="We chart your electricity use by the hour and tell you which appliances cost the most, so you can cut your bill.",
        requested_scopes=[DataKind.INTERVAL_USAGE, DataKind.USAGE_SUMMARY],
        redirect_uris=[DEMO_REDIRECT_URI],
        public_key_pem="",
        agreement_version=current.version,
        signatory_name="Trent Thirdparty",
    )
    Application.objects.filter(pk=application.oauth_application_id).update(
        client_id=DEMO_CLIENT_ID, client_secret=SECRET_PREFIX + secret_digest(DEMO_CLIENT_SECRET, purpose=SECRET_PURPOSE)
    )
    ThirdPartyApplication.objects.filter(pk=application.pk).update(status=ApplicationStatus.PRODUCTION, status_reason="Demo application")
