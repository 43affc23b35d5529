from django.contrib import admin

from amiportal.premises.admin_access import CustomerRecordsAdminMixin
from amiportal.premises.models import CustomerAccount, Meter, Premise, ServiceAgreement


class MeterInline(admin.TabularInline):
    model = Meter
    extra = 0

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_view_permission(request, obj)


@admin.register(Premise)
class PremiseAdmin(CustomerRecordsAdminMixin, admin.ModelAdmin):
    premise_path = "self"
    list_display = ("service_point_id", "address_line", "city", "customer_class", "timezone", "has_der")
    list_filter = ("customer_class", "has_der")
    search_fields = ("service_point_id", "address_line", "city", "postal_code")
    inlines = [MeterInline]


@admin.register(Meter)
class MeterAdmin(CustomerRecordsAdminMixin, admin.ModelAdmin):
    premise_path = "premise"
    list_display = ("serial_number", "kind", "status", "premise", "installed_on")
    list_filter = ("kind", "status")
    search_fields = ("serial_number",)


@admin.register(CustomerAccount)
class CustomerAccountAdmin(CustomerRecordsAdminMixin, admin.ModelAdmin):
    list_display = ("account_number", "name", "account_class", "user")
    list_filter = ("account_class",)
    search_fields = ("account_number", "name", "user__email")


@admin.register(ServiceAgreement)
class ServiceAgreementAdmin(CustomerRecordsAdminMixin, admin.ModelAdmin):
    list_display = ("account", "premise", "move_in", "move_out")
