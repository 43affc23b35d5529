"""Customer usage pages and downloads, the operator's view of a customer's usage, and the operator's tariff pages."""

from __future__ import annotations

import csv
import io
import zoneinfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from amiportal.accounts.roles import Role
from amiportal.audit.services import audit_append
from amiportal.portal.access import role_required
from amiportal.portal.confirm import confirmation_given, confirmation_page
from amiportal.premises.models import CustomerAccount, Meter, Premise
from amiportal.premises.selectors import (
    account_occupancies,
    customer_account_for_user,
    premise_and_occupancies_for_customer,
    premise_local_date,
)
from amiportal.premises.services import staff_access_is_open
from billing.bill_export import bill_csv
from billing.bills import bill_get, bill_history
from billing.dashboard import dashboard_build
from billing.formats.espi_write import greenbutton_feed
from billing.forms import (
    BillCycleForm,
    CriticalPeakForm,
    DateRangeForm,
    MeterUnitForm,
    PremiseLookupForm,
    PremiseTariffAssignForm,
    TariffForm,
    TariffVersionForm,
)
from billing.meter_units import meter_stored_unit, meter_unit
from billing.models import Channel, CriticalPeakEvent, Quality, Tariff
from billing.periods import PeriodError
from billing.selectors import electric_meter, interval_readings, interval_series_json, occupancy_windows
from billing.services.meter_units import MeterUnitChange, meter_unit_change_checked, meter_unit_set
from billing.services.tariffs import bill_cycle_set, critical_peak_declare, premise_tariff_assign, tariff_create, tariff_version_create
from billing.tariff_catalog import premise_tariff_overview, tariff_detail, tariff_list, version_form_initial
from billing.units import METER_UNITS, UNITS, stored_unit


def _download_form(premise, occupancies):
    today = timezone.localdate()
    first = max(min((o.start for o in occupancies), default=today), today.replace(day=1))
    return DateRangeForm(initial={"start": first, "end": today})


def _period_error(request, premise, error: PeriodError, back_url: str):
    """A bad or unreachable period (a malformed or old bookmark): the reason inside the layout, and a way back."""
    context = {"premise": premise, "message": error.message, "back_url": back_url}
    return render(request, "billing/period_error.html", context, status=error.status)


@role_required(Role.CUSTOMER)
def dashboard_view(request, premise_id: int):
    premise, occupancies = premise_and_occupancies_for_customer(user=request.user, premise_id=premise_id)
    try:
        context = dashboard_build(premise=premise, occupancies=occupancies, query=request.GET)
    except PeriodError as error:
        return _period_error(request, premise, error, reverse("billing:dashboard", args=[premise.pk]))
    context["download_form"] = _download_form(premise, occupancies)
    if context["current_occupant"] and context["has_han"]:
        context["live_demand_url"] = reverse("han:customer_live_demand", kwargs={"premise_id": premise.pk})
    return render(request, "billing/dashboard.html", context)


def _range_windows(request, premise_id):
    premise, occupancies = premise_and_occupancies_for_customer(user=request.user, premise_id=premise_id)
    # With no range asked for, the current month (as the form on the dashboard suggests).
    form = DateRangeForm(request.GET if ("start" in request.GET or "end" in request.GET) else _download_form(premise, occupancies).initial)
    if not form.is_valid():
        return premise, None, form
    return premise, occupancy_windows(premise, occupancies, form.cleaned_data["start"], form.cleaned_data["end"]), form


def _form_error(request, premise, form) -> HttpResponse:
    """A bad range: the download form again, with its errors, inside the layout (400, nothing downloaded)."""
    return render(request, "billing/download_range.html", {"premise": premise, "download_form": form}, status=400)


