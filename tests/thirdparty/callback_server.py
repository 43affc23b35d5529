"""A third party's redirect URI for browser tests: a real HTTP server on 127.0.0.1 that records what reaches it."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.conftest import wait_for


class CallbackServer:
    """Records the query of every GET to /callback, as an application's OAuth callback would receive it."""

    def __init__(self) -> None:
        self.received: list[dict[str, str]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                parts = urlsplit(self.path)
                if parts.path == "/callback":
                    received.append({k: v[0] for k, v in parse_qs(parts.query).items()})
                body = b"<!doctype html><title>Callback</title><p>Back at the application.</p>"
                self.send_response(200 if parts.path == "/callback" else 404)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/callback"

    def __enter__(self) -> CallbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def next_callback(self, seen: int) -> dict[str, str]:
        """The query of the callback after the first ``seen`` ones, once it arrives."""
        wait_for(lambda: len(self.received) > seen, timeout=15)
        return self.received[seen]
