from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect

from amiportal.audit.admin_mixins import form_changes
from amiportal.premises.admin_access import CustomerRecordsAdminMixin
from amiportal.premises.models import CustomerAccount, Meter, Premise, ServiceAgreement
from amiportal.premises.services import agreement_move_in, agreement_move_out


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
    """Moves go through the occupancy services (their checks, their audit, and what a move-out ends); history is never deleted."""

    list_display = ("account", "premise", "move_in", "move_out")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("account", "premise", "move_in", "move_out") if obj.move_out else ("account", "premise", "move_in")

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        changes = form_changes(form)
        if change:
            if "move_out" not in form.changed_data:
                return
            agreement_move_out(agreement=obj, move_out=obj.move_out, actor=request.user)
        else:
            agreement = agreement_move_in(account=obj.account, premise=obj.premise, move_in=obj.move_in, actor=request.user)
            if obj.move_out:
                agreement_move_out(agreement=agreement, move_out=obj.move_out, actor=request.user)
            obj.pk = agreement.pk
        self._audit_saved(request, obj, changes, added=not change)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as refusal:
            # The service refused (say, the premise is occupied then): nothing was saved.
            messages.error(request, " ".join(refusal.messages))
            return HttpResponseRedirect(request.get_full_path())
