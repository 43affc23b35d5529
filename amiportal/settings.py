"""AMI Portal settings: one module, every value from the environment.

Profiles (AMI_PROFILE):
- development (default): runs on one machine with nothing installed; SQLite and
  a filesystem Celery broker unless DATABASE_URL / CELERY_BROKER_URL are set;
  secrets are generated once under var/dev-secrets/.
- test: like development, with a fast password hasher and a local-memory cache.
- production: every secret must be provided; HTTPS-only cookies and HSTS; the broker
  and PostgreSQL only over TLS (``amiportal/transport.py``).
- gateway: not this module. A premise coordinator runs on ``amiportal.gateway_settings``
  (``manage.py`` and Celery pick it when AMI_PROFILE=gateway; see docs/han.md).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from amiportal.crypto.envelope import Keyring
from amiportal.dev_secrets import dev_secret
from amiportal.env import env_bool, env_choice, env_int, env_list, env_networks, env_str
from amiportal.local_files import private_directory, private_sqlite_file
from amiportal.transport import OVERRIDE as PLAINTEXT_TRANSPORT_OVERRIDE
from amiportal.transport import broker_tls_options, transport_check

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("AMI_VAR_DIR", str(BASE_DIR / "var")))

if env_str("AMI_PROFILE") == "gateway":
    raise ImproperlyConfigured(
        "AMI_PROFILE=gateway runs on amiportal.gateway_settings (manage.py han_coordinator), not the head-end's settings."
    )
PROFILE = env_choice("AMI_PROFILE", "development", ("development", "test", "production"))
IS_PRODUCTION = PROFILE == "production"
if not IS_PRODUCTION:
    # Before anything is written under it (secrets, SQLite, broker, cache): owner-only.
    # Production may run on a read-only image without var/; it is made only where needed.
    private_directory(VAR_DIR, tighten_existing=True)


def _secret(name: str, nbytes: int = 32) -> str:
    value = env_str(name)
    if value:
        return value
    if IS_PRODUCTION:
        raise ImproperlyConfigured(f"{name} (or {name}_FILE) must be set in the production profile.")
    return dev_secret(VAR_DIR / "dev-secrets", name.lower(), nbytes)


SECRET_KEY = _secret("SECRET_KEY", 50)
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS",
    [] if IS_PRODUCTION else ["127.0.0.1", "localhost", "testserver"],
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "rest_framework",
    "oauth2_provider",
    "drf_spectacular",
    "amiportal.audit",
    "amiportal.crypto",
    "amiportal.accounts",
    "amiportal.premises",
    "amiportal.portal",
    "amiportal.notifications",
    "han",
    "han.coordinator",
    "billing",
    "billing.advice",
    "thirdparty",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "amiportal.audit.middleware.RequestIdMiddleware",
    "amiportal.portal.middleware.RefuseNulParametersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "amiportal.accounts.middleware.SessionTimeoutMiddleware",
    "amiportal.accounts.middleware.RequireTwoFactorMiddleware",
    "amiportal.accounts.middleware.NoStoreForSignedInMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "amiportal.urls"
WSGI_APPLICATION = "amiportal.wsgi.application"
ASGI_APPLICATION = "amiportal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "amiportal.portal.context_processors.navigation",
                "amiportal.notifications.context_processors.unread_notifications",
            ],
        },
    },
]
# Django's renderer, with the one-element <input> widgets written in Python (the same markup, faster).
FORM_RENDERER = "amiportal.portal.form_renderer.PortalFormRenderer"

# --- Database -------------------------------------------------------------
_default_sqlite = f"sqlite:///{VAR_DIR / 'amiportal.sqlite3'}"
DATABASE_URL = env_str("DATABASE_URL", _default_sqlite)
try:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0))
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL this project understands: {exc}") from exc
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE makes every write transaction take the write lock at BEGIN,
    # so concurrent appenders (audit chain) queue instead of failing late.
    _db["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    _db["CONN_MAX_AGE"] = 0
    private_directory(VAR_DIR, tighten_existing=not IS_PRODUCTION)
    if _db["NAME"] and _db["NAME"] != ":memory:":
        private_sqlite_file(Path(_db["NAME"]), tighten_existing=not IS_PRODUCTION)
elif _db["ENGINE"] == "django.db.backends.postgresql":
    if PROFILE == "test":
        # Lets the test runner TRUNCATE the append-only audit table between tests.
        _db.setdefault("OPTIONS", {})["options"] = "-c ami.allow_truncate=on"
        # Live-server threads must not keep connections open past a test.
        _db["CONN_MAX_AGE"] = 0
else:
    raise ImproperlyConfigured("DATABASE_URL must be sqlite:// or postgres://.")
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------
CACHE_URL = env_str("CACHE_URL", "")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "amiportal.cache.PortalRedisCache", "LOCATION": CACHE_URL}}
elif CACHE_URL:
    raise ImproperlyConfigured("CACHE_URL must be a redis:// or rediss:// URL or empty.")
elif IS_PRODUCTION:
    # API rate limits are counted in the cache: a per-process cache would give
    # every gunicorn worker its own count, multiplying each limit.
    raise ImproperlyConfigured("CACHE_URL (redis://...) must be set in the production profile: rate limits need one shared cache.")
elif PROFILE == "test":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    # Development: a file cache in var/ is shared by every web worker without a server.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(VAR_DIR / "cache")}}

# --- Accounts, passwords, two-factor ----------------------------------------
AUTH_USER_MODEL = "accounts.User"
# ModelBackend whose per-request user load brings the roles, the second factor and the unread count
# in the same query (amiportal/accounts/selectors.py, user_for_request).
AUTHENTICATION_BACKENDS = ["amiportal.accounts.backends.PortalModelBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if PROFILE == "test":
    # Only the test profile trades hash cost for speed.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "AMI Portal")
AMI_LOGIN_MAX_FAILURES = env_int("AMI_LOGIN_MAX_FAILURES", 5, minimum=1)
AMI_LOGIN_LOCKOUT_BASE_SECONDS = env_int("AMI_LOGIN_LOCKOUT_BASE_SECONDS", 60, minimum=1)
AMI_LOGIN_LOCKOUT_MAX_SECONDS = env_int("AMI_LOGIN_LOCKOUT_MAX_SECONDS", 3600, minimum=1)
AMI_OTP_MAX_FAILURES = env_int("AMI_OTP_MAX_FAILURES", 5, minimum=1)
# Per client address: a leaky bucket of failed sign-ins that forgets one failure every
# AMI_LOGIN_ADDRESS_LEAK_SECONDS, so a busy shared address is slowed, never locked for good.
AMI_LOGIN_ADDRESS_BURST = env_int("AMI_LOGIN_ADDRESS_BURST", 30, minimum=1)
AMI_LOGIN_ADDRESS_LEAK_SECONDS = env_int("AMI_LOGIN_ADDRESS_LEAK_SECONDS", 60, minimum=1)
# Per account: a progressive delay, capped, that a stranger's failures cannot turn into a lock-out.
AMI_LOGIN_ACCOUNT_DELAY_MAX_SECONDS = env_int("AMI_LOGIN_ACCOUNT_DELAY_MAX_SECONDS", 30, minimum=1, maximum=600)
AMI_PASSWORD_RESET_PER_ACCOUNT_HOURLY = env_int("AMI_PASSWORD_RESET_PER_ACCOUNT_HOURLY", 3, minimum=1)
AMI_PASSWORD_RESET_PER_ADDRESS_HOURLY = env_int("AMI_PASSWORD_RESET_PER_ADDRESS_HOURLY", 10, minimum=1)
# Reverse proxies whose X-Forwarded-For is believed (addresses or CIDR blocks). Empty: the
# peer address is the client, whatever the header says.
AMI_TRUSTED_PROXIES = env_networks("AMI_TRUSTED_PROXIES", [])
AMI_SESSION_IDLE_SECONDS = env_int("AMI_SESSION_IDLE_SECONDS", 30 * 60, minimum=60)
AMI_SESSION_ABSOLUTE_SECONDS = env_int("AMI_SESSION_ABSOLUTE_SECONDS", 12 * 3600, minimum=300)
AMI_STEP_UP_MINUTES = env_int("AMI_STEP_UP_MINUTES", 10, minimum=1, maximum=120)

SESSION_COOKIE_AGE = AMI_SESSION_ABSOLUTE_SECONDS
# Sessions are read from the cache (Redis in production) and written through to the database:
# a page view reads no session row. Signing out deletes both; "sign out everywhere" is the
# user's session_generation (read with the user on every request), and the idle and absolute
# timeouts are in the session data itself, so no cached copy can outlive either. The cache must be
# one for every worker (production requires Redis; development's file cache is shared; the test
# profile's in-memory cache serves one process, which is how the tests run).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
# The refusal page inside the portal layout (amiportal/portal/errors.py), not Django's bare one.
CSRF_FAILURE_VIEW = "amiportal.portal.errors.csrf_failure_view"

# --- Keys held outside the database ----------------------------------------
# Key-encryption keys: "id:base64key,id:base64key"; the first is the active one,
# the rest stay available for decryption until a rotation has rewrapped them.
AMI_KEYRING = env_str("AMI_KEYRING") or (None if IS_PRODUCTION else f"dev1:{_secret('AMI_DEV_KEK')}")
if AMI_KEYRING is None:
    raise ImproperlyConfigured("AMI_KEYRING (or AMI_KEYRING_FILE) must be set in the production profile.")


def _key_32(name: str) -> str:
    """A base64 secret of exactly 32 bytes, checked now rather than at first use."""
    value = _secret(name)
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error:
        raise ImproperlyConfigured(f"{name} must be base64.") from None
    if len(raw) != 32:
        raise ImproperlyConfigured(f"{name} must decode to 32 bytes, not {len(raw)}.")
    return value


Keyring.parse(AMI_KEYRING)  # fail at start on a malformed keyring
AMI_AUDIT_HMAC_KEY = _key_32("AMI_AUDIT_HMAC_KEY")
AMI_AUDIT_SIGNING_KEY = _key_32("AMI_AUDIT_SIGNING_KEY")
# audit_append signs a checkpoint whenever the chain reaches a multiple of this many entries
# (besides the hourly beat task and the one at start-up), bounding what a cut tail can hide.
AMI_AUDIT_CHECKPOINT_EVERY = env_int("AMI_AUDIT_CHECKPOINT_EVERY", 1000, minimum=1)
AMI_SECRET_HASH_KEY = _key_32("AMI_SECRET_HASH_KEY")
# The head-end's Ed25519 seed: it signs every command sent to a HAN coordinator.
AMI_HAN_SIGNING_KEY = _key_32("AMI_HAN_SIGNING_KEY")
# The HAN command path's deadlines, held by the head-end (han/services/sweeper.py, docs/reliability.md).
# How long a coordinator keeps its permit window open for one device, and how long after it the
# head-end still waits for the join and interview before it fails the device with "timed_out".
AMI_HAN_PERMIT_SECONDS = env_int("AMI_HAN_PERMIT_SECONDS", 60, minimum=1, maximum=254)
AMI_HAN_PERMIT_GRACE_SECONDS = env_int("AMI_HAN_PERMIT_GRACE_SECONDS", 30, minimum=1, maximum=600)
# A relay runner's claim on a command: a runner that dies leaves it claimed this long at most.
AMI_HAN_RELAY_LEASE_SECONDS = env_int("AMI_HAN_RELAY_LEASE_SECONDS", 15, minimum=2, maximum=600)
# How long one envelope to a coordinator stays valid; one still unanswered then is sent again, fresh.
AMI_HAN_COMMAND_TTL_SECONDS = env_int("AMI_HAN_COMMAND_TTL_SECONDS", 600, minimum=2, maximum=3600)
# How many envelopes one command gets (a fresh one each time the last expired unanswered) before it fails.
AMI_HAN_COMMAND_ATTEMPTS = env_int("AMI_HAN_COMMAND_ATTEMPTS", 4, minimum=1, maximum=20)

# --- Email -------------------------------------------------------------------
# Links in notification emails point here (the portal's public address).
AMI_SITE_URL = env_str("AMI_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
AMI_NOTIFICATION_LEASE_SECONDS = env_int("AMI_NOTIFICATION_LEASE_SECONDS", 120, minimum=10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "AMI Portal <no-reply@amiportal.invalid>")
_email_host = env_str("EMAIL_HOST", "")
if _email_host:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _email_host,
                "port": env_int("EMAIL_PORT", 587, minimum=1, maximum=65535),
                "use_tls": env_bool("EMAIL_USE_TLS", True),
            },
        }
    }
elif IS_PRODUCTION:
    raise ImproperlyConfigured("EMAIL_HOST must be set in the production profile (password-reset mail).")
else:
    # Development: mail (password-reset links) is printed on the web process's console.
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}

# --- Security headers -------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
_https = env_bool("AMI_HTTPS", IS_PRODUCTION)
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _https)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if _https else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _https
SECURE_HSTS_PRELOAD = _https
if env_bool("AMI_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Static files -------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if IS_PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not IS_PRODUCTION
if not IS_PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Celery ---------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "") or "filesystem://"
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "broker"
    for sub in ("queue", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
    }
elif not CELERY_BROKER_URL.startswith(("redis://", "rediss://", "amqp://", "amqps://")):
    raise ImproperlyConfigured("CELERY_BROKER_URL must be redis(s)://, amqp(s):// or unset (filesystem broker).")
if IS_PRODUCTION:
    # TLS to the broker and to PostgreSQL, unless the logged override is set.
    transport_check(
        broker_url=CELERY_BROKER_URL,
        database_url=DATABASE_URL,
        allow_plaintext=env_bool(PLAINTEXT_TRANSPORT_OVERRIDE, False),
    )
# rediss:// and amqps:// verify the broker's certificate and host name (kombu alone would accept any certificate).
_broker_tls = broker_tls_options(CELERY_BROKER_URL, ca_file=env_str("AMI_BROKER_CA_FILE"))
if _broker_tls is not None:
    CELERY_BROKER_USE_SSL = _broker_tls
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A task a dead worker had taken (acks_late) goes back on the queue after this many seconds.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("AMI_CELERY_VISIBILITY_TIMEOUT", 3600, minimum=5)}
# Celery closes Django's database connection after every task unless this is set;
# reopening costs more than most HAN relay tasks (measured in bench/han_bench.py).
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 100, minimum=0)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "audit-checkpoint": {
        "task": "amiportal.audit.tasks.audit_checkpoint_task",
        "schedule": timedelta(minutes=env_int("AMI_AUDIT_CHECKPOINT_MINUTES", 60, minimum=1)),
    },
    "clear-expired-sessions": {
        "task": "amiportal.accounts.tasks.sessions_clear_expired_task",
        "schedule": timedelta(hours=6),
    },
    "thirdparty-consents-expire": {
        "task": "thirdparty.tasks.consents_expire_task",
        "schedule": timedelta(minutes=5),
    },
    "thirdparty-signature-nonces-prune": {
        "task": "thirdparty.tasks.signature_nonces_prune_task",
        "schedule": timedelta(hours=1),
    },
    "thirdparty-webhook-leases-sweep": {  # events whose sending worker died go back to pending
        "task": "thirdparty.tasks.webhook_leases_sweep_task",
        "schedule": timedelta(minutes=1),
    },
    "thirdparty-token-records-prune": {
        "task": "thirdparty.tasks.token_records_prune_task",
        "schedule": timedelta(hours=1),
    },
    "thirdparty-data-available": {
        "task": "thirdparty.tasks.data_available_task",
        "schedule": timedelta(minutes=15),
    },
    "thirdparty-consent-reminders": {
        "task": "amiportal.notifications.tasks.consent_reminders_task",
        "schedule": timedelta(hours=12),
    },
    "notifications-deliveries-sweep": {  # deliveries whose worker died, or whose retry is due, are sent again
        "task": "amiportal.notifications.tasks.deliveries_sweep_task",
        "schedule": timedelta(minutes=1),
    },
    "notifications-critical-peak-morning": {  # the morning of an event day, in each premise's own zone
        "task": "amiportal.notifications.tasks.critical_peak_morning_task",
        "schedule": timedelta(minutes=30),
    },
    "notifications-usage-alerts": {  # bill to date above the customer's threshold; usage today above N x usual
        "task": "amiportal.notifications.tasks.usage_alerts_task",
        "schedule": timedelta(hours=1),
    },
    "han-commands-sweep": {  # HAN commands: lapsed claims and hand-offs, closed permit windows, unanswered envelopes
        "task": "han.tasks.han_commands_sweep_task",
        "schedule": timedelta(seconds=env_int("AMI_HAN_SWEEP_SECONDS", 5, minimum=1, maximum=300)),
    },
    "billing-similar-homes-refresh": {  # hourly; does the work once a day (the day is claimed)
        "task": "billing.tasks.similar_homes_refresh_task",
        "schedule": timedelta(hours=1),
    },
}

# --- Meter data ---------------------------------------------------------------------
# A reading that ends later than now plus this much is refused at ingest: no meter measures the
# future, and a head-end clock a little ahead must not lose a delivery.
AMI_READING_CLOCK_SKEW_SECONDS = env_int("AMI_READING_CLOCK_SKEW_SECONDS", 300, minimum=0, maximum=3600)
# `make run` sets this: the demo premises' simulated meters keep producing readings (a beat task appends
# them through the ingest service every few minutes), so "Today so far" grows. Never in production.
AMI_DEMO_LIVE_READINGS = env_bool("AMI_DEMO_LIVE_READINGS", False)
if IS_PRODUCTION and AMI_DEMO_LIVE_READINGS:
    raise ImproperlyConfigured("AMI_DEMO_LIVE_READINGS simulates meters for the demo; it is refused in the production profile.")
AMI_DEMO_LIVE_MINUTES = env_int("AMI_DEMO_LIVE_MINUTES", 5, minimum=1, maximum=60)
if AMI_DEMO_LIVE_READINGS:
    CELERY_BEAT_SCHEDULE["billing-demo-readings"] = {  # the demo's meters, up to the last whole quarter hour
        "task": "billing.tasks.demo_readings_append_task",
        "schedule": timedelta(minutes=AMI_DEMO_LIVE_MINUTES),
    }

# --- REST framework ----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# --- Third-party access (OAuth2, ESPI API) ---------------------------------------------
# Authorization code + PKCE (S256) only; short-lived access tokens, rotating refresh tokens,
# tokens stored hashed. Consents are checked live on every request (thirdparty/api/auth.py).
AMI_TP_ACCESS_TOKEN_SECONDS = env_int("AMI_TP_ACCESS_TOKEN_SECONDS", 900, minimum=60, maximum=3600)
AMI_TP_REFRESH_TOKEN_DAYS = env_int("AMI_TP_REFRESH_TOKEN_DAYS", 30, minimum=1, maximum=400)
AMI_TP_CONSENT_DEFAULT_DAYS = env_int("AMI_TP_CONSENT_DEFAULT_DAYS", 365, minimum=1)
AMI_TP_CONSENT_MAX_DAYS = env_int("AMI_TP_CONSENT_MAX_DAYS", 3 * 365, minimum=1)
AMI_TP_REMINDER_DAYS = env_int("AMI_TP_REMINDER_DAYS", 30, minimum=1)
AMI_TP_RATE_PER_CLIENT = env_str("AMI_TP_RATE_PER_CLIENT", "600/minute")
AMI_TP_RATE_PER_CONSENT = env_str("AMI_TP_RATE_PER_CONSENT", "120/minute")
# Webhook destinations: loopback, private, link-local (cloud metadata), CGNAT, multicast and
# unspecified addresses are refused, at registration and again at every send, except these
# networks (CIDR). Only outside production: tests and `make run` deliver to a local receiver.
AMI_WEBHOOK_ALLOWED_NETWORKS = env_list("AMI_WEBHOOK_ALLOWED_NETWORKS", [] if IS_PRODUCTION else ["127.0.0.0/8", "::1/128"])
if IS_PRODUCTION and AMI_WEBHOOK_ALLOWED_NETWORKS:
    raise ImproperlyConfigured("AMI_WEBHOOK_ALLOWED_NETWORKS is a development setting; production delivers only to public addresses.")
try:
    [ipaddress.ip_network(network) for network in AMI_WEBHOOK_ALLOWED_NETWORKS]
except ValueError as error:
    raise ImproperlyConfigured(f"AMI_WEBHOOK_ALLOWED_NETWORKS: {error}") from None
# A worker that dies while sending leaves the event claimed until its lease lapses; the sweeper then hands it out again.
AMI_WEBHOOK_LEASE_SECONDS = env_int("AMI_WEBHOOK_LEASE_SECONDS", 120, minimum=15, maximum=3600)
# After a secret rotation the previous secret signs too, for this long.
AMI_WEBHOOK_SECRET_OVERLAP_HOURS = env_int("AMI_WEBHOOK_SECRET_OVERLAP_HOURS", 24, minimum=0, maximum=24 * 30)
OAUTH2_PROVIDER = {
    "OAUTH2_VALIDATOR_CLASS": "thirdparty.oauth.ConsentBoundValidator",
    "SCOPES_BACKEND_CLASS": "thirdparty.oauth.DataKindScopes",
    "PKCE_REQUIRED": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": AMI_TP_ACCESS_TOKEN_SECONDS,
    "REFRESH_TOKEN_EXPIRE_SECONDS": AMI_TP_REFRESH_TOKEN_DAYS * 86400,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # Plain http only for loopback redirects during development (thirdparty/forms.py); never in production.
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"] if IS_PRODUCTION else ["https", "http"],
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
}
# DOT's models are swappable; naming them lets migrations refer to them.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"
SPECTACULAR_SETTINGS = {
    "TITLE": "AMI Portal Green Button Connect My Data API",
    "DESCRIPTION": "ESPI 1.1 resources for third parties, bounded by each customer's consent.",
    "VERSION": "1.1",
    "PREPROCESSING_HOOKS": ["thirdparty.api.schema.only_espi_paths"],
    # Descriptions of every path id, success bodies and worked request examples, in one place.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "thirdparty.api.schema.describe_operations"],
    "SERVE_INCLUDE_SCHEMA": False,
    # Row ids in paths (amiportal/converters.py): whole numbers that fit a bigint.
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}},
}

# --- Logging ------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
