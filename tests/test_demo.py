"""`manage.py seed_demo` builds the demo utility, and running it twice changes nothing."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from amiportal.audit.selectors import audit_verify
from amiportal.premises.models import CustomerAccount, Meter, Premise, ServiceAgreement

pytestmark = pytest.mark.django_db


def counts():
    return (
        get_user_model().objects.count(),
        Premise.objects.count(),
        Meter.objects.count(),
        CustomerAccount.objects.count(),
        ServiceAgreement.objects.count(),
    )


def test_seed_demo_is_idempotent_and_documents_logins(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    first = counts()
    call_command("seed_demo", stdout=io.StringIO())
    assert counts() == first
    assert first[1] == 20
    assert "olga@demo.ami" in out.getvalue() and "ami-demo-2026!" in out.getvalue()
    assert audit_verify().ok


def test_demo_staff_can_sign_in_with_the_published_authenticator(settings):
    from django_otp.oath import totp

    from amiportal.portal.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET
    from tests.conftest import CsrfClient

    call_command("seed_demo", stdout=io.StringIO())
    client = CsrfClient()
    assert client.post("/accounts/login/", {"email": "olga@demo.ami", "password": DEMO_PASSWORD}).url == "/accounts/two-factor/verify/"
    assert client.post("/accounts/two-factor/verify/", {"code": f"{totp(DEMO_TOTP_SECRET):06d}"}).status_code == 302
    assert client.get("/operator/").status_code == 200


def test_previous_occupant_is_not_visible_to_alice(settings):
    from amiportal.premises.selectors import occupancies_for

    call_command("seed_demo", stdout=io.StringIO())
    alice = get_user_model().objects.get(email="alice@demo.ami")
    premise = Premise.objects.get(service_point_id="SP-100001")
    (period,) = occupancies_for(user=alice, premise=premise)
    assert period.start.year == 2024
