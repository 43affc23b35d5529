"""One way to confirm a destructive action, without JavaScript (the CSP allows no inline script).

A destructive route stays POST-only. The first POST (the button on the list) answers with a
page inside the layout that says what will happen and cannot be undone; its form posts to the
same route again with ``confirm=yes``, and only that second POST acts. Views call
``confirmation_page`` after their own lookups and checks, so an outsider still gets 404 and a
stale second factor still asks for step-up before anything is shown.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

CONFIRM_FIELD = "confirm"
CONFIRM_VALUE = "yes"


def confirmation_given(request: HttpRequest) -> bool:
    return request.method == "POST" and request.POST.get(CONFIRM_FIELD) == CONFIRM_VALUE


def confirmation_page(
    request: HttpRequest,
    *,
    title: str,
    consequences: list[str],
    button: str,
    cancel_url: str,
    cancel_label: str = "Cancel",
    hidden: dict[str, str] | None = None,
) -> HttpResponse:
    """The confirm page; ``hidden`` fields (what the first POST chose) ride along on the second POST."""
    return render(
        request,
        "confirm.html",
        {
            "title": title,
            "consequences": consequences,
            "button": button,
            "cancel_url": cancel_url,
            "cancel_label": cancel_label,
            "confirm_field": CONFIRM_FIELD,
            "confirm_value": CONFIRM_VALUE,
            "hidden": sorted((hidden or {}).items()),
        },
    )
