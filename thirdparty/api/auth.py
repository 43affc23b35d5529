"""Who is asking, under which consent, for what: checked live on every API request (SO-T1, SO-C15).

- No bearer token in the Authorization header, or a bad, expired or revoked one: 401
  with ``WWW-Authenticate: Bearer``.
- A token whose consent has ended, or whose application is suspended: 401 too, and
  an expired consent is ended (its tokens killed) right there.
- A live consent without the data kind the route serves: 403.
- A client-access token (client_credentials grant, no consent): only the routes that
  declare ``client_access`` (the third party's own Authorization collection and the
  service status); 403 on every route that serves customer data.

The token is read with its registration, user and consent in one query
(``thirdparty.selectors.bearer_token_load``) and checked here, instead of going through
oauthlib's resource-server path, which would read the token again and check less. The
checks on the token row are django-oauth-toolkit's own (``is_valid``, ``allows_audience``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from oauth2_provider.models import AccessToken
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.throttling import SimpleRateThrottle

from thirdparty.models import ApplicationStatus, Consent, ConsentStatus, ThirdPartyApplication
from thirdparty.scopes import is_client_access
from thirdparty.selectors import bearer_token_load, consent_of_ended_token
from thirdparty.services.consent import access_log_record, consent_expire


@dataclass(frozen=True)
class ConsentCredentials:
    token: AccessToken
    consent: Consent

    @property
    def kinds(self) -> frozenset[str]:
        """What this request may read: the token's scope, never wider than the consent."""
        return frozenset(self.token.scope.split()) & frozenset(self.consent.data_kinds)

    @property
    def application_id(self) -> int:
        return self.consent.application_id


@dataclass(frozen=True)
class ClientCredentials:
    """A client_credentials token: the third party itself, under no customer's consent (client access)."""

    token: AccessToken
    registration: ThirdPartyApplication

    @property
    def application_id(self) -> int:
        return self.registration.pk


class _Refused(AuthenticationFailed):
    pass


def bearer_token_from(request) -> str | None:
    """The token from ``Authorization: Bearer ...`` (RFC 6750 section 2.1), the only place it is accepted."""
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 255:
        return None
    return token


class ConsentTokenAuthentication(BaseAuthentication):
    www_authenticate_realm = "espi"

    def authenticate(self, request):
        raw = bearer_token_from(request)
        if raw is None:
            return None
        loaded = bearer_token_load(token=raw)
        if loaded is None:
            # A token that died with its consent: the customer sees the refused call in their access log.
            self._refuse(request, "The access token is invalid.", consent=consent_of_ended_token(token=raw))
        token = loaded.token
        if token.is_expired():
            self._refuse(request, "The access token has expired.")
        # RFC 8707: a token issued for named resources is good only there.
        if token.resource and not token.allows_audience(request.build_absolute_uri(request.path)):
            self._refuse(request, "The access token is not valid for this resource.")
        consent = loaded.consent
        if consent is None and loaded.user is None and is_client_access(token.scope):
            if loaded.registration.status != ApplicationStatus.PRODUCTION:
                self._refuse(request, "The application is suspended.")
            return AnonymousUser(), ClientCredentials(token=token, registration=loaded.registration)
        if consent is None or consent.application_id != loaded.registration.pk:
            self._refuse(request, "The token is not bound to an authorization.")
        if loaded.user is None or not loaded.user.is_active:
            # A closed customer account shares nothing, whatever it once consented to.
            self._refuse(request, "The customer's account is closed.")
        if consent.status == ConsentStatus.ACTIVE and consent.expires_at <= timezone.now():
            consent_expire(consent_id=consent.pk)
            self._refuse(request, "The customer's authorization has expired.", consent=consent)
        if consent.status != ConsentStatus.ACTIVE:
            self._refuse(request, "The customer's authorization has ended.", consent=consent)
        if loaded.registration.status != ApplicationStatus.PRODUCTION:
            self._refuse(request, "The application is suspended.", consent=consent)
        return loaded.user, ConsentCredentials(token=token, consent=consent)

    def authenticate_header(self, request):
        attributes = {"realm": self.www_authenticate_realm, **getattr(request, "oauth2_error", {})}
        return "Bearer " + ",".join(f'{name}="{value}"' for name, value in attributes.items())

    def _refuse(self, request, description: str, *, consent: Consent | None = None):
        request.oauth2_error = {"error": "invalid_token", "error_description": description}
        if consent is not None:
            # Refused under a customer's (ended) authorization: the customer sees the attempt. Never the token itself.
            access_log_record(consent=consent, resource=request.get_full_path(), premise=None, items=0, status_code=401)
        raise _Refused(description)


class ConsentAllowsKind(BasePermission):
    """The route's ``required_kind`` (or one of a tuple of them) must be in the token's scope and in the live consent.

    A client-access token passes only on routes that declare ``client_access = True``
    (the Authorization collection and the service status); customer data never.
    """

    def has_permission(self, request, view) -> bool:
        credentials = request.auth
        if isinstance(credentials, ClientCredentials):
            if getattr(view, "client_access", False):
                return True
            self.message = "A client access token reads only the Authorization collection and the service status, never customer data."
            return False
        if not isinstance(credentials, ConsentCredentials):
            return False
        kind = getattr(view, "required_kind", None)
        if kind is None:
            return True
        # A tuple means any one of those kinds will do.
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not credentials.kinds & set(kinds):
            self.message = f"This authorization does not include {' or '.join(kinds)}."
            return False
        return True


class _ConsentThrottle(SimpleRateThrottle):
    setting = ""

    def get_rate(self):
        return getattr(settings, self.setting)

    def get_cache_key(self, request, view):
        credentials = request.auth
        if not isinstance(credentials, ConsentCredentials | ClientCredentials):
            return None
        ident = self.ident_of(credentials)
        return None if ident is None else self.cache_format % {"scope": self.scope, "ident": ident}


class ClientRateThrottle(_ConsentThrottle):
    scope = "tp_client"
    setting = "AMI_TP_RATE_PER_CLIENT"

    def ident_of(self, credentials: ConsentCredentials | ClientCredentials) -> str:
        return str(credentials.application_id)


class ConsentRateThrottle(_ConsentThrottle):
    scope = "tp_consent"
    setting = "AMI_TP_RATE_PER_CONSENT"

    def ident_of(self, credentials: ConsentCredentials | ClientCredentials) -> str | None:
        return str(credentials.consent.pk) if isinstance(credentials, ConsentCredentials) else None
