"""A local webhook receiver that counts deliveries per event id and type (what was lost, what came twice)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class WebhookCounter:
    """``hold_first``: the first POST is held unanswered until ``close`` (its sender can be killed meanwhile)."""

    def __init__(self, *, hold_first: bool = False) -> None:
        self.deliveries: Counter[tuple[str, str]] = Counter()  # (type, webhook-id) -> times received
        self._lock = threading.Lock()
        self.holding = threading.Event()  # set once the first POST is being held
        self._release = threading.Event()
        if not hold_first:
            self._release.set()
        counter = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with counter._lock:
                    counter.deliveries[(body["type"], self.headers["webhook-id"])] += 1
                    first = sum(counter.deliveries.values()) == 1
                if first and not counter._release.is_set():
                    counter.holding.set()
                    counter._release.wait(120)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def ids(self, event_type: str) -> set[str]:
        with self._lock:
            return {event_id for (kind, event_id) in self.deliveries if kind == event_type}

    def repeats(self, event_type: str) -> int:
        """Deliveries beyond the first of each event (the receiver drops them by id, but they are counted)."""
        with self._lock:
            return sum(times - 1 for (kind, _), times in self.deliveries.items() if kind == event_type)

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()
