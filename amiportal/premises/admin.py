from django.contrib import admin

from amiportal.audit.admin_mixins import AuditedAdminMixin
from amiportal.premises.models import CustomerAccount, Meter, Premise, ServiceAgreement


class MeterInline(admin.TabularInline):
    model = Meter
    extra = 0


@admin.register(Premise)
class PremiseAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("service_point_id", "address_line", "city", "customer_class", "timezone", "has_der")
    list_filter = ("customer_class", "has_der")
    search_fields = ("service_point_id", "address_line", "city", "postal_code")
    inlines = [MeterInline]


@admin.register(Meter)
class MeterAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("serial_number", "kind", "status", "premise", "installed_on")
    list_filter = ("kind", "status")
    search_fields = ("serial_number",)


@admin.register(CustomerAccount)
class CustomerAccountAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("account_number", "name", "account_class", "user")
    list_filter = ("account_class",)
    search_fields = ("account_number", "name", "user__email")


@admin.register(ServiceAgreement)
class ServiceAgreementAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("account", "premise", "move_in", "move_out")
