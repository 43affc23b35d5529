"""The portal's URLs plus two customer pages that do no work of their own: the floor under every signed-in page.

Used by ``bench/dashboard_parts.py`` (ROOT_URLCONF overridden there only) to show what a signed-in page costs before
its own numbers: the middleware, the session, the user and the role check; then the access read and the layout.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import include, path

from amiportal.accounts.roles import Role
from amiportal.portal.access import role_required
from amiportal.premises.selectors import premise_and_occupancies_for_customer


@role_required(Role.CUSTOMER)
def empty_view(request, premise_id: int):
    return HttpResponse("")


@role_required(Role.CUSTOMER)
def layout_view(request, premise_id: int):
    premise, _ = premise_and_occupancies_for_customer(user=request.user, premise_id=premise_id)
    return render(request, "base.html", {"premise": premise})


urlpatterns = [
    path("bench-floor/empty/<int:premise_id>/", empty_view),
    path("bench-floor/layout/<int:premise_id>/", layout_view),
    path("", include("amiportal.urls")),
]
