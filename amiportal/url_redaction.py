"""Credentials never reach a log, even when a client puts them in a URL (SO-U1; issue 10, finding 14).

The ESPI API takes its token only from the Authorization header and refuses one in the
query string, but the refused URL still passes through the access logs (gunicorn's and the
customer's). Both write URLs through ``url_without_credentials``: the parameter's name stays,
so a log still shows that a token was sent, its value does not.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# OAuth 2.0 (RFC 6749, 6750, 7009, 7662) parameter names that carry a secret.
CREDENTIAL_PARAMETERS = frozenset({"access_token", "refresh_token", "token", "client_secret", "code", "code_verifier", "password"})
REDACTED = "REDACTED"


def query_without_credentials(query: str) -> str:
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(name.lower() in CREDENTIAL_PARAMETERS for name, _ in pairs):
        return query
    return urlencode([(name, REDACTED if name.lower() in CREDENTIAL_PARAMETERS else value) for name, value in pairs])


def url_without_credentials(url: str) -> str:
    """The URL (or path with query) with the value of every credential parameter replaced."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=query_without_credentials(parts.query)))


_PARAMETER_IN_TEXT = re.compile(r"(?i)(?P<lead>(?:^|[?&;])(?:" + "|".join(sorted(CREDENTIAL_PARAMETERS)) + r")=)[^&;#\s\"']*")


def text_without_credentials(text: str) -> str:
    """Any text holding URLs or query strings (a log line, a header) with credential parameter values replaced."""
    return _PARAMETER_IN_TEXT.sub(lambda match: match.group("lead") + REDACTED, text)
