"""Customer inbox, history and preferences; operators' delivery statistics. Thin: parse, call, render."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from amiportal.accounts.roles import Role
from amiportal.notifications.forms import ThresholdsInvalid, switches_from_post, thresholds_from_post
from amiportal.notifications.selectors import delivery_statistics, history_for, inbox_for, preferences_table
from amiportal.notifications.services.inbox import notification_mark_read, notifications_mark_all_read
from amiportal.notifications.services.preferences import notification_settings_set, preferences_refused
from amiportal.portal.access import role_required
from amiportal.portal.activity.selectors import customer_timezone_name

PAGE_SIZE = 25


@role_required(Role.CUSTOMER)
def inbox_view(request):
    page = Paginator(inbox_for(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "notifications/inbox.html", {"page": page, "zone": customer_timezone_name(user=request.user)})


@require_POST
@role_required(Role.CUSTOMER)
def mark_read_view(request, notification_id: int):
    notification_mark_read(user=request.user, notification_id=notification_id)
    return redirect(f"{reverse('notifications:inbox')}#notification-{notification_id}")


@require_POST
@role_required(Role.CUSTOMER)
def mark_all_read_view(request):
    notifications_mark_all_read(user=request.user)
    messages.success(request, "Every notification is marked read.")
    return redirect("notifications:inbox")


@role_required(Role.CUSTOMER)
def history_view(request):
    page = Paginator(history_for(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "notifications/history.html", {"page": page, "zone": customer_timezone_name(user=request.user)})


@require_POST
@role_required(Role.CUSTOMER)
def preferences_view(request):
    back = f"{reverse('portal:customer_home')}#notification-preferences"
    try:
        dollars, multiple = thresholds_from_post(post=request.POST)
    except ThresholdsInvalid as error:
        preferences_refused(user=request.user, reason=str(error), values=dict(request.POST.items()))
        messages.error(request, f"{error} Nothing was changed.")
        return redirect(back)
    choices = switches_from_post(post=request.POST, table=preferences_table(user=request.user))
    try:
        changed = notification_settings_set(user=request.user, choices=choices, bill_to_date_dollars=dollars, usage_multiple=multiple)
    except ValidationError as error:
        messages.error(request, f"{' '.join(error.messages)} Nothing was changed.")
        return redirect(back)
    messages.success(
        request,
        "Your notification choices are saved; they apply from the next notice." if changed else "Your notification choices are saved.",
    )
    return redirect(back)


@role_required(Role.OPERATOR, Role.ADMIN)
def operator_statistics_view(request):
    return render(request, "notifications/operator_statistics.html", {"statistics": delivery_statistics()})
