from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from amiportal.accounts.models import User
from amiportal.audit.services import audit_append
from amiportal.premises.admin_access import CustomerRecordsAdminMixin


@admin.register(User)
class UserAdmin(CustomerRecordsAdminMixin, BaseUserAdmin):
    """Sign-in accounts include customers' emails: admins only, behind the staff reason gate, every view audited."""

    ordering = ("email",)
    list_display = ("email", "full_name", "is_active", "is_staff", "date_joined")
    search_fields = ("email", "full_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name",)}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    filter_horizontal = ("groups",)
    readonly_fields = ("last_login", "date_joined")

    def customer_accounts(self, obj) -> list:
        account = getattr(obj, "customer_account", None)
        return [account] if account is not None else []

    def user_change_password(self, request, id, form_url=""):
        """Setting someone's password here is behind the same gate, and audited (never the password itself)."""
        gate = self._reason_gate(request)
        if gate is not None:
            return gate
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = self.get_object(request, id)
            audit_append(
                action="admin.user_password_set",
                actor=request.user,
                target=f"accounts.user:{user.pk}",
                customer_account_id=self.audit_account_id(user),
            )
        return response
