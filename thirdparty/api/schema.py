"""OpenAPI for the third-party API only (the operator ingest API is not for third parties)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from thirdparty.scopes import offered_choices


def only_espi_paths(endpoints):
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/espi/")]


class ConsentTokenScheme(OpenApiAuthenticationExtension):
    target_class = "thirdparty.api.auth.ConsentTokenAuthentication"
    name = "consentBearer"

    def get_security_definition(self, auto_schema):
        return {
            "type": "oauth2",
            "description": "Authorization code with PKCE (S256). Every request is checked against the customer's live authorization.",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": "/oauth/authorize/",
                    "tokenUrl": "/oauth/token/",
                    "refreshUrl": "/oauth/token/",
                    "scopes": dict(offered_choices()),
                }
            },
        }
