"""The transport rule: outside development, the broker and the database are reached over TLS (SO-U1, SO-U5, SO-C14).

One rule, read by every settings module that can run in production (``amiportal.settings``
under ``AMI_PROFILE=production`` and ``amiportal.gateway_settings``):

- the Celery broker is ``rediss://`` or ``amqps://`` (``filesystem://`` is a local
  directory, no network, so it passes);
- a PostgreSQL ``DATABASE_URL`` says ``sslmode=require``, ``verify-ca`` or ``verify-full``
  (SQLite is a local file, so it passes).

TLS means verified TLS: kombu alone would take ``rediss://`` without options as "TLS, any
certificate" (``CERT_NONE``), so ``broker_tls_options`` asks for the certificate to be checked
against the system's CAs, or ``AMI_BROKER_CA_FILE``, and for the host name to match.

``AMI_ALLOW_PLAINTEXT_TRANSPORT=true`` lets a deployment start without TLS anyway (a broker
on the same host, a test rig); it is logged as a warning at every start, naming what
travels in clear, never a password.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger("amiportal.transport")

OVERRIDE = "AMI_ALLOW_PLAINTEXT_TRANSPORT"
BROKER_TLS_SCHEMES = ("rediss", "amqps")
BROKER_LOCAL_SCHEMES = ("filesystem",)
DATABASE_TLS_MODES = ("require", "verify-ca", "verify-full")


def _where(url: str) -> str:
    """Scheme, host and port of a URL: enough to say what is meant, without the credentials in it."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}"


def broker_plaintext(url: str) -> str | None:
    """Why this broker URL is not TLS, or None when it is (or is a local directory)."""
    scheme = urlsplit(url).scheme.lower()
    if scheme in BROKER_TLS_SCHEMES or scheme in BROKER_LOCAL_SCHEMES:
        return None
    return f"CELERY_BROKER_URL ({_where(url)}) is not TLS: use rediss:// or amqps://"


def database_plaintext(url: str) -> str | None:
    """Why this database URL does not require TLS, or None when it does (or is SQLite)."""
    parts = urlsplit(url)
    if not parts.scheme.lower().startswith("postgres"):
        return None
    modes = parse_qs(parts.query).get("sslmode", [])
    if modes and modes[-1] in DATABASE_TLS_MODES:
        return None
    return f"DATABASE_URL ({_where(url)}) does not require TLS: add ?sslmode=require (or verify-ca, verify-full)"


def broker_tls_options(url: str, *, ca_file: str | None = None) -> dict[str, Any] | None:
    """Celery's ``broker_use_ssl`` for a TLS broker URL: the certificate and host name are verified. None otherwise."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "rediss":  # redis-py's SSLConnection: checks the host name when the certificate is required
        return {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_ca_certs": ca_file}
    if scheme == "amqps":  # py-amqp: system CAs when ca_certs is None; the host name is checked when given
        return {"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": ca_file, "server_hostname": parts.hostname}
    return None


def transport_check(*, broker_url: str | None, database_url: str | None, allow_plaintext: bool) -> list[str]:
    """Refuse to start on a plaintext broker or database, unless the override is set; then warn.

    Returns what travels in clear (empty when everything is TLS), so a caller or a test can see it.
    """
    problems = [
        problem
        for problem in (
            broker_plaintext(broker_url) if broker_url else None,
            database_plaintext(database_url) if database_url else None,
        )
        if problem
    ]
    if problems and not allow_plaintext:
        raise ImproperlyConfigured(f"{'; '.join(problems)}. Or set {OVERRIDE}=true to accept it (logged at every start).")
    for problem in problems:
        logger.warning("%s=true: %s. Messages and queries cross the network in clear.", OVERRIDE, problem)
    return problems
