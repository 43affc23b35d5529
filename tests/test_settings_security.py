"""Settings come from typed environment readers; production passes `check --deploy` (SO-C4, SO-U1)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from amiportal import env
from tests.conftest import signed_in

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "AMI_PROFILE": "production",
    "SECRET_KEY": "p" * 30 + "roduction-secret-key-with-enough-entropy-1234567890",
    "ALLOWED_HOSTS": "portal.example-utility.com",
    "AMI_KEYRING": "k2026:" + "A" * 43 + "=",
    "AMI_AUDIT_HMAC_KEY": "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=",
    "AMI_AUDIT_SIGNING_KEY": "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=",
    "AMI_SECRET_HASH_KEY": "Q0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0M=",
    "AMI_HAN_SIGNING_KEY": "REREREREREREREREREREREREREREREREREREREREREQ=",
    "EMAIL_HOST": "smtp.example-utility.com",
    "DATABASE_URL": "postgres://ami@db.internal:5432/ami?sslmode=verify-full",
    "CELERY_BROKER_URL": "rediss://cache.internal:6379/0",
    "CACHE_URL": "redis://cache.internal:6379/1",
}


def manage(*args, extra_env=None, drop=()):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AMI_", "DATABASE_URL", "SECRET_KEY", "CELERY_"))}
    environment.update(extra_env or {})
    for name in drop:
        environment.pop(name, None)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)


@pytest.mark.objective("SO-C4")
def test_production_profile_passes_check_deploy_at_warning_level():
    result = manage("check", "--deploy", "--fail-level", "WARNING", extra_env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("missing", ["SECRET_KEY", "AMI_KEYRING", "AMI_AUDIT_HMAC_KEY", "EMAIL_HOST", "CACHE_URL"])
def test_production_refuses_to_start_without_a_secret(missing):
    result = manage("check", extra_env=PRODUCTION_ENV, drop=[missing])
    assert result.returncode != 0
    assert missing in result.stderr


def test_a_bad_value_fails_at_start_with_a_clear_message():
    result = manage("check", extra_env={**PRODUCTION_ENV, "AMI_SESSION_IDLE_SECONDS": "ten minutes"})
    assert result.returncode != 0 and "AMI_SESSION_IDLE_SECONDS='ten minutes' is not an integer" in result.stderr


def test_production_refuses_the_demos_simulated_meters():
    result = manage("check", extra_env={**PRODUCTION_ENV, "AMI_DEMO_LIVE_READINGS": "true"})
    assert result.returncode != 0 and "AMI_DEMO_LIVE_READINGS" in result.stderr


def test_a_bad_keyring_fails_at_start():
    result = manage("check", extra_env={**PRODUCTION_ENV, "AMI_KEYRING": "k1:short"})
    assert result.returncode != 0 and "AMI_KEYRING" in result.stderr


def test_env_readers(monkeypatch, tmp_path):
    monkeypatch.setenv("X_BOOL", "yes")
    assert env.env_bool("X_BOOL", False) is True
    monkeypatch.setenv("X_BOOL", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_BOOL='maybe' is not a boolean"):
        env.env_bool("X_BOOL", False)
    monkeypatch.setenv("X_INT", "5")
    with pytest.raises(ImproperlyConfigured, match="below the minimum"):
        env.env_int("X_INT", 1, minimum=10)
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-a-file\n")
    monkeypatch.setenv("X_SECRET_FILE", str(secret_file))
    assert env.env_str("X_SECRET") == "from-a-file"
    monkeypatch.setenv("X_SECRET", "both")
    with pytest.raises(ImproperlyConfigured, match="not both"):
        env.env_str("X_SECRET")
    monkeypatch.delenv("X_SECRET")
    monkeypatch.setenv("X_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="cannot read"):
        env.env_str("X_SECRET")
    monkeypatch.setenv("X_CHOICE", "blue")
    with pytest.raises(ImproperlyConfigured, match="not one of"):
        env.env_choice("X_CHOICE", "red", ("red", "green"))


@pytest.mark.django_db
@pytest.mark.objective("SO-C4")
def test_pages_carry_the_security_headers(anonymous):
    response = anonymous.get("/accounts/login/")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
@pytest.mark.objective("SO-C4")
def test_hsts_is_sent_over_https_in_production_settings(anonymous, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    response = anonymous.get("/accounts/login/", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.django_db
@pytest.mark.objective("SO-C5")
def test_account_pages_are_never_cached(alice):
    response = signed_in(alice).get("/customer/")
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


@pytest.mark.django_db
def test_no_page_loads_anything_from_another_origin(alice, olga):
    import re

    for client, path in [
        (signed_in(alice), "/customer/"),
        (signed_in(olga), "/operator/"),
        (signed_in(alice), "/accounts/two-factor/setup/"),
    ]:
        html = client.get(path).content.decode()
        assert not re.search(r'(src|href)="(https?:)?//', html), path
