"""Sign-in throttling slows attackers without letting them lock anyone out (SO-C4).

Issue 10, finding 1: the per-address counter never decayed, a success cleared only the
account's counter, everyone behind the reverse proxy shared one address, five wrong
passwords locked any named account, and password reset was not throttled.
"""

from datetime import timedelta
from ipaddress import ip_network

import pytest
from django.contrib.auth import SESSION_KEY
from django.utils import timezone

from amiportal.accounts.views import GENERIC_LOGIN_ERROR
from amiportal.audit.models import AuditEntry
from tests.conftest import CsrfClient, current_code

pytestmark = [pytest.mark.django_db, pytest.mark.objective("SO-C4")]

PROXY = "10.0.0.1"
WRONG = "wrong-password-xx"


@pytest.fixture
def clock(monkeypatch):
    """Django's clock, moved forward by the test instead of waiting."""

    class Clock:
        offset = timedelta()

        def advance(self, seconds: float) -> None:
            self.offset += timedelta(seconds=seconds)

    real_now = timezone.now
    moved = Clock()
    monkeypatch.setattr(timezone, "now", lambda: real_now() + moved.offset)
    return moved


@pytest.fixture
def limits(settings):
    settings.AMI_LOGIN_MAX_FAILURES = 5
    settings.AMI_LOGIN_LOCKOUT_BASE_SECONDS = 60
    settings.AMI_LOGIN_ADDRESS_BURST = 8
    settings.AMI_LOGIN_ADDRESS_LEAK_SECONDS = 60
    settings.AMI_LOGIN_ACCOUNT_DELAY_MAX_SECONDS = 30
    settings.AMI_TRUSTED_PROXIES = ()
    return settings


def login(email, password, *, address="192.0.2.10", forwarded=None, client=None):
    client = client or CsrfClient()
    extra = {"REMOTE_ADDR": address}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.post("/accounts/login/", {"email": email, "password": password}, **extra)


def test_wrong_passwords_lock_the_pair_even_for_the_right_password(alice, password, limits, clock):
    for _ in range(5):
        clock.advance(5)  # a person typing, not held up by the account's short delay
        assert login("alice@example.test", WRONG).status_code == 200
    locked = login("alice@example.test", password)
    assert locked.status_code == 429
    assert "try again in" in locked.content.decode()
    assert int(locked["Retry-After"]) > 0
    assert SESSION_KEY not in locked.wsgi_request.session


def test_a_successful_sign_in_clears_the_pairs_count(alice, password, limits, clock):
    for _ in range(4):
        clock.advance(5)
        assert login("alice@example.test", WRONG).status_code == 200
    clock.advance(5)
    assert login("alice@example.test", password).status_code == 302
    for _ in range(4):
        clock.advance(5)
        assert login("alice@example.test", WRONG).status_code == 200
    clock.advance(5)
    assert login("alice@example.test", password).status_code == 302


def test_the_address_limit_forgets_failures_once_the_traffic_stops(db, limits, clock):
    # Spraying many accounts from one address fills its bucket ...
    for n in range(8):
        assert login(f"user{n}@example.test", WRONG).status_code == 200
    assert login("user8@example.test", WRONG).status_code == 429
    # ... which leaks one failure a minute: after a quiet hour the address has a full burst again.
    clock.advance(3600)
    for n in range(8):
        assert login(f"other{n}@example.test", WRONG).status_code == 200, n


def test_the_address_limit_slows_but_does_not_lock(db, limits, clock):
    for n in range(8):
        login(f"user{n}@example.test", WRONG)
    assert login("next@example.test", WRONG).status_code == 429
    clock.advance(61)
    assert login("next@example.test", WRONG).status_code == 200


def test_behind_a_trusted_proxy_each_client_has_its_own_address(alice, password, limits):
    limits.AMI_TRUSTED_PROXIES = (ip_network(PROXY),)
    for n in range(20):
        login(f"victim{n}@example.test", WRONG, address=PROXY, forwarded="203.0.113.66")
    assert login("victim99@example.test", WRONG, address=PROXY, forwarded="203.0.113.66").status_code == 429
    # Alice comes through the same proxy from her own address and is not held up.
    assert login("alice@example.test", password, address=PROXY, forwarded="198.51.100.7").status_code == 302


