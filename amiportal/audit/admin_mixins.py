"""Changes made in the Django admin go into the audit trail like any other (SO-C13), with what changed."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.db.models import Model

from amiportal.audit.services import audit_append, payload_key_looks_secret


def _account_id(obj) -> int | None:
    for attr in ("customer_account_id", "account_id"):
        if getattr(obj, attr, None):
            return getattr(obj, attr)
    return obj.pk if obj._meta.label == "premises.CustomerAccount" else None


def _plain(value: Any) -> Any:
    """A form value as the audit trail can hold it: ids for records, ISO text for dates."""
    if isinstance(value, Model):
        return value.pk
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple, set)) or hasattr(value, "__iter__") and hasattr(value, "model"):
        return sorted((_plain(item) for item in value), key=str)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def form_changes(form) -> list[dict[str, Any]]:
    """Old and new value of every changed field of a (model) form; secret-looking fields are named, never shown."""
    changes = []
    for name in form.changed_data:
        if payload_key_looks_secret(name):
            changes.append({"field": name, "values_withheld": True})
            continue
        old = form.initial.get(name) if form.instance.pk is not None else None
        changes.append({"field": name, "old": _plain(old), "new": _plain(form.cleaned_data.get(name))})
    return changes


class AuditedAdminMixin:
    """Every add, change and delete in the admin is audited with the fields and their old and new values."""

    def audit_account_id(self, obj) -> int | None:
        """The customer whose activity lists the entry; admins with premise-linked records override this."""
        return _account_id(obj)

    def _audit_saved(self, request, obj, changes: list[dict[str, Any]], *, added: bool, parent=None) -> None:
        payload: dict[str, Any] = {"fields": sorted(change["field"] for change in changes), "changes": changes}
        if parent is not None:
            payload["via"] = f"{parent._meta.label_lower}:{parent.pk}"
        audit_append(
            action="admin.added" if added else "admin.changed",
            actor=request.user,
            target=f"{obj._meta.label_lower}:{obj.pk}",
            customer_account_id=self.audit_account_id(parent if parent is not None else obj),
            payload=payload,
        )

    def save_model(self, request, obj, form, change):
        changes = form_changes(form)
        super().save_model(request, obj, form, change)
        self._audit_saved(request, obj, changes, added=not change)

    def save_formset(self, request, form, formset, change):
        """Inline rows (a premise's meters) are audited row by row, filed under the customer of the record they belong to."""
        deleted = [inline.instance for inline in formset.deleted_forms if inline.instance.pk is not None]
        saved = [
            (inline, form_changes(inline), inline.instance.pk is None)
            for inline in formset.forms
            if inline.has_changed() and inline not in formset.deleted_forms
        ]
        account_id = self.audit_account_id(form.instance)
        deleted_targets = [f"{obj._meta.label_lower}:{obj.pk}" for obj in deleted]
        super().save_formset(request, form, formset, change)
        via = f"{form.instance._meta.label_lower}:{form.instance.pk}"
        for inline, changes, added in saved:
            self._audit_saved(request, inline.instance, changes, added=added, parent=form.instance)
        for target in deleted_targets:
            audit_append(action="admin.deleted", actor=request.user, target=target, customer_account_id=account_id, payload={"via": via})

    def delete_model(self, request, obj):
        target = f"{obj._meta.label_lower}:{obj.pk}"
        account_id = self.audit_account_id(obj)
        super().delete_model(request, obj)
        audit_append(action="admin.deleted", actor=request.user, target=target, customer_account_id=account_id)

    def delete_queryset(self, request, queryset):
        """The bulk "delete selected" action: one entry per record, as for a single delete."""
        targets = [(f"{obj._meta.label_lower}:{obj.pk}", self.audit_account_id(obj)) for obj in queryset]
        super().delete_queryset(request, queryset)
        for target, account_id in targets:
            audit_append(action="admin.deleted", actor=request.user, target=target, customer_account_id=account_id)
