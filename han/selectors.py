"""Who may see which HAN network and device. The access rules for HAN objects live here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from amiportal.premises.models import CustomerAccount, Premise, ServiceAgreement
from amiportal.premises.selectors import premises_occupied_now
from han.models import (
    STATE_PATH,
    AreaRequest,
    Coordinator,
    CoordinatorCommand,
    Device,
    DeviceDemand,
    DeviceState,
    DeviceType,
    HanNetwork,
    JobKind,
    JobState,
    WorkOrder,
    WorkOrderStatus,
)
from han.services.sweeper import QUEUED_NOTICE

# Online while its last fresh report is this recent: it sends a heartbeat every 30 s
# (han.coordinator.service.HEARTBEAT_SECONDS, plus up to a 3 s queue poll), so a coordinator that
# stopped shows offline within 45 s of its last one; one that says "offline" shows offline at once.
COORDINATOR_ONLINE_SECONDS = 45


# --- installers: only premises with an open work order assigned to them -------------------


def work_orders_for_installer(*, user) -> QuerySet[WorkOrder]:
    return WorkOrder.objects.filter(installer=user, status=WorkOrderStatus.OPEN).select_related("premise").order_by("-created_at")


def work_order_get_for_installer(*, user, work_order_id: int) -> WorkOrder:
    work_order = work_orders_for_installer(user=user).filter(pk=work_order_id).first()
    if work_order is None:
        raise Http404("No such open work order of yours.")
    return work_order


def work_order_device_get_for_installer(*, user, work_order_id: int, device_uid) -> tuple[WorkOrder, Device]:
    """An open work order of the installer's and a device at its premise; 404 otherwise."""
    work_order = work_order_get_for_installer(user=user, work_order_id=work_order_id)
    device = device_get_for_installer(user=user, device_uid=device_uid)
    if device.network.premise_id != work_order.premise_id:
        raise Http404("No such device on this work order's premise.")
    return work_order, device


def device_get_for_installer(*, user, device_uid) -> Device:
    device = (
        Device.objects.select_related("network__coordinator", "network__premise")
        .filter(
            uid=device_uid,
            network__premise__han_work_orders__installer=user,
            network__premise__han_work_orders__status=WorkOrderStatus.OPEN,
        )
        .exclude(state=DeviceState.DECOMMISSIONED)
        .first()
    )
    if device is None:
        raise Http404("No such device on a premise you have an open work order for.")
    return device


# --- customers: only premises they occupy today (the rule: amiportal.premises.selectors) ----------


def customer_networks(*, user) -> QuerySet[HanNetwork]:
    return HanNetwork.objects.filter(premise__in=premises_occupied_now(user=user)).select_related("premise", "coordinator")


def devices_for_customer(*, user) -> QuerySet[Device]:
    return (
        Device.objects.filter(network__in=customer_networks(user=user))
        .exclude(state=DeviceState.DECOMMISSIONED)
        .select_related("network__premise", "network__coordinator")
        .order_by("network__premise__service_point_id", "created_at")
    )


def device_get_for_customer(*, user, device_uid) -> Device:
    device = devices_for_customer(user=user).filter(uid=device_uid).first()
    if device is None:
        raise Http404("No such device in your home.")
    return device


# --- shared ----------------------------------------------------------------------------------------


def coordinator_is_online(coordinator: Coordinator) -> bool:
    seen = coordinator.last_seen_at
    if seen is None or (coordinator.offline_at is not None and coordinator.offline_at >= seen):
        return False
    return timezone.now() - seen <= timedelta(seconds=COORDINATOR_ONLINE_SECONDS)


def network_for_premise(*, premise: Premise) -> HanNetwork | None:
    return HanNetwork.objects.filter(premise=premise).select_related("coordinator").first()


def devices_for_network(*, network: HanNetwork) -> QuerySet[Device]:
    return network.devices.exclude(state=DeviceState.DECOMMISSIONED).order_by("created_at")


def device_commission_queued(device: Device) -> bool:
    """Its key waits for the message service (the broker was unreachable when it was submitted)."""
    if device.state != DeviceState.REGISTERED:
        return False
    return CoordinatorCommand.objects.filter(device=device, state=JobState.PENDING, detail=QUEUED_NOTICE).exists()


def device_remove_sent(device: Device) -> bool:
    """Its removal was sent to the gateway (its key had reached it), not only recorded."""
    return device.jobs.filter(kind=JobKind.REMOVE).exists()


