from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from amiportal.accounts.roles import Role, primary_role
from amiportal.accounts.selectors import user_has_confirmed_device
from amiportal.audit.selectors import (
    audit_checkpoint_latest,
    audit_entries_all,
    audit_entries_by_actor,
    audit_entries_for_customer,
    audit_entries_recent,
)
from amiportal.notifications.selectors import preferences_page_context
from amiportal.portal.access import role_required
from amiportal.portal.activity.selectors import activity_describe, customer_timezone_name
from amiportal.portal.forms import CustomerSearchForm
from amiportal.portal.selectors import operator_summary
from amiportal.portal.staff_gate import staff_reason_gate
from amiportal.premises.models import CustomerAccount
from amiportal.premises.selectors import (
    customer_account_for_user,
    customer_accounts_search,
    customer_overview,
    meters_for_premise,
    occupancies_for,
    premises_for_customer,
    premises_occupied_now,
)

_HOME_FOR_ROLE = {
    Role.ADMIN: "portal:operator_home",
    Role.OPERATOR: "portal:operator_home",
    Role.INSTALLER: "portal:installer_home",
    Role.THIRD_PARTY_DEVELOPER: "portal:developer_home",
    Role.CUSTOMER: "portal:customer_home",
}


@require_GET
def health_view(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def root_view(request):
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    return redirect("portal:home")


def home_view(request):
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    role = primary_role(request.user)
    if role is None:
        return render(request, "portal/no_role.html", status=403)
    return redirect(_HOME_FOR_ROLE[role])


@role_required(Role.CUSTOMER)
def customer_home_view(request):
    account = customer_account_for_user(user=request.user)
    lives_at = set(premises_occupied_now(user=request.user).values_list("pk", flat=True))
    premises = [
        {
            "premise": p,
            "meters": list(meters_for_premise(premise=p)),
            "occupancies": occupancies_for(user=request.user, premise=p),
            "lives_here": p.pk in lives_at,
        }
        for p in premises_for_customer(user=request.user)
    ]
    context = {"account": account, "premises": premises, **preferences_page_context(user=request.user)}
    return render(request, "portal/customer_home.html", context)


@role_required(Role.CUSTOMER)
def customer_activity_view(request):
    account = customer_account_for_user(user=request.user)
    entries = audit_entries_for_customer(customer_account_id=account.pk) if account else []
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    zone = customer_timezone_name(user=request.user)
    context = {
        "page": page,
        "items": activity_describe(viewer=request.user, entries=list(page.object_list), zone=zone),
        "zone": zone,
        "two_step_on": user_has_confirmed_device(user=request.user),
    }
    return render(request, "portal/customer_activity.html", context)


@role_required(Role.INSTALLER)
def installer_home_view(request):
    from han.selectors import work_orders_for_installer

    context = {
        "entries": audit_entries_by_actor(actor_id=request.user.pk),
        "work_orders": work_orders_for_installer(user=request.user)[:10],
    }
    return render(request, "portal/installer_home.html", context)


@role_required(Role.THIRD_PARTY_DEVELOPER)
def developer_home_view(request):
    return render(request, "portal/developer_home.html", {"entries": audit_entries_by_actor(actor_id=request.user.pk)})


@role_required(Role.OPERATOR, Role.ADMIN)
def operator_home_view(request):
    return render(request, "portal/operator_home.html", {"summary": operator_summary(), "entries": audit_entries_recent(limit=15)})


@role_required(Role.OPERATOR, Role.ADMIN)
def operator_customers_view(request):
    form = CustomerSearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    page = Paginator(customer_accounts_search(query=query), 25).get_page(request.GET.get("page"))
    return render(request, "portal/operator_customers.html", {"form": form, "page": page})


@role_required(Role.OPERATOR, Role.ADMIN)
def operator_customer_detail_view(request, account_id: int):
    account = get_object_or_404(CustomerAccount, pk=account_id)
    gate = staff_reason_gate(request, accounts=[account])
    if gate is not None:
        return gate
    return render(request, "portal/operator_customer_detail.html", {"account": account, "rows": customer_overview(account=account)})


@role_required(Role.OPERATOR, Role.ADMIN)
def operator_audit_view(request):
    page = Paginator(audit_entries_all(), 50).get_page(request.GET.get("page"))
    return render(request, "portal/operator_audit.html", {"page": page, "checkpoint": audit_checkpoint_latest()})


def robots_view(request):
    return HttpResponse("User-agent: *\nDisallow: /\n", content_type="text/plain")


@require_GET
def favicon_view(request):
    """Browsers ask for /favicon.ico whatever the page links; send them to the static file (hashed name in production).

    Not a permanent redirect: the hashed name changes with each release, and a cached 301 would outlive it.
    """
    response = redirect(static("favicon.ico"))
    response["Cache-Control"] = "public, max-age=86400"
    return response
