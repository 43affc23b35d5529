"""Schemathesis against the OpenAPI schema: generated requests find no 5xx and no response that breaks the schema."""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.conftest import signed_in
from tests.thirdparty import world
from tests.thirdparty.data import day_of_readings

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def espi_schema(live_server):
    return schemathesis.openapi.from_url(f"{live_server.url}/espi/1_1/openapi.json")


@pytest.fixture
def bearer(alice, trent, api, settings):
    settings.AMI_TP_RATE_PER_CLIENT = settings.AMI_TP_RATE_PER_CONSENT = "100000/minute"
    day_of_readings(world.premise_of(alice).meters.get(), timezone.localdate() - timedelta(days=1))
    application = world.register(trent)
    tokens = world.obtain_tokens(signed_in(alice), api, application, alice)
    return f"Bearer {tokens['access_token']}"


schema = schemathesis.pytest.from_fixture("espi_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_answers_within_its_schema(case, bearer):
    # Every check but "schema-valid data is accepted": the API has rules across fields that OpenAPI
    # cannot state (published-min not after published-max, a load control start within 24 hours),
    # refused with the documented 400. Responses must still match their declared shapes.
    case.call_and_validate(headers={"Authorization": bearer}, excluded_checks=[positive_data_acceptance])