def test_forwarded_for_from_an_untrusted_peer_is_not_believed(db, limits):
    limits.AMI_TRUSTED_PROXIES = (ip_network(PROXY),)
    for n in range(8):
        login(f"user{n}@example.test", WRONG, address="203.0.113.66", forwarded=f"198.51.100.{n}")
    assert login("user9@example.test", WRONG, address="203.0.113.66", forwarded="198.51.100.200").status_code == 429


def test_a_spoofed_forwarded_for_entry_left_of_the_proxy_is_not_believed(db, limits):
    limits.AMI_TRUSTED_PROXIES = (ip_network(PROXY),)
    # The proxy appends the address it saw; whatever the client wrote before it is ignored.
    for n in range(8):
        login(f"user{n}@example.test", WRONG, address=PROXY, forwarded=f"198.51.100.{n}, 203.0.113.66")
    assert login("user9@example.test", WRONG, address=PROXY, forwarded="198.51.100.200, 203.0.113.66").status_code == 429


def test_strangers_failures_do_not_keep_an_operator_out_of_her_known_address(olga, password, limits):
    assert login("olga@example.test", password, address="198.51.100.7").status_code == 302
    for n in range(12):
        login("olga@example.test", WRONG, address=f"203.0.113.{n}")
    assert login("olga@example.test", password, address="198.51.100.7").status_code == 302


def test_from_a_new_address_the_owner_gets_in_after_a_bounded_delay(alice, password, limits, clock):
    limits.AMI_LOGIN_ACCOUNT_DELAY_MAX_SECONDS = 8
    # Ten addresses, each waiting out its delay: ten wrong passwords really tried.
    for n in range(10):
        login("alice@example.test", WRONG, address=f"203.0.113.{n}")
        clock.advance(9)
        assert login("alice@example.test", WRONG, address=f"203.0.113.{n}").status_code == 200
    first = login("alice@example.test", password, address="198.51.100.9")
    assert first.status_code == 429
    assert 4 < int(first["Retry-After"]) <= 8
    # The attack goes on while she waits; it cannot stretch her delay past the cap.
    for n in range(10, 14):
        clock.advance(1)
        login("alice@example.test", WRONG, address=f"203.0.113.{n}")
    clock.advance(8 - 4 + 1)
    assert login("alice@example.test", password, address="198.51.100.9").status_code == 302


def test_an_attacked_account_slows_each_new_address(alice, limits):
    for n in range(6):
        login("alice@example.test", WRONG, address=f"203.0.113.{n}")
    slowed = login("alice@example.test", WRONG, address="203.0.113.200")
    assert slowed.status_code == 429
    assert GENERIC_LOGIN_ERROR not in slowed.content.decode()


def test_an_unknown_account_is_slowed_exactly_like_a_known_one(alice, limits):
    for n in range(6):
        login("alice@example.test", WRONG, address=f"203.0.113.{n}")
        login("ghost@example.test", WRONG, address=f"198.51.100.{n}")
    known = login("alice@example.test", WRONG, address="203.0.113.200")
    unknown = login("ghost@example.test", WRONG, address="198.51.100.200")
    assert known.status_code == unknown.status_code == 429
    assert known["Retry-After"] == unknown["Retry-After"]


def test_throttled_attempts_are_audited_without_the_email_in_clear(alice, limits):
    for _ in range(6):
        login("alice@example.test", WRONG)
    entry = AuditEntry.objects.filter(action="auth.login_locked").last()
    assert entry is not None
    assert "alice" not in entry.target and "alice" not in entry.payload
    assert '"limit"' in entry.payload


def test_quiet_throttle_rows_are_pruned_and_live_ones_kept(alice, password, limits, clock):
    from amiportal.accounts.models import AuthThrottle, KnownSignInPair
    from amiportal.accounts.tasks import sessions_clear_expired_task

    for n in range(3):
        login(f"sprayed{n}@example.test", WRONG)
    assert login("alice@example.test", password).status_code == 302
    sprayed_rows = AuthThrottle.objects.count()
    assert sprayed_rows > 0
    clock.advance(3 * 86400)
    login("alice@example.test", WRONG, address="203.0.113.1")  # live rows: kept
    sessions_clear_expired_task()
    assert AuthThrottle.objects.count() == 3  # the new pair, address and account
    assert KnownSignInPair.objects.count() == 1
    clock.advance(91 * 86400)
    sessions_clear_expired_task()
    assert not KnownSignInPair.objects.exists() and not AuthThrottle.objects.exists()


# --- Password reset -------------------------------------------------------------------------


