"""Writing to the audit trail. ``audit_append`` is the only way in."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from amiportal.audit import chain
from amiportal.audit.context import current_request_id
from amiportal.audit.models import AuditCheckpoint, AuditEntry
from amiportal.compiled_queries import CompiledQuery

# Payload keys that name secrets are refused outright: the trail is read by
# operators and exported, so it must never carry key material or credentials.
# A name is judged by its words (snake_case, kebab-case or camelCase segments),
# never by substrings: "company" holds "pan" and a Zigbee "pan_id" starts with
# it, yet neither is a card number.
# These words name a secret wherever they stand in a name ("refresh_token").
_SECRET_WORDS = frozenset(
    {"password", "passwd", "passphrase", "secret", "secrets", "token", "tokens", "private", "credential", "credentials", "cvv", "cvc"}
)
# These name a secret only as the name's last word, its head noun: "link_key" and
# "card_pan" are secrets, while "key_escrowed", "keys_restored" and "pan_id" are facts about one.
_SECRET_HEADS = frozenset({"key", "keys", "pan", "pin", "seed"})
# A public key is no secret.
_PUBLIC_QUALIFIERS = frozenset({"public"})
# Two-word names whose words are harmless apart.
_SECRET_PAIRS = frozenset({("card", "number"), ("otp", "code"), ("install", "code"), ("authorization", "code")})
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# A fixed advisory-lock id: appends take it so the chain stays a line, not a tree.
_CHAIN_LOCK_ID = 0x41_4D_49_41_55_44  # "AMIAUD"


class AuditPayloadError(ValueError):
    pass


def _name_words(name: str) -> list[str]:
    return [word for word in re.split(r"[^a-z0-9]+", _CAMEL_BOUNDARY.sub("_", name).lower()) if word]


def payload_key_looks_secret(name: str) -> bool:
    """True when a payload key names a secret (see the word lists above)."""
    words = _name_words(name)
    if not words:
        return False
    if _SECRET_WORDS.intersection(words) or _SECRET_PAIRS.intersection(zip(words, words[1:], strict=False)):
        return True
    head, qualifier = words[-1], (words[-2] if len(words) > 1 else "")
    return head in _SECRET_HEADS and qualifier not in _PUBLIC_QUALIFIERS


def _check_payload(payload: Any, path: str = "") -> None:
    if isinstance(payload, dict):
        for key, value in payload.items():
            if payload_key_looks_secret(str(key)):
                raise AuditPayloadError(f"audit payload key {path}{key!r} looks like a secret; log its id, not its value")
            _check_payload(value, f"{path}{key}.")
    elif isinstance(payload, list):
        for item in payload:
            _check_payload(item, path)


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_ID])
    # SQLite: the IMMEDIATE transaction mode already holds the database write lock.


# Read on every audited change: compiled once per process.
_CHAIN_HEAD = CompiledQuery(lambda: AuditEntry.objects.order_by("-seq").values_list("seq", "entry_hash")[:1])


def _lock_chain_and_read_head() -> tuple[int, str] | None:
    """Take the chain lock, then read the head.

    Two statements on purpose: under READ COMMITTED a statement's snapshot is
    taken when it starts, so a head read in the same statement as the lock
    would see the chain as it was before the previous holder committed.
    """
    _lock_chain()
    return next(iter(_CHAIN_HEAD.rows(using=connection.alias)), None)


# Every column, in the model's order: what ``_insert`` writes (``AuditEntry.seq`` is the primary key, set by the chain).
_INSERT_FIELDS = AuditEntry._meta.concrete_fields


def _insert(entries: list[AuditEntry]) -> None:
    """The entries in one multi-row INSERT (up to 1,000 rows a statement), as ``bulk_create`` writes them.

    Django building its bulk insert cost more than the insert itself for the few entries of a
    typical audited transaction; the statement is the same plain INSERT of every column.
    """
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in _INSERT_FIELDS)
    row = "(" + ", ".join(["%s"] * len(_INSERT_FIELDS)) + ")"
    # At most 1,000 rows a statement: PostgreSQL takes 65,535 parameters, SQLite's own limit is in bulk_batch_size.
    size = max(1, min(1000, connection.ops.bulk_batch_size(list(_INSERT_FIELDS), entries)))
    with connection.cursor() as cursor:
        for start in range(0, len(entries), size):
            chunk = entries[start : start + size]
            params = [field.get_db_prep_save(getattr(entry, field.attname), connection) for entry in chunk for field in _INSERT_FIELDS]
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(chunk))}", params)  # noqa: S608 (names from the model)
    for entry in entries:
        entry._state.adding = False
        entry._state.db = connection.alias


def hash_fields(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "occurred_at": chain.timestamp_text(entry.occurred_at),
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label,
        "action": entry.action,
        "target": entry.target,
        "customer_account_id": entry.customer_account_id,
        "request_id": entry.request_id,
        "payload": entry.payload,
        "prev_hash": entry.prev_hash,
    }


def audit_append(
    *,
    action: str,
    actor: Any = None,
    actor_label: str | None = None,
    target: str = "",
    customer_account_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry. ``actor`` is a user or None (then ``actor_label`` names the system part)."""
    (entry,) = audit_append_many(
        entries=[
            {
                "action": action,
                "actor": actor,
                "actor_label": actor_label,
                "target": target,
                "customer_account_id": customer_account_id,
                "payload": payload,
            }
        ]
    )
    return entry