@role_required(Role.CUSTOMER)
def download_csv_view(request, premise_id: int):
    premise, windows, form = _range_windows(request, premise_id)
    if windows is None:
        return _form_error(request, premise, form)
    quality = {q.value: q.label.lower() for q in Quality}

    def rows():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["meter", "channel", "start", "seconds", "value", "unit", "quality", "local_start"])
        zone = zoneinfo.ZoneInfo(premise.timezone)
        for meter in premise.meters.order_by("kind", "serial_number"):
            unit = meter_stored_unit(meter)
            for start, channel, seconds, value, quality_code in interval_readings(meter=meter, windows=windows):
                channel_name = "delivered" if channel == Channel.DELIVERED else "received"
                writer.writerow(
                    [
                        meter.serial_number,
                        channel_name,
                        start.isoformat(),
                        seconds,
                        value,
                        unit,
                        quality[quality_code],
                        start.astimezone(zone).isoformat(),
                    ]
                )
                if buffer.tell() > 64 * 1024:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue()

    name = f"usage-{premise.service_point_id}-{form.cleaned_data['start']}-{form.cleaned_data['end']}.csv"
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@role_required(Role.CUSTOMER)
def download_greenbutton_view(request, premise_id: int):
    premise, windows, form = _range_windows(request, premise_id)
    if windows is None:
        return _form_error(request, premise, form)
    name = f"greenbutton-{premise.service_point_id}-{form.cleaned_data['start']}-{form.cleaned_data['end']}.xml"
    account = customer_account_for_user(user=request.user)
    scope = f"RetailCustomer/{account.pk}" if account else None
    feed = greenbutton_feed(premise=premise, windows=windows, base_url=request.build_absolute_uri("/"), scope=scope)
    response = StreamingHttpResponse(feed, content_type="application/atom+xml")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@role_required(Role.CUSTOMER)
def interval_data_view(request, premise_id: int):
    premise, windows, form = _range_windows(request, premise_id)
    if windows is None:
        return JsonResponse({"errors": form.errors}, status=400)
    meter = electric_meter(premise)
    if meter is None:
        raise Http404("This premise has no electric meter.")
    return HttpResponse(interval_series_json(meter=meter, windows=windows), content_type="application/json")


def _bill_context(request, premise_id: int, first_day=None):
    premise, occupancies = premise_and_occupancies_for_customer(user=request.user, premise_id=premise_id)
    today = premise_local_date(zone=premise.timezone)
    return premise, occupancies, today


@role_required(Role.CUSTOMER)
def bills_view(request, premise_id: int):
    premise, occupancies, today = _bill_context(request, premise_id)
    history = bill_history(premise=premise, occupancies=occupancies, today=today)
    context = {"premise": premise, "history": history, "bills": history.bills, "meter": electric_meter(premise)}
    return render(request, "billing/bills.html", context)


def _one_bill(request, premise_id: int, first_day):
    premise, occupancies, today = _bill_context(request, premise_id)
    bill = bill_get(premise=premise, occupancies=occupancies, today=today, first_day=first_day)
    if bill is None:
        raise Http404("No bill of yours starts on that day.")
    return premise, bill


@role_required(Role.CUSTOMER)
def bill_view(request, premise_id: int, first_day):
    premise, bill = _one_bill(request, premise_id, first_day)
    return render(request, "billing/bill.html", {"premise": premise, "bill": bill})