def reset(email, *, address="192.0.2.10"):
    return CsrfClient().post("/accounts/password/reset/", {"email": email}, REMOTE_ADDR=address)


def test_password_reset_mail_is_limited_per_account_without_telling(alice, settings, mailoutbox):
    settings.AMI_PASSWORD_RESET_PER_ACCOUNT_HOURLY = 2
    answers = [reset("alice@example.test", address=f"198.51.100.{n}") for n in range(4)]
    ghost = [reset("ghost@example.test", address=f"203.0.113.{n}") for n in range(4)]
    assert len(mailoutbox) == 2
    assert {(r.status_code, r.url) for r in answers + ghost} == {(302, "/accounts/password/reset/sent/")}
    assert AuditEntry.objects.filter(action="auth.password_reset_throttled").count() == 4


def test_password_reset_is_limited_per_address(db, settings, mailoutbox):
    settings.AMI_PASSWORD_RESET_PER_ADDRESS_HOURLY = 3
    for n in range(3):
        assert reset(f"user{n}@example.test").status_code == 302
    refused = reset("user9@example.test")
    assert refused.status_code == 429
    assert "Try again in" in refused.content.decode()
    assert int(refused["Retry-After"]) > 0


def test_password_reset_limits_recover_over_time(alice, settings, mailoutbox, clock):
    settings.AMI_PASSWORD_RESET_PER_ACCOUNT_HOURLY = 1
    reset("alice@example.test")
    reset("alice@example.test", address="198.51.100.1")
    assert len(mailoutbox) == 1
    clock.advance(3601)
    reset("alice@example.test", address="198.51.100.2")
    assert len(mailoutbox) == 2


# --- Second factor ------------------------------------------------------------------------


def test_a_right_code_during_the_retry_delay_is_told_to_wait(olga, password, clock):
    client = CsrfClient()
    login("olga@example.test", password, client=client)
    assert "not valid" in client.post("/accounts/two-factor/verify/", {"code": "000000"}).content.decode()
    early = client.post("/accounts/two-factor/verify/", {"code": current_code()})
    page = early.content.decode()
    assert early.status_code == 429
    assert "wait 1 second" in page and "not valid" not in page
    clock.advance(2)
    assert client.post("/accounts/two-factor/verify/", {"code": current_code()}).status_code == 302


def test_a_right_step_up_code_during_the_retry_delay_is_told_to_wait(alice, password, clock):
    from tests.conftest import add_totp, signed_in

    add_totp(alice)
    client = signed_in(alice)
    assert "did not match" in client.post("/accounts/step-up/", {"secret": "000000"}).content.decode()
    early = client.post("/accounts/step-up/", {"secret": current_code()})
    assert early.status_code == 429 and "Your code was not checked" in early.content.decode()
    clock.advance(2)
    assert client.post("/accounts/step-up/", {"secret": current_code(), "next": "/customer/"}).url == "/customer/"


# --- Client address ---------------------------------------------------------------------


def _request(peer, forwarded=None):
    from django.test import RequestFactory

    extra = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # not a proxy: the header is the client's own words
        (PROXY, None, PROXY),
        (PROXY, "198.51.100.1", "198.51.100.1"),
        (PROXY, "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # left of the proxy's entry: written by the client
        (PROXY, "198.51.100.1, 10.0.0.2", "198.51.100.1"),  # two proxies in a row
        (PROXY, "not-an-address", PROXY),
        (PROXY, "198.51.100.1, garbage, 10.0.0.2", "10.0.0.2"),
    ],
)
def test_client_address_reads_forwarded_for_from_the_right_and_only_from_proxies(settings, peer, forwarded, client):
    from amiportal.accounts.client_address import client_address

    settings.AMI_TRUSTED_PROXIES = (ip_network("10.0.0.0/24"),)
    assert client_address(_request(peer, forwarded)) == client


def test_trusted_proxies_setting_names_a_bad_entry(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from amiportal.env import env_networks

    monkeypatch.setenv("AMI_TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal")
    with pytest.raises(ImproperlyConfigured, match="AMI_TRUSTED_PROXIES: 'proxy.internal'"):
        env_networks("AMI_TRUSTED_PROXIES", [])
    monkeypatch.setenv("AMI_TRUSTED_PROXIES", "10.0.0.0/8, ::1")
    assert [str(n) for n in env_networks("AMI_TRUSTED_PROXIES", [])] == ["10.0.0.0/8", "::1/128"]
