"""The signed and sealed command path between the head-end and premise coordinators (SO-C13, SO-C14, SO-U1, SO-U4, SO-U5, SO-U13).

One envelope for every command. Its ``type`` says what the coordinator should
do (``network_configure``, ``permit_join``, ``remove``, ``load_control``,
``device_status_read``; later ``price``, ``message``), so a new kind of command
is a new type and a new handler, never a new pipeline.

- The head-end signs each command with its Ed25519 key; the coordinator checks
  the signature before it acts.
- Everything a command says beyond its header (its ``body``: device, event,
  network parameters; and key material) rides in ``sealed``: encrypted to the
  destination coordinator's X25519 key (ephemeral X25519, HKDF-SHA256,
  AES-256-GCM), with the command's header as associated data. Nothing else on
  the way (broker, worker logs, task arguments) ever holds it in the clear.
- Each command names its coordinator, has an id and an expiry; a coordinator
  refuses a command for someone else, a stale one, and one it has seen.

Coordinators sign their reports the same way with their own Ed25519 key, so a
report cannot be forged by whoever can write to the broker, and seal each
report's ``detail`` (metering reads, event statuses, interviews) to the
head-end's X25519 key, so the broker cannot read it. What stays in clear is
the header: version, type or event, ids, coordinator name, times, sequence
number (docs/han.md, "What the broker sees").

This module is plain Python on purpose: the coordinator process imports it
without touching the database.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

# 2: the command body and the report detail are sealed too (1 carried them in clear).
ENVELOPE_VERSION = 2
REPORT_VERSION = 2
_HKDF_INFO = b"ami-han-seal-v1"
# The sealing context of a report: to the head-end, from this coordinator.
_REPORT_CONTEXT = "head-end|{coordinator}"


class CommandRejected(Exception):
    """A command or report failed verification; the coordinator (or head-end) does nothing with it."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def public_hex(key: Ed25519PrivateKey | X25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def _private_raw(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


# --- Coordinator identity -------------------------------------------------------


@dataclass(frozen=True)
class CoordinatorIdentity:
    """A coordinator's own key pairs; they live in its key file, outside the head-end database."""

    name: str
    box_key: X25519PrivateKey = field(repr=False)
    sign_key: Ed25519PrivateKey = field(repr=False)

    @classmethod
    def generate(cls, name: str) -> CoordinatorIdentity:
        return cls(name=name, box_key=X25519PrivateKey.generate(), sign_key=Ed25519PrivateKey.generate())

    @property
    def box_public_hex(self) -> str:
        return public_hex(self.box_key)

    @property
    def verify_public_hex(self) -> str:
        return public_hex(self.sign_key)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"name": self.name, "box_private": _b64(_private_raw(self.box_key)), "sign_private": _b64(_private_raw(self.sign_key))}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            json.dump(data, handle)

    @classmethod
    def load(cls, path: Path) -> CoordinatorIdentity:
        data = json.loads(path.read_text(encoding="ascii"))
        return cls(
            name=data["name"],
            box_key=X25519PrivateKey.from_private_bytes(_unb64(data["box_private"])),
            sign_key=Ed25519PrivateKey.from_private_bytes(_unb64(data["sign_private"])),
        )

    @classmethod
    def load_or_create(cls, path: Path, name: str) -> CoordinatorIdentity:
        if path.exists():
            identity = cls.load(path)
            if identity.name != name:
                raise ValueError(f"{path} holds the keys of coordinator {identity.name!r}, not {name!r}.")
            return identity
        identity = cls.generate(name)
        try:
            identity.save(path)
        except FileExistsError:  # another process got there first: use its keys
            return cls.load(path)
        return identity


# --- Sealing to one recipient's X25519 key ----------------------------------------------


def _seal_key(shared: bytes, salt: bytes, context: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_HKDF_INFO + b"|" + context.encode()).derive(shared)


def seal_to(*, plaintext: bytes, recipient_public_hex: str, context: str, aad: bytes) -> dict[str, str]:
    """Encrypt to one X25519 public key. ``context`` (a coordinator's name for commands) is bound into the key."""
    recipient = X25519PublicKey.from_public_bytes(bytes.fromhex(recipient_public_hex))
    ephemeral = X25519PrivateKey.generate()
    epk = ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key = _seal_key(ephemeral.exchange(recipient), epk + bytes.fromhex(recipient_public_hex), context)
    nonce = os.urandom(12)
    return {"epk": _b64(epk), "nonce": _b64(nonce), "ct": _b64(AESGCM(key).encrypt(nonce, plaintext, aad))}