@role_required(Role.CUSTOMER)
def bill_csv_view(request, premise_id: int, first_day):
    premise, bill = _one_bill(request, premise_id, first_day)
    response = HttpResponse(bill_csv(premise=premise, bill=bill), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="bill-{premise.service_point_id}-{bill.first_day}-{bill.last_day}.csv"'
    return response


@role_required(Role.OPERATOR, Role.ADMIN)
def operator_usage_view(request, account_id: int, premise_id: int):
    account = get_object_or_404(CustomerAccount, pk=account_id)
    occupancies = account_occupancies(account=account, premise_id=premise_id)
    if not occupancies:
        raise Http404("That premise is not this account's.")
    if not staff_access_is_open(request=request, account_id=account.pk):
        messages.info(request, "Give the reason for opening this customer's data first.")
        return redirect("portal:operator_customer_detail", account_id=account.pk)
    premise = get_object_or_404(Premise, pk=premise_id)
    back = reverse("billing:operator_usage", args=[account.pk, premise.pk])
    try:
        context = dashboard_build(premise=premise, occupancies=occupancies, query=request.GET)
    except PeriodError as error:
        return _period_error(request, premise, error, back)
    audit_append(action="billing.staff_usage_viewed", actor=request.user, target=f"premise:{premise.pk}", customer_account_id=account.pk)
    context.update({"staff_view": True, "account": account})
    return render(request, "billing/dashboard.html", context)


@role_required(Role.OPERATOR, Role.ADMIN)
def operator_critical_peak_view(request):
    form = CriticalPeakForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            critical_peak_declare(
                tariff=data["tariff"], day=data["day"], start_hour=data["start_hour"], end_hour=data["end_hour"], actor=request.user
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Critical peak event declared for {data['tariff'].name} on {data['day']}.")
            return redirect("billing:operator_critical_peak")
    events = CriticalPeakEvent.objects.select_related("tariff", "declared_by").order_by("-day")[:50]
    return render(request, "billing/operator_critical_peak.html", {"form": form, "events": events})


# --- Operator tariff pages: reads from billing.tariff_catalog, every write through billing.services.tariffs ---


@role_required(Role.OPERATOR, Role.ADMIN)
def operator_tariffs_view(request):
    lookup = PremiseLookupForm(request.GET or None)
    if lookup.is_bound and lookup.is_valid():
        return redirect("billing:operator_premise_tariff", premise_id=lookup.cleaned_data["premise"].pk)
    return render(request, "billing/operator_tariffs.html", {"tariffs": tariff_list(today=timezone.localdate()), "lookup": lookup})


@role_required(Role.OPERATOR, Role.ADMIN)
def operator_tariff_new_view(request):
    form = TariffForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tariff = tariff_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Tariff {tariff.code} created: give it its first version.")
            return redirect("billing:operator_tariff_version_new", tariff_id=tariff.pk)
    return render(request, "billing/operator_tariff_new.html", {"form": form})


@role_required(Role.OPERATOR, Role.ADMIN)
def operator_tariff_view(request, tariff_id: int):
    tariff = get_object_or_404(Tariff, pk=tariff_id)
    return render(request, "billing/operator_tariff.html", tariff_detail(tariff=tariff, today=timezone.localdate()))


@role_required(Role.OPERATOR, Role.ADMIN)
def operator_tariff_version_new_view(request, tariff_id: int):
    tariff = get_object_or_404(Tariff, pk=tariff_id)
    form = TariffVersionForm(request.POST or None, initial=version_form_initial(tariff=tariff))
    if request.method == "POST" and form.is_valid():
        try:
            version = tariff_version_create(tariff=tariff, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"New version of {tariff.name} effective from {version.effective_from:%d %b %Y}.")
            return redirect("billing:operator_tariff", tariff_id=tariff.pk)
    return render(request, "billing/operator_tariff_version_new.html", {"tariff": tariff, "form": form})


def _premise_tariff_page(request, premise, *, assign_form=None, cycle_form=None, status=200):
    context = premise_tariff_overview(premise=premise)
    context["assign_form"] = assign_form or PremiseTariffAssignForm(initial={"start": timezone.localdate()})
    context["cycle_form"] = cycle_form or BillCycleForm(initial={"start_day": context["cycle_day"] or 1})
    return render(request, "billing/operator_premise_tariff.html", context, status=status)


@role_required(Role.OPERATOR, Role.ADMIN)
def operator_premise_tariff_view(request, premise_id: int):
    return _premise_tariff_page(request, get_object_or_404(Premise, pk=premise_id))


@require_POST
@role_required(Role.OPERATOR, Role.ADMIN)
def operator_premise_tariff_assign_view(request, premise_id: int):
    premise = get_object_or_404(Premise, pk=premise_id)
    form = PremiseTariffAssignForm(request.POST)
    if form.is_valid():
        try:
            premise_tariff_assign(premise=premise, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error("start", error)
        else:
            messages.success(
                request, f"{premise.service_point_id} is on {form.cleaned_data['tariff'].name} from {form.cleaned_data['start']:%d %b %Y}."
            )
            return redirect("billing:operator_premise_tariff", premise_id=premise.pk)
    return _premise_tariff_page(request, premise, assign_form=form, status=400)


@require_POST
@role_required(Role.OPERATOR, Role.ADMIN)
def operator_bill_cycle_set_view(request, premise_id: int):
    premise = get_object_or_404(Premise, pk=premise_id)
    form = BillCycleForm(request.POST)
    if form.is_valid():
        try:
            bill_cycle_set(premise=premise, start_day=form.cleaned_data["start_day"], actor=request.user)
        except ValidationError as error:
            form.add_error("start_day", error)
        else:
            messages.success(request, f"{premise.service_point_id} now bills in cycles starting on day {form.cleaned_data['start_day']}.")
            return redirect("billing:operator_premise_tariff", premise_id=premise.pk)
    return _premise_tariff_page(request, premise, cycle_form=form, status=400)


def _meter_unit_page(request, meter: Meter, *, form=None, status=200):
    context = {
        "meter": meter,
        "premise": meter.premise,
        "unit": UNITS[meter_unit(meter)],
        "allowed": [UNITS[code] for code in METER_UNITS[meter.kind]],
        "form": form or MeterUnitForm(meter=meter, initial={"unit": meter_unit(meter)}),
    }
    return render(request, "billing/operator_meter_unit.html", context, status=status)


@role_required(Role.OPERATOR, Role.ADMIN)
def operator_meter_unit_view(request, meter_id: int):
    return _meter_unit_page(request, get_object_or_404(Meter.objects.select_related("premise"), pk=meter_id))


def meter_unit_consequences(change: MeterUnitChange) -> list[str]:
    """What ``meter_unit_set`` does, said exactly, for the confirmation page."""
    was, unit = UNITS[change.was], UNITS[change.unit]
    stored_was, stored_now = UNITS[stored_unit(change.was)], UNITS[stored_unit(change.unit)]
    lines = [
        f"Figures shown for this meter change unit: the customer's usage page (use, charts, months) shows it in {unit.symbol} "
        f"instead of {was.symbol}, converted exactly from the stored readings."
    ]
    if change.has_readings:
        lines.append(
            f"Stored readings are not rewritten: they stay as they are, whole {stored_was.symbol}, and the CSV download, "
            "Download My Data and the third-party API keep giving them in that unit."
        )
    elif change.same_stored_unit:
        lines.append(f"The meter has no readings yet; readings imported from now on are stored as whole {stored_now.symbol}, as before.")
    else:
        lines.append(
            f"The meter has no readings yet; readings imported from now on are stored as whole {stored_now.symbol} "
            f"(until now {stored_was.symbol}). Files in other units of the same kind are still converted on import."
        )
    lines.append(f"The change is recorded in the audit log with the old unit ({was.symbol}) and the new one ({unit.symbol}).")
    return lines


@require_POST
@role_required(Role.OPERATOR, Role.ADMIN)
def operator_meter_unit_set_view(request, meter_id: int):
    meter = get_object_or_404(Meter.objects.select_related("premise"), pk=meter_id)
    form = MeterUnitForm(request.POST, meter=meter)
    if form.is_valid():
        unit = form.cleaned_data["unit"]
        try:
            change = meter_unit_change_checked(meter=meter, unit=unit)
        except ValidationError as error:
            form.add_error("unit", error)
        else:
            if not change.changes:
                messages.info(request, f"Meter {meter.serial_number} is already read in {UNITS[unit].symbol}; nothing changed.")
                return redirect("billing:operator_meter_unit", meter_id=meter.pk)
            if not confirmation_given(request):
                return confirmation_page(
                    request,
                    title=f"Read meter {meter.serial_number} in {UNITS[unit].symbol} instead of {UNITS[change.was].symbol}?",
                    consequences=meter_unit_consequences(change),
                    button=f"Read it in {UNITS[unit].symbol}",
                    cancel_url=reverse("billing:operator_meter_unit", args=[meter.pk]),
                    cancel_label=f"Keep {UNITS[change.was].symbol}",
                    fields={"unit": unit},
                )
            try:
                meter_unit_set(meter=meter, unit=unit, actor=request.user)
            except ValidationError as error:  # readings arrived between the confirmation and now
                form.add_error("unit", error)
            else:
                messages.success(request, f"Meter {meter.serial_number} is read in {UNITS[unit].symbol} from now on.")
                return redirect("billing:operator_meter_unit", meter_id=meter.pk)
    return _meter_unit_page(request, meter, form=form, status=400)
