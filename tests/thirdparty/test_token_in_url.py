"""An access token in a URL is refused and never written to a log (SO-U1; issue 10, finding 14).

RFC 6750 lets a server refuse the URI-query method; a token that was sent that way must not
then sit in the customer's access log or in gunicorn's access log.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from thirdparty.models import AccessLogEntry

pytestmark = [pytest.mark.django_db, pytest.mark.objective("SO-U1")]

STATUS = "/espi/1_1/resource/ReadServiceStatus"


def test_a_token_in_the_query_string_is_refused_with_a_clear_reason(api, tokens):
    token = tokens["access_token"]
    for headers in ({}, {"HTTP_AUTHORIZATION": f"Bearer {token}"}):
        response = api.get(STATUS, {"access_token": token}, **headers)
        assert response.status_code == 401
        assert 'error="invalid_request"' in response["WWW-Authenticate"]
        assert "Authorization header" in response.json()["detail"]


def test_a_token_in_the_query_string_never_reaches_the_customers_access_log(api, tokens):
    token = tokens["access_token"]
    response = api.get(STATUS, {"access_token": token, "format": "json"}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    logged = list(AccessLogEntry.objects.values_list("resource", flat=True))
    assert logged and not any(token in resource for resource in logged)
    assert "access_token=REDACTED" in logged[-1]


def test_the_gunicorn_access_log_leaves_out_credentials_in_urls():
    import runpy

    from gunicorn.config import Config

    from amiportal.gunicorn_logging import RedactingLogger

    assert runpy.run_path("gunicorn.conf.py")["logger_class"] == "amiportal.gunicorn_logging.RedactingLogger"
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"{STATUS}?format=json&access_token=leaked-secret-1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "PATH_INFO": STATUS,
        "QUERY_STRING": "format=json&access_token=leaked-secret-1",
        "HTTP_REFERER": "https://client.example/cb?code=leaked-secret-2&state=s",
        "HTTP_AUTHORIZATION": "Bearer leaked-secret-3",
    }
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"]), ("AUTHORIZATION", environ["HTTP_AUTHORIZATION"])])
    response = SimpleNamespace(status="400 Bad Request", sent=10, headers=[])
    atoms = RedactingLogger(Config()).atoms(response, request, environ, timedelta(milliseconds=3))
    line = Config().access_log_format % atoms
    assert "leaked-secret" not in line and "leaked-secret" not in repr(atoms)
    assert f"GET {STATUS}?format=json&access_token=REDACTED HTTP/1.1" in line
