"""ESPI Atom XML for the entries built in resources.py; JSON is DRF's own renderer.

Content keys are ESPI element names in schema order; nested dicts become nested
elements and lists become repeated elements. Links are made absolute here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from xml.sax.saxutils import escape, quoteattr

from rest_framework.renderers import BaseRenderer

ESPI_NS = "http://naesb.org/espi"
ATOM_NS = "http://www.w3.org/2005/Atom"


def _elements(content: dict) -> str:
    out = []
    for name, value in content.items():
        for item in value if isinstance(value, list) else [value]:
            inner = _elements(item) if isinstance(item, dict) else escape(str(item))
            out.append(f"<{name}>{inner}</{name}>")
    return "".join(out)


def _links(links: list[dict], base: str) -> str:
    return "".join(
        f"<link rel={quoteattr(link['rel'])} href={quoteattr(base + link['href'])}"
        + (f" type={quoteattr(link['type'])}" if "type" in link else "")
        + "/>"
        for link in links
    )


def entry_xml(entry: dict, base: str) -> str:
    content = f'<{entry["type"]} xmlns="{ESPI_NS}">{_elements(entry["content"])}</{entry["type"]}>'
    return (
        f"<entry><id>{entry['id']}</id>{_links(entry['links'], base)}<title>{escape(entry['title'])}</title>"
        f"<content>{content}</content><published>{entry['published']}</published><updated>{entry['updated']}</updated></entry>\n"
    )


def feed_xml_chunks(head: dict, entries: Iterable[dict], base: str) -> Iterator[str]:
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield f'<feed xmlns="{ATOM_NS}">\n<id>{head["id"]}</id><title>{escape(head["title"])}</title>'
    yield f"<updated>{head['updated']}</updated>{_links(head['links'], base)}\n"
    for item in entries:
        yield entry_xml(item, base)
    yield "</feed>\n"


def entry_document(entry: dict, base: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + entry_xml(entry, base).replace("<entry>", f'<entry xmlns="{ATOM_NS}">', 1)


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
