"""The operator's pages: the registry of third parties, review and suspension, access statistics."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from amiportal.accounts.roles import Role
from amiportal.portal.access import role_required
from thirdparty.forms import ApplicationStatusForm
from thirdparty.selectors import access_statistics, application_get_for_operator, applications_registry
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
        {"application": application, "form": form, "stats": access_statistics(application=application)},
    )
