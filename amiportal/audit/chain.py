"""Pure functions of the hash chain: canonical form, entry hash, MAC, signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def timestamp_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(fields: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(fields).encode()).hexdigest()


def entry_mac(digest: str) -> str:
    key = base64.b64decode(settings.AMI_AUDIT_HMAC_KEY)
    return hmac.new(key, digest.encode(), hashlib.sha256).hexdigest()


def signing_key() -> Ed25519PrivateKey:
    seed = base64.b64decode(settings.AMI_AUDIT_SIGNING_KEY)
    return Ed25519PrivateKey.from_private_bytes(seed[:32])


def public_key_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def checkpoint_message(seq: int, digest: str, created_at: datetime) -> bytes:
    return canonical_json({"seq": seq, "entry_hash": digest, "created_at": timestamp_text(created_at)}).encode()
