"""Who is asking, under which consent, for what: checked live on every API request (SO-T1, SO-C15).

- No token, or a bad, expired or revoked one: 401 with ``WWW-Authenticate: Bearer``.
- A token whose consent has ended, or whose application is suspended: 401 too, and
  an expired consent is ended (its tokens killed) right there.
- A live consent without the data kind the route serves: 403.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from oauth2_provider.models import AccessToken
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.throttling import SimpleRateThrottle

from thirdparty.models import ApplicationStatus, Consent, ConsentStatus, ConsentToken
from thirdparty.services.consent import consent_expire


@dataclass(frozen=True)
class ConsentCredentials:
    token: AccessToken
    consent: Consent

    @property
    def kinds(self) -> frozenset[str]:
        """What this request may read: the token's scope, never wider than the consent."""
        return frozenset(self.token.scope.split()) & frozenset(self.consent.data_kinds)


class _Refused(AuthenticationFailed):
    pass


class ConsentTokenAuthentication(OAuth2Authentication):
    www_authenticate_realm = "espi"

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, token = result
        try:
            # Loaded with the token in one query (thirdparty.oauth.ConsentBoundValidator._load_access_token).
            binding = token.consent_binding
        except ConsentToken.DoesNotExist:
            binding = None
        if binding is None:
            self._refuse(request, "The token is not bound to an authorization.")
        consent = binding.consent
        if consent.customer_id == user.pk:
            consent.customer = user  # the same row, already loaded with the token: no second read
        if consent.status == ConsentStatus.ACTIVE and consent.expires_at <= timezone.now():
            consent_expire(consent_id=consent.pk)
            self._refuse(request, "The customer's authorization has expired.")
        if consent.status != ConsentStatus.ACTIVE:
            self._refuse(request, "The customer's authorization has ended.")
        if consent.application.status != ApplicationStatus.PRODUCTION:
            self._refuse(request, "The application is suspended.")
        return user, ConsentCredentials(token=token, consent=consent)

    def _refuse(self, request, description: str):
        request.oauth2_error = {"error": "invalid_token", "error_description": description}
        raise _Refused(description)


class ConsentAllowsKind(BasePermission):
    """The route's ``required_kind`` (or one of a tuple of them) must be in the token's scope and in the live consent."""

    def has_permission(self, request, view) -> bool:
        credentials = request.auth
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
        if not isinstance(credentials, ConsentCredentials):
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.ident_of(credentials)}


class ClientRateThrottle(_ConsentThrottle):
    scope = "tp_client"
    setting = "AMI_TP_RATE_PER_CLIENT"

    def ident_of(self, credentials: ConsentCredentials) -> str:
        return str(credentials.consent.application_id)


class ConsentRateThrottle(_ConsentThrottle):
    scope = "tp_consent"
    setting = "AMI_TP_RATE_PER_CONSENT"

    def ident_of(self, credentials: ConsentCredentials) -> str:
        return str(credentials.consent.pk)
