"""The head-end's public keys as a gateway is given them: the only thing it knows of the head-end.

``AMI_HAN_HEAD_END_PUBLIC_KEY`` (Ed25519: commands are verified with it) and
``AMI_HAN_HEAD_END_BOX_PUBLIC_KEY`` (X25519: report details are sealed to it), 64 hexadecimal
digits each, or ``..._FILE``. ``manage.py han_head_end_keys`` prints both on the head-end.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from amiportal.env import env_str

VERIFY_KEY_SETTING = "AMI_HAN_HEAD_END_PUBLIC_KEY"
BOX_KEY_SETTING = "AMI_HAN_HEAD_END_BOX_PUBLIC_KEY"


@dataclass(frozen=True)
class HeadEndPublicKeys:
    verify_hex: str
    box_hex: str


def _public_key(name: str, what: str) -> str | None:
    value = (env_str(name) or "").strip().lower()
    if not value:
        return None
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise ImproperlyConfigured(f"{name} must be the head-end's {what} public key: 64 hexadecimal digits.")
    return value


def head_end_public_keys_from_env() -> HeadEndPublicKeys | None:
    """Both keys from the environment; None when neither is set. One without the other is an error."""
    verify_hex = _public_key(VERIFY_KEY_SETTING, "Ed25519")
    box_hex = _public_key(BOX_KEY_SETTING, "X25519")
    if verify_hex is None and box_hex is None:
        return None
    if verify_hex is None or box_hex is None:
        missing = VERIFY_KEY_SETTING if verify_hex is None else BOX_KEY_SETTING
        raise ImproperlyConfigured(f"Set {missing} too: a gateway needs both of the head-end's public keys (manage.py han_head_end_keys).")
    return HeadEndPublicKeys(verify_hex=verify_hex, box_hex=box_hex)
