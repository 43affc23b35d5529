"""Key-encryption-key rotation over every sealed column: ``keys_rotate`` (SO-U1, SO-C6, BF-HAN-2).

Each sealed value's data key is re-wrapped under the active KEK; the secret
itself is never decrypted. Work goes column by column, in primary-key batches,
each value written by a conditional UPDATE (only if it is still the value that
was read), so a run can be stopped at any point and the next run finishes the
job; values already under the active KEK are never touched.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from django.db import transaction

from amiportal.audit.services import audit_append
from amiportal.crypto import envelope
from amiportal.crypto.envelope import FORMAT_PREFIX, SealedValueError, keyring
from amiportal.crypto.sealed_columns import SEALED_COLUMNS, SealedColumn


@dataclass
class ColumnRotation:
    column: str
    rewrapped: int = 0
    already_current: int = 0
    unreadable: int = 0  # does not open under any KEK in the keyring: left as it is, never deleted
    remaining: int = 0  # not under the active KEK after this run


@dataclass
class RotationReport:
    active_key_id: str
    columns: list[ColumnRotation] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(column, name) for column in self.columns)

    @property
    def complete(self) -> bool:
        """True when every sealed value is under the active KEK: older KEKs may leave the keyring."""
        return self.total("remaining") == 0


def _not_current(column: SealedColumn, active_prefix: str):
    return column.model().objects.exclude(**{column.field: ""}).exclude(**{f"{column.field}__startswith": active_prefix})


def _rotate_column(column: SealedColumn, *, active_prefix: str, batch_size: int) -> ColumnRotation:
    progress = ColumnRotation(column=column.label)
    model = column.model()
    progress.already_current = model.objects.filter(**{f"{column.field}__startswith": active_prefix}).count()
    last_pk = None
    while True:
        pending = _not_current(column, active_prefix).order_by("pk").only("pk", column.field, column.binding)
        if last_pk is not None:
            pending = pending.filter(pk__gt=last_pk)
        rows = list(pending[:batch_size])
        if not rows:
            break
        with transaction.atomic():
            for row in rows:
                sealed = getattr(row, column.field)
                try:
                    rewrapped = envelope.rewrap(sealed, context=column.context_for(row))
                except SealedValueError:
                    progress.unreadable += 1
                    continue
                # Conditional: a value re-sealed meanwhile (already under the active KEK) is left alone.
                if model.objects.filter(pk=row.pk, **{column.field: sealed}).update(**{column.field: rewrapped}):
                    progress.rewrapped += 1
        last_pk = rows[-1].pk
    progress.remaining = _not_current(column, active_prefix).count()
    return progress


def keys_rotate(*, batch_size: int = 200, actor_label: str = "keys_rotate") -> RotationReport:
    """Re-wrap every sealed column's data keys under the active KEK; audit the counts (never key material)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    active = keyring().active_id
    active_prefix = f"{FORMAT_PREFIX}.{active}."
    report = RotationReport(active_key_id=active)
    for column in SEALED_COLUMNS:
        report.columns.append(_rotate_column(column, active_prefix=active_prefix, batch_size=batch_size))
    audit_append(
        action="crypto.keys_rotated",
        actor_label=actor_label,
        target=f"kek:{active}",
        payload={
            "rewrapped": report.total("rewrapped"),
            "already_current": report.total("already_current"),
            "unreadable": report.total("unreadable"),
            "remaining": report.total("remaining"),
            "complete": report.complete,
            "columns": [asdict(column) for column in report.columns],
        },
    )
    return report
