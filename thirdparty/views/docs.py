"""The API reference: the OpenAPI schema, and a page rendered from it on the server (no CDN, no script)."""

from __future__ import annotations

import json

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


def _schema_of(schema: dict, node: dict) -> dict:
    ref = node.get("$ref", "")
    return schema.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[-1], {}) if ref else node


def _type_words(schema: dict, node: dict) -> str:
    """A short type for the reference table: integer 1–9, array of hvac | water_heater…, string (date-time)."""
    node = _schema_of(schema, node)
    if "enum" in node:
        return "one of " + ", ".join(str(value) for value in node["enum"])
    if node.get("type") == "array":
        return "list of " + _type_words(schema, node.get("items", {}))
    words = node.get("type", "object")
    if "format" in node:
        words += f" ({node['format']})"
    if "minimum" in node and "maximum" in node and node["maximum"] < 10**12:
        words += f", {node['minimum']} to {node['maximum']}"
    return words


def _request_body(schema: dict, operation: dict) -> dict | None:
    body = operation.get("requestBody")
    if not body:
        return None
    content_type, content = next(iter(body["content"].items()))
    shape = _schema_of(schema, content.get("schema", {}))
    required = set(shape.get("required", []))
    fields = [
        {"name": name, "type": _type_words(schema, node), "required": name in required, "description": node.get("description", "")}
        for name, node in shape.get("properties", {}).items()
    ]
    examples = [
        {"title": title, "summary": example.get("summary", ""), "json": json.dumps(example["value"], indent=2)}
        for title, example in content.get("examples", {}).items()
    ]
    return {"content_type": content_type, "fields": fields, "examples": examples}


def _example_request(method: str, path: str, operation: dict) -> str:
    """A worked request a developer can adapt: the path with sample ids, the headers this route needs."""
    url = path
    for name, value in SAMPLE_IDS.items():
        url = url.replace("{" + name + "}", value)
    lines = [f"{method} {url} HTTP/1.1", "Host: portal.example", "Authorization: Bearer <access token>"]
    if operation.get("requestBody") or method == "POST":
        lines += ["Content-Type: application/json", "Content-Digest: sha-256=:<base64 SHA-256 of the body>:"]
        lines += ['Signature-Input: sig1=("@method" "@target-uri" "content-digest");created=…;keyid="<client_id>";nonce="…";alg="ed25519"']
        lines += ["Signature: sig1=:<base64 Ed25519 signature>:"]
    else:
        lines.append("Accept: application/atom+xml")
    return "\n".join(lines)


SAMPLE_IDS = {
    "authorization_id": "41",
    "subscription_id": "41",
    "usage_point_id": "12",
    "meter_reading_id": "1",
    "interval_block_id": "20250131",
    "reading_type_id": "12-1",
    "device_id": "0b6f1c3e-52f1-4f0e-9d4c-7a1e2f3b4c5d",
    "command_id": "6d2c0a8e-1f3b-4c5d-8e9f-0a1b2c3d4e5f",
}


def _operations(schema: dict) -> list[dict]:
    rows = []
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            rows.append(
                {
                    "id": operation.get("operationId", ""),
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p.get("in", ""),
                            "required": p.get("required", False),
                            "type": _type_words(schema, p.get("schema", {})),
                            "description": p.get("description", ""),
                        }
                        for p in operation.get("parameters", [])
                    ],
                    "request_body": _request_body(schema, operation),
                    "responses": [(code, body.get("description", "")) for code, body in operation.get("responses", {}).items()],
                    "example": _example_request(method.upper(), path, operation),
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
