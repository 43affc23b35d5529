"""The operator's pages: the registry of third parties, review and suspension, access statistics."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render

from amiportal.accounts.roles import Role, user_has_role
from amiportal.accounts.stepup import step_up_required
from amiportal.portal.access import role_required
from thirdparty.forms import ApplicationStatusForm, CriticalityGrantForm
from thirdparty.selectors import access_statistics, application_get_for_operator, applications_registry
from thirdparty.services.criticality import application_criticalities, application_criticalities_grant
from thirdparty.services.registration import application_status_set

operators_only = role_required(Role.OPERATOR, Role.ADMIN)


@operators_only
def registry_view(request):
    rows = [(application, access_statistics(application=application)) for application in applications_registry()]
    return render(request, "thirdparty/operator_registry.html", {"rows": rows})


@operators_only
def application_view(request, application_id: int):
    application = application_get_for_operator(application_id=application_id)
    form = ApplicationStatusForm(request.POST or None, initial={"status": application.status})
    if request.method == "POST" and form.is_valid():
        try:
            updated = application_status_set(
                application=application, status=form.cleaned_data["status"], reason=form.cleaned_data["reason"], actor=request.user
            )
        except ValidationError as error:
            form.add_error("status", error)
        else:
            messages.success(request, f"{updated.name} is now {updated.get_status_display().lower()}.")
            return redirect("thirdparty:operator_application", application.pk)
    return render(
        request,
        "thirdparty/operator_application.html",
        {
            "application": application,
            "form": form,
            "stats": access_statistics(application=application),
            "criticalities": sorted(application_criticalities(application=application)),
            "may_grant_criticalities": user_has_role(request.user, Role.ADMIN),
        },
    )


@operators_only
def application_criticalities_view(request, application_id: int):
    """Utility-only DRLC levels for one application: admins only, after a fresh step-up, with a reason."""
    application = application_get_for_operator(application_id=application_id)
    if not user_has_role(request.user, Role.ADMIN):
        if request.method == "POST":  # an attempt to grant: the service records the refusal, then refuses
            form = CriticalityGrantForm(request.POST)
            form.is_valid()
            application_criticalities_grant(
                application=application,
                levels=set(form.cleaned_data.get("levels") or []),
                reason=form.cleaned_data.get("reason", ""),
                actor=request.user,
            )
        raise PermissionDenied("Only an admin may grant utility-only criticality levels.")
    return _criticalities_form(request, application)


@step_up_required("thirdparty.grant_utility_criticalities")
def _criticalities_form(request, application):
    form = CriticalityGrantForm(request.POST or None, initial={"levels": application.granted_utility_criticalities})
    if request.method == "POST" and form.is_valid():
        try:
            updated = application_criticalities_grant(
                application=application, levels=set(form.cleaned_data["levels"]), reason=form.cleaned_data["reason"], actor=request.user
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            levels = ", ".join(str(level) for level in sorted(application_criticalities(application=updated)))
            messages.success(request, f"{updated.name} may now use criticality levels {levels}.")
            return redirect("thirdparty:operator_application", application.pk)
    return render(request, "thirdparty/operator_criticalities.html", {"application": application, "form": form})
