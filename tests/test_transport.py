"""Production reaches its broker and PostgreSQL only over TLS, unless a logged override says otherwise (SO-U5, SO-C14, SO-U1)."""

import pytest

from amiportal.transport import broker_plaintext, database_plaintext
from tests.test_settings_security import PRODUCTION_ENV, manage

PLAINTEXT_BROKER = "redis://ami:broker-password@cache.internal:6379/0"
PLAINTEXT_DATABASE = "postgres://ami:db-password@db.internal:5432/ami"


@pytest.mark.objective("SO-U5")
def test_production_refuses_a_plaintext_broker_and_says_what_to_use():
    result = manage("check", extra_env={**PRODUCTION_ENV, "CELERY_BROKER_URL": PLAINTEXT_BROKER})
    assert result.returncode != 0
    assert "CELERY_BROKER_URL (redis://cache.internal:6379) is not TLS: use rediss:// or amqps://" in result.stderr
    assert "broker-password" not in result.stderr


@pytest.mark.objective("SO-U1")
def test_production_refuses_a_database_url_without_required_tls():
    result = manage("check", extra_env={**PRODUCTION_ENV, "DATABASE_URL": PLAINTEXT_DATABASE + "?sslmode=prefer"})
    assert result.returncode != 0
    assert "DATABASE_URL (postgres://db.internal:5432) does not require TLS" in result.stderr
    assert "db-password" not in result.stderr


@pytest.mark.objective("SO-U5")
def test_the_plaintext_override_starts_and_warns_at_start():
    result = manage(
        "check",
        extra_env={
            **PRODUCTION_ENV,
            "CELERY_BROKER_URL": PLAINTEXT_BROKER,
            "DATABASE_URL": PLAINTEXT_DATABASE,
            "AMI_ALLOW_PLAINTEXT_TRANSPORT": "true",
        },
    )
    assert result.returncode == 0, result.stderr
    assert "AMI_ALLOW_PLAINTEXT_TRANSPORT=true: CELERY_BROKER_URL (redis://cache.internal:6379) is not TLS" in result.stderr
    assert "AMI_ALLOW_PLAINTEXT_TRANSPORT=true: DATABASE_URL (postgres://db.internal:5432) does not require TLS" in result.stderr
    assert "password" not in result.stderr


def test_tls_and_local_transports_pass_the_rule():
    for url in ("rediss://cache:6380/0", "amqps://mq:5671//", "filesystem://"):
        assert broker_plaintext(url) is None, url
    for url in ("redis://cache:6379/0", "amqp://mq:5672//", "REDIS://cache/0"):
        assert broker_plaintext(url) is not None, url
    for url in ("postgres://db/ami?sslmode=require", "postgresql://db/ami?sslmode=verify-ca", "sqlite:////var/ami.sqlite3"):
        assert database_plaintext(url) is None, url
    for url in ("postgres://db/ami", "postgres://db/ami?sslmode=disable", "postgresql://db/ami?sslmode=allow"):
        assert database_plaintext(url) is not None, url


@pytest.mark.objective("SO-C14")
def test_a_gateway_refuses_a_plaintext_broker_too():
    gateway = {
        "AMI_PROFILE": "gateway",
        "CELERY_BROKER_URL": PLAINTEXT_BROKER,
        "AMI_HAN_HEAD_END_PUBLIC_KEY": "ab" * 32,
        "AMI_HAN_HEAD_END_BOX_PUBLIC_KEY": "cd" * 32,
    }
    # Without DJANGO_SETTINGS_MODULE (pytest sets the head-end's), as on a gateway: manage.py picks by AMI_PROFILE.
    refused = manage("check", extra_env=gateway, drop=["DJANGO_SETTINGS_MODULE"])
    assert refused.returncode != 0
    assert "CELERY_BROKER_URL (redis://cache.internal:6379) is not TLS" in refused.stderr
    tls = {**gateway, "CELERY_BROKER_URL": "rediss://cache.internal:6379/0"}
    assert manage("check", extra_env=tls, drop=["DJANGO_SETTINGS_MODULE"]).returncode == 0


@pytest.mark.objective("SO-U5")
def test_a_tls_broker_connection_verifies_the_certificate_and_host_name():
    show = "from amiportal.celery import app; c = app.connection_for_write(); print(c.transport_cls, sorted(c.ssl.items()))"
    redis_tls = manage("shell", "-c", show, extra_env=PRODUCTION_ENV)
    assert redis_tls.returncode == 0, redis_tls.stderr
    # kombu alone takes rediss:// without options as "any certificate" (CERT_NONE).
    assert "rediss [('ssl_ca_certs', None), ('ssl_cert_reqs', <VerifyMode.CERT_REQUIRED: 2>)]" in redis_tls.stdout
    amqp_tls = manage("shell", "-c", show, extra_env={**PRODUCTION_ENV, "CELERY_BROKER_URL": "amqps://ami@mq.internal:5671//"})
    assert "('cert_reqs', <VerifyMode.CERT_REQUIRED: 2>)" in amqp_tls.stdout
    assert "('server_hostname', 'mq.internal')" in amqp_tls.stdout
