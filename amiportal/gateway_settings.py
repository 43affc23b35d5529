"""Settings of a premise gateway (``AMI_PROFILE=gateway``): a HAN coordinator, and nothing of the head-end.

``manage.py`` and the Celery app pick this module when ``AMI_PROFILE=gateway``. A gateway
runs ``manage.py han_coordinator --name NAME --key-dir DIR`` with:

- its own key file, ``<key dir>/<name>.key`` (made on first start, mode 0600);
- the head-end's public keys, ``AMI_HAN_HEAD_END_PUBLIC_KEY`` and
  ``AMI_HAN_HEAD_END_BOX_PUBLIC_KEY`` (``manage.py han_head_end_keys`` prints them on the head-end);
- its broker, ``CELERY_BROKER_URL``: ``rediss://`` or ``amqps://``, unless
  ``AMI_ALLOW_PLAINTEXT_TRANSPORT=true`` (logged at every start).

Optional: ``AMI_VAR_DIR`` (default key directory), ``LOG_LEVEL``, ``AMI_HAN_ZIGPY_LOG_LEVEL``.
Nothing else: no SECRET_KEY, no keyring, no audit keys, no head-end signing seed, and no
database (``DATABASES`` is empty, so any query fails): a gateway that is taken apart yields
its own keys and nothing that signs for, or reads, any other premise.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from amiportal.env import env_bool, env_int, env_required, env_str
from amiportal.transport import OVERRIDE as PLAINTEXT_TRANSPORT_OVERRIDE
from amiportal.transport import broker_tls_options, transport_check
from han.coordinator.head_end import head_end_public_keys_from_env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("AMI_VAR_DIR", str(BASE_DIR / "var")))
PROFILE = "gateway"
# Production rules apply: no development fallbacks (a locally derived head-end key, say).
IS_PRODUCTION = True

INSTALLED_APPS = ["han.coordinator"]
DATABASES: dict = {}
USE_TZ = True
TIME_ZONE = "UTC"

# Checked now, so a gateway with a missing or malformed key does not start at all.
if head_end_public_keys_from_env() is None:
    raise ImproperlyConfigured(
        "Set AMI_HAN_HEAD_END_PUBLIC_KEY and AMI_HAN_HEAD_END_BOX_PUBLIC_KEY: a gateway holds only the head-end's public keys."
    )

CELERY_BROKER_URL = env_required("CELERY_BROKER_URL")
if not CELERY_BROKER_URL.startswith(("redis://", "rediss://", "amqp://", "amqps://")):
    raise ImproperlyConfigured("CELERY_BROKER_URL must be redis(s):// or amqp(s):// on a gateway.")
transport_check(broker_url=CELERY_BROKER_URL, database_url=None, allow_plaintext=env_bool(PLAINTEXT_TRANSPORT_OVERRIDE, False))
# rediss:// and amqps:// verify the broker's certificate and host name (kombu alone would accept any certificate).
_broker_tls = broker_tls_options(CELERY_BROKER_URL, ca_file=env_str("AMI_BROKER_CA_FILE"))
if _broker_tls is not None:
    CELERY_BROKER_USE_SSL = _broker_tls
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # As on the head-end: a command the coordinator took but did not acknowledge goes back on its queue after this.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("AMI_CELERY_VISIBILITY_TIMEOUT", 3600, minimum=5)}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
