"""A third party's client for the Green Button Connect My Data API, using requests-oauthlib.

Against ``make run`` (http://127.0.0.1:8000) with the demo application:

    .venv/bin/python docs/examples/espi_client.py

It prints an authorization URL: open it, sign in as alice@demo.ami (password ami-demo-2026!),
choose what to share and press Allow (ticking device control asks for the password once more).
The browser is sent to http://127.0.0.1:8765/callback, where this script is listening; it
exchanges the code (PKCE S256), reads the usage points and yesterday's interval blocks, and
prints them. If Alice shared device status, it lists her HAN devices and sends a signed
StatusRead (RFC 9421, Ed25519) to the first one, then follows the command to its outcome.
Every read shows up in Alice's access log; after she revokes access under "Who can see my
data", the next call answers 401.

The signing key: ``--key third-party-ed25519.pem``, or against ``make run`` on the same machine
the demo application's development key, which the demo seed generated into
var/dev-secrets/thirdparty_demo_signing_key (never committed; production has no demo data).

Plain http is accepted by oauthlib only on the loopback interface for development
(OAUTHLIB_INSECURE_TRANSPORT); a production data custodian is https only.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from requests_oauthlib import OAuth2Session

DEMO_CLIENT_ID = "ami-demo-energy-insights"
DEMO_CLIENT_SECRET = "ami-demo-client-secret-not-for-production"
REDIRECT_URI = "http://127.0.0.1:8765/callback"
SCOPES = ["interval_usage", "usage_summary", "han_status", "han_control"]
# Where ``make run`` keeps the demo application's development signing key (base64 Ed25519 seed).
DEMO_SIGNING_KEY = Path(__file__).resolve().parents[2] / "var" / "dev-secrets" / "thirdparty_demo_signing_key"


def start_session(base_url: str, client_id: str, scope: list[str]) -> tuple[OAuth2Session, str]:
    """A session with a fresh PKCE verifier, and the URL to send the customer to."""
    if urlsplit(base_url).hostname in ("127.0.0.1", "localhost"):
        os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
    session = OAuth2Session(client_id, redirect_uri=REDIRECT_URI, scope=scope, pkce="S256")
    url, _state = session.authorization_url(f"{base_url}/oauth/authorize/")
    return session, url


def exchange(session: OAuth2Session, base_url: str, callback_url: str, client_secret: str) -> dict:
    return session.fetch_token(
        f"{base_url}/oauth/token/", authorization_response=callback_url, client_secret=client_secret, include_client_id=False
    )


def read_usage(session: OAuth2Session, base_url: str, authorization_id: int) -> list[dict]:
    """Usage points of the subscription, each with yesterday's (UTC) interval blocks of delivered energy."""
    root = f"{base_url}/espi/1_1/resource"
    points = session.get(f"{root}/Subscription/{authorization_id}/UsagePoint", headers={"Accept": "application/json"})
    points.raise_for_status()
    since = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z")
    out = []
    for entry in points.json()["entries"]:
        self_href = next(link["href"] for link in entry["links"] if link["rel"] == "self")
        blocks = session.get(f"{base_url}{self_href}/MeterReading/1/IntervalBlock", params={"published-min": since})
        blocks.raise_for_status()
        out.append({"usage_point": entry["title"], "blocks": blocks.json()["entries"]})
    return out


def authorization_id_from(token: dict, session: OAuth2Session, base_url: str) -> int:
    """The subscription id is the authorization id; the Authorization resource names it."""
    response = session.get(f"{base_url}/espi/1_1/resource/Authorization")
    response.raise_for_status()
    uri = response.json()["entries"][0]["content"]["authorizationURI"]
    return int(uri.rstrip("/").rsplit("/", 1)[1])


