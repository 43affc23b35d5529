"""The head-end's two HAN key pairs, both from one secret seed (``AMI_HAN_SIGNING_KEY``).

- Ed25519 signs every command to a coordinator.
- X25519 opens what coordinators seal to the head-end (the ``detail`` of their reports).
  Its private key is derived from the seed with HKDF under its own label, so the two keys
  are independent, and rotating the seed rotates both; a deployment has one HAN secret to keep.

A gateway is given only the two public halves (``manage.py han_head_end_keys`` prints them).
"""

from __future__ import annotations

import base64
import functools

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from han.protocol import public_hex

_BOX_KEY_INFO = b"ami-han-head-end-box-v1"


@functools.lru_cache(maxsize=4)
def _signing_key_for(seed: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(seed)[:32])


@functools.lru_cache(maxsize=4)
def _box_key_for(seed: str) -> X25519PrivateKey:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_BOX_KEY_INFO).derive(base64.b64decode(seed))
    return X25519PrivateKey.from_private_bytes(raw)


def head_end_signing_key() -> Ed25519PrivateKey:
    # Parsed once per process (keyed on the setting's value, so tests that override it see the change).
    return _signing_key_for(settings.AMI_HAN_SIGNING_KEY)


def head_end_box_key() -> X25519PrivateKey:
    return _box_key_for(settings.AMI_HAN_SIGNING_KEY)


def head_end_public_key_hex() -> str:
    """The Ed25519 key a gateway verifies commands with (``AMI_HAN_HEAD_END_PUBLIC_KEY``)."""
    return public_hex(head_end_signing_key())


def head_end_box_public_key_hex() -> str:
    """The X25519 key a gateway seals its reports to (``AMI_HAN_HEAD_END_BOX_PUBLIC_KEY``)."""
    return public_hex(head_end_box_key())
