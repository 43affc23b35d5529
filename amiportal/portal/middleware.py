"""Requests whose parameters carry a NUL character are refused before any view runs.

PostgreSQL text cannot hold NUL, so such a value would fail deep inside a lookup (a 500)
wherever a view passes a raw query parameter to the database. Django's form fields refuse
it already; this closes the same hole for every raw ``request.GET`` / ``request.POST`` read
in one place. No legitimate client sends NUL in a form or query string.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

NUL = "\x00"


def _carries_nul(data) -> bool:
    return any(NUL in key or any(NUL in value for value in values) for key, values in data.lists())


class RefuseNulParametersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if NUL in request.path or _carries_nul(request.GET) or (request.method == "POST" and _carries_nul(request.POST)):
            return HttpResponseBadRequest("The request contains a NUL character, which no field accepts.", content_type="text/plain")
        return self.get_response(request)
