"""Parsing untrusted XML so that no DTD, entity or external resource is ever processed, whatever the encoding.

A scan of the raw bytes for ``<!DOCTYPE`` sees only ASCII-compatible encodings; libxml2 itself
decodes UTF-16, UTF-32 and byte-order marks, so a DOCTYPE in those slipped past such a scan and
the parser read its external subset (a file that named itself in the error, or ``/dev/zero``,
which never ends). So the parser is the guard here, in two steps that share libxml2's own
encoding detection:

1. A prolog pass with a parser target: its ``doctype`` callback fires on the DOCTYPE token,
   before the internal subset or any external subset is read, and stops the parse; its
   ``start`` callback stops the parse at the root element, so the pass costs microseconds.
2. The real parse keeps entities unresolved, uses no network, loads no DTD, keeps libxml2's
   size limits, and answers every external load with an empty document through a resolver,
   so no file is ever opened even if step 1 were bypassed; a DOCTYPE in the result is refused.

Messages never echo the document (no names, paths or text from it): a line and column only.
"""

from __future__ import annotations

from contextlib import suppress

from lxml import etree

DOCTYPE_REFUSED = "the file declares a DOCTYPE (a DTD or entities), which these files never need; refused for safety"
# The root element of a real file begins within its first few hundred bytes; the prolog pass reads
# this much first and the whole file only when the prolog is longer (comments, processing instructions).
PROLOG_WINDOW = 64 * 1024


class UnsafeXmlError(ValueError):
    """The document declares a DTD or entities, or asked for an external resource."""


class MalformedXmlError(ValueError):
    """The document is not well-formed XML (or not in an encoding the parser can read)."""


class _StopParsing(Exception):
    pass


class _Prolog:
    """A parser target that notes whether a DOCTYPE or the root element came first, and stops there."""

    def __init__(self) -> None:
        self.saw_doctype = False
        self.saw_root = False

    def doctype(self, name, public_id, system_url) -> None:
        self.saw_doctype = True
        raise _StopParsing

    def start(self, tag, attributes) -> None:
        self.saw_root = True
        raise _StopParsing

    def close(self) -> None:
        return None


class _RefuseExternal(etree.Resolver):
    """Answers every external DTD, entity or include with an empty document, and remembers that it was asked."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = False

    def resolve(self, system_url, public_id, context):
        self.asked = True
        return self.resolve_string("", context)


def _parser(*, target=None) -> tuple[etree.XMLParser, _RefuseExternal]:
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,
        remove_pis=True,
        collect_ids=False,
        target=target,
    )
    resolver = _RefuseExternal()
    parser.resolvers.add(resolver)
    return parser, resolver


def _declares_doctype(data: bytes) -> bool:
    """Whether libxml2 meets a DOCTYPE before the root element (checked on a prefix first, then on the whole file if needed)."""
    for prefix in (data[:PROLOG_WINDOW], data) if len(data) > PROLOG_WINDOW else (data,):
        prolog = _Prolog()
        parser, resolver = _parser(target=prolog)
        # The stop itself, a prefix cut mid-document, or a syntax error that the real parse reports.
        with suppress(_StopParsing, etree.LxmlError):
            etree.fromstring(prefix, parser)
        if prolog.saw_doctype or resolver.asked:
            return True
        if prolog.saw_root:
            return False
    return False


def parse_untrusted_xml(data: bytes) -> etree._Element:
    """The root element of ``data``; raises UnsafeXmlError or MalformedXmlError, with messages that quote nothing from it."""
    if _declares_doctype(data):
        raise UnsafeXmlError(DOCTYPE_REFUSED)
    parser, resolver = _parser()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        if resolver.asked:
            raise UnsafeXmlError(DOCTYPE_REFUSED) from None
        line, column = error.position if error.position else (0, 0)
        raise MalformedXmlError(f"not well-formed XML (line {line}, column {column})") from None
    info = root.getroottree().docinfo
    if resolver.asked or info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise UnsafeXmlError(DOCTYPE_REFUSED)
    return root
