"""The vendored ESPI schemas are the shared reference set, unchanged, and they really validate."""

from pathlib import Path

import pytest

from tests.espi_validation import SCHEMA_DIR, validation_errors

SHARED = Path(__file__).resolve().parents[2] / "shared" / "espi"


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/espi is not beside this checkout")
@pytest.mark.parametrize("name", ["atom.xsd", "espi.xsd", "customer.xsd", "xml.xsd"])
def test_vendored_schema_matches_the_shared_reference(name):
    assert (SCHEMA_DIR / name).read_bytes() == (SHARED / name).read_bytes()


def test_the_validator_rejects_a_document_that_is_not_espi():
    errors = validation_errors(b'<feed xmlns="http://www.w3.org/2005/Atom"><bogus/></feed>')
    assert errors, "a non-conforming feed must not validate"