def open_sealed(*, sealed: Any, box_key: X25519PrivateKey, context: str, aad: bytes) -> bytes:
    """The plaintext of ``seal_to``; anything that does not open is a ``CommandRejected``."""
    try:
        epk = _unb64(sealed["epk"])
        shared = box_key.exchange(X25519PublicKey.from_public_bytes(epk))
        key = _seal_key(shared, epk + bytes.fromhex(public_hex(box_key)), context)
        return AESGCM(key).decrypt(_unb64(sealed["nonce"]), _unb64(sealed["ct"]), aad)
    except (KeyError, ValueError, TypeError, InvalidTag):
        raise CommandRejected("sealed part does not open for this recipient") from None


def open_from(*, sealed: dict[str, str], identity: CoordinatorIdentity, aad: bytes) -> bytes:
    return open_sealed(sealed=sealed, box_key=identity.box_key, context=identity.name, aad=aad)


# --- Commands ---------------------------------------------------------------------------


def _header(envelope: dict[str, Any]) -> dict[str, Any]:
    return {k: envelope[k] for k in ("v", "type", "command_id", "coordinator", "issued_at", "expires_at")}


def command_build(
    *,
    signing_key: Ed25519PrivateKey,
    command_type: str,
    command_id: str,
    coordinator: str,
    recipient_public_hex: str,
    body: dict[str, Any],
    secret: bytes | None = None,
    ttl_seconds: int = 3600,
    now: float | None = None,
) -> dict[str, Any]:
    issued = int(now if now is not None else time.time())
    envelope: dict[str, Any] = {
        "v": ENVELOPE_VERSION,
        "type": command_type,
        "command_id": command_id,
        "coordinator": coordinator,
        "issued_at": issued,
        "expires_at": issued + ttl_seconds,
    }
    contents = {"body": body, "secret": _b64(secret) if secret is not None else None}
    envelope["sealed"] = seal_to(
        plaintext=canonical(contents), recipient_public_hex=recipient_public_hex, context=coordinator, aad=canonical(_header(envelope))
    )
    envelope["sig"] = _b64(signing_key.sign(canonical(envelope)))
    return envelope


@dataclass(frozen=True)
class Command:
    type: str
    command_id: str
    body: dict[str, Any]
    secret: bytes | None = field(default=None, repr=False)


class ReplayGuard:
    """Remembers command ids until they expire, in memory (tests, benchmarks).

    A coordinator process keeps them in its durable state instead
    (``han.coordinator.durable.CoordinatorState``, same method), with a "not before" time.
    """

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def check_and_remember(self, command_id: str, expires_at: int, now: float, issued_at: int | None = None) -> None:
        with self._lock:
            self._seen = {k: v for k, v in self._seen.items() if v >= now}
            if command_id in self._seen:
                raise CommandRejected(f"command {command_id} was already received (replay)")
            self._seen[command_id] = expires_at


def command_open(
    *,
    envelope: Any,
    head_end_public_hex: str,
    identity: CoordinatorIdentity,
    replay_guard: ReplayGuard,
    now: float | None = None,
) -> Command:
    """Verify and open a command addressed to ``identity``. Any doubt is a ``CommandRejected``."""
    now = now if now is not None else time.time()
    if not isinstance(envelope, dict) or envelope.get("v") != ENVELOPE_VERSION:
        raise CommandRejected("not a command envelope this coordinator understands")
    try:
        unsigned = {k: v for k, v in envelope.items() if k != "sig"}
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(head_end_public_hex)).verify(_unb64(envelope["sig"]), canonical(unsigned))
        header = _header(envelope)
    except (KeyError, ValueError, TypeError, InvalidSignature):
        raise CommandRejected("signature does not verify against the head-end key") from None
    if header["coordinator"] != identity.name:
        raise CommandRejected(f"command is addressed to {header['coordinator']!r}, not to this coordinator")
    if not isinstance(header["expires_at"], int) or header["expires_at"] < now:
        raise CommandRejected("command has expired")
    replay_guard.check_and_remember(str(header["command_id"]), header["expires_at"], now, issued_at=header["issued_at"])
    contents = open_from(sealed=envelope.get("sealed"), identity=identity, aad=canonical(header))
    try:
        opened = json.loads(contents)
        body, secret = opened["body"], opened["secret"]
        if not isinstance(body, dict):
            raise TypeError("body")
        secret = _unb64(secret) if secret is not None else None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise CommandRejected("sealed part is not a command body") from None
    return Command(type=str(header["type"]), command_id=str(header["command_id"]), body=body, secret=secret)


