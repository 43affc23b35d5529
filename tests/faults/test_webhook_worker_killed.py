"""A Celery worker killed (SIGKILL) in the middle of sending webhooks (SO-U3).

Real processes: a worker and beat (the lease sweeper every 3 s) on a redis-server of the
test's own. Ten events are queued; the receiver holds the first POST while the worker is
killed. The event it was sending stays claimed until its lease lapses; the sweeper then hands
it out again. Counted: events never delivered, and deliveries the receiver got more than once
(the killed attempt reached the receiver, so one repeat is expected: at least once, same
``webhook-id``, which the receiver uses to drop it).
"""

from __future__ import annotations

import time

import pytest

from tests.conftest import wait_for
from tests.faults.processes import elapsed_since, figures
from tests.faults.webhook_counter import WebhookCounter
from tests.thirdparty import world
from thirdparty.models import WebhookEvent
from thirdparty.services.webhooks import webhook_configure

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

EVENTS = 10


@pytest.mark.objective("SO-U3")
def test_a_worker_killed_mid_send_loses_no_webhook_and_the_receiver_sees_one_repeat_it_can_drop(alice, trent, fault_processes):
    counter = WebhookCounter(hold_first=True)
    fault_processes.env["AMI_WEBHOOK_LEASE_SECONDS"] = "15"
    try:
        for n in range(EVENTS):
            application = world.register(trent, name=f"Webhook app {n}")
            webhook_configure(application=application, url=counter.url, actor=trent)
            application.refresh_from_db()
            world.grant(application, alice)  # commits, and enqueues authorization.created on the broker
        fault_processes.worker()
        fault_processes.beat("thirdparty-webhook-leases-sweep", every_seconds=3)
        wait_for(counter.holding.is_set, timeout=60)  # the worker is inside its first send
        fault_processes.kill("worker")
        killed_at = time.monotonic()
        stuck = WebhookEvent.objects.filter(state=WebhookEvent.State.SENDING).count()

        fault_processes.worker()
        events = {str(pk) for pk in WebhookEvent.objects.values_list("pk", flat=True)}
        wait_for(lambda: counter.ids("authorization.created") == events, timeout=90, interval=0.5)
        recovered_in = elapsed_since(killed_at)
        wait_for(lambda: not WebhookEvent.objects.exclude(state=WebhookEvent.State.DELIVERED).exists(), timeout=30)
        repeats = counter.repeats("authorization.created")
        lost = len(events - counter.ids("authorization.created"))
        figures(
            "worker killed mid webhook send",
            events=EVENTS,
            claimed_when_killed=stuck,
            lost=lost,
            repeats_at_receiver=repeats,
            duplicated_in_effect=0 if repeats <= stuck else repeats - stuck,
            all_delivered_after_kill_s=recovered_in,
        )
        assert stuck == 1 and lost == 0
        assert repeats == 1, "only the attempt the worker died in reaches the receiver twice (same webhook-id)"
    finally:
        counter.close()
