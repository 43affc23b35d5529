"""Sign a checkpoint when the system starts, so the first one does not wait for the hourly task.

Two hooks, both idempotent (an unchanged head signs nothing) and race-free (signing takes the
chain's advisory lock):

- ``manage.py migrate`` (every deploy and ``make run``): signs the head inline, after the last
  migration, through ``post_migrate`` sent once for this app;
- the Celery beat process start (``beat_init``; there is one beat per deployment): enqueues the
  checkpoint task, which a worker runs with its retries, instead of waiting a whole schedule
  interval as beat does for a new entry.

Web workers and Celery workers start many times over and need no hook of their own.
A gateway (coordinator) runs neither and never holds the audit signing key.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger(__name__)


def checkpoint_after_migrate(*, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    from amiportal.audit.models import AuditCheckpoint, AuditEntry
    from amiportal.audit.services import audit_checkpoint_create

    if using != DEFAULT_DB_ALIAS:
        return
    tables = set(connections[using].introspection.table_names())
    if not {AuditEntry._meta.db_table, AuditCheckpoint._meta.db_table} <= tables:
        return  # migrated back past the audit tables
    checkpoint = audit_checkpoint_create()
    if checkpoint is not None:
        logger.info("signed an audit checkpoint at entry #%s after migrate", checkpoint.seq)


def checkpoint_when_beat_starts(**kwargs: Any) -> None:
    from amiportal.audit.tasks import audit_checkpoint_task

    audit_checkpoint_task.delay()
    logger.info("beat started: audit checkpoint enqueued")
