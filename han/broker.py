"""The per-coordinator command queues on the Celery broker, and exactly what the broker sees.

The head-end's relay task puts signed envelopes on ``han.coordinator.<name>``;
the coordinator process takes them off and acknowledges each only after it has
acted on it, so a coordinator that is down finds its commands waiting when it
comes back. Coordinators answer with signed reports, sent in batches as the
Celery task ``han.tasks.han_reports_record_task``.

What whoever reads the broker (or its disk, or the wire without TLS) sees, per
message (``han/protocol.py``; the same table is in docs/han.md, "What the broker sees"):

- Command envelope, in clear and signed by the head-end: ``v``, ``type``,
  ``command_id``, ``coordinator``, ``issued_at``, ``expires_at``, ``sig``.
  Sealed to the coordinator (and signed): the ``body`` (device EUI-64, load-control
  event, PAN id and channel, permit time) and any key material.
- Report, in clear and signed by its coordinator: ``v``, ``coordinator``, ``event``
  (``joined``, ``status_read``, ``load_control_reported``, ...), ``command_id``,
  ``seq``, ``at``, ``sig``. Sealed to the head-end (and signed): the ``detail``
  (metering reads, event statuses, interview, failure reasons).
- Around them, kombu's and Celery's own headers in clear: queue and task names, task
  ids, the sender's host name and process id (Celery's ``origin``), the relay task's
  job id (a number), and the ``argsrepr`` of a report batch (only how many reports it carries).

So the broker learns which coordinator is sent which kind of command, when, and which
kind of event each reports, and cannot read a reading, an event, a device or a key.
Signatures make every field tamper-evident; the broker can still drop, delay or
replay messages, which the replay guard, ``seq`` and the expiry checks catch. The
broker connection itself is TLS in production (``amiportal/transport.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kombu import Connection, Exchange, Queue
from kombu.simple import SimpleQueue

from amiportal.celery import app as celery_app

REPORTS_TASK = "han.tasks.han_reports_record_task"
# How long one blocking read of a coordinator process's queues waits (and the BRPOP behind it) before
# it returns empty (``han/coordinator/consumer.py``: one read for every premise the process hosts).
# Commands still arrive at once; this only sets how often an idle process wakes up (to notice a
# stop). At kombu's default of 1 s, with one consumer per premise, a process hosting 200 simulated
# premises spent ~9 % of a core on empty reads alone.
COMMAND_POLL_SECONDS = 3.0


def queue_name_for(coordinator_name: str) -> str:
    return f"han.coordinator.{coordinator_name}"


def _queue(connection: Connection, name: str) -> SimpleQueue:
    return connection.SimpleQueue(name, serializer="json", accept=["json"], queue_opts={"durable": True})


def _queue_entity(name: str) -> Queue:
    # The same queue, exchange and binding that ``SimpleQueue(name, queue_opts={"durable": True})`` declares.
    return Queue(name, Exchange(name, type="direct"), name, durable=True)


def command_publish(*, coordinator_name: str, envelope: dict[str, Any]) -> None:
    """Put one envelope on the coordinator's queue, persistent.

    Through the app's producer pool, so a relay does not open a broker
    connection and re-declare the queue every time (that cost ~20 ms a command).
    """
    queue = _queue_entity(queue_name_for(coordinator_name))
    with celery_app.producer_or_acquire() as producer:
        # Through the default exchange straight to the queue (declared, with its own exchange and binding,
        # the first time per connection): the queue is the same; on Redis this skips a lookup of the
        # exchange's bindings (a round trip) on every publish, a quarter of the publish's cost.
        producer.publish(
            envelope,
            exchange="",
            routing_key=queue.name,
            serializer="json",
            delivery_mode=2,
            declare=[queue],
            retry=True,
            retry_policy={"max_retries": 3, "interval_start": 0, "interval_step": 0.5, "interval_max": 2},
        )


@contextmanager
def command_queue(*, coordinator_name: str) -> Iterator[SimpleQueue]:
    """The coordinator's own queue, for ``get(block=True, timeout=...)`` then ``message.ack()``."""
    with celery_app.connection_for_read() as connection:
        queue = _queue(connection, queue_name_for(coordinator_name))
        try:
            yield queue
        finally:
            queue.close()


def reports_send(reports: list[dict[str, Any]]) -> None:
    """Several signed reports (each signed by its own coordinator) as one task.

    Its ``argsrepr`` (a header Celery fills with a repr of the arguments for monitoring) says only how
    many: Celery's own repr walked every report, ~0.3 ms of the coordinator's CPU a batch, and copied
    the reports' clear parts into the header once more.
    """
    celery_app.send_task(REPORTS_TASK, args=[reports], argsrepr=f"[<{len(reports)} signed reports>]")
