"""HAN records in the Django admin: admins only, behind the staff reason gate, every view and change audited.

Keys are never shown. A command's parameters and results are the signed record of what was
sent and what came back: read-only, like the rest of the command; commands are made by the
services (never here), so nothing can be re-signed with edited parameters.
"""

from django.contrib import admin

from amiportal.premises.admin_access import CustomerRecordsAdminMixin
from han.models import Coordinator, CoordinatorCommand, Device, HanNetwork, WorkOrder


@admin.register(Coordinator)
class CoordinatorAdmin(CustomerRecordsAdminMixin, admin.ModelAdmin):
    list_display = ["name", "radio_type", "is_active", "last_seen_at"]
    readonly_fields = ["box_public_key", "verify_public_key", "last_seen_at"]


@admin.register(HanNetwork)
class HanNetworkAdmin(CustomerRecordsAdminMixin, admin.ModelAdmin):
    premise_path = "premise"
    list_display = ["premise", "coordinator", "pan_id", "channel"]
    # The sealed network key is never shown or edited here.
    exclude = ["network_key_sealed"]
    readonly_fields = ["premise", "coordinator", "pan_id", "extended_pan_id", "channel"]


@admin.register(Device)
class DeviceAdmin(CustomerRecordsAdminMixin, admin.ModelAdmin):
    premise_path = "network.premise"
    list_display = ["eui64", "device_type", "state", "network", "last_seen_at"]
    list_filter = ["state", "device_type"]
    exclude = ["link_key_sealed"]
    readonly_fields = [
        "uid",
        "network",
        "eui64",
        "state",
        "failure_reason",
        "manufacturer",
        "model",
        "interview",
        "added_by",
        "last_seen_at",
    ]


@admin.register(WorkOrder)
class WorkOrderAdmin(CustomerRecordsAdminMixin, admin.ModelAdmin):
    """A work order gives an installer access to a premise: creating or changing one is audited with its fields."""

    premise_path = "premise"
    list_display = ["pk", "summary", "premise", "installer", "status"]
    list_filter = ["status"]


@admin.register(CoordinatorCommand)
class CoordinatorCommandAdmin(CustomerRecordsAdminMixin, admin.ModelAdmin):
    premise_path = "network.premise"
    list_display = ["command_id", "kind", "state", "coordinator", "device", "created_at"]
    list_filter = ["kind", "state"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
