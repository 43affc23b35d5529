"""One command consumer per coordinator process, over one broker connection, for every premise it hosts.

Each hosted coordinator has its own queue (``han.coordinator.<name>``); this consumer
reads all of them on one connection and one channel (on Redis, one ``BRPOP`` naming
every queue), on one thread. An idle process hosting 200 simulated premises therefore
wakes once per ``poll_seconds``, not 200 times (docs/benchmarks.md, "Idle coordinators").

A message is handed to its coordinator's ``deliver(payload, ack)``; the coordinator
calls ``ack`` (from any thread) once it has acted on it, and the acknowledgement is
sent from this thread, the only one that touches the connection. A coordinator handles
its own commands one at a time, in queue order; different coordinators in parallel.

When the connection drops, the consumer reconnects with backoff (``backoff.Outage``)
and never gives up. Acknowledgements owed on the lost connection are dropped: the
broker delivers those messages again and the replay guard answers them ``duplicate``.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from kombu import Consumer

from amiportal.celery import app as celery_app
from han import broker
from han.coordinator.backoff import Outage

logger = logging.getLogger("han.coordinator")

Deliver = Callable[[Any, Callable[[], None]], None]
# While a delivered command is being handled, wake this often to send its acknowledgement.
ACK_WAIT_SECONDS = 0.05


class CommandConsumer:
    def __init__(self, *, poll_seconds: float = broker.COMMAND_POLL_SECONDS, connect: Callable[[], Any] | None = None) -> None:
        self._poll = poll_seconds
        self._connect = connect or celery_app.connection_for_read
        self._targets: dict[str, Deliver] = {}
        self._acks: queue.Queue[tuple[int, Any]] = queue.Queue()
        self._in_flight = 0
        self._generation = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.outage = Outage("command consumer")
        self.connected = threading.Event()

    def attach(self, coordinator_name: str, deliver: Deliver) -> None:
        """Consume ``coordinator_name``'s queue; call before ``start``."""
        self._targets[coordinator_name] = deliver

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="han-commands", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    # --- the consumer thread ---------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._consume()
            except Exception as exc:  # the broker went away (or never came): wait, reconnect, never exit
                self.connected.clear()
                self._stop.wait(self.outage.failed(exc))

    def _consume(self) -> None:
        with self._connect() as connection:
            # Redis: the server-side BRPOP timeout, on this connection's own transport (see han.broker).
            if hasattr(connection.transport, "brpop_timeout"):
                connection.transport.brpop_timeout = self._poll
            connection.ensure_connection(max_retries=1)
            channel = connection.channel()
            if hasattr(channel, "priority_steps"):
                # Redis: commands carry no priority, so only each queue's own list is read. kombu's default steps
                # (0, 3, 6, 9) made every BRPOP name four lists per hosted premise (800 keys for 200 premises,
                # sent and registered again after every message): ~2 ms of this thread's CPU a command.
                channel.priority_steps = [0]
            with self._lock:
                self._generation += 1
                generation = self._generation
                self._in_flight = 0
            consumers = [
                Consumer(
                    channel,
                    queues=[broker._queue_entity(broker.queue_name_for(name))],
                    callbacks=[self._on_message(deliver, generation)],
                    accept=["json"],
                )
                for name, deliver in self._targets.items()
            ]
            for consumer in consumers:
                consumer.consume()
            self.outage.restored()
            self.connected.set()
            while not self._stop.is_set():
                self._send_acks(generation)
                try:
                    connection.drain_events(timeout=ACK_WAIT_SECONDS if self._in_flight else self._poll)
                except TimeoutError:  # socket.timeout: nothing arrived
                    pass
            self._send_acks(generation)
            for consumer in consumers:
                consumer.cancel()

    def _on_message(self, deliver: Deliver, generation: int) -> Callable[[Any, Any], None]:
        def received(payload: Any, message: Any) -> None:
            with self._lock:
                self._in_flight += 1
            deliver(payload, lambda: self._acks.put((generation, message)))

        return received

    def _send_acks(self, generation: int) -> None:
        while True:
            try:
                owed_on, message = self._acks.get_nowait()
            except queue.Empty:
                return
            with self._lock:
                self._in_flight = max(0, self._in_flight - 1)
            if owed_on == generation:
                message.ack()