def device_progress(device: Device) -> dict[str, Any]:
    """What the live progress display shows: where the device is on its way to 'verified'."""
    online = coordinator_is_online(device.network.coordinator)
    reached = STATE_PATH.index(DeviceState(device.state)) if device.state in STATE_PATH else -1
    steps = [{"state": state.value, "label": state.label, "done": index <= reached} for index, state in enumerate(STATE_PATH)]
    if device_commission_queued(device):
        notice = QUEUED_NOTICE
    elif device.is_in_progress and not online:
        notice = "The home's gateway is offline: the job waits and continues when the gateway is back."
    else:
        notice = ""
    return {
        "state": device.state,
        "state_label": device.get_state_display(),
        "failure_reason": device.failure_reason,
        "finished": not device.is_in_progress,
        "coordinator_online": online,
        "notice": notice,
        "steps": steps,
    }


# --- operators ---------------------------------------------------------------------------------------


def han_networks_overview() -> QuerySet[HanNetwork]:
    return (
        HanNetwork.objects.select_related("premise", "coordinator")
        .annotate(
            device_count=Count("devices", filter=~Q(devices__state=DeviceState.DECOMMISSIONED)),
            verified_count=Count("devices", filter=Q(devices__state=DeviceState.VERIFIED)),
            failed_count=Count("devices", filter=Q(devices__state=DeviceState.FAILED)),
        )
        .order_by("premise__service_point_id")
    )


def network_jobs_recent(*, network: HanNetwork, limit: int = 25) -> list[CoordinatorCommand]:
    return list(network.jobs.select_related("device", "coordinator").order_by("-created_at")[:limit])


def network_customer_accounts(*, network: HanNetwork, jobs: list[CoordinatorCommand]) -> list[CustomerAccount]:
    """Whose data the operator's network page shows: who lives there now, and who lived there when the listed commands ran.

    One filter on the agreement itself (never two chained filters over a multi-valued relation).
    """
    since = min(job.created_at for job in jobs).date() if jobs else timezone.localdate()
    account_ids = ServiceAgreement.objects.filter(
        Q(move_out__isnull=True) | Q(move_out__gte=since), premise_id=network.premise_id
    ).values_list("account_id", flat=True)
    return list(CustomerAccount.objects.filter(pk__in=account_ids).order_by("account_number"))


def spare_coordinators() -> QuerySet[Coordinator]:
    """Registered, active coordinators that serve no premise yet: candidates for a replacement."""
    return Coordinator.objects.filter(is_active=True, network__isnull=True).order_by("name")


def live_demand_for_customer(*, user, premise_id: int) -> DeviceDemand | None:
    """The latest demand a meter at a home the customer lives in now reported; 404 for any other home (SO-C5).

    A meter device's own report wins over a submeter's (an EV charger also serves Metering).
    """
    premise = premises_occupied_now(user=user).filter(pk=premise_id).first()
    if premise is None:
        raise Http404("No such home.")
    demands = DeviceDemand.objects.filter(device__network__premise=premise, device__state=DeviceState.VERIFIED).select_related("device")
    return max(demands, key=lambda d: (d.device.device_type == DeviceType.METERING, d.measured_at), default=None)


def area_request_summary(*, area: AreaRequest) -> list[str]:
    """What became of an area request's premises, in sentences for the operator."""
    from han.commands import UnknownCommandType, command_type
    from han.commands.targets import DEVICE_CLASSES
    from han.services.areas import SKIP_REASONS

    try:
        label = command_type(area.kind).label.lower()
    except UnknownCommandType:
        label = area.kind
    devices = DEVICE_CLASSES.get(area.device_class, (area.device_class,))[0]
    premises = f"{area.premises_in_area} premise{'s' if area.premises_in_area != 1 else ''}"
    lines = [f"{premises} in {area.area_label}: {area.commands_created} got a {label} to {devices}."]
    lines += [f"{count} skipped: {SKIP_REASONS.get(reason, reason)}." for reason, count in sorted(area.skipped.items())]
    return lines


def area_request_commands(*, area: AreaRequest) -> QuerySet[CoordinatorCommand]:
    """The area request's commands with their premises and gateways, oldest first (operators only: the caller checks)."""
    return area.commands.select_related("network__premise", "coordinator").order_by("pk")


def area_requests_recent(*, limit: int = 25) -> list[AreaRequest]:
    """The latest area requests, newest first, each with its command type's label and how many of its commands are done
    have ended (``ended``: done or failed) and how many failed (operators only: the caller checks)."""
    from han.commands import UnknownCommandType, command_type

    requests = list(
        AreaRequest.objects.select_related("requested_by")
        .annotate(
            ended=Count("commands", filter=Q(commands__state__in=[JobState.DONE, JobState.FAILED])),
            failed=Count("commands", filter=Q(commands__state=JobState.FAILED)),
        )
        .order_by("-created_at", "-pk")[:limit]
    )
    for area in requests:
        try:
            area.kind_label = command_type(area.kind).label
        except UnknownCommandType:
            area.kind_label = area.kind
    return requests


def area_request_states(*, area: AreaRequest) -> dict[str, int]:
    """How many of the area request's commands are in each state."""
    return dict(area.commands.values_list("state").annotate(n=Count("pk")).values_list("state", "n"))
