"""HAN pages for installers, customers and operators. Views validate, call one service or selector, render."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from amiportal.accounts.roles import Role
from amiportal.accounts.stepup import step_up_required
from amiportal.audit.services import audit_append
from amiportal.portal.access import role_required
from amiportal.portal.confirm import confirmation_given, confirmation_page
from amiportal.portal.staff_gate import staff_reason_gate, staff_reason_missing
from han.forms import AreaCommandForm, CommissionForm, CoordinatorReplaceForm, CustomerAddDeviceForm, InstallCodeCorrectForm
from han.models import AreaRequest, HanNetwork
from han.selectors import (
    area_request_commands,
    area_request_states,
    area_request_summary,
    area_requests_recent,
    coordinator_is_online,
    customer_networks,
    device_commission_queued,
    device_get_for_customer,
    device_get_for_installer,
    device_progress,
    device_remove_sent,
    devices_for_customer,
    devices_for_network,
    han_networks_overview,
    live_demand_for_customer,
    network_customer_accounts,
    network_for_premise,
    network_jobs_recent,
    spare_coordinators,
    work_order_device_get_for_installer,
    work_order_get_for_installer,
    work_orders_for_installer,
)
from han.services.areas import area_checked, area_command_create, area_kind_checked, area_premise_ids
from han.services.commissioning import (
    DeviceAlreadyCommissioned,
    device_commission,
    device_commission_retry,
    device_install_code_correct,
    device_remove,
)
from han.services.networks import coordinator_replace
from han.services.refusals import customer_device_access_refused
from han.services.sweeper import QUEUED_NOTICE


def _rows(devices):
    return [{"device": device, "progress": device_progress(device)} for device in devices]


def _sent_or_queued(request, device, sent: str) -> None:
    """Say the key was sent, or that it waits for the message service (submitted while the broker was down)."""
    if device_commission_queued(device):
        messages.warning(request, QUEUED_NOTICE)
    else:
        messages.success(request, sent)


# --- installers --------------------------------------------------------------------------------


@role_required(Role.INSTALLER)
def installer_work_orders_view(request):
    return render(request, "han/installer_work_orders.html", {"work_orders": work_orders_for_installer(user=request.user)})


@role_required(Role.INSTALLER)
def installer_work_order_view(request, work_order_id: int):
    work_order = work_order_get_for_installer(user=request.user, work_order_id=work_order_id)
    network = network_for_premise(premise=work_order.premise)
    form = CommissionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if network is None:
            form.add_error(None, "This premise has no HAN gateway registered yet; ask operations to register one.")
        else:
            try:
                device = device_commission(
                    network=network,
                    parsed=form.cleaned_data["parsed"],
                    device_type=form.cleaned_data["device_type"],
                    label=form.cleaned_data["label"],
                    actor=request.user,
                    work_order=work_order,
                )
            except DeviceAlreadyCommissioned as exc:
                messages.info(request, exc.messages[0])
                return redirect("han:installer_work_order", work_order_id=work_order.pk)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                _sent_or_queued(request, device, "Key escrowed and sent to the gateway. Progress shows below as the device joins.")
                return redirect("han:installer_work_order", work_order_id=work_order.pk)
    context = {
        "work_order": work_order,
        "network": network,
        "coordinator_online": coordinator_is_online(network.coordinator) if network else False,
        "rows": _rows(devices_for_network(network=network)) if network else [],
        "form": form,
    }
    return render(request, "han/installer_work_order.html", context, status=400 if form.errors else 200)


@role_required(Role.INSTALLER)
@require_GET
def installer_device_status_view(request, device_uid):
    return JsonResponse(device_progress(device_get_for_installer(user=request.user, device_uid=device_uid)))


@role_required(Role.INSTALLER)
@require_POST
def installer_device_retry_view(request, work_order_id: int, device_uid):
    work_order = work_order_get_for_installer(user=request.user, work_order_id=work_order_id)
    device = device_get_for_installer(user=request.user, device_uid=device_uid)
    if device.network.premise_id != work_order.premise_id:
        return redirect("han:installer_work_order", work_order_id=work_order.pk)
    try:
        device_commission_retry(device=device, actor=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, f"Retrying {device.eui64.upper()}: the key was sent to the gateway again.")
    return redirect("han:installer_work_order", work_order_id=work_order.pk)


@role_required(Role.INSTALLER)
def installer_device_install_code_view(request, work_order_id: int, device_uid):
    """Correct a wrong install code: the new one replaces the failed registration (its old key is discarded)."""
    work_order, device = work_order_device_get_for_installer(user=request.user, work_order_id=work_order_id, device_uid=device_uid)
    form = InstallCodeCorrectForm(request.POST or None, device_eui64=device.eui64)
    if request.method == "POST" and form.is_valid():
        try:
            corrected = device_install_code_correct(
                device=device, parsed=form.cleaned_data["parsed"], actor=request.user, work_order=work_order
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            _sent_or_queued(request, corrected, f"New install code for {corrected.eui64.upper()} escrowed and sent to the gateway.")
            return redirect("han:installer_work_order", work_order_id=work_order.pk)
    context = {"work_order": work_order, "device": device, "progress": device_progress(device), "form": form}
    return render(request, "han/installer_device_install_code.html", context, status=400 if form.errors else 200)


@role_required(Role.INSTALLER)
@require_POST
@step_up_required("han.device_remove")
def installer_device_remove_view(request, work_order_id: int, device_uid):
    work_order, device = work_order_device_get_for_installer(user=request.user, work_order_id=work_order_id, device_uid=device_uid)
    try:
        device_remove(device=device, actor=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        told = " The gateway was told to forget it." if device_remove_sent(device) else " Its key had not reached the gateway."
        messages.success(request, f"{device.label or device.eui64.upper()} was removed and its key destroyed.{told}")
    return redirect("han:installer_work_order", work_order_id=work_order.pk)


# --- customers ---------------------------------------------------------------------------------------


def _customer_device(request, device_uid, *, attempted: str):
    """The device if it is in a home the customer occupies now; otherwise 404, with the attempt audited."""
    try:
        return device_get_for_customer(user=request.user, device_uid=device_uid)
    except Http404:
        customer_device_access_refused(actor=request.user, attempted=attempted, target=f"device:{device_uid}")
        raise


@role_required(Role.CUSTOMER)
def customer_devices_view(request):
    return render(
        request,
        "han/customer_devices.html",
        {"rows": _rows(devices_for_customer(user=request.user)), "has_network": customer_networks(user=request.user).exists()},
    )


@role_required(Role.CUSTOMER)
@step_up_required("han.device_add")
def customer_device_add_view(request):
    networks = customer_networks(user=request.user)
    form = CustomerAddDeviceForm(request.POST or None, networks=networks)
    if request.method == "POST" and form.has_error("network", "invalid_choice"):
        # A home the customer does not occupy now (a former home, or someone else's): nothing to say about it.
        customer_device_access_refused(actor=request.user, attempted="device_add", target=f"network:{request.POST.get('network', '')[:40]}")
        raise Http404("No such home of yours.")
    if request.method == "POST" and form.is_valid():
        try:
            device = device_commission(
                network=form.cleaned_data["network"],
                parsed=form.cleaned_data["parsed"],
                device_type=form.cleaned_data["device_type"],
                label=form.cleaned_data["label"],
                actor=request.user,
            )
        except DeviceAlreadyCommissioned as exc:
            messages.info(request, exc.messages[0])
            return redirect("han:customer_devices")
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            name = device.label or device.get_device_type_display()
            _sent_or_queued(request, device, f"{name} is being connected to your home's network.")
            return redirect("han:customer_devices")
    return render(
        request, "han/customer_device_add.html", {"form": form, "has_network": networks.exists()}, status=400 if form.errors else 200
    )


@role_required(Role.CUSTOMER)
@require_POST
@step_up_required("han.device_remove")
def customer_device_remove_view(request, device_uid):
    device = _customer_device(request, device_uid, attempted="device_remove")
    name = device.label or device.get_device_type_display()
    if not confirmation_given(request):
        return confirmation_page(
            request,
            title=f"Remove {name}?",
            consequences=[
                f"{name} ({device.eui64.upper()}) leaves your home's network and its stored security key is destroyed.",
                "This cannot be undone: to use the device again, add it again with its install code.",
            ],
            button=f"Remove {name}",
            cancel_url=reverse("han:customer_devices"),
            cancel_label="Keep it",
        )
    try:
        device_remove(device=device, actor=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, f"{device.label or device.get_device_type_display()} was removed and its key destroyed.")
    return redirect("han:customer_devices")


@role_required(Role.CUSTOMER)
@require_GET
def customer_device_status_view(request, device_uid):
    return JsonResponse(device_progress(_customer_device(request, device_uid, attempted="device_status")))


# --- operators ---------------------------------------------------------------------------------------


@role_required(Role.OPERATOR, Role.ADMIN)
def operator_networks_view(request):
    networks = [{"network": network, "online": coordinator_is_online(network.coordinator)} for network in han_networks_overview()]
    return render(request, "han/operator_networks.html", {"networks": networks})


def _operator_network_page(request, network: HanNetwork, form: CoordinatorReplaceForm):
    """The network page, behind the reason gate: it shows devices and metering reads of the customers who live(d) there."""
    jobs = network_jobs_recent(network=network)
    accounts = network_customer_accounts(network=network, jobs=jobs)
    gate = staff_reason_gate(request, accounts=accounts)
    if gate is not None:
        return gate
    for account in accounts:
        audit_append(
            action="han.staff_network_viewed", actor=request.user, target=f"han_network:{network.pk}", customer_account_id=account.pk
        )
    context = {
        "network": network,
        "online": coordinator_is_online(network.coordinator),
        "rows": _rows(devices_for_network(network=network)),
        "jobs": jobs,
        "form": form,
    }
    return render(request, "han/operator_network.html", context, status=400 if form.errors else 200)


def _network_for_staff(network_id: int) -> HanNetwork:
    return get_object_or_404(HanNetwork.objects.select_related("premise", "coordinator"), pk=network_id)


@role_required(Role.OPERATOR, Role.ADMIN)
def operator_network_view(request, network_id: int):
    network = _network_for_staff(network_id)
    return _operator_network_page(request, network, CoordinatorReplaceForm(coordinators=spare_coordinators()))


@role_required(Role.OPERATOR, Role.ADMIN)
@require_POST
@step_up_required("han.key_restore")
def operator_network_replace_view(request, network_id: int):
    network = _network_for_staff(network_id)
    if staff_reason_missing(request, accounts=network_customer_accounts(network=network, jobs=network_jobs_recent(network=network))):
        messages.info(request, "Give the reason for opening this home's data first.")
        return redirect("han:operator_network", network_id=network.pk)
    form = CoordinatorReplaceForm(request.POST, coordinators=spare_coordinators())
    if form.is_valid():
        try:
            jobs = coordinator_replace(network=network, coordinator=form.cleaned_data["coordinator"], actor=request.user)
        except ValueError as exc:
            form.add_error("coordinator", str(exc))
        else:
            messages.success(request, f"Coordinator replaced; {len(jobs) - 1} escrowed device keys are being restored to it.")
            return redirect("han:operator_network", network_id=network.pk)
    return _operator_network_page(request, network, form)


@role_required(Role.CUSTOMER)
def customer_live_demand_view(request, premise_id: int):
    """The home's live demand for the dashboard, polled every second or two: the meter's last report and its age."""
    demand = live_demand_for_customer(user=request.user, premise_id=premise_id)
    if demand is None:
        body = {"demand": None, "message": "No meter on your home network reports its demand yet."}
    else:
        age = max(0.0, (timezone.now() - demand.measured_at).total_seconds())
        body = {
            "demand": str(demand.demand.normalize() + 0),
            "unit": demand.demand_unit,
            "measured_at": demand.measured_at.isoformat(),
            "age_seconds": round(age, 1),
            "device": demand.device.label or demand.device.get_device_type_display(),
        }
    response = JsonResponse(body)
    response["Cache-Control"] = "no-store"
    return response


# --- commands to a grid area (operators) -----------------------------------------------------------


AREA_PAGE_ROWS = 500  # the states line above the table counts them all


def _grid_url(data) -> str:
    query = urlencode({key: data.get(key) for key in ("substation", "feeder", "transformer") if data.get(key)})
    return reverse("premises:operator_grid") + (f"?{query}" if query else "")


@role_required(Role.OPERATOR, Role.ADMIN)
@require_GET
def operator_area_command_view(request):
    """Choose a command and a device class for the area chosen on the grid page; the earlier area requests below."""
    initial = {key: request.GET.get(key, "")[:32] for key in ("substation", "feeder", "transformer")}
    form = AreaCommandForm(initial=initial)
    context = {"form": form, "area": initial, "grid_url": _grid_url(initial), "earlier": area_requests_recent()}
    return render(request, "han/operator_area_command.html", context)


@role_required(Role.OPERATOR, Role.ADMIN)
@require_POST
def operator_area_command_send_view(request):
    """Confirm (the first POST), then send one command per premise of the area (the second)."""
    form = AreaCommandForm(request.POST)
    area = {key: request.POST.get(key, "")[:32] for key in ("substation", "feeder", "transformer")}
    if form.is_valid():
        data = form.cleaned_data
        try:
            kind_type = area_kind_checked(data["kind"])
            substation, feeder, transformer = area_checked(
                substation=data["substation"], feeder=data["feeder"], transformer=data["transformer"]
            )
            if not confirmation_given(request):
                premises = len(area_premise_ids(substation=substation, feeder=feeder, transformer=transformer))
                label = " / ".join(code for code in (substation, feeder, transformer) if code)
                devices = dict(form.fields["device_class"].choices)[data["device_class"]].lower()
                return confirmation_page(
                    request,
                    title=f"Send a {kind_type.label.lower()} to {label}?",
                    consequences=[
                        f"{premises} premise{' is' if premises == 1 else 's are'} placed in this area. Each one with a HAN "
                        f"network gets its own command to its gateway, to {devices}.",
                        "Premises without a network or without such a device are skipped and counted.",
                    ],
                    button=f"Send to {premises} premise{'s' if premises != 1 else ''}",
                    cancel_url=_grid_url(data),
                    fields={key: data[key] or "" for key in ("substation", "feeder", "transformer", "kind", "device_class")},
                )
            created = area_command_create(
                kind=data["kind"],
                substation=substation,
                feeder=feeder,
                transformer=transformer,
                device_class=data["device_class"],
                actor=request.user,
            )
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(request, " ".join(area_request_summary(area=created)))
            return redirect("han:operator_area_request", area_request_id=created.pk)
    return render(request, "han/operator_area_command.html", {"form": form, "area": area, "grid_url": _grid_url(area)}, status=400)


@role_required(Role.OPERATOR, Role.ADMIN)
def operator_area_request_view(request, area_request_id: int):
    """An area request's summary and its commands' progress (states only: readings stay behind each network's reason gate)."""
    area = get_object_or_404(AreaRequest, pk=area_request_id)
    context = {
        "area": area,
        "summary": area_request_summary(area=area),
        "states": area_request_states(area=area),
        "commands": area_request_commands(area=area)[:AREA_PAGE_ROWS],
        "page_rows": AREA_PAGE_ROWS,
    }
    return render(request, "han/operator_area_request.html", context)
