"""The reason gate in front of every staff page that shows a customer's data.

One rule, used by the operator pages (customer record, usage, HAN network): until
the staff member has recorded why they need these customers' data (audited, shown
to each customer, valid for a few minutes), the page answers with the reason form.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from amiportal.portal.forms import StaffAccessReasonForm
from amiportal.premises.models import CustomerAccount
from amiportal.premises.services import staff_access_is_open, staff_access_open_many


def _closed(request: HttpRequest, accounts: list[CustomerAccount]) -> list[CustomerAccount]:
    return [account for account in accounts if not staff_access_is_open(request=request, account_id=account.pk)]


def staff_reason_missing(request: HttpRequest, *, accounts: list[CustomerAccount]) -> bool:
    """For actions posted from a gated page: True when the reason was never given or has run out."""
    return bool(_closed(request, accounts))


def staff_reason_gate(request: HttpRequest, *, accounts: list[CustomerAccount]) -> HttpResponse | None:
    """None when every account is open to this staff member now; else the reason page (or, once given, back here)."""
    closed = _closed(request, accounts)
    if not closed:
        return None
    submitted = request.method == "POST" and "reason" in request.POST
    form = StaffAccessReasonForm(request.POST if submitted else None)
    if submitted and form.is_valid():
        try:
            staff_access_open_many(request=request, accounts=closed, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            form.add_error("reason", exc)
        else:
            messages.info(request, "Access recorded in the audit trail; the customer can see it.")
            return redirect(request.get_full_path())
    return render(request, "portal/operator_access_reason.html", {"account": closed[0], "accounts": closed, "form": form})
