"""The consent screen: the OAuth2 authorization endpoint, in plain language (SO-T1, SO-C15).

Authorization code with PKCE (S256) only. The customer chooses premises, data,
history and an end date; the consent is recorded first (pending) and the code is bound
to it. It goes live, replacing the customer's earlier consent to the same application,
only when the application redeems the code (``thirdparty.oauth``).
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import render
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.oauth2_backends import get_oauthlib_core
from oauth2_provider.settings import oauth2_settings

from amiportal.accounts.roles import Role
from amiportal.accounts.stepup import step_up_redirect
from amiportal.portal.access import role_required
from thirdparty import scopes as scope_rules
from thirdparty.forms import ConsentForm
from thirdparty.models import DataKind
from thirdparty.scopes import ScopeError, parse_scopes
from thirdparty.selectors import acceptance_current_for, application_for_client_id, customer_premises_for_consent
from thirdparty.services.consent import consent_premises_refused, consent_propose
from thirdparty.views.customer import end_of_day

# RFC 7636 section 4.2: an S256 challenge is 43 characters; the grammar allows 43 to 128 unreserved ones.
PKCE_CHALLENGE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
CHALLENGE_RULE = "code_challenge must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_', '~' (RFC 7636)."
CHOICES_SESSION_KEY = "thirdparty.consent_choices"


def _error_page(request, message: str, status: int = 400):
    """An error shown to the customer; nothing is sent back to an address we cannot trust."""
    return render(request, "thirdparty/authorize_error.html", {"message": message}, status=status)


def _redirect_error(request, error: OAuthToolkitError, application):
    """Back to the client's registered redirect URI with the error, its state and our issuer (RFC 9207)."""
    oauthlib_error = error.oauthlib_error
    separator = "&" if "?" in (oauthlib_error.redirect_uri or "") else "?"
    issuer = urlencode({"iss": oauth2_settings.oauth2_authorization_server_issuer(request)})
    target = f"{oauthlib_error.redirect_uri}{separator}{oauthlib_error.urlencoded}&{issuer}"
    return OAuth2ResponseRedirect(target, application.oauth_application.get_allowed_schemes())


def _origin(uri: str) -> str | None:
    """scheme://host[:port] of a redirect URI, or None if it cannot be written into a CSP source safely."""
    parts = urlsplit(uri)
    origin = f"{parts.scheme}://{parts.netloc}"
    if parts.scheme not in ("https", "http") or not parts.netloc or any(c in origin for c in " ;,'\"\t\r\n"):
        return None
    return origin


def _allow_form_action_to(response, redirect_uri: str):
    """Let the consent form's POST end at the application's registered callback (CSP form-action).

    Chromium applies ``form-action`` to every redirect a form submission follows, so the
    site-wide ``form-action 'self'`` stops the browser at our 302 to the application: the
    customer stays on a blank page and the app never gets its code or its error. Real
    authorization servers (Keycloak, Duende IdentityServer, Ory Hydra) keep ``form-action``
    and add the client's redirect origin on the consent page only. We do the same: this one
    response allows 'self' plus the origin of the redirect URI that django-oauth-toolkit
    already matched exactly against the application's registration; every other page keeps
    ``form-action 'self'``.
    """
    origin = _origin(redirect_uri or "")
    if origin is not None:
        response._csp_config = {**settings.SECURE_CSP, "form-action": [*settings.SECURE_CSP["form-action"], origin]}
    return response


