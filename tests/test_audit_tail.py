"""The audit chain's tail (issue 10, finding 11): checkpoints come at start-up and every N entries,
and ``audit_verify`` warns when no recent exported checkpoint backs the tail."""

import io
from datetime import timedelta

import pytest
from celery.signals import beat_init
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from amiportal.audit.management.commands.audit_verify import EXIT_NO_RECENT_EXTERNAL_CHECKPOINT
from amiportal.audit.models import AuditCheckpoint, AuditEntry
from amiportal.audit.selectors import audit_verify
from amiportal.audit.services import audit_append, audit_append_many, audit_checkpoint_create
from amiportal.celery import app as celery_app
from tests.test_audit import as_database_administrator

pytestmark = [pytest.mark.django_db, pytest.mark.objective("SO-U8")]


@pytest.fixture
def every_five(settings):
    settings.AMI_AUDIT_CHECKPOINT_EVERY = 5


def entries(count: int) -> None:
    for n in range(count):
        audit_append(action="test.event", actor_label="tester", payload={"n": n})


def verify_exit_code(**options) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit_verify", stdout=out, stderr=err, **options)
    except SystemExit as exc:
        return exc.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_the_chain_signs_a_checkpoint_each_time_it_reaches_a_multiple_of_n(every_five):
    entries(12)
    assert list(AuditCheckpoint.objects.values_list("seq", flat=True)) == [5, 10]
    # A batch that steps over a multiple signs its own new head once.
    audit_append_many(entries=[{"action": "test.batch", "actor_label": "tester"} for _ in range(4)])
    assert list(AuditCheckpoint.objects.values_list("seq", flat=True)) == [5, 10, 16]
    assert audit_verify().ok


def test_a_cut_tail_is_caught_by_the_stored_checkpoint_without_any_export(every_five):
    entries(12)
    with as_database_administrator() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE seq >= 9")
    result = audit_verify()
    assert not result.ok and "removed from the end" in result.reason and "#10" in result.reason


def test_a_tail_cut_after_the_last_stored_checkpoint_is_flagged_as_unbacked(every_five):
    entries(12)
    with as_database_administrator() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE seq >= 11")
    # The chain alone cannot tell: entries 11 and 12 came after the checkpoint at #10.
    code, out, err = verify_exit_code()
    assert code == EXIT_NO_RECENT_EXTERNAL_CHECKPOINT
    assert "audit chain OK: 10 entries" in out and "no exported checkpoint" in err


def test_beat_start_enqueues_a_checkpoint_instead_of_waiting_an_hour(monkeypatch):
    monkeypatch.setattr(celery_app.conf, "task_always_eager", True)
    entries(3)
    assert not AuditCheckpoint.objects.exists()
    beat_init.send(sender=None)
    assert list(AuditCheckpoint.objects.values_list("seq", flat=True)) == [3]


def test_migrate_signs_a_checkpoint_of_the_head():
    entries(3)
    call_command("migrate", verbosity=0, interactive=False)
    assert list(AuditCheckpoint.objects.values_list("seq", flat=True)) == [3]
    call_command("migrate", verbosity=0, interactive=False)
    assert AuditCheckpoint.objects.count() == 1, "an unchanged head is not signed again"


def test_verify_without_an_export_warns_with_its_own_exit_code():
    entries(3)
    code, out, err = verify_exit_code()
    assert code == EXIT_NO_RECENT_EXTERNAL_CHECKPOINT != 1
    assert "audit chain OK: 3 entries" in out
    assert err.startswith("WARNING: no exported checkpoint was given")


def test_verify_warns_naming_the_age_of_an_old_export(tmp_path):
    entries(3)
    audit_checkpoint_create(now=timezone.now() - timedelta(hours=3, minutes=5))
    export = tmp_path / "old.jsonl"
    call_command("audit_checkpoint", export=str(export), stderr=io.StringIO())  # the head is unchanged: exports the old one
    entries(2)
    code, _, err = verify_exit_code(checkpoints=str(export))
    assert code == EXIT_NO_RECENT_EXTERNAL_CHECKPOINT
    assert "entry #3) is 3 h 5 min old, over the 2 h allowed" in err and "the 2 entries after it" in err


def test_verify_with_a_recent_export_passes_quietly(tmp_path):
    entries(3)
    export = tmp_path / "fresh.jsonl"
    call_command("audit_checkpoint", export=str(export), stderr=io.StringIO())
    entries(2)
    code, out, err = verify_exit_code(checkpoints=str(export))
    assert (code, err) == (0, "")
    assert "audit chain OK: 5 entries" in out


def test_a_tampered_chain_still_fails_with_exit_code_one():
    entries(3)
    with as_database_administrator() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE seq = 2")
    from django.core.management import CommandError

    with pytest.raises(CommandError) as caught:
        call_command("audit_verify", stdout=io.StringIO())
    assert caught.value.returncode == 1


@pytest.mark.postgres
def test_the_checkpoint_table_refuses_update_and_delete():
    entries(3)
    audit_checkpoint_create()
    for statement in ("UPDATE audit_auditcheckpoint SET seq = 1", "DELETE FROM audit_auditcheckpoint"):
        with pytest.raises(Exception, match="append-only"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement)
    assert list(AuditCheckpoint.objects.values_list("seq", flat=True)) == [3]
    assert AuditEntry.objects.count() == 3
