"""Home area networks: coordinators, each premise's network, its devices, and the work done on them.

Key material lives only in sealed fields (``amiportal.crypto.envelope``), each
bound to its model, field and row by the context string, so a sealed value
copied to another row or field does not open.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from amiportal.premises.models import Premise


class Coordinator(models.Model):
    """A premise gateway's Zigbee coordinator, known to the head-end by its public keys.

    Its private keys live in the coordinator process's key file, never here.
    """

    name = models.SlugField(max_length=64, unique=True)
    box_public_key = models.CharField(max_length=64, help_text="X25519 public key (hex): key material is sealed to it.")
    verify_public_key = models.CharField(max_length=64, help_text="Ed25519 public key (hex): the coordinator signs its reports with it.")
    radio_type = models.CharField(max_length=20, default="simulated")
    is_active = models.BooleanField(default=True)
    # From the signed time of its last fresh report (a heartbeat older than 60 s is not proof of life).
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # Report numbers: the highest seen, and which of the numbers below it were seen (a bitmap), so a
    # replayed report is refused while a late one that was never seen still counts.
    report_seq_high = models.PositiveBigIntegerField(default=0, editable=False)
    report_seq_window = models.BinaryField(default=bytes, blank=True, editable=False)
    stale_heartbeats = models.PositiveIntegerField(default=0, help_text="Heartbeats that arrived more than 60 s after they were signed.")
    replayed_reports = models.PositiveIntegerField(default=0, help_text="Reports refused because their number was seen before.")
    late_reports = models.PositiveIntegerField(default=0, help_text="Reports refused because they outlived their command.")
    # The signed time of its last "offline" report (a graceful stop): offline from then until a later fresh report.
    offline_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def queue_name(self) -> str:
        return f"han.coordinator.{self.name}"


class HanNetwork(models.Model):
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    premise = models.OneToOneField(Premise, on_delete=models.PROTECT, related_name="han_network")
    coordinator = models.OneToOneField(Coordinator, on_delete=models.PROTECT, related_name="network")
    pan_id = models.PositiveIntegerField()
    extended_pan_id = models.CharField(max_length=23)
    channel = models.PositiveSmallIntegerField()
    network_key_sealed = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["premise__service_point_id"]
        constraints = [
            models.CheckConstraint(condition=Q(channel__gte=11, channel__lte=26), name="han_channel_in_2_4ghz_band"),
            models.CheckConstraint(condition=Q(pan_id__gte=1, pan_id__lte=0xFFFE), name="han_pan_id_in_range"),
        ]

    def __str__(self) -> str:
        return f"HAN {self.pan_id:04X} at {self.premise}"


class DeviceType(models.TextChoices):
    """Zigbee Smart Energy device types."""

    IN_HOME_DISPLAY = "ihd", "In-home display"
    THERMOSTAT = "pct", "Programmable thermostat"
    LOAD_CONTROL = "load_control", "Load control device"
    SMART_APPLIANCE = "smart_appliance", "Smart appliance"
    EVSE = "evse", "EV charger"
    RANGE_EXTENDER = "range_extender", "Range extender"
    METERING = "metering", "Metering device"


class DeviceState(models.TextChoices):
    REGISTERED = "registered", "Registered"
    KEY_RELAYED = "key_relayed", "Key sent to the gateway"
    PERMITTED = "permitted", "Gateway waiting for the device"
    JOINED = "joined", "Joined"
    INTERVIEWED = "interviewed", "Interviewed"
    VERIFIED = "verified", "Verified on this home's network"
    DECOMMISSIONED = "decommissioned", "Removed"
    FAILED = "failed", "Failed"


# The forward path; a report may only move a device forward along it.
STATE_PATH = [
    DeviceState.REGISTERED,
    DeviceState.KEY_RELAYED,
    DeviceState.PERMITTED,
    DeviceState.JOINED,
    DeviceState.INTERVIEWED,
    DeviceState.VERIFIED,
]


class Device(models.Model):
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    network = models.ForeignKey(HanNetwork, on_delete=models.PROTECT, related_name="devices")
    eui64 = models.CharField(max_length=23, help_text="IEEE address as 00:0d:6f:...")
    device_type = models.CharField(max_length=20, choices=DeviceType.choices)
    label = models.CharField(max_length=80, blank=True)
    state = models.CharField(max_length=20, choices=DeviceState.choices, default=DeviceState.REGISTERED)
    failure_reason = models.CharField(max_length=300, blank=True)
    # Empty once the device is removed: its data key is gone with it (crypto-shredding).
    link_key_sealed = models.TextField(blank=True)
    manufacturer = models.CharField(max_length=100, blank=True)
    model = models.CharField(max_length=100, blank=True)
    interview = models.JSONField(default=dict, blank=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    last_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["network_id", "created_at"]
        constraints = [
            # One live registration per radio, across every premise.
            models.UniqueConstraint(fields=["eui64"], condition=~Q(state="decommissioned"), name="han_device_eui64_live_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_device_type_display()} {self.eui64}"

    @property
    def is_in_progress(self) -> bool:
        return self.state in (
            DeviceState.REGISTERED,
            DeviceState.KEY_RELAYED,
            DeviceState.PERMITTED,
            DeviceState.JOINED,
            DeviceState.INTERVIEWED,
        )


class WorkOrderStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class WorkOrder(models.Model):
    premise = models.ForeignKey(Premise, on_delete=models.PROTECT, related_name="han_work_orders")
    installer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="han_work_orders")
    summary = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=WorkOrderStatus.choices, default=WorkOrderStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Work order {self.pk}: {self.summary}"


def command_kind_choices() -> list[tuple[str, str]]:
    """The kinds the command registry knows (``han.commands``): a new type needs no migration."""
    from han.commands import kind_choices

    return kind_choices()


class JobKind(models.TextChoices):
    """The kinds the code names. Each is a registered command type (``han.commands``; a test holds them equal)."""

    NETWORK_CONFIGURE = "network_configure", "Configure network"
    COMMISSION = "commission", "Commission"
    RESTORE = "restore", "Restore key"
    REMOVE = "remove", "Remove"
    LOAD_CONTROL = "load_control", "Load control event"
    STATUS_READ = "status_read", "Device status read"
    PREMISE_STATE = "premise_state", "Premise price, events and message"


class JobState(models.TextChoices):
    PENDING = "pending", "Waiting for the relay"
    RELAYING = "relaying", "Relaying"
    RELAYED = "relayed", "Sent to the gateway"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class AreaRequest(models.Model):
    """One operator's command to a device class at every premise of a grid area (``han.services.areas``).

    The parent of the ``CoordinatorCommand`` it created, one per premise with a HAN network;
    it keeps the area as the operator named it and what became of each premise, for the summary.
    """

    kind = models.CharField(max_length=20)
    device_class = models.CharField(max_length=20)
    substation = models.CharField(max_length=32)
    feeder = models.CharField(max_length=32, blank=True)
    transformer = models.CharField(max_length=32, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    premises_in_area = models.PositiveIntegerField()
    commands_created = models.PositiveIntegerField()
    # Why premises got no command, reason -> how many (``han.services.areas.SKIP_REASONS``).
    skipped = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} to {self.device_class} at {self.area_label}"

    @property
    def area_label(self) -> str:
        return " / ".join(code for code in (self.substation, self.feeder, self.transformer) if code)


class CoordinatorCommand(models.Model):
    """One command to one coordinator. Its command id is what the coordinator's replay guard sees.

    Its ``kind`` names a command type (``han.commands``). It targets the premise's coordinator
    (no device), one ``device``, or every device of a class at the premise (no device;
    ``parameters["device_class"]`` and the ``parameters["devices"]`` it was sent to).
    """

    command_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=20, choices=command_kind_choices)
    state = models.CharField(max_length=10, choices=JobState.choices, default=JobState.PENDING)
    network = models.ForeignKey(HanNetwork, on_delete=models.PROTECT, related_name="jobs")
    coordinator = models.ForeignKey(Coordinator, on_delete=models.PROTECT, related_name="jobs")
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="jobs", null=True, blank=True)
    work_order = models.ForeignKey(WorkOrder, on_delete=models.SET_NULL, related_name="jobs", null=True, blank=True)
    area_request = models.ForeignKey(AreaRequest, on_delete=models.PROTECT, related_name="commands", null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    detail = models.CharField(max_length=300, blank=True)
    # What a device command asks for (never key material: that rides sealed in the envelope), and what came back.
    parameters = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # When the last envelope sent for it expires: a report older than that cannot change anything.
    expires_at = models.DateTimeField(null=True, blank=True)
    # The relay's claim (amiportal.leases): while "relaying", when the runner's lease lapses; while
    # "pending", by when a worker should have taken it (its hand-off), or the sweeper enqueues it again.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # When the permit window the coordinator opened for it ends, plus a grace for the interview:
    # a join not finished by then is failed by the head-end's sweeper (han.services.sweeper).
    permit_ends_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            # The sweeper's look-ups: claims and hand-offs that lapsed, and relayed commands past their deadline.
            models.Index(fields=["state", "lease_expires_at"], name="han_job_state_lease"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.command_id}"


class DeviceDemand(models.Model):
    """A meter's latest instantaneous demand, as its coordinator relayed the meter's own report (live demand)."""

    device = models.OneToOneField(Device, on_delete=models.CASCADE, related_name="demand")
    demand = models.DecimalField(max_digits=18, decimal_places=6, help_text="In demand_unit, after the meter's multiplier and divisor.")
    demand_unit = models.CharField(max_length=20)
    measured_at = models.DateTimeField(help_text="The coordinator's signed time of the report.")
    received_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.demand} {self.demand_unit} at {self.measured_at:%H:%M:%S}"


class RelayWakeup(models.Model):
    """One row: whether a relay runner has been asked for and not started yet (``han.services.relay_wakeup``).

    Not a lock and not needed for safety: it only saves a broker task per command. A command
    whose wake-up is lost stays pending with its hand-off deadline, and the sweeper sends it.
    """

    requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="han_relay_wakeup_single_row")]

    def __str__(self) -> str:
        return f"relay wake-up requested at {self.requested_at}" if self.requested_at else "no relay wake-up pending"
