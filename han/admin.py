from django.contrib import admin

from han.models import CommissioningJob, Coordinator, Device, HanNetwork, WorkOrder


@admin.register(Coordinator)
class CoordinatorAdmin(admin.ModelAdmin):
    list_display = ["name", "radio_type", "is_active", "last_seen_at"]
    readonly_fields = ["box_public_key", "verify_public_key", "last_seen_at"]


@admin.register(HanNetwork)
class HanNetworkAdmin(admin.ModelAdmin):
    list_display = ["premise", "coordinator", "pan_id", "channel"]
    # The sealed network key is never shown or edited here.
    exclude = ["network_key_sealed"]
    readonly_fields = ["premise", "coordinator", "pan_id", "extended_pan_id", "channel"]


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
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
class WorkOrderAdmin(admin.ModelAdmin):
    list_display = ["pk", "summary", "premise", "installer", "status"]
    list_filter = ["status"]


@admin.register(CommissioningJob)
class CommissioningJobAdmin(admin.ModelAdmin):
    list_display = ["command_id", "kind", "state", "coordinator", "device", "created_at"]
    list_filter = ["kind", "state"]
    readonly_fields = [
        "command_id",
        "kind",
        "state",
        "network",
        "coordinator",
        "device",
        "work_order",
        "requested_by",
        "detail",
        "attempts",
    ]