@role_required(Role.CUSTOMER)
def authorize_view(request):
    core = get_oauthlib_core()
    registration = application_for_client_id(client_id=request.GET.get("client_id", ""))
    try:
        scopes, credentials = core.validate_authorization_request(request)
    except FatalClientError:
        # Unknown client, an application not in production, or a redirect URI it did not register: never redirect.
        status = 404 if registration is None else 400
        return _error_page(
            request, "This application is not registered with us, is not approved, or sent you from an address it did not register.", status
        )
    except OAuthToolkitError as error:
        if registration is None or not error.oauthlib_error.redirect_uri:
            return _error_page(request, "The application's request is not valid.")
        return _redirect_error(request, error, registration)
    if credentials.get("response_type") != "code" or credentials.get("code_challenge_method") != "S256":
        return _redirect_error(
            request,
            OAuthToolkitError(error=_invalid_request("PKCE with code_challenge_method=S256 is required.", credentials)),
            registration,
        )
    if not PKCE_CHALLENGE.fullmatch(credentials.get("code_challenge") or ""):
        return _redirect_error(
            request,
            OAuthToolkitError(error=_invalid_request(CHALLENGE_RULE, credentials)),
            registration,
        )
    try:
        requested = parse_scopes(scopes)
    except ScopeError as problem:
        return _error_page(request, str(problem))
    kinds = [k for k in DataKind.values if k in requested.kinds] or list(registration.requested_scopes)
    form = ConsentForm(
        request.POST or None,
        initial=None if request.method == "POST" else _choices_kept(request),
        premises=customer_premises_for_consent(customer=request.user, kinds=kinds),
        kinds=kinds,
        max_history=requested.history_months,
    )
    if request.method == "POST":
        if "deny" in request.POST:
            return _redirect_error(request, OAuthToolkitError(error=_access_denied(credentials)), registration)
        if form.is_valid():
            data = form.cleaned_data
            if set(data["data_kinds"]) & scope_rules.STEP_UP_KINDS:
                # Control of equipment at home needs a fresh second check before it is granted.
                refusal = step_up_redirect(request, "thirdparty.grant_device_control", return_to=request.get_full_path())
                if refusal is not None:
                    _choices_keep(request, data)
                    return refusal
            try:
                # The consent and its code stand or fall together.
                with transaction.atomic():
                    consent = consent_propose(
                        application=registration,
                        customer=request.user,
                        premises=list(data["premises"]),
                        data_kinds=data["data_kinds"],
                        history_months=data["history_months"],
                        expires_at=end_of_day(data["end_date"]),
                    )
                    credentials["consent_id"] = consent.pk
                    uri, _headers, _body, _status = core.create_authorization_response(
                        request, scopes=consent.data_kinds, credentials=credentials, allow=True
                    )
            except ValidationError as error:
                form.add_error(None, error)
            except OAuthToolkitError as error:
                return _redirect_error(request, error, registration)
            else:
                return OAuth2ResponseRedirect(uri, registration.oauth_application.get_allowed_schemes())
        elif form.has_error("premises", "invalid_choice"):
            consent_premises_refused(customer=request.user, application=registration, premise_ids=request.POST.getlist("premises"))
    acceptance = acceptance_current_for(application=registration)
    page = render(
        request,
        "thirdparty/authorize.html",
        {
            "application": registration,
            "form": form,
            "agreement": acceptance.agreement,
            "acceptance": acceptance,
            "history_months": requested.history_months,
            "asks_for_control": DataKind.HAN_CONTROL in kinds,
        },
    )
    return _allow_form_action_to(page, credentials.get("redirect_uri"))


def _choices_keep(request, data: dict) -> None:
    """What the customer ticked, kept in their session while they step up, for this one authorization request.

    The step-up never replays a POST (amiportal/accounts/stepup.py): the customer comes back to
    the consent screen and presses Allow again, and must find their own choices there, not the
    defaults. Only ids and plain values are kept; the form validates them again on that POST.
    """
    request.session[CHOICES_SESSION_KEY] = {
        "path": request.get_full_path(),
        "premises": [premise.pk for premise in data["premises"]],
        "data_kinds": list(data["data_kinds"]),
        "history_months": data["history_months"],
        "end_date": data["end_date"].isoformat(),
    }


def _choices_kept(request) -> dict | None:
    """The choices kept by ``_choices_keep`` for this same request (same URL), once; None otherwise."""
    kept = request.session.get(CHOICES_SESSION_KEY)
    if not isinstance(kept, dict) or kept.get("path") != request.get_full_path():
        return None
    del request.session[CHOICES_SESSION_KEY]
    try:
        end_date = date.fromisoformat(kept["end_date"])
    except (KeyError, TypeError, ValueError):
        return None
    return {
        "premises": kept.get("premises", []),
        "data_kinds": kept.get("data_kinds", []),
        "history_months": kept.get("history_months"),
        "end_date": end_date,
    }


def _invalid_request(description: str, credentials: dict):
    from oauthlib.oauth2 import InvalidRequestError

    error = InvalidRequestError(description=description, state=credentials.get("state"))
    error.redirect_uri = credentials.get("redirect_uri")
    return error


def _access_denied(credentials: dict):
    from oauthlib.oauth2 import AccessDeniedError

    error = AccessDeniedError(state=credentials.get("state"))
    error.redirect_uri = credentials.get("redirect_uri")
    return error
