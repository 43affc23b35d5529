"""Validate Green Button (ESPI 4.0 Atom) XML offline against the vendored schemas in schemas/espi/."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from lxml import etree

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas" / "espi"
ATOM = "{http://www.w3.org/2005/Atom}"


class _LocalXmlXsd(etree.Resolver):
    """atom.xsd imports xml.xsd from w3.org; serve the local copy instead (no network)."""

    def resolve(self, url, pubid, context):
        if url.endswith("xml.xsd"):
            return self.resolve_filename(str(SCHEMA_DIR / "xml.xsd"), context)
        return None


@lru_cache(maxsize=1)
def espi_schema() -> etree.XMLSchema:
    for name in ("atom.xsd", "espi.xsd", "customer.xsd", "xml.xsd"):
        if not (SCHEMA_DIR / name).is_file():
            raise FileNotFoundError(f"ESPI schema {SCHEMA_DIR / name} is missing: validation would prove nothing")
    wrapper = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:import namespace="http://www.w3.org/2005/Atom" schemaLocation="{(SCHEMA_DIR / "atom.xsd").as_uri()}"/>
  <xs:import namespace="http://naesb.org/espi" schemaLocation="{(SCHEMA_DIR / "espi.xsd").as_uri()}"/>
  <xs:import namespace="http://naesb.org/espi/customer" schemaLocation="{(SCHEMA_DIR / "customer.xsd").as_uri()}"/>
</xs:schema>"""
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_LocalXmlXsd())
    return etree.XMLSchema(etree.fromstring(wrapper.encode(), parser))


def parse(xml: bytes):
    return etree.fromstring(xml, etree.XMLParser(no_network=True, resolve_entities=False))


def validation_errors(xml: bytes) -> list[str]:
    schema = espi_schema()
    if schema.validate(parse(xml)):
        return []
    return [f"line {error.line}: {error.message}" for error in schema.error_log]


def links(element) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for link in element.findall(f"{ATOM}link"):
        out.setdefault(link.get("rel"), []).append(link.get("href"))
    return out
