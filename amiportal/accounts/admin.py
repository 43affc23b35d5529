from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from amiportal.accounts.models import User
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
