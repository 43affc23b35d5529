"""Two-factor sign-in with django-otp: mandatory for privileged roles, offered to customers (SO-C4)."""

import re

import pytest
from django.db import connection
from django_otp.oath import totp

from amiportal.accounts.models import BackupCode, SealedTOTPDevice
from tests.conftest import TOTP_SECRET, CsrfClient, add_totp, current_code, signed_in

pytestmark = pytest.mark.django_db


def skip_device_retry_delay(user):
    """django-otp makes a device wait 1, 2, 4 ... s after a wrong code; tests of other limits skip it."""
    from django_otp import devices_for_user

    for device in devices_for_user(user, confirmed=True):
        device.throttle_reset(commit=True)


def password_login(email, password):
    client = CsrfClient()
    response = client.post("/accounts/login/", {"email": email, "password": password})
    return client, response


@pytest.mark.objective("SO-C4")
def test_operator_must_verify_before_any_page(olga, password):
    client, response = password_login("olga@example.test", password)
    assert response.url == "/accounts/two-factor/verify/"
    for path in ["/operator/", "/operator/customers/", "/operator/audit/", "/admin/", "/accounts/security/"]:
        assert client.get(path).url == "/accounts/two-factor/verify/", path
    response = client.post("/accounts/two-factor/verify/", {"code": current_code()})
    assert response.status_code == 302
    assert client.get("/operator/").status_code == 200


