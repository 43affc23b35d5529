"""gunicorn's access log, minus credentials (see ``amiportal.url_redaction``).

Set as ``logger_class`` in ``gunicorn.conf.py``, which gunicorn reads from the directory it
starts in. Every atom a log format may use is cleaned: the request line, the query, the
referer, and the raw environ and header atoms (``{raw_uri}e``, ``{referer}i``); headers that
are credentials themselves are never shown.
"""

from __future__ import annotations

from gunicorn.glogging import Logger

from amiportal.url_redaction import REDACTED, text_without_credentials

_SECRET_HEADERS = ("{authorization}i", "{cookie}i", "{proxy-authorization}i", "{http_authorization}e", "{http_cookie}e")


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for name, value in atoms.items():
            if isinstance(value, str):
                atoms[name] = REDACTED if name in _SECRET_HEADERS else text_without_credentials(value)
        return atoms
