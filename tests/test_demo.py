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


def test_demo_meters_keep_producing_readings_up_to_now(settings, monkeypatch):
    """`make run` (AMI_DEMO_LIVE_READINGS) appends the simulated meters' readings, so "Today so far" grows."""
    from datetime import UTC, datetime, timedelta

    import billing.demo
    from billing.models import Channel, IntervalReading
    from billing.tasks import demo_readings_append_task

    class ThreeHoursAgo(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) - timedelta(hours=3)

    monkeypatch.setattr(billing.demo, "datetime", ThreeHoursAgo)
    call_command("seed_demo", stdout=io.StringIO())  # seeded three hours ago
    monkeypatch.undo()
    meter = Meter.objects.get(premise__service_point_id="SP-100001", kind="electric")
    current = IntervalReading.objects.filter(meter=meter, channel=Channel.DELIVERED, is_current=True)
    before = current.count()
    settings.AMI_DEMO_LIVE_READINGS = False
    assert demo_readings_append_task.apply().get() == 0 and current.count() == before  # off: writes nothing
    settings.AMI_DEMO_LIVE_READINGS = True
    assert demo_readings_append_task.apply().get() > 0
    newest = current.order_by("-start").first().start
    now = datetime.now(UTC)
    assert now - timedelta(minutes=30) <= newest < now and current.count() >= before + 11
    assert demo_readings_append_task.apply().get() == 0 or datetime.now(UTC).minute % 15 == 0  # idempotent: nothing new to add
