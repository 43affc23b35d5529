"""A webhook worker killed mid-send, with real processes: Redis, Celery workers and a receiver (SO-U3).

The test database is shared with the subprocesses, so this test commits.
"""

from __future__ import annotations

import os
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from tests.conftest import wait_for
from tests.han.test_relay_processes import processes, redis_url  # noqa: F401 (fixtures)
from tests.thirdparty import world
from thirdparty.models import WebhookEvent
from thirdparty.services.webhooks import webhook_configure

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


class _HangingOnce(BaseHTTPRequestHandler):
    """The first POST hangs until released (the worker is killed meanwhile); later ones get 200."""

    received: list[str] = []
    release = threading.Event()

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(self.headers["webhook-id"])
        if len(type(self).received) == 1:
            type(self).release.wait(60)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.objective("SO-U3")
def test_an_event_whose_worker_was_killed_mid_send_is_delivered_after_its_lease_lapses(
    alice,
    trent,
    processes,  # noqa: F811
):
    from thirdparty.tasks import webhook_leases_sweep_task

    _HangingOnce.received = []
    _HangingOnce.release = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HangingOnce)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    processes.env["AMI_WEBHOOK_LEASE_SECONDS"] = "15"
    try:
        application = world.register(trent)
        webhook_configure(application=application, url=f"http://127.0.0.1:{server.server_port}/hook", actor=trent)
        application.refresh_from_db()
        first = processes.worker()
        world.grant(application, alice)  # commits, and enqueues the delivery on Redis
        event = WebhookEvent.objects.get()

        wait_for(lambda: len(_HangingOnce.received) == 1, timeout=60)  # the worker is inside the send
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        processes.running.pop("worker")
        event.refresh_from_db()
        assert event.state == WebhookEvent.State.SENDING and event.lease_expires_at is not None

        processes.worker()
        # Beat's sweeper, sent by hand once the lease has lapsed: the event goes back to pending and is sent again.
        wait_for(lambda: WebhookEvent.objects.get(pk=event.pk).lease_expires_at < timezone.now(), timeout=30)
        webhook_leases_sweep_task.delay()
        wait_for(lambda: WebhookEvent.objects.get(pk=event.pk).state == WebhookEvent.State.DELIVERED, timeout=60)
    finally:
        _HangingOnce.release.set()
        server.shutdown()
        server.server_close()
    event.refresh_from_db()
    assert event.attempts == 2  # the lost attempt is counted
    assert _HangingOnce.received == [str(event.pk), str(event.pk)]  # at least once, same id: the receiver drops the repeat
