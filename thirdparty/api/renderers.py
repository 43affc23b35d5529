"""DRF renderers for the entries built by the one ESPI writer (``billing.formats.espi_write``); JSON is DRF's own.

Links are made absolute by the writer's XML functions, from the request's scheme and host.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from xml.sax.saxutils import escape

from rest_framework.renderers import BaseRenderer

from billing.formats.espi_write import entry_document, feed_xml_chunks


def feed_json_chunks(head: dict, entries: Iterable[dict]) -> Iterator[str]:
    opening = json.dumps({k: v for k, v in head.items() if k != "entries"})[:-1]
    yield opening + ', "entries": ['
    for index, item in enumerate(entries):
        yield ("," if index else "") + json.dumps(item)
    yield "]}\n"


class AtomRenderer(BaseRenderer):
    media_type = "application/atom+xml"
    format = "xml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        request = (renderer_context or {}).get("request")
        base = f"{request.scheme}://{request.get_host()}" if request is not None else ""
        if isinstance(data, dict) and "entries" in data:
            return "".join(feed_xml_chunks(data, data["entries"], base)).encode()
        if isinstance(data, dict) and "content" in data and "type" in data:
            return entry_document(data, base).encode()
        # Errors: a small document that says what went wrong.
        detail = data.get("detail", data) if isinstance(data, dict) else data
        text = detail if isinstance(detail, str) else json.dumps(detail)
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<error>{escape(text)}</error>\n'.encode()


class EspiXmlRenderer(AtomRenderer):
    """The same documents for clients that ask for application/xml."""

    media_type = "application/xml"
