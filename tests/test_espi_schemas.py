"""The vendored ESPI schemas are the shared reference set, unchanged, and they really validate."""

from pathlib import Path

import pytest

from tests.espi_validation import SCHEMA_DIR, validation_errors

SHARED = Path(__file__).resolve().parents[2] / "shared" / "espi"


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/espi is not beside this checkout")
@pytest.mark.parametrize(
    "name", ["atom.xsd", "espi.xsd", "customer.xsd", "xml.xsd", "gba-v3.3/atom.xsd", "gba-v3.3/usage.xsd", "gba-v3.3/retailcustomer.xsd"]
)
def test_vendored_schema_matches_the_shared_reference(name):
    assert (SCHEMA_DIR / name).read_bytes() == (SHARED / name).read_bytes()


def test_the_validator_rejects_a_document_that_is_not_espi():
    errors = validation_errors(b'<feed xmlns="http://www.w3.org/2005/Atom"><bogus/></feed>')
    assert errors, "a non-conforming feed must not validate"


def test_gba_rejects_an_untyped_link_that_espi_4_accepts():
    feed = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:uuid:00000000-0000-0000-0000-000000000001</id>'
        b'<link rel="self" href="https://x.example/espi/1_1/resource/Subscription/1"/><title>t</title>'
        b"<updated>2025-01-01T00:00:00Z</updated></feed>"
    )
    assert validation_errors(feed, sets=("ESPI 4.0",)) == []
    assert any("type" in error for error in validation_errors(feed, sets=("GBA 3.3",)))
