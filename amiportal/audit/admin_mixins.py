from amiportal.audit.services import audit_append


def _account_id(obj) -> int | None:
    for attr in ("customer_account_id", "account_id"):
        if getattr(obj, attr, None):
            return getattr(obj, attr)
    return obj.pk if obj._meta.label == "premises.CustomerAccount" else None


class AuditedAdminMixin:
    """Changes made in the Django admin go into the audit trail like any other (SO-C13)."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_append(
            action="admin.changed" if change else "admin.added",
            actor=request.user,
            target=f"{obj._meta.label_lower}:{obj.pk}",
            customer_account_id=_account_id(obj),
            payload={"fields": sorted(form.changed_data)},
        )

    def delete_model(self, request, obj):
        target = f"{obj._meta.label_lower}:{obj.pk}"
        account_id = _account_id(obj)
        super().delete_model(request, obj)
        audit_append(action="admin.deleted", actor=request.user, target=target, customer_account_id=account_id)
