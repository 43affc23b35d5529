"""Keyed hashes for high-entropy secrets we only ever need to compare.

Backup codes and client secrets carry 60+ bits of entropy, so a slow password
hash buys nothing; an HMAC under a key held outside the database means a
stolen table alone cannot be used to test guesses offline.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from django.conf import settings


def secret_digest(secret: str, *, purpose: str) -> str:
    key = base64.b64decode(settings.AMI_SECRET_HASH_KEY)
    mac = hmac.new(key, f"{purpose}|{secret}".encode(), hashlib.sha256)
    return mac.hexdigest()


def secret_matches(secret: str, digest: str, *, purpose: str) -> bool:
    return hmac.compare_digest(secret_digest(secret, purpose=purpose), digest)
