"""Customer, premise, occupancy and HAN records in the Django admin (SO-C5, SO-C7, SO-C13).

- Only admins (superusers) see them; operators use the operator pages, which have the same gate.
- Before any list or record, the admin records why (the reason gate of the operator pages,
  ``staff_admin_access_open``); opening a record opens it, with that reason, for the customers
  whose data it is, who see the entry in their account activity.
- Every list and record view is audited, as is every change (with old and new values).

A premise-linked record (premise, meter, HAN network, device, work order, command) is the data
of the premise's current occupant (``current_agreement``); an agreement is its account's.
"""

from __future__ import annotations

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse

from amiportal.audit.admin_mixins import AuditedAdminMixin
from amiportal.audit.services import audit_append
from amiportal.premises.models import CustomerAccount, Premise
from amiportal.premises.selectors import current_agreement
from amiportal.premises.services import staff_access_open_many, staff_admin_access_open, staff_admin_access_reason

REASON_FIELD = "staff_access_reason"


def _follow(obj, path: str):
    if path == "self":
        return obj
    for attr in path.split("."):
        obj = getattr(obj, attr, None)
        if obj is None:
            return None
    return obj


class CustomerRecordsAdminMixin(AuditedAdminMixin):
    # Dotted path from a record to its premise ("network.premise", "self"); None for records of no premise.
    premise_path: str | None = None

    # --- whose data a record is ------------------------------------------------------------------

    def customer_accounts(self, obj) -> list[CustomerAccount]:
        if isinstance(obj, CustomerAccount):
            return [obj]
        if getattr(obj, "account_id", None):
            return [obj.account]
        premise = _follow(obj, self.premise_path) if self.premise_path else None
        agreement = current_agreement(premise=premise) if isinstance(premise, Premise) else None
        return [agreement.account] if agreement is not None else []

    def audit_account_id(self, obj) -> int | None:
        accounts = self.customer_accounts(obj)
        return accounts[0].pk if accounts else None

    # --- admins only --------------------------------------------------------------------------------

    def has_module_permission(self, request):
        return request.user.is_superuser and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return request.user.is_superuser and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    # --- the reason gate and the view audit ------------------------------------------------------

    def _reason_gate(self, request):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if staff_admin_access_reason(request=request):
            return None
        error = ""
        if request.method == "POST" and REASON_FIELD in request.POST:
            try:
                staff_admin_access_open(request=request, reason=request.POST[REASON_FIELD])
            except ValidationError as exc:
                error = exc.messages[0]
            else:
                return HttpResponseRedirect(request.get_full_path())
        context = {
            **self.admin_site.each_context(request),
            "title": "Why do you need customer records?",
            "opts": self.model._meta,
            "error": error,
            "reason_field": REASON_FIELD,
            "reason": request.POST.get(REASON_FIELD, "") if request.method == "POST" else "",
        }
        return TemplateResponse(request, "admin/staff_access_reason.html", context, status=400 if error else 200)

    def _open_record(self, request, object_id) -> None:
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        if obj is None:
            return
        accounts = self.customer_accounts(obj)
        staff_access_open_many(request=request, accounts=accounts, reason=staff_admin_access_reason(request=request) or "")
        if request.method == "GET":
            for account_id in [account.pk for account in accounts] or [None]:
                audit_append(
                    action="admin.viewed",
                    actor=request.user,
                    target=f"{obj._meta.label_lower}:{obj.pk}",
                    customer_account_id=account_id,
                )

    def changelist_view(self, request, extra_context=None):
        gate = self._reason_gate(request)
        if gate is not None:
            return gate
        if request.method == "GET":
            query = request.GET.urlencode()[:300]
            audit_append(action="admin.list_viewed", actor=request.user, target=self.model._meta.label_lower, payload={"query": query})
        return super().changelist_view(request, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        gate = self._reason_gate(request)
        if gate is not None:
            return gate
        self._open_record(request, object_id)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        gate = self._reason_gate(request)
        if gate is not None:
            return gate
        self._open_record(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        gate = self._reason_gate(request)
        if gate is not None:
            return gate
        self._open_record(request, object_id)
        return super().history_view(request, object_id, extra_context)