def read_devices(session: OAuth2Session, base_url: str, authorization_id: int) -> list[dict]:
    """The HAN devices at each usage point (needs han_status or han_control in the authorization)."""
    root = f"{base_url}/espi/1_1/resource/Subscription/{authorization_id}/UsagePoint"
    points = session.get(root, headers={"Accept": "application/json"})
    points.raise_for_status()
    devices = []
    for entry in points.json()["entries"]:
        self_href = next(link["href"] for link in entry["links"] if link["rel"] == "self")
        response = session.get(f"{base_url}{self_href}/Device", headers={"Accept": "application/json"})
        if response.status_code == 403:  # the customer did not share devices
            return []
        response.raise_for_status()
        devices += response.json()["devices"]
    return devices


def signing_key(path: str | None):
    """The application's Ed25519 private key: a PEM file, or the demo's development key if there is one."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    if path:
        return load_pem_private_key(Path(path).read_bytes(), password=None)
    if DEMO_SIGNING_KEY.exists():
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(DEMO_SIGNING_KEY.read_text().strip()))
    return None


def _sign():
    """``sign`` from device_control.py beside this file: one implementation of the signature for both examples."""
    spec = importlib.util.spec_from_file_location("device_control_example", Path(__file__).with_name("device_control.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.sign


def status_read(session: OAuth2Session, base_url: str, device: dict, key, client_id: str, *, wait_seconds: int = 30) -> dict:
    """POST a signed StatusRead to the device and follow the command until it has an outcome (or time runs out)."""
    url = base_url + next(link["href"] for link in device["links"] if link["href"].endswith("/StatusRead"))
    headers = _sign()(key=key, method="POST", url=url, body=b"", client_id=client_id)
    response = session.post(url, data=b"", headers=headers | {"Accept": "application/json"})
    response.raise_for_status()
    command = response.json()
    follow = base_url + command["links"][0]["href"]
    for _ in range(wait_seconds):
        if command["state"] in ("done", "failed"):
            break
        time.sleep(1)
        command = session.get(follow, headers={"Accept": "application/json"}).json()
    return command


class _Callback(BaseHTTPRequestHandler):
    received: list[str] = []

    def do_GET(self):  # noqa: N802
        type(self).received.append(f"http://127.0.0.1:8765{self.path}")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.end_headers()
        self.wfile.write(b"Thank you. You can close this window.\n")

    def log_message(self, *args):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--client-id", default=DEMO_CLIENT_ID)
    parser.add_argument("--client-secret", default=os.environ.get("AMI_CLIENT_SECRET", DEMO_CLIENT_SECRET))
    parser.add_argument("--key", help="The application's Ed25519 private key (PEM); default: the demo's development key.")
    args = parser.parse_args()

    server = HTTPServer(("127.0.0.1", 8765), _Callback)
    threading.Thread(target=server.handle_request, daemon=True).start()
    session, url = start_session(args.base_url, args.client_id, SCOPES)
    print(f"Open this URL, sign in as the customer and press Allow:\n\n  {url}\n")
    while not _Callback.received:
        threading.Event().wait(0.2)
    token = exchange(session, args.base_url, _Callback.received[0], args.client_secret)
    print(f"Access token valid for {token['expires_in']} s, scope {' '.join(token['scope'])}")
    authorization_id = authorization_id_from(token, session, args.base_url)
    for point in read_usage(session, args.base_url, authorization_id):
        readings = [r for block in point["blocks"] for r in block["content"]["IntervalReading"]]
        total = sum(r["value"] for r in readings)
        print(f"{point['usage_point']}: {len(readings)} readings since yesterday, {total / 1000:.1f} kWh")
    if not {"han_status", "han_control"} & set(token["scope"]):
        return
    devices = read_devices(session, args.base_url, authorization_id)
    print(f"{len(devices)} HAN device(s): " + ", ".join(f"{d['type_label']} {d['label'] or d['model']}" for d in devices))
    key = signing_key(args.key)
    if devices and key is not None and "han_status" in token["scope"]:
        outcome = status_read(session, args.base_url, devices[0], key, args.client_id)
        print(f"Signed StatusRead of {devices[0]['type_label']}: {outcome['state']} {outcome.get('result') or outcome['detail']}")


if __name__ == "__main__":
    main()
