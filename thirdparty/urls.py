from django.urls import include, path

from thirdparty.views import customer, developer, docs, operator
from thirdparty.views.oauth import authorize_view
from thirdparty.views.oauth_endpoints import RevokeTokenView, TokenView, authorization_server_metadata_view

app_name = "thirdparty"

urlpatterns = [
    # The developer's side
    path("developer/applications/", developer.applications_view, name="developer_applications"),
    path("developer/applications/new/", developer.register_view, name="developer_register"),
    path("developer/applications/<id:application_id>/", developer.application_view, name="developer_application"),
    path("developer/applications/<id:application_id>/secret/", developer.secret_rotate_view, name="developer_secret_rotate"),
    path("developer/applications/<id:application_id>/webhook/", developer.webhook_view, name="developer_webhook"),
    path(
        "developer/applications/<id:application_id>/webhook/secret/",
        developer.webhook_secret_rotate_view,
        name="developer_webhook_secret_rotate",
    ),
    path("developer/agreement/", developer.agreement_view, name="developer_agreement"),
    path("developer/api/", docs.api_docs_view, name="api_docs"),
    path("espi/1_1/openapi.json", docs.openapi_view, name="openapi"),
    # The operator's side
    path("operator/third-parties/", operator.registry_view, name="operator_registry"),
    path("operator/third-parties/<id:application_id>/", operator.application_view, name="operator_application"),
    path(
        "operator/third-parties/<id:application_id>/criticalities/",
        operator.application_criticalities_view,
        name="operator_application_criticalities",
    ),
    # The customer's side
    path("customer/access/", customer.access_view, name="customer_access"),
    path("customer/access/log/", customer.access_log_view, name="customer_access_log"),
    path("customer/access/<id:consent_id>/revoke/", customer.revoke_view, name="customer_consent_revoke"),
    path("customer/access/<id:consent_id>/extend/", customer.extend_view, name="customer_consent_extend"),
    # OAuth2: the consent screen, the token and revocation endpoints
    path("oauth/authorize/", authorize_view, name="authorize"),
    path("oauth/token/", TokenView.as_view(), name="token"),
    path("oauth/revoke/", RevokeTokenView.as_view(), name="revoke_token"),
    path(".well-known/oauth-authorization-server", authorization_server_metadata_view, name="authorization_server_metadata"),
    # The Green Button Connect My Data API
    path("espi/1_1/resource/", include("thirdparty.api.urls")),
]
