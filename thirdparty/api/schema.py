"""OpenAPI for the third-party API only (the operator ingest API is not for third parties)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from thirdparty.scopes import CLIENT_ACCESS, offered_choices


def only_espi_paths(endpoints):
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/espi/")]


class ConsentTokenScheme(OpenApiAuthenticationExtension):
    target_class = "thirdparty.api.auth.ConsentTokenAuthentication"
    name = "consentBearer"

    def get_security_definition(self, auto_schema):
        return {
            "type": "oauth2",
            "description": (
                "Authorization code with PKCE (S256). Every request is checked against the customer's live authorization. "
                "Client credentials give client access only: the third party's own Authorization collection and "
                "ReadServiceStatus, never customer data."
            ),
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": "/oauth/authorize/",
                    "tokenUrl": "/oauth/token/",
                    "refreshUrl": "/oauth/token/",
                    "scopes": dict(offered_choices()),
                },
                "clientCredentials": {
                    "tokenUrl": "/oauth/token/",
                    "scopes": {
                        CLIENT_ACCESS: "Client access: read this third party's own authorizations",
                        "FB=34_35": "The same, as an ESPI scope (data custodian admin / client access)",
                    },
                },
            },
        }
