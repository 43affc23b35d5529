"""The API reference: the OpenAPI schema, and a page rendered from it on the server (no CDN, no script)."""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from drf_spectacular.generators import SchemaGenerator

from thirdparty.scopes import DEFAULT_HISTORY_MONTHS, offered_choices


def api_schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


@require_GET
def openapi_view(request):
    return JsonResponse(api_schema(), json_dumps_params={"indent": 1})


def _operations(schema: dict) -> list[dict]:
    rows = []
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            rows.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "parameters": [(p["name"], p.get("in", ""), p.get("description", "")) for p in operation.get("parameters", [])],
                    "responses": [(code, body.get("description", "")) for code, body in operation.get("responses", {}).items()],
                }
            )
    return rows


@require_GET
def api_docs_view(request):
    schema = api_schema()
    return render(
        request,
        "thirdparty/api_docs.html",
        {"info": schema["info"], "operations": _operations(schema), "kinds": offered_choices(), "default_history": DEFAULT_HISTORY_MONTHS},
    )
