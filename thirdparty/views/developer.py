"""The developer's pages: register an application, accept the agreement, manage credentials."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from amiportal.accounts.roles import Role
from amiportal.accounts.stepup import step_up_required
from amiportal.portal.access import role_required
from amiportal.portal.confirm import confirmation_given, confirmation_page
from thirdparty.forms import AgreementAcceptForm, ApplicationDetailsForm, ApplicationRegisterForm, WebhookForm
from thirdparty.selectors import (
    acceptance_current_for,
    agreement_current,
    application_get_for_developer,
    applications_awaiting_acceptance,
    applications_for_developer,
)
from thirdparty.services.registration import agreement_accept, application_register, application_secret_rotate, application_update
from thirdparty.services.webhooks import (
    WebhookDestinationError,
    webhook_configure,
    webhook_previous_secret_signs_until,
    webhook_secret_rotate,
)

developer_only = role_required(Role.THIRD_PARTY_DEVELOPER)


@developer_only
def applications_view(request):
    return render(
        request,
        "thirdparty/developer_applications.html",
        {
            "applications": applications_for_developer(developer=request.user),
            "agreement": agreement_current(),
            "awaiting_acceptance": applications_awaiting_acceptance(developer=request.user),
        },
    )


def _no_agreement(request):
    return render(
        request,
        "thirdparty/authorize_error.html",
        {"message": "Registration is closed until the utility publishes its data agreement."},
        status=503,
    )


@developer_only
def register_view(request):
    agreement = agreement_current()
    if agreement is None:
        return _no_agreement(request)
    form = ApplicationRegisterForm(request.POST or None, initial={"agreement_version": agreement.version})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            application, secret = application_register(
                developer=request.user,
                organisation=data["organisation"],
                name=data["name"],
                stated_use=data["stated_use"],
                requested_scopes=data["requested_scopes"],
                redirect_uris=data["redirect_uris"],
                public_key_pem=data["public_key_pem"],
                agreement_version=data["agreement_version"],
                signatory_name=data["signatory_name"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            # The secret is in this response only: it is stored as a keyed hash.
            return render(request, "thirdparty/developer_secret.html", {"application": application, "secret": secret, "first": True})
    return render(request, "thirdparty/developer_register.html", {"form": form, "agreement": agreement})


@developer_only
@step_up_required("thirdparty.application_credentials")
def application_view(request, application_id: int):
    application = application_get_for_developer(developer=request.user, application_id=application_id)
    details = ApplicationDetailsForm(
        request.POST or None,
        initial={
            "redirect_uris": application.redirect_uris,
            "stated_use": application.stated_use,
            "public_key_pem": application.public_key_pem,
        },
    )
    if request.method == "POST" and details.is_valid():
        data = details.cleaned_data
        was = application.status
        application = application_update(
            application=application,
            actor=request.user,
            redirect_uris=data["redirect_uris"],
            public_key_pem=data["public_key_pem"],
            stated_use=data["stated_use"],
        )
        if application.status != was:
            messages.warning(request, f"Saved. {application.status_reason} Customers' existing access resumes once it is approved.")
        else:
            messages.success(request, "Saved.")
        return redirect("thirdparty:developer_application", application.pk)
    return render(
        request,
        "thirdparty/developer_application.html",
        {
            "application": application,
            "form": details,
            "webhook_form": WebhookForm(initial={"webhook_url": application.webhook_url}),
            "webhook_previous_signs_until": webhook_previous_secret_signs_until(application),
            "current_acceptance": acceptance_current_for(application=application),
        },
    )


@developer_only
@require_POST
@step_up_required("thirdparty.client_secret")
def secret_rotate_view(request, application_id: int):
    application = application_get_for_developer(developer=request.user, application_id=application_id)
    if not confirmation_given(request):
        return confirmation_page(
            request,
            title=f"Make a new client secret for {application.name}?",
            consequences=[
                "The current client secret stops working at once: your servers cannot get or refresh tokens until they use the new one.",
                "The new secret is shown once.",
            ],
            button="Make a new client secret",
            cancel_url=reverse("thirdparty:developer_application", args=[application.pk]),
            cancel_label="Keep the current secret",
        )
    secret = application_secret_rotate(application=application, actor=request.user)
    return render(request, "thirdparty/developer_secret.html", {"application": application, "secret": secret, "first": False})


@developer_only
@require_POST
@step_up_required("thirdparty.webhook")
def webhook_view(request, application_id: int):
    application = application_get_for_developer(developer=request.user, application_id=application_id)
    form = WebhookForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("thirdparty:developer_application", application.pk)
    try:
        secret = webhook_configure(application=application, url=form.cleaned_data["webhook_url"], actor=request.user)
    except WebhookDestinationError as error:
        messages.error(request, str(error))
        return redirect("thirdparty:developer_application", application.pk)
    if secret:
        return render(request, "thirdparty/developer_webhook_secret.html", {"application": application, "secret": secret})
    messages.success(request, "Webhook saved.")
    return redirect("thirdparty:developer_application", application.pk)


@developer_only
@require_POST
@step_up_required("thirdparty.webhook")
def webhook_secret_rotate_view(request, application_id: int):
    application = application_get_for_developer(developer=request.user, application_id=application_id)
    try:
        secret = webhook_secret_rotate(application=application, actor=request.user)
    except ValueError as error:
        messages.error(request, str(error))
        return redirect("thirdparty:developer_application", application.pk)
    application.refresh_from_db()
    return render(
        request,
        "thirdparty/developer_webhook_secret.html",
        {"application": application, "secret": secret, "previous_until": application.webhook_previous_secret_until},
    )


@developer_only
def agreement_view(request):
    agreement = agreement_current()
    if agreement is None:
        return _no_agreement(request)
    awaiting = applications_awaiting_acceptance(developer=request.user)
    form = AgreementAcceptForm(request.POST or None, applications=awaiting, initial={"agreement_version": agreement.version})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            agreement_accept(
                developer=request.user,
                application=data["application"],
                agreement_version=data["agreement_version"],
                signatory_name=data["signatory_name"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"You accepted version {agreement.version} of the agreement for {data['application'].name}.")
            return redirect("thirdparty:developer_applications")
    return render(request, "thirdparty/developer_agreement.html", {"agreement": agreement, "awaiting": awaiting, "form": form})