def audit_append_many(*, entries: list[dict[str, Any]]) -> list[AuditEntry]:
    """Append several entries, in order, under one lock acquisition and one insert.

    Each item takes ``audit_append``'s keyword arguments. The entries are chained
    exactly as if appended one by one; only the cost differs (a batch of device
    reports holds the chain lock for one insert, not one per entry).

    Inside a caller's transaction the append opens no savepoint of its own: the entries
    commit with the change they record or not at all. An append that fails marks the
    caller's transaction (or its innermost savepoint) for rollback, so no caller can catch
    the error and commit its change unaudited; and a busy path saves two statements
    (SAVEPOINT, RELEASE) per audited change. A refused payload is refused before anything
    is written or the transaction touched.
    """
    for item in entries:
        _check_payload(item.get("payload") or {})
    if not entries:
        return []
    with transaction.atomic(savepoint=False):
        return _append_many(entries)


def _append_many(entries: list[dict[str, Any]]) -> list[AuditEntry]:
    """Chain and insert ``entries`` (payloads already checked); the caller holds an atomic block."""
    head = _lock_chain_and_read_head()
    seq, prev_hash = (head[0], head[1]) if head else (0, chain.GENESIS_HASH)
    request_id = current_request_id.get()
    rows = []
    for item in entries:
        actor = item.get("actor")
        seq += 1
        entry = AuditEntry(
            seq=seq,
            occurred_at=timezone.now(),
            actor_id=getattr(actor, "pk", None),
            actor_label=item.get("actor_label") or (actor.get_username() if actor is not None else "system"),
            action=item["action"],
            target=str(item.get("target", ""))[:200],
            customer_account_id=item.get("customer_account_id"),
            request_id=request_id,
            payload=chain.canonical_json(item.get("payload") or {}),
            prev_hash=prev_hash,
        )
        entry.entry_hash = chain.entry_hash(hash_fields(entry))
        entry.mac = chain.entry_mac(entry.entry_hash)
        prev_hash = entry.entry_hash
        rows.append(entry)
    _insert(rows)
    every = settings.AMI_AUDIT_CHECKPOINT_EVERY
    previous_head = rows[0].seq - 1
    if seq // every > previous_head // every:
        # The batch reached a multiple of N: sign the new head now, under the lock already held
        # and in the same transaction, so a cut tail is caught back to at most N entries without
        # waiting for the hourly task (one Ed25519 signature and one row per N entries).
        _checkpoint_sign(seq=seq, entry_hash=prev_hash, created_at=timezone.now())
    return rows


@transaction.atomic
def audit_checkpoint_create(*, now: datetime | None = None) -> AuditCheckpoint | None:
    """Sign the current head. Returns None when the trail is empty or unchanged."""
    _lock_chain()
    head = AuditEntry.objects.order_by("-seq").only("seq", "entry_hash").first()
    if head is None:
        return None
    last = AuditCheckpoint.objects.order_by("-seq").first()
    if last is not None and last.seq == head.seq:
        return None
    return _checkpoint_sign(seq=head.seq, entry_hash=head.entry_hash, created_at=now or timezone.now())


def _checkpoint_sign(*, seq: int, entry_hash: str, created_at: datetime) -> AuditCheckpoint:
    """Sign and store 'the chain had this head at this time'. The caller holds the chain lock."""
    key = chain.signing_key()
    signature = key.sign(chain.checkpoint_message(seq, entry_hash, created_at))
    return AuditCheckpoint.objects.create(
        seq=seq,
        entry_hash=entry_hash,
        created_at=created_at,
        public_key=chain.public_key_hex(key),
        signature=signature.hex(),
    )


def checkpoint_signature_valid(*, seq: int, entry_hash: str, created_at: datetime, public_key: str, signature: str) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key))
        key.verify(bytes.fromhex(signature), chain.checkpoint_message(seq, entry_hash, created_at))
    except (ValueError, InvalidSignature):
        return False
    return True
