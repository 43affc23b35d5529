"""Envelope encryption for secrets stored in the database (SO-U1, SO-C10).

Each secret gets its own random AES-256-GCM data key (DEK). The DEK is wrapped
by a key-encryption key (KEK) that lives outside the database (AMI_KEYRING).
Both layers authenticate a *context* string naming the row and field that owns
the secret, so a ciphertext copied into another row, or another field, fails
to open. Any failure to open is a ``SealedValueError``: callers fail closed.

Sealed format (ASCII, fits a TextField):
    ``ami1.<kek id>.<b64 nonce+wrapped DEK>.<b64 nonce+ciphertext>``
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

FORMAT_PREFIX = "ami1"
_NONCE_BYTES = 12


class SealedValueError(Exception):
    """A sealed value could not be opened: wrong row, wrong key, or tampered."""


@dataclass(frozen=True)
class Keyring:
    active_id: str
    keys: dict[str, bytes]

    @classmethod
    def parse(cls, spec: str) -> Keyring:
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            key_id, sep, encoded = item.partition(":")
            if not sep or not key_id.isalnum():
                raise ImproperlyConfigured("AMI_KEYRING entries look like 'id:base64key' with an alphanumeric id.")
            try:
                key = base64.b64decode(encoded, validate=True)
            except binascii.Error:
                raise ImproperlyConfigured(f"AMI_KEYRING key {key_id!r} is not valid base64.") from None
            if len(key) != 32:
                raise ImproperlyConfigured(f"AMI_KEYRING key {key_id!r} must be 32 bytes (AES-256), not {len(key)}.")
            if key_id in keys:
                raise ImproperlyConfigured(f"AMI_KEYRING lists key {key_id!r} twice.")
            keys[key_id] = key
            order.append(key_id)
        if not order:
            raise ImproperlyConfigured("AMI_KEYRING holds no key.")
        return cls(active_id=order[0], keys=keys)


@functools.cache
def _keyring_for(spec: str) -> Keyring:
    return Keyring.parse(spec)


def keyring() -> Keyring:
    # Keyed on the setting's value so tests that override it see the change.
    return _keyring_for(settings.AMI_KEYRING)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _wrap_aad(key_id: str, context: str) -> bytes:
    return f"dek|{key_id}|{context}".encode()


def _data_aad(context: str) -> bytes:
    return f"data|{context}".encode()


def seal(plaintext: bytes, *, context: str) -> str:
    ring = keyring()
    dek = AESGCM.generate_key(bit_length=256)
    data_nonce = os.urandom(_NONCE_BYTES)
    ciphertext = AESGCM(dek).encrypt(data_nonce, plaintext, _data_aad(context))
    wrap_nonce = os.urandom(_NONCE_BYTES)
    wrapped = AESGCM(ring.keys[ring.active_id]).encrypt(wrap_nonce, dek, _wrap_aad(ring.active_id, context))
    return ".".join((FORMAT_PREFIX, ring.active_id, _b64(wrap_nonce + wrapped), _b64(data_nonce + ciphertext)))


def _split(sealed: str) -> tuple[str, bytes, bytes]:
    try:
        prefix, key_id, wrapped, body = sealed.split(".")
        if prefix != FORMAT_PREFIX:
            raise ValueError
        return key_id, _unb64(wrapped), _unb64(body)
    except (ValueError, binascii.Error):
        raise SealedValueError("not a sealed value") from None


def _unwrap_dek(key_id: str, wrapped: bytes, context: str) -> bytes:
    kek = keyring().keys.get(key_id)
    if kek is None:
        raise SealedValueError(f"key-encryption key {key_id!r} is not in the keyring")
    try:
        return AESGCM(kek).decrypt(wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], _wrap_aad(key_id, context))
    except InvalidTag:
        raise SealedValueError("data key does not open under this context") from None


def open_sealed(sealed: str, *, context: str) -> bytes:
    key_id, wrapped, body = _split(sealed)
    dek = _unwrap_dek(key_id, wrapped, context)
    try:
        return AESGCM(dek).decrypt(body[:_NONCE_BYTES], body[_NONCE_BYTES:], _data_aad(context))
    except InvalidTag:
        raise SealedValueError("ciphertext does not open under this context") from None


def sealed_key_id(sealed: str) -> str:
    return _split(sealed)[0]


def rewrap(sealed: str, *, context: str) -> str:
    """Re-wrap the data key under the active KEK; the ciphertext is untouched.

    Rotation therefore never has the secret itself in memory, only its DEK.
    """
    key_id, wrapped, body = _split(sealed)
    ring = keyring()
    if key_id == ring.active_id:
        return sealed
    dek = _unwrap_dek(key_id, wrapped, context)
    wrap_nonce = os.urandom(_NONCE_BYTES)
    rewrapped = AESGCM(ring.keys[ring.active_id]).encrypt(wrap_nonce, dek, _wrap_aad(ring.active_id, context))
    return ".".join((FORMAT_PREFIX, ring.active_id, _b64(wrap_nonce + rewrapped), _b64(body)))
