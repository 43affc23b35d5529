"""Validate Green Button XML offline against the vendored schemas in schemas/espi/: ESPI 4.0 and GBA 3.3.

GBA 3.3 (``gba-v3.3/``) is the certification set: its Atom schema requires ``type`` on every
link and at least two links per entry. ``validation_errors`` checks both sets.
"""

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


GBA_DIR = SCHEMA_DIR / "gba-v3.3"
SETS = {
    "ESPI 4.0": (SCHEMA_DIR / "atom.xsd", SCHEMA_DIR / "espi.xsd", SCHEMA_DIR / "customer.xsd"),
    "GBA 3.3": (GBA_DIR / "atom.xsd", GBA_DIR / "usage.xsd", GBA_DIR / "retailcustomer.xsd"),
}


@lru_cache(maxsize=2)
def espi_schema(name: str = "ESPI 4.0") -> etree.XMLSchema:
    atom, usage, customer = SETS[name]
    for path in (atom, usage, customer, SCHEMA_DIR / "xml.xsd"):
        if not path.is_file():
            raise FileNotFoundError(f"ESPI schema {path} is missing: validation would prove nothing")
    wrapper = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:import namespace="http://www.w3.org/2005/Atom" schemaLocation="{atom.as_uri()}"/>
  <xs:import namespace="http://naesb.org/espi" schemaLocation="{usage.as_uri()}"/>
  <xs:import namespace="http://naesb.org/espi/customer" schemaLocation="{customer.as_uri()}"/>
</xs:schema>"""
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_LocalXmlXsd())
    return etree.XMLSchema(etree.fromstring(wrapper.encode(), parser))


def parse(xml: bytes):
    return etree.fromstring(xml, etree.XMLParser(no_network=True, resolve_entities=False))


def validation_errors(xml: bytes, *, sets: tuple[str, ...] = ("ESPI 4.0", "GBA 3.3")) -> list[str]:
    """Every error against each schema set (ESPI 4.0 and GBA 3.3 by default), each named by its set."""
    document = parse(xml)
    errors = []
    for name in sets:
        schema = espi_schema(name)
        if not schema.validate(document):
            errors += [f"{name} line {error.line}: {error.message}" for error in schema.error_log]
    return errors


def links(element) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for link in element.findall(f"{ATOM}link"):
        out.setdefault(link.get("rel"), []).append(link.get("href"))
    return out
