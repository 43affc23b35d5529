"""The customer's pages: who has access to what until when, revoke (after a confirmation page), re-consent, the access log."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from amiportal.accounts.roles import Role
from amiportal.portal.access import role_required
from amiportal.portal.activity.selectors import customer_timezone_name
from amiportal.portal.confirm import confirmation_given, confirmation_page
from thirdparty.forms import ConsentExtendForm
from thirdparty.selectors import access_log_for_customer, consent_get_for_customer, consents_expiring_soon, consents_for_customer
from thirdparty.services.consent import consent_extend, consent_revoke

customers_only = role_required(Role.CUSTOMER)


def end_of_day(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(23, 59, 59)))


@customers_only
def access_view(request):
    consents = list(consents_for_customer(customer=request.user))
    now = timezone.now()
    return render(
        request,
        "thirdparty/customer_access.html",
        {
            "live": [c for c in consents if c.is_live(now)],
            "ended": [c for c in consents if not c.is_live(now)],
            "expiring": consents_expiring_soon(customer=request.user, within=timedelta(days=settings.AMI_TP_REMINDER_DAYS)),
        },
    )


@customers_only
@require_POST
def revoke_view(request, consent_id: int):
    consent = consent_get_for_customer(customer=request.user, consent_id=consent_id)
    if not confirmation_given(request):
        name = consent.application.name
        return confirmation_page(
            request,
            title=f"Revoke {name}'s access?",
            consequences=[
                f"{name} ({consent.application.organisation}) can no longer read your data or act for you: its next request is refused.",
                f"This cannot be undone. If you change your mind, {name} has to ask you again.",
            ],
            button=f"Revoke access for {name}",
            cancel_url=reverse("thirdparty:customer_access"),
            cancel_label="Keep their access",
        )
    consent_revoke(consent=consent, actor=request.user)
    messages.success(request, f"{consent.application.name} no longer has access. Its next request will be refused.")
    return redirect("thirdparty:customer_access")


@customers_only
def extend_view(request, consent_id: int):
    consent = consent_get_for_customer(customer=request.user, consent_id=consent_id)
    form = ConsentExtendForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            consent_extend(consent=consent, actor=request.user, expires_at=end_of_day(form.cleaned_data["end_date"]))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"{consent.application.name} keeps the same access until {form.cleaned_data['end_date']:%B %-d, %Y}.")
            return redirect("thirdparty:customer_access")
    return render(request, "thirdparty/customer_extend.html", {"consent": consent, "form": form})


@customers_only
def access_log_view(request):
    page = Paginator(access_log_for_customer(customer=request.user), 50).get_page(request.GET.get("page"))
    return render(request, "thirdparty/customer_access_log.html", {"page": page, "zone": customer_timezone_name(user=request.user)})
