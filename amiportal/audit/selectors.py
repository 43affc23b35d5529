"""Reading and verifying the audit trail."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from amiportal.audit import chain
from amiportal.audit.models import AuditCheckpoint, AuditEntry
from amiportal.audit.services import checkpoint_signature_valid, hash_fields


@dataclass
class VerificationResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""
    checkpoints_checked: int = 0
    problems: list[str] = field(default_factory=list)
    # Set when the chain holds but no recent exported checkpoint backs its tail (see
    # ``external_checkpoint_warning``): not tampering, but less assurance than asked for.
    warning: str = ""


# An exported checkpoint older than this leaves too long a tail provable only from inside the database.
EXTERNAL_CHECKPOINT_MAX_AGE = timedelta(hours=2)


def audit_verify(
    *,
    external_checkpoints: list[dict[str, Any]] | None = None,
    max_external_age: timedelta = EXTERNAL_CHECKPOINT_MAX_AGE,
    now: datetime | None = None,
) -> VerificationResult:
    """Walk the whole chain in order; stop at the first entry that does not hold.

    Detects an edited entry (hash or MAC), a deleted one (gap in seq), an
    inserted one (broken link), and reordering (seq is inside the hash).
    Checkpoints, stored or exported, add detection of a truncated tail; a chain
    that holds gets a ``warning`` when no exported checkpoint is recent.
    """
    expected_seq = 1
    prev_hash = chain.GENESIS_HASH
    checked = 0
    hashes_at: dict[int, str] = {}
    wanted = {cp.seq for cp in AuditCheckpoint.objects.all()} | {int(cp["seq"]) for cp in external_checkpoints or []}
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
        if entry.seq != expected_seq:
            kind = "missing" if entry.seq > expected_seq else "out of order"
            return VerificationResult(False, checked, expected_seq, f"entry #{expected_seq} is {kind} (found #{entry.seq} next)")
        if entry.prev_hash != prev_hash:
            return VerificationResult(False, checked, entry.seq, f"entry #{entry.seq} does not link to the entry before it")
        if chain.entry_hash(hash_fields(entry)) != entry.entry_hash:
            return VerificationResult(False, checked, entry.seq, f"entry #{entry.seq} was altered: its content does not match its hash")
        if chain.entry_mac(entry.entry_hash) != entry.mac:
            return VerificationResult(False, checked, entry.seq, f"entry #{entry.seq} has an invalid MAC (rewritten without the audit key)")
        if entry.seq in wanted:
            hashes_at[entry.seq] = entry.entry_hash
        prev_hash = entry.entry_hash
        expected_seq += 1
        checked += 1

    checkpoints = [
        {"seq": cp.seq, "entry_hash": cp.entry_hash, "created_at": cp.created_at, "public_key": cp.public_key, "signature": cp.signature}
        for cp in AuditCheckpoint.objects.all()
    ] + list(external_checkpoints or [])
    expected_key = chain.public_key_hex(chain.signing_key())
    for cp in checkpoints:
        seq = int(cp["seq"])
        if cp["public_key"] != expected_key or not checkpoint_signature_valid(
            **{k: cp[k] for k in ("seq", "entry_hash", "created_at", "public_key", "signature")}
        ):
            return VerificationResult(False, checked, seq, f"checkpoint at #{seq} has an invalid signature", len(checkpoints))
        if seq >= expected_seq:
            return VerificationResult(
                False,
                checked,
                expected_seq,
                f"the chain ends at #{expected_seq - 1} but a signed checkpoint covers #{seq}: entries were removed from the end",
                len(checkpoints),
            )
        if hashes_at.get(seq) != cp["entry_hash"]:
            return VerificationResult(False, checked, seq, f"entry #{seq} differs from the signed checkpoint", len(checkpoints))
    warning = external_checkpoint_warning(
        external_checkpoints=external_checkpoints or [], head_seq=expected_seq - 1, max_age=max_external_age, now=now or timezone.now()
    )
    return VerificationResult(True, checked, checkpoints_checked=len(checkpoints), warning=warning)


def external_checkpoint_warning(*, external_checkpoints: list[dict[str, Any]], head_seq: int, max_age: timedelta, now: datetime) -> str:
    """Why the chain's tail is not backed by a recent checkpoint kept outside the database, or "".

    Checkpoints stored in the database catch a cut tail only while they survive: someone able to
    delete entries past the trigger can delete the newest checkpoints too. Only an exported copy
    proves the head reached at least its ``seq``; if it is old, everything after it rests on the
    database alone. An exported checkpoint always trails a live chain, so its age is what counts;
    the entries after it are named for the operator's judgement.
    """
    if head_seq == 0:
        return ""
    if not external_checkpoints:
        return (
            "no exported checkpoint was given (--checkpoints): entries removed from the end of the chain "
            "together with the checkpoints stored in the database would not be noticed"
        )
    newest = max(external_checkpoints, key=lambda cp: (cp["created_at"], int(cp["seq"])))
    age = now - newest["created_at"]
    if age <= max_age:
        return ""
    after = head_seq - int(newest["seq"])
    return (
        f"the newest exported checkpoint (entry #{newest['seq']}) is {_age_text(age)} old, over the {_age_text(max_age)} allowed: "
        f"the {after} entries after it are proved only by the database; export a fresh one (audit_checkpoint --export)"
    )


def _age_text(age: timedelta) -> str:
    minutes = max(0, int(age.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes or not (days or hours) else ""]
    return " ".join(part for part in parts if part)


def audit_entries_for_customer(*, customer_account_id: int) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(customer_account_id=customer_account_id).order_by("-seq")


def audit_entries_recent(*, limit: int = 100) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.order_by("-seq")[:limit]


def audit_entries_all() -> QuerySet[AuditEntry]:
    return AuditEntry.objects.order_by("-seq")


def audit_entries_by_actor(*, actor_id: int, limit: int = 20) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(actor_id=actor_id).order_by("-seq")[:limit]


def audit_checkpoint_latest() -> AuditCheckpoint | None:
    return AuditCheckpoint.objects.order_by("-seq").first()