@pytest.mark.objective("SO-C4")
def test_installer_without_a_device_is_forced_to_enrol_at_first_login(db, password):
    from amiportal.accounts.roles import Role, role_assign
    from tests.factories import UserFactory

    newbie = UserFactory(email="new.installer@example.test")
    role_assign(user=newbie, role=Role.INSTALLER)
    client, response = password_login("new.installer@example.test", password)
    assert response.url == "/accounts/two-factor/setup/"
    assert client.get("/installer/").url == "/accounts/two-factor/setup/"
    page = client.get("/accounts/two-factor/setup/").content.decode()
    assert "<svg" in page, "the QR code is rendered locally as inline SVG"
    secret = re.search(r'class="secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    import base64

    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    response = client.post("/accounts/two-factor/setup/", {"code": f"{totp(key):06d}"})
    assert response.status_code == 200
    codes = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", response.content.decode())
    assert len(codes) == 10
    assert client.get("/installer/").status_code == 200


@pytest.mark.objective("SO-C4")
def test_wrong_enrolment_code_does_not_enable_two_factor(ivan, password):
    SealedTOTPDevice.objects.filter(user=ivan).delete()
    client, _ = password_login("ivan@example.test", password)
    response = client.post("/accounts/two-factor/setup/", {"code": "000000"})
    assert "did not match" in response.content.decode()
    assert not SealedTOTPDevice.objects.filter(user=ivan, confirmed=True).exists()


@pytest.mark.objective("SO-C4")
def test_repeated_wrong_codes_end_the_session(olga, password, settings):
    settings.AMI_OTP_MAX_FAILURES = 3
    client, _ = password_login("olga@example.test", password)
    for _ in range(2):
        response = client.post("/accounts/two-factor/verify/", {"code": "123456"})
        assert "not valid" in response.content.decode()
        skip_device_retry_delay(olga)
    response = client.post("/accounts/two-factor/verify/", {"code": "123456"})
    assert response.url == "/accounts/login/"
    assert client.get("/operator/").status_code == 302
    assert client.get("/operator/").url.startswith("/accounts/login/")


@pytest.mark.objective("SO-C4")
def test_a_used_totp_code_cannot_be_replayed(olga, password):
    code = current_code()
    first, _ = password_login("olga@example.test", password)
    assert first.post("/accounts/two-factor/verify/", {"code": code}).status_code == 302
    second, _ = password_login("olga@example.test", password)
    assert "not valid" in second.post("/accounts/two-factor/verify/", {"code": code}).content.decode()


@pytest.mark.objective("SO-C4")
def test_backup_code_works_exactly_once(olga, password):
    from amiportal.accounts.services.two_factor import backup_codes_generate

    codes = backup_codes_generate(user=olga)
    client, _ = password_login("olga@example.test", password)
    assert client.post("/accounts/two-factor/verify/", {"code": codes[0]}).status_code == 302
    again, _ = password_login("olga@example.test", password)
    assert "not valid" in again.post("/accounts/two-factor/verify/", {"code": codes[0]}).content.decode()


@pytest.mark.objective("SO-C4")
def test_customer_may_opt_in_and_is_then_asked_for_a_code(alice, password):
    client, response = password_login("alice@example.test", password)
    assert response.url == "/" or response.url.endswith("/home/") or response.status_code == 302
    assert client.get("/customer/").status_code == 200, "customers are not forced to enrol"
    add_totp(alice)
    client, response = password_login("alice@example.test", password)
    assert response.url == "/accounts/two-factor/verify/"
    assert client.get("/customer/").url == "/accounts/two-factor/verify/"


@pytest.mark.objective("SO-C4")
def test_password_reset_never_bypasses_the_second_factor(olga, mailoutbox):
    client = CsrfClient()
    client.post("/accounts/password/reset/", {"email": "olga@example.test"})
    link = re.search(r"https?://[^/]+(/accounts/password/reset/\S+/)", mailoutbox[0].body).group(1)
    form_url = client.get(link).url
    response = client.post(form_url, {"new_password1": "a-brand-new-passphrase", "new_password2": "a-brand-new-passphrase"})
    assert response.url == "/accounts/password/reset/complete/"
    assert client.get("/operator/").status_code == 302, "a reset does not sign anyone in"
    client, response = password_login("olga@example.test", "a-brand-new-passphrase")
    assert response.url == "/accounts/two-factor/verify/"


@pytest.mark.objective("SO-U1")
def test_totp_secrets_and_backup_codes_are_not_stored_in_plaintext(olga):
    import base64

    from amiportal.accounts.services.two_factor import backup_codes_generate

    codes = backup_codes_generate(user=olga)
    with connection.cursor() as cursor:
        cursor.execute("SELECT key_sealed FROM accounts_sealedtotpdevice")
        sealed = " ".join(row[0] for row in cursor.fetchall())
        cursor.execute("SELECT digest FROM accounts_backupcode")
        digests = " ".join(row[0] for row in cursor.fetchall())
    for form in (TOTP_SECRET.hex(), base64.b32encode(TOTP_SECRET).decode().rstrip("="), base64.b64encode(TOTP_SECRET).decode()):
        assert form not in sealed
    assert TOTP_SECRET not in sealed.encode()
    for code in codes:
        assert code.replace("-", "") not in digests and code not in digests
    assert BackupCode.objects.count() == 10


@pytest.mark.objective("SO-U1")
def test_a_sealed_totp_secret_moved_to_another_device_fails_closed(olga, ivan):
    from amiportal.crypto.envelope import SealedValueError

    olga_device = SealedTOTPDevice.objects.get(user=olga)
    ivan_device = SealedTOTPDevice.objects.get(user=ivan)
    ivan_device.key_sealed = olga_device.key_sealed
    with pytest.raises(SealedValueError):
        _ = ivan_device.bin_key


def test_verified_user_can_make_new_backup_codes_and_old_ones_stop_working(olga):
    from amiportal.accounts.services.two_factor import backup_codes_generate

    old = backup_codes_generate(user=olga)
    client = signed_in(olga, stepped_up=True)
    response = client.post("/accounts/two-factor/backup-codes/", {"confirm": "yes"})
    new = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", response.content.decode())
    assert len(new) == 10 and not set(new) & set(old)


def test_operator_cannot_remove_their_only_authenticator(olga):
    device = SealedTOTPDevice.objects.get(user=olga)
    client = signed_in(olga, stepped_up=True)
    client.post(f"/accounts/two-factor/devices/{device.pk}/remove/", {"confirm": "yes"})
    assert SealedTOTPDevice.objects.filter(pk=device.pk).exists()


def test_customer_can_remove_their_authenticator(alice):
    device = add_totp(alice)
    client = signed_in(alice, stepped_up=True)
    client.post(f"/accounts/two-factor/devices/{device.pk}/remove/", {"confirm": "yes"})
    assert not SealedTOTPDevice.objects.filter(pk=device.pk).exists()
