"""django-oauth-toolkit hooks: keyed client-secret hashes, data-kind scopes, and tokens bound to consents.

Every authorization code and access token is bound to the consent it came from
(``ConsentGrant``, ``ConsentToken``). A code or refresh token whose consent is no
longer live is refused, so a revoked consent cannot mint new tokens either.
"""

from __future__ import annotations

import hashlib

from oauth2_provider.models import AccessToken
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import BaseScopes

from amiportal.crypto.secret_hash import secret_matches
from thirdparty.models import ConsentGrant, ConsentToken, DataKind
from thirdparty.scopes import ScopeError, parse_scopes

SECRET_PREFIX = "amihmac$"
SECRET_PURPOSE = "oauth-client-secret"


def _registration(client):
    return getattr(client, "thirdparty", None)


class DataKindScopes(BaseScopes):
    def get_all_scopes(self):
        return {kind.value: kind.label for kind in DataKind}

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        registration = _registration(application) if application is not None else None
        return list(registration.requested_scopes) if registration else []

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        return self.get_available_scopes(application, request)


class ConsentBoundValidator(OAuth2Validator):
    def _load_access_token(self, token):
        """The token with its consent binding, consent and application in one query (DOT 3.4 looks up by checksum too).

        ``ConsentTokenAuthentication`` checks all of them on every request; reading them
        together saves a round trip and changes nothing about what is checked.
        """
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        # The checksum is unique: no ORDER BY (``first()``) to compile or run.
        found = list(
            AccessToken.objects.select_related("application", "user", "consent_binding__consent__application")
            .filter(token_checksum=checksum)
            .order_by()[:1]
        )
        return found[0] if found else None

    def _check_secret(self, provided_secret, stored_secret):
        # Only keyed digests are ever stored (thirdparty.services.registration); anything else fails closed.
        if not stored_secret.startswith(SECRET_PREFIX) or not provided_secret:
            return False
        return secret_matches(provided_secret, stored_secret.removeprefix(SECRET_PREFIX), purpose=SECRET_PURPOSE)

    def _client_eligible(self, client) -> bool:
        from thirdparty.selectors import application_may_obtain_consent

        registration = _registration(client)
        return registration is not None and application_may_obtain_consent(application=registration)

    def validate_client_id(self, client_id, request, *args, **kwargs):
        return super().validate_client_id(client_id, request, *args, **kwargs) and self._client_eligible(request.client)

    def authenticate_client(self, request, *args, **kwargs):
        return super().authenticate_client(request, *args, **kwargs) and self._client_eligible(request.client)

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        """Named data kinds or ESPI scope strings, never beyond what the registration requested."""
        registration = _registration(client)
        if registration is None:
            return False
        try:
            requested = parse_scopes(list(scopes))
        except ScopeError:
            return False
        return requested.kinds <= set(registration.requested_scopes)

    def _create_authorization_code(self, request, code, expires=None):
        consent_id = getattr(request, "consent_id", None)
        if consent_id is None:
            raise RuntimeError("authorization codes are only issued from the consent screen")
        grant = super()._create_authorization_code(request, code, expires)
        ConsentGrant.objects.create(grant=grant, consent_id=consent_id)
        return grant

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        if not super().validate_code(client_id, code, client, request, *args, **kwargs):
            return False
        binding = ConsentGrant.objects.filter(grant__code=code, grant__application=client).select_related("consent").first()
        if binding is None or not binding.consent.is_live():
            return False
        request.consent_id = binding.consent_id
        return True

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        access_token = request.refresh_token_instance.access_token
        binding = ConsentToken.objects.filter(access_token=access_token).select_related("consent").first() if access_token else None
        if binding is None or not binding.consent.is_live():
            return False
        request.consent_id = binding.consent_id
        return True

    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        consent_id = getattr(request, "consent_id", None)
        if consent_id is None:
            raise RuntimeError("access tokens are only issued under a consent")
        access_token = super()._create_access_token(expires, request, token, source_refresh_token)
        ConsentToken.objects.create(access_token=access_token, consent_id=consent_id)
        return access_token
