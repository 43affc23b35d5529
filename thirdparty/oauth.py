"""django-oauth-toolkit hooks: keyed client-secret hashes, data-kind scopes, and tokens bound to consents.

Every authorization code and access token is bound to the consent it came from
(``ConsentGrant``, ``ConsentToken``). A code or refresh token whose consent is no
longer live is refused, so a revoked consent cannot mint new tokens either.
"""

from __future__ import annotations

import hashlib

from django.db.models import Q
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import BaseScopes

from amiportal.crypto.secret_hash import secret_digest, secret_matches
from thirdparty.models import ConsentGrant, ConsentStatus, ConsentToken, DataKind, RedeemedCode
from thirdparty.scopes import CLIENT_ACCESS, ScopeError, is_client_access, parse_scopes

SECRET_PREFIX = "amihmac$"
SECRET_PURPOSE = "oauth-client-secret"
CLIENT_CREDENTIALS = "client_credentials"
CODE_PURPOSE = "oauth-authorization-code"
# The client authentication methods the token and revocation endpoints accept (docs/thirdparty.md, RFC 8414 metadata).
TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic",)


def code_digest(code: str) -> str:
    """A redeemed code is remembered by this keyed digest only, never in the clear."""
    return secret_digest(code, purpose=CODE_PURPOSE)


def _registration(client):
    return getattr(client, "thirdparty", None)


class DataKindScopes(BaseScopes):
    def get_all_scopes(self):
        return {kind.value: kind.label for kind in DataKind}

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        registration = _registration(application) if application is not None else None
        return list(registration.requested_scopes) if registration else []

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        if getattr(request, "grant_type", None) == CLIENT_CREDENTIALS:
            return [CLIENT_ACCESS]
        return self.get_available_scopes(application, request)


class ConsentBoundValidator(OAuth2Validator):
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
        """HTTP Basic only (client_secret_basic), the one method the docs and the metadata name.

        django-oauth-toolkit would also take client_id and client_secret in the body
        (client_secret_post); a secret sent there is refused like a wrong one.
        """
        return self._authenticate_basic_auth(request) and self._client_eligible(request.client)

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        """Authorization code and refresh as registered; client credentials for client access only.

        Every registration is an authorization-code client in django-oauth-toolkit's terms. A
        confidential, eligible one may also use client_credentials, whose token reads nothing
        but its own Authorization collection (``validate_scopes``, ``thirdparty.api.auth``).
        Implicit and password grants stay refused: no registration is of those types.
        """
        if grant_type == CLIENT_CREDENTIALS:
            return client.client_type == client.CLIENT_CONFIDENTIAL and self._client_eligible(client)
        return super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs)

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        """Named data kinds or ESPI scope strings, never beyond what the registration requested.

        A client_credentials request may ask for client access and nothing else.
        """
        registration = _registration(client)
        if registration is None:
            return False
        if getattr(request, "grant_type", None) == CLIENT_CREDENTIALS:
            return is_client_access(" ".join(scopes))
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
            self._revoke_on_replay(code, client)
            return False
        binding = ConsentGrant.objects.filter(grant__code=code, grant__application=client).select_related("consent").first()
        # The consent is pending until this exchange; anything else (ended, or live already) gets no token.
        if binding is None or binding.consent.status != ConsentStatus.PENDING or not binding.consent.expires_at_in_future():
            return False
        request.consent_id = binding.consent_id
        return True

    def _revoke_on_replay(self, code, client) -> None:
        from thirdparty.services.consent import consent_end_for_code_replay

        if not code:
            return
        redeemed = RedeemedCode.objects.filter(code_digest=code_digest(code), consent__application__oauth_application=client).first()
        if redeemed is not None:
            consent_end_for_code_replay(consent_id=redeemed.consent_id)

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs):
        """The code is spent: remember its digest (replay detection) and the consent goes live.

        A second exchange racing the first finds the code gone here, after its token was
        saved; that is a replay too, and every token of the consent dies.
        """
        from oauthlib.oauth2.rfc6749 import errors

        from thirdparty.services.consent import consent_activate, consent_end_for_code_replay

        try:
            super().invalidate_authorization_code(client_id, code, request, *args, **kwargs)
        except errors.InvalidGrantError:
            consent_end_for_code_replay(consent_id=request.consent_id)
            raise
        RedeemedCode.objects.create(code_digest=code_digest(code), consent_id=request.consent_id)
        consent_activate(consent_id=request.consent_id)

    def revoke_token(self, token, token_type_hint, request, *args, **kwargs):
        """RFC 7009 revocation by the application: its grant is over, so is the customer's authorization.

        Revoking either token leaves nothing that can mint a new one (django-oauth-toolkit
        revokes the pair), so the consent ends too; the customer's page must not show access
        the application gave up.
        """
        from thirdparty.services.consent import consent_release

        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        binding = (
            ConsentToken.objects.filter(access_token__application=request.client)
            .filter(Q(access_token__token_checksum=checksum) | Q(access_token__refresh_token__token_checksum=checksum))
            .first()
        )
        super().revoke_token(token, token_type_hint, request, *args, **kwargs)
        if binding is not None:
            consent_release(consent_id=binding.consent_id)

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
        if request.grant_type == CLIENT_CREDENTIALS:
            # Bound to no consent and no customer: the API lets it read only the client's own authorizations.
            return super()._create_access_token(expires, request, token, source_refresh_token)
        consent_id = getattr(request, "consent_id", None)
        if consent_id is None:
            raise RuntimeError("access tokens are only issued under a consent")
        access_token = super()._create_access_token(expires, request, token, source_refresh_token)
        ConsentToken.objects.create(access_token=access_token, consent_id=consent_id)
        return access_token
