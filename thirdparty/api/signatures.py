"""HTTP Message Signatures (RFC 9421) on device requests, with the application's registered Ed25519 key (SO-C13, SO-U4).

A third party signs every request that reaches premise equipment. What we accept,
and nothing else:

- one signature, any label, in ``Signature-Input`` / ``Signature``;
- covered components exactly ``("@method" "@target-uri" "content-digest")``;
- parameters ``created`` (integer), ``keyid`` (the application's client id), ``nonce``
  (8-128 characters of ``[A-Za-z0-9_-]``), optionally ``alg="ed25519"``, in any order;
- ``Content-Digest`` (RFC 9530) with ``sha-256`` or ``sha-512``, matching the body
  (an empty body for a request without one).

The signature base is built as RFC 9421 section 2.5 says, from this request as the
server received it. ``created`` may be at most ``MAX_AGE_SECONDS`` old and
``MAX_SKEW_SECONDS`` in the future; a nonce is accepted once per application
(``thirdparty.models.SignatureNonce``), so a replay is refused.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

COMPONENTS = ("@method", "@target-uri", "content-digest")
MAX_AGE_SECONDS = 300
MAX_SKEW_SECONDS = 30
_TOKEN = r"[a-z*][a-z0-9_\-.*]*"
_SF_STRING = r'"[\x20\x21\x23-\x5b\x5d-\x7e]*"'
_INPUT = re.compile(rf"^\s*({_TOKEN})=\(((?:{_SF_STRING})(?: {_SF_STRING})*)?\)((?:;{_TOKEN}=(?:-?\d{{1,15}}|{_SF_STRING}))*)\s*$")
_PARAM = re.compile(rf";({_TOKEN})=(-?\d{{1,15}}|{_SF_STRING})")
_SIGNATURE = re.compile(rf"^\s*({_TOKEN})=:([A-Za-z0-9+/]*={{0,2}}):\s*$")
_DIGEST_MEMBER = re.compile(r"^\s*(sha-256|sha-512)=:([A-Za-z0-9+/]*={0,2}):\s*$")
_NONCE = re.compile(r"^[A-Za-z0-9_\-]{8,128}$")
_DIGESTS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}


class SignatureRefused(Exception):
    """The request's signature is missing, malformed, stale, replayed or does not verify. ``reason`` says which."""

    def __init__(self, reason: str, evidence: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.evidence = evidence or {}


@dataclass(frozen=True)
class VerifiedSignature:
    label: str
    keyid: str
    nonce: str
    created: int
    signature_base: str
    evidence: dict[str, Any]


def _sf_value(text: str) -> int | str:
    return text[1:-1] if text.startswith('"') else int(text)


def _serialize(components: list[str], params: list[tuple[str, int | str]]) -> str:
    inner = " ".join(f'"{c}"' for c in components)
    return f"({inner})" + "".join(f";{k}={v}" if isinstance(v, int) else f';{k}="{v}"' for k, v in params)


def content_digest(body: bytes, algorithm: str = "sha-256") -> str:
    return f"{algorithm}=:{base64.b64encode(_DIGESTS[algorithm](body).digest()).decode()}:"


def signature_base(*, method: str, target_uri: str, digest_header: str, params_text: str) -> str:
    return "\n".join(
        [
            f'"@method": {method.upper()}',
            f'"@target-uri": {target_uri}',
            f'"content-digest": {digest_header.strip()}',
            f'"@signature-params": {params_text}',
        ]
    )


def public_key_load(pem: str) -> Ed25519PublicKey | None:
    try:
        key = load_pem_public_key(pem.encode())
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None
    return key if isinstance(key, Ed25519PublicKey) else None


def key_fingerprint(pem: str) -> str:
    return hashlib.sha256(pem.strip().encode()).hexdigest()


def request_verify(
    *,
    method: str,
    target_uri: str,
    headers: dict[str, str],
    body: bytes,
    public_key_pem: str,
    expected_keyid: str,
    now: float,
) -> VerifiedSignature:
    """Check one request's signature. The caller still has to claim the nonce (replay)."""
    signature_input = headers.get("Signature-Input", "")
    signature_header = headers.get("Signature", "")
    digest_header = headers.get("Content-Digest", "")
    evidence: dict[str, Any] = {
        "method": method.upper(),
        "target_uri": target_uri,
        "signature_input": signature_input[:600],
        "signature": signature_header[:200],
        "content_digest": digest_header[:200],
        "body_sha256": hashlib.sha256(body).hexdigest(),
    }
    if not signature_input or not signature_header:
        raise SignatureRefused("missing Signature-Input or Signature header", evidence)
    parsed = _INPUT.match(signature_input)
    signed = _SIGNATURE.match(signature_header)
    if parsed is None or signed is None:
        raise SignatureRefused("Signature-Input or Signature is not one signature in RFC 9421 form", evidence)
    label = parsed.group(1)
    if signed.group(1) != label:
        raise SignatureRefused("Signature and Signature-Input name different labels", evidence)
    components = [c[1:-1] for c in re.findall(_SF_STRING, parsed.group(2) or "")]
    params = [(name, _sf_value(value)) for name, value in _PARAM.findall(parsed.group(3))]
    named = dict(params)
    evidence.update({k: named.get(k) for k in ("keyid", "nonce", "created", "alg")})
    if tuple(components) != COMPONENTS:
        raise SignatureRefused(f"the signature must cover exactly {' '.join(COMPONENTS)}", evidence)
    if len(named) != len(params) or not {"created", "keyid", "nonce"} <= set(named) or set(named) - {"created", "keyid", "nonce", "alg"}:
        raise SignatureRefused("the signature parameters must be created, keyid and nonce (and optionally alg), once each", evidence)
    created, keyid, nonce = named["created"], named["keyid"], named["nonce"]
    if not isinstance(created, int) or not isinstance(keyid, str) or not isinstance(nonce, str) or not _NONCE.match(nonce):
        raise SignatureRefused("created must be an integer, keyid a string, nonce 8-128 characters of A-Z a-z 0-9 _ -", evidence)
    if named.get("alg", "ed25519") != "ed25519":
        raise SignatureRefused("alg must be ed25519", evidence)
    if keyid != expected_keyid:
        raise SignatureRefused("keyid does not name this application's registered key (use the client id)", evidence)
    if created < now - MAX_AGE_SECONDS or created > now + MAX_SKEW_SECONDS:
        raise SignatureRefused(f"created is outside the accepted window ({MAX_AGE_SECONDS} s old, {MAX_SKEW_SECONDS} s ahead)", evidence)
    digest = _DIGEST_MEMBER.match(digest_header)
    if digest is None:
        raise SignatureRefused("Content-Digest must be one sha-256 or sha-512 member (RFC 9530)", evidence)
    if content_digest(body, digest.group(1)) != f"{digest.group(1)}=:{digest.group(2)}:":
        raise SignatureRefused("Content-Digest does not match the body", evidence)
    public_key = public_key_load(public_key_pem)
    if public_key is None:
        raise SignatureRefused("the application has no Ed25519 public key registered", evidence)
    evidence["public_key_sha256"] = key_fingerprint(public_key_pem)
    base = signature_base(method=method, target_uri=target_uri, digest_header=digest_header, params_text=_serialize(components, params))
    try:
        public_key.verify(base64.b64decode(signed.group(2)), base.encode())
    except (InvalidSignature, ValueError):
        raise SignatureRefused("the signature does not verify against the registered key", evidence) from None
    return VerifiedSignature(label=label, keyid=keyid, nonce=nonce, created=created, signature_base=base, evidence=evidence)


def request_sign(
    *, private_key, method: str, target_uri: str, body: bytes, keyid: str, nonce: str, created: int, label: str = "sig1"
) -> dict[str, str]:
    """The headers a client sends (used by the example client and the tests; same rules as ``request_verify``)."""
    digest = content_digest(body)
    params_text = _serialize(list(COMPONENTS), [("created", created), ("keyid", keyid), ("nonce", nonce), ("alg", "ed25519")])
    base = signature_base(method=method, target_uri=target_uri, digest_header=digest, params_text=params_text)
    signature = base64.b64encode(private_key.sign(base.encode())).decode()
    return {"Content-Digest": digest, "Signature-Input": f"{label}={params_text}", "Signature": f"{label}=:{signature}:"}
