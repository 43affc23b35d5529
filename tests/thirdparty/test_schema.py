"""The OpenAPI schema generates without a warning, and the API reference is served locally."""

from __future__ import annotations

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_openapi_schema_generates_with_no_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(target))
    text = target.read_text()
    assert "/espi/1_1/resource/Batch/Subscription/{subscription_id}" in text
    assert "/api/billing/ingest/" not in text
    assert "authorizationCode" in text


def test_api_reference_is_rendered_from_the_schema_without_scripts_or_cdn(anonymous):
    page = anonymous.get("/developer/api/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "/espi/1_1/resource/ReadServiceStatus" in html and "published-min" in html
    assert "<script" not in html and "cdn" not in html.lower()
    schema = anonymous.get("/espi/1_1/openapi.json").json()
    assert schema["openapi"].startswith("3.") and "/espi/1_1/resource/Authorization" in schema["paths"]
