"""The token and revocation endpoints (django-oauth-toolkit's) and our RFC 8414 metadata document.

Client authentication is HTTP Basic only (``thirdparty.oauth.TOKEN_ENDPOINT_AUTH_METHODS``).
A failed one answers 401 with ``WWW-Authenticate: Basic`` (RFC 6749 section 5.2: the scheme
the client is expected to use), where oauthlib would name ``Bearer``.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET
from oauth2_provider import views as oauth_views
from oauth2_provider.settings import oauth2_settings

from thirdparty.models import DataKind
from thirdparty.oauth import TOKEN_ENDPOINT_AUTH_METHODS
from thirdparty.scopes import CLIENT_ACCESS

BASIC_CHALLENGE = 'Basic realm="AMI Portal OAuth", charset="UTF-8"'


class _BasicChallengeMixin:
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        if response.status_code == 401:
            response["WWW-Authenticate"] = BASIC_CHALLENGE
        return response


class TokenView(_BasicChallengeMixin, oauth_views.TokenView):
    pass


class RevokeTokenView(_BasicChallengeMixin, oauth_views.RevokeTokenView):
    pass


@require_GET
def authorization_server_metadata_view(request):
    """RFC 8414: what a client library needs to know, stating exactly what the endpoints accept."""
    issuer = oauth2_settings.oauth2_authorization_server_issuer(request)
    metadata = {
        # The same value as the ``iss`` parameter of every authorization response (RFC 9207).
        "issuer": issuer,
        "authorization_endpoint": issuer + reverse("thirdparty:authorize"),
        "token_endpoint": issuer + reverse("thirdparty:token"),
        "revocation_endpoint": issuer + reverse("thirdparty:revoke_token"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": list(TOKEN_ENDPOINT_AUTH_METHODS),
        "revocation_endpoint_auth_methods_supported": list(TOKEN_ENDPOINT_AUTH_METHODS),
        "scopes_supported": [*DataKind.values, CLIENT_ACCESS],
        "authorization_response_iss_parameter_supported": True,
        "service_documentation": issuer + reverse("thirdparty:api_docs"),
    }
    response = JsonResponse(metadata)
    response["Cache-Control"] = "public, max-age=3600"
    return response
