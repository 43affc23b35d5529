"""Sign and send a device request to the AMI Portal API (RFC 9421 HTTP Message Signatures, Ed25519).

Usage (after the customer granted "Control of home-area-network devices"):

    python docs/examples/device_control.py \\
        --key third-party-ed25519.pem --client-id CLIENT_ID --token ACCESS_TOKEN \\
        --url http://127.0.0.1:8000/espi/1_1/resource/Subscription/7/UsagePoint/3/Device/<device-id>/LoadControl

Generate the key pair once and paste the public half into your application page:

    python docs/examples/device_control.py --new-key third-party-ed25519.pem

Needs only ``cryptography`` and ``requests``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import secrets
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)


def sign(*, key: Ed25519PrivateKey, method: str, url: str, body: bytes, client_id: str) -> dict[str, str]:
    """The three headers that make a request signed: Content-Digest, Signature-Input, Signature."""
    digest = "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
    params = (
        '("@method" "@target-uri" "content-digest")'
        f';created={int(time.time())};keyid="{client_id}";nonce="{secrets.token_urlsafe(16)}";alg="ed25519"'
    )
    base = "\n".join(
        [
            f'"@method": {method.upper()}',
            f'"@target-uri": {url}',
            f'"content-digest": {digest}',
            f'"@signature-params": {params}',
        ]
    )
    signature = base64.b64encode(key.sign(base.encode())).decode()
    return {"Content-Digest": digest, "Signature-Input": f"sig1={params}", "Signature": f"sig1=:{signature}:"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--new-key", help="Write a new Ed25519 private key here and print its public key.")
    parser.add_argument("--key", help="Your Ed25519 private key (PEM).")
    parser.add_argument("--client-id")
    parser.add_argument("--token", help="An access token under a consent with device control.")
    parser.add_argument("--url", help="…/Device/{id}/LoadControl or …/Device/{id}/StatusRead")
    args = parser.parse_args()
    if args.new_key:
        key = Ed25519PrivateKey.generate()
        Path(args.new_key).write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
        print(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode())
        return

    import requests

    key = load_pem_private_key(Path(args.key).read_bytes(), password=None)
    event = {"device_classes": ["hvac"], "duration_minutes": 30, "criticality": 3, "cooling_offset_celsius": "2.0"}
    body = json.dumps(event).encode() if args.url.endswith("/LoadControl") else b""
    headers = sign(key=key, method="POST", url=args.url, body=body, client_id=args.client_id)
    headers |= {"Authorization": f"Bearer {args.token}", "Content-Type": "application/json", "Accept": "application/json"}
    response = requests.post(args.url, data=body, headers=headers, timeout=30)
    print(response.status_code, json.dumps(response.json(), indent=2))
    if response.status_code == 202:
        command = response.json()["links"][0]["href"]
        base = args.url.split("/espi/")[0]
        for _ in range(30):  # the device answers within seconds; follow the command until it has a result
            time.sleep(1)
            outcome = requests.get(base + command, headers={"Authorization": f"Bearer {args.token}"}, timeout=30).json()
            if outcome["state"] in ("done", "failed"):
                print(json.dumps(outcome, indent=2))
                break


if __name__ == "__main__":
    main()
