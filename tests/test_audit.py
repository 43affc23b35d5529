"""The tamper-evident audit trail (SO-C13, SO-U8): any edit, deletion, insertion or reordering is caught."""

import io
import json
import subprocess
import sys
from contextlib import contextmanager

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from amiportal.audit.models import AuditCheckpoint, AuditEntry
from amiportal.audit.selectors import audit_verify
from amiportal.audit.services import AuditPayloadError, audit_append, audit_checkpoint_create
from tests.conftest import database_url_for_subprocess

pytestmark = pytest.mark.django_db


@contextmanager
def as_database_administrator():
    """Simulate someone with direct database access: on PostgreSQL, bypass the append-only trigger."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            yield connection.cursor()
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")
    else:
        yield connection.cursor()


def five_entries():
    for n in range(5):
        audit_append(action="test.event", actor_label="tester", target=f"thing:{n}", payload={"n": n})


def verify_command_fails_naming(seq):
    with pytest.raises(CommandError, match=rf"entry #{seq}\b"):
        call_command("audit_verify")


@pytest.mark.objective("SO-U8")
def test_an_untouched_chain_verifies(tmp_path):
    five_entries()
    export = tmp_path / "checkpoints.jsonl"
    call_command("audit_checkpoint", export=str(export), stderr=io.StringIO())
    out = io.StringIO()
    call_command("audit_verify", checkpoints=str(export), stdout=out)
    assert "audit chain OK: 5 entries" in out.getvalue()


@pytest.mark.objective("SO-U8")
def test_editing_an_entry_is_detected():
    five_entries()
    with as_database_administrator() as cursor:
        cursor.execute("UPDATE audit_auditentry SET target = 'thing:forged' WHERE seq = 3")
    result = audit_verify()
    assert not result.ok and result.first_bad_seq == 3 and "altered" in result.reason
    verify_command_fails_naming(3)


@pytest.mark.objective("SO-U8")
def test_editing_an_entry_and_recomputing_its_hash_still_fails_the_mac():
    from amiportal.audit import chain
    from amiportal.audit.services import hash_fields

    five_entries()
    entry = AuditEntry.objects.get(seq=5)
    entry.action = "test.forged"
    forged_hash = chain.entry_hash(hash_fields(entry))
    with as_database_administrator() as cursor:
        cursor.execute("UPDATE audit_auditentry SET action = %s, entry_hash = %s WHERE seq = 5", ["test.forged", forged_hash])
    result = audit_verify()
    assert not result.ok and result.first_bad_seq == 5 and "MAC" in result.reason


@pytest.mark.objective("SO-U8")
def test_deleting_an_entry_is_detected():
    five_entries()
    with as_database_administrator() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE seq = 2")
    result = audit_verify()
    assert not result.ok and result.first_bad_seq == 2 and "missing" in result.reason
    verify_command_fails_naming(2)


@pytest.mark.objective("SO-U8")
def test_inserting_an_entry_is_detected():
    five_entries()
    # Make room after #2 by renumbering the tail, then slip a copy of #1 in as #3.
    with as_database_administrator() as cursor:
        for seq in (5, 4, 3):
            cursor.execute("UPDATE audit_auditentry SET seq = seq + 1 WHERE seq = %s", [seq])
        cursor.execute(
            "INSERT INTO audit_auditentry (seq, occurred_at, actor_id, actor_label, action, target, customer_account_id, "
            "request_id, payload, prev_hash, entry_hash, mac) "
            "SELECT 3, occurred_at, actor_id, actor_label, 'test.inserted', target, customer_account_id, "
            "request_id, payload, prev_hash, entry_hash, mac FROM audit_auditentry WHERE seq = 1"
        )
    result = audit_verify()
    assert not result.ok and result.first_bad_seq == 3
    verify_command_fails_naming(3)


@pytest.mark.objective("SO-U8")
def test_reordering_entries_is_detected():
    five_entries()
    with as_database_administrator() as cursor:
        cursor.execute("UPDATE audit_auditentry SET seq = 100 WHERE seq = 2")
        cursor.execute("UPDATE audit_auditentry SET seq = 2 WHERE seq = 4")
        cursor.execute("UPDATE audit_auditentry SET seq = 4 WHERE seq = 100")
    result = audit_verify()
    assert not result.ok and result.first_bad_seq == 2
    verify_command_fails_naming(2)


@pytest.mark.objective("SO-U8")
def test_truncating_the_tail_is_caught_by_a_signed_checkpoint(tmp_path):
    five_entries()
    export = tmp_path / "checkpoints.jsonl"
    call_command("audit_checkpoint", export=str(export), stderr=io.StringIO())
    assert AuditCheckpoint.objects.count() == 1
    with as_database_administrator() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE seq >= 4")
        cursor.execute("DELETE FROM audit_auditcheckpoint")
    assert audit_verify().ok, "without a checkpoint, a cut tail looks like a shorter chain"
    with pytest.raises(CommandError, match="removed from the end"):
        call_command("audit_verify", checkpoints=str(export))


@pytest.mark.objective("SO-U8")
def test_a_forged_checkpoint_signature_is_rejected(tmp_path):
    five_entries()
    audit_checkpoint_create()
    with as_database_administrator() as cursor:
        cursor.execute("UPDATE audit_auditcheckpoint SET signature = %s", ["00" * 64])
    result = audit_verify()
    assert not result.ok and "signature" in result.reason


def test_checkpoint_is_not_repeated_for_an_unchanged_head():
    five_entries()
    assert audit_checkpoint_create() is not None
    assert audit_checkpoint_create() is None
    audit_append(action="test.more", actor_label="tester")
    assert audit_checkpoint_create().seq == 6


@pytest.mark.objective("SO-U1")
def test_payloads_that_look_like_secrets_are_refused():
    for payload in ({"password": "x"}, {"link_key": "00"}, {"device": {"network_key": "00"}}, {"refresh_token": "t"}):
        with pytest.raises(AuditPayloadError):
            audit_append(action="test.secret", actor_label="tester", payload=payload)
    assert AuditEntry.objects.count() == 0


@pytest.mark.objective("SO-U1")
def test_secret_names_are_judged_by_whole_words_not_substrings():
    refused = (
        {"card_number": "4111"},
        {"cardNumber": "4111"},
        {"card_pan": "4111"},
        {"pan": "4111"},
        {"apiKey": "k"},
        {"signing_seed": "s"},
        {"otp_code": "123456"},
        {"install_code": "83FE"},
        {"client-secret": "s"},
    )
    for payload in refused:
        with pytest.raises(AuditPayloadError):
            audit_append(action="test.secret", actor_label="tester", payload=payload)
    # Facts about keys and networks are not secrets: a Zigbee PAN id keeps its name.
    allowed = {
        "pan_id": "1A2B",
        "extended_pan_id": "00:11:22:33:44:55:66:77",
        "company": "Bakery",
        "span_minutes": 15,
        "key_escrowed": True,
        "keys_restored": 2,
        "verify_public_key": "ab" * 32,
    }
    entry = audit_append(action="test.facts", actor_label="tester", payload=allowed)
    assert json.loads(entry.payload) == allowed


@pytest.mark.postgres
@pytest.mark.objective("SO-U8")
def test_the_append_only_trigger_refuses_update_delete_and_truncate():
    from django.db import transaction

    five_entries()
    for statement in ("UPDATE audit_auditentry SET action = 'x'", "DELETE FROM audit_auditentry"):
        with pytest.raises(Exception, match="append-only"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement)
    assert AuditEntry.objects.count() == 5


@pytest.mark.postgres
@pytest.mark.objective("SO-U8")
def test_concurrent_writers_in_separate_processes_keep_one_linear_chain(transactional_db):
    script = (
        "import django, os, sys; django.setup()\n"
        "from amiportal.audit.services import audit_append\n"
        "for n in range(40): audit_append(action='test.concurrent', actor_label='proc' + sys.argv[1], payload={'n': n})\n"
    )
    env = {
        **__import__("os").environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "DJANGO_SETTINGS_MODULE": "amiportal.settings",
        "AMI_PROFILE": "test",
    }
    processes = [subprocess.Popen([sys.executable, "-c", script, str(i)], env=env) for i in range(4)]
    assert [p.wait(timeout=120) for p in processes] == [0, 0, 0, 0]
    assert AuditEntry.objects.count() == 160
    result = audit_verify()
    assert result.ok, result.reason
    assert list(AuditEntry.objects.values_list("seq", flat=True)) == list(range(1, 161))


@pytest.mark.objective("SO-C13")
def test_each_request_id_reaches_the_audit_entry(alice, password):
    from tests.conftest import CsrfClient

    client = CsrfClient()
    response = client.post(
        "/accounts/login/", {"email": "alice@example.test", "password": password}, headers={"X-Request-ID": "req-12345678"}
    )
    entry = AuditEntry.objects.get(action="auth.login_succeeded")
    assert entry.request_id == "req-12345678" == response["X-Request-ID"]


def test_a_malformed_request_id_is_replaced(alice, password):
    from tests.conftest import CsrfClient

    client = CsrfClient()
    client.post("/accounts/login/", {"email": "alice@example.test", "password": password}, headers={"X-Request-ID": "<script>\nx"})
    entry = AuditEntry.objects.get(action="auth.login_succeeded")
    assert entry.request_id and "<" not in entry.request_id


def test_checkpoint_export_writes_json_lines(tmp_path):
    five_entries()
    out = io.StringIO()
    call_command("audit_checkpoint", export="-", stdout=out, stderr=io.StringIO())
    line = json.loads(out.getvalue().strip())
    assert line["seq"] == 5 and len(line["signature"]) == 128 and len(line["public_key"]) == 64


@pytest.mark.objective("SO-U8")
def test_a_change_whose_entry_failed_cannot_commit_even_if_the_caller_catches_the_error(monkeypatch):
    """The append opens no savepoint of its own: its failure fails the caller's transaction, never just the entry."""
    from django.db import transaction
    from django.db.transaction import TransactionManagementError

    from amiportal.audit import chain
    from tests.factories import PremiseFactory

    def broken_mac(entry_hash):
        raise RuntimeError("the MAC key is gone")

    monkeypatch.setattr(chain, "entry_mac", broken_mac)
    with pytest.raises(TransactionManagementError), transaction.atomic():
        PremiseFactory()
        try:
            audit_append(action="test.change", actor_label="tester")
        except RuntimeError:
            pass  # a careless caller carries on...
        PremiseFactory()  # ...but its transaction can only roll back


def test_an_append_inside_a_transaction_adds_no_savepoint():
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        audit_append(action="test.change", actor_label="tester")
    assert not [query["sql"] for query in queries if "SAVEPOINT" in query["sql"].upper()]
    assert AuditEntry.objects.count() == 1
