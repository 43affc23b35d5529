"""Personas and clients shared by every test.

Personas (as in ../shared/CONVENTIONS.md): customer Alice, customer Bob,
installer Ivan, operator Olga, third party Trent, and anonymous; and two who
test the edges of those rules: Peter, who lived in Alice's home before her
(his agreement ended the day before hers began), and Dora, a third-party
developer from another organisation with an application of her own.
"""

from __future__ import annotations

import os
import re
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp

from amiportal.accounts.models import SealedTOTPDevice
from amiportal.accounts.roles import Role, role_assign
from amiportal.accounts.services.authentication import SESSION_LOGIN_AT, SESSION_SEEN_AT
from amiportal.accounts.services.two_factor import SESSION_STEP_UP_AT
from tests.factories import (
    ALICE_MOVE_IN,
    PASSWORD,
    CustomerAccountFactory,
    MeterFactory,
    PremiseFactory,
    ServiceAgreementFactory,
    UserFactory,
)

TOTP_SECRET = b"test-totp-secret-key"
REQUIRE_SERVICES = os.environ.get("AMI_TEST_REQUIRE_SERVICES") == "1"


def pytest_collection_modifyitems(config, items):
    """Skip tests whose service is missing, or fail them all under CI."""
    on_postgres = "postgres" in os.environ.get("DATABASE_URL", "")
    available = {
        "postgres": (on_postgres, "PostgreSQL is not the test database (no server on 127.0.0.1:5432)"),
        "redis": (bool(os.environ.get("AMI_TEST_REDIS_URL")), "no Redis on 127.0.0.1:6379"),
        "browser": (bool(os.environ.get("AMI_TEST_CHROMIUM")), "Debian's chromium is not installed"),
    }
    for item in items:
        for marker, (ok, why) in available.items():
            if marker in item.keywords and not ok:
                if REQUIRE_SERVICES:
                    # Under CI a missing service is a failure, never a skip.
                    raise pytest.UsageError(f"{item.nodeid} needs a service that is missing: {why}")
                item.add_marker(pytest.mark.skip(reason=why))


class CsrfClient(Client):
    """A client that enforces CSRF like a browser would, and fills the token in like a form does."""

    def __init__(self, **kwargs):
        super().__init__(enforce_csrf_checks=True, **kwargs)

    def csrf_token(self) -> str:
        if "csrftoken" not in self.cookies:
            # As a browser would hold after loading any form page.
            self.cookies["csrftoken"] = _get_new_csrf_string()
        return self.cookies["csrftoken"].value

    def post(self, path, data=None, *args, **kwargs):
        data = dict(data or {})
        data.setdefault("csrfmiddlewaretoken", self.csrf_token())
        return super().post(path, data, *args, **kwargs)


def add_totp(user) -> SealedTOTPDevice:
    device = SealedTOTPDevice(user=user, name="Test authenticator", confirmed=True)
    device.set_key(TOTP_SECRET)
    device.save()
    return device


def current_code(secret: bytes = TOTP_SECRET) -> str:
    return f"{totp(secret):06d}"


def signed_in(user, *, verified: bool = True, stepped_up: bool = False) -> CsrfClient:
    """A client with a live session, as after password (and, if asked, second-factor) sign-in.

    ``stepped_up``: as if the user had just re-confirmed at the step-up page (amiportal/accounts/sensitive_actions.py).
    """
    client = CsrfClient()
    client.force_login(user)
    session = client.session
    now = timezone.now().timestamp()
    session[SESSION_LOGIN_AT] = now
    session[SESSION_SEEN_AT] = now
    if stepped_up:
        session[SESSION_STEP_UP_AT] = now
    if verified:
        device = SealedTOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is not None:
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def _customer(email: str, name: str):
    user = UserFactory(email=email, full_name=name)
    role_assign(user=user, role=Role.CUSTOMER)
    account = CustomerAccountFactory(user=user, name=name)
    premise = PremiseFactory()
    MeterFactory(premise=premise)
    ServiceAgreementFactory(account=account, premise=premise)
    return user


def _staff(email: str, name: str, role: Role, *, with_totp: bool = True):
    user = UserFactory(email=email, full_name=name)
    role_assign(user=user, role=role)
    if with_totp:
        add_totp(user)
    return user


@pytest.fixture
def alice(db):
    return _customer("alice@example.test", "Alice Anders")


@pytest.fixture
def bob(db):
    return _customer("bob@example.test", "Bob Brennan")


@pytest.fixture
def peter(alice):
    """Alice's home's previous occupant: moved in two years before her, moved out the day before she moved in."""
    user = UserFactory(email="peter@example.test", full_name="Peter Previous")
    role_assign(user=user, role=Role.CUSTOMER)
    account = CustomerAccountFactory(user=user, name="Peter Previous")
    premise = alice.customer_account.agreements.get().premise
    moved_in = ALICE_MOVE_IN.replace(year=ALICE_MOVE_IN.year - 2)
    ServiceAgreementFactory(account=account, premise=premise, move_in=moved_in, move_out=ALICE_MOVE_IN - timedelta(days=1))
    return user


@pytest.fixture
def ivan(db):
    return _staff("ivan@example.test", "Ivan Installer", Role.INSTALLER)


@pytest.fixture
def olga(db):
    return _staff("olga@example.test", "Olga Operator", Role.OPERATOR)


@pytest.fixture
def trent(db):
    return _staff("trent@example.test", "Trent Thirdparty", Role.THIRD_PARTY_DEVELOPER, with_totp=False)


@pytest.fixture
def dora(db):
    """A third-party developer of another organisation, with an application of her own in production."""
    from tests.thirdparty import world

    user = _staff("dora@example.test", "Dora Developer", Role.THIRD_PARTY_DEVELOPER, with_totp=False)
    world.register(user, name="Dora's Solar Planner", organisation="Dora Energy GmbH", signatory_name="Dora Developer")
    return user


@pytest.fixture
def anonymous():
    return CsrfClient()


@pytest.fixture
def password():
    return PASSWORD


def wait_for(predicate, *, timeout: float = 20.0, interval: float = 0.2):
    """Poll until predicate() is truthy (for real processes), or fail with the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def database_url_for_subprocess() -> str:
    """The URL of the database this test is using, for real worker processes."""
    settings_dict = connection.settings_dict
    if connection.vendor != "postgresql":
        raise RuntimeError("subprocess tests need PostgreSQL")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{settings_dict.get('USER') or 'postgres'}@{host}:{port}/{settings_dict['NAME']}"


def form_errors(html: str) -> list[str]:
    return re.findall(r'class="(?:field-error|form-errors)"[^>]*>(?:<p>)?([^<]+)', html)