# --- Reports from coordinators ----------------------------------------------------------


class ReportSequence:
    """Numbers one coordinator's reports 1, 2, 3 ..., and a restart continues above the last number used.

    The head-end remembers the numbers it has seen per coordinator and refuses a report whose number
    it has seen (a replay), so the numbers must never repeat. With a file, blocks of ``block`` numbers
    are reserved on disk before any of them is used (one write per block, not per report); a restart
    starts after the last reserved block, skipping at most ``block`` unused numbers. Without a file
    (tests, benchmarks), numbering starts from the clock in microseconds, so a new instance for the
    same coordinator still numbers above an earlier one.
    """

    def __init__(self, path: Path | None = None, *, block: int = 256) -> None:
        self._path = path
        self._block = block
        self._lock = threading.Lock()
        if path is None:
            self._next = self._reserved = time.time_ns() // 1000
        elif path.exists():
            self._next = self._reserved = int(path.read_text(encoding="ascii").strip() or "1")
        else:
            self._next = self._reserved = 1

    def next(self) -> int:
        with self._lock:
            if self._path is not None and self._next >= self._reserved:
                self._reserve(self._next + self._block)
            number = self._next
            self._next += 1
            return number

    def _reserve(self, upto: int) -> None:
        tmp = self._path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(str(upto))
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(self._path)
        self._reserved = upto


def _report_header(report: dict[str, Any]) -> dict[str, Any]:
    return {k: report[k] for k in ("v", "coordinator", "event", "command_id", "seq", "at")}


def report_build(
    *,
    identity: CoordinatorIdentity,
    event: str,
    command_id: str | None,
    detail: dict[str, Any],
    seq: int,
    head_end_box_public_hex: str,
    now: float | None = None,
) -> dict[str, Any]:
    """A signed report whose ``detail`` is sealed to the head-end. ``seq`` is the coordinator's next number
    (``ReportSequence``); ``at`` its own clock."""
    report: dict[str, Any] = {
        "v": REPORT_VERSION,
        "coordinator": identity.name,
        "event": event,
        "command_id": command_id,
        "seq": seq,
        "at": int(now if now is not None else time.time()),
    }
    report["sealed"] = seal_to(
        plaintext=canonical(detail),
        recipient_public_hex=head_end_box_public_hex,
        context=_REPORT_CONTEXT.format(coordinator=identity.name),
        aad=canonical(_report_header(report)),
    )
    report["sig"] = _b64(identity.sign_key.sign(canonical(report)))
    return report


def report_verify(*, report: Any, verify_public_hex: str) -> dict[str, Any]:
    if not isinstance(report, dict) or report.get("v") != REPORT_VERSION:
        raise CommandRejected("not a coordinator report")
    try:
        unsigned = {k: v for k, v in report.items() if k != "sig"}
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(verify_public_hex)).verify(_unb64(report["sig"]), canonical(unsigned))
    except (KeyError, ValueError, TypeError, InvalidSignature):
        raise CommandRejected("report signature does not verify against the coordinator's key") from None
    return report


def report_detail_open(*, report: dict[str, Any], head_end_box_key: X25519PrivateKey) -> dict[str, Any]:
    """The sealed ``detail`` of a report (verify it first). Anything that does not open is a ``CommandRejected``."""
    try:
        header = _report_header(report)
    except KeyError:
        raise CommandRejected("not a coordinator report") from None
    plaintext = open_sealed(
        sealed=report.get("sealed"),
        box_key=head_end_box_key,
        context=_REPORT_CONTEXT.format(coordinator=header["coordinator"]),
        aad=canonical(header),
    )
    try:
        detail = json.loads(plaintext)
    except ValueError:
        detail = None
    if not isinstance(detail, dict):
        raise CommandRejected("sealed report detail is not an object")
    return detail
