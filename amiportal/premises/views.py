"""Operators' pages for where premises sit on the grid: the areas, one premise's location, and CSV loads."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from amiportal.accounts.roles import Role
from amiportal.portal.access import role_required
from amiportal.premises.forms import GridImportForm, GridLocationForm, ServicePointForm
from amiportal.premises.grid_selectors import grid_overview, premises_in_area
from amiportal.premises.grid_services import GridPath, grid_location_set, grid_locations_import, grid_path_checked
from amiportal.premises.models import Premise


def _grid_page(request, *, import_form=None, status=200):
    lookup = ServicePointForm(request.GET if "service_point_id" in request.GET else None)
    if lookup.is_bound and lookup.is_valid():
        premise = Premise.objects.filter(service_point_id=lookup.cleaned_data["service_point_id"].strip()).first()
        if premise is not None:
            return redirect("premises:operator_grid_premise", premise_id=premise.pk)
        lookup.add_error("service_point_id", "No premise has that service point ID.")
    area, area_premises = _area(request)
    substations, unplaced = grid_overview()
    context = {
        "substations": substations,
        "unplaced": unplaced,
        "lookup": lookup,
        "import_form": import_form or GridImportForm(),
        "area": area,
        "area_premises": area_premises,
    }
    return render(request, "premises/operator_grid.html", context, status=status)


def _area(request) -> tuple[str, list[Premise] | None]:
    """The area named in the query (?substation=&feeder=&transformer=), and its premises."""
    substation = request.GET.get("substation", "")[:32]
    if not substation:
        return "", None
    feeder = request.GET.get("feeder", "")[:32] or None
    transformer = (request.GET.get("transformer", "")[:32] or None) if feeder else None
    label = " / ".join(code for code in (substation, feeder, transformer) if code)
    return label, list(premises_in_area(substation=substation, feeder=feeder, transformer=transformer)[:500])


@role_required(Role.OPERATOR, Role.ADMIN)
def operator_grid_view(request):
    return _grid_page(request)


@require_POST
@role_required(Role.OPERATOR, Role.ADMIN)
def operator_grid_import_view(request):
    form = GridImportForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            report = grid_locations_import(
                data=upload.read(), actor=request.user, filename=upload.name, dry_run=form.cleaned_data["dry_run"]
            )
        except ValidationError as error:
            for message in error.messages:
                form.add_error("file", message)
        else:
            prefix = "Checked, nothing changed: " if form.cleaned_data["dry_run"] else "Loaded: "
            messages.success(request, prefix + report.summary())
            for line in report.lines:
                messages.info(request, line)
            return redirect("premises:operator_grid")
    return _grid_page(request, import_form=form, status=400)


@role_required(Role.OPERATOR, Role.ADMIN)
def operator_grid_premise_view(request, premise_id: int):
    premise = get_object_or_404(Premise.objects.select_related("transformer__feeder__substation"), pk=premise_id)
    current = GridPath.of(premise.transformer)
    initial = {"substation": current.substation, "feeder": current.feeder, "transformer": current.transformer} if current else {}
    form = GridLocationForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                path = grid_path_checked(**data) if data["substation"] else None
            except ValidationError as error:
                form.add_error(None, error)
            else:
                grid_location_set(premise=premise, path=path, actor=request.user)
                messages.success(request, f"{premise.service_point_id} is now {'at ' + str(path) if path else 'without a grid location'}.")
                return redirect("premises:operator_grid_premise", premise_id=premise.pk)
    return render(request, "premises/operator_grid_premise.html", {"premise": premise, "current": current, "form": form}, status=status)
