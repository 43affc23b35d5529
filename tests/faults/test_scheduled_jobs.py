"""Scheduled jobs when processes die: a worker killed mid-job, and beat killed and restarted (SO-U3).

Real processes: a Celery worker and beat (the project's schedule with intervals of a few
seconds, ``beat_fast.py``) on a redis-server of the test's own. The jobs are consent expiry
(each consent ends once: one audit entry, one ``authorization.expired`` webhook) and the daily
similar-homes ranking (each day ranked once). The test database is shared with the processes,
so these tests commit.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from amiportal.audit.models import AuditEntry
from billing.models import SimilarHomesRank, SimilarHomesRun
from billing.services.ingest import local_day_bounds
from billing.services.similar_homes import similar_homes_due_day
from tests.billing.helpers import ingest, readings
from tests.conftest import wait_for
from tests.factories import MeterFactory, PremiseFactory
from tests.faults.processes import elapsed_since, figures
from tests.faults.stall import locked, waiting_backend
from tests.faults.webhook_counter import WebhookCounter
from tests.thirdparty import world
from thirdparty.models import Consent, ConsentStatus, WebhookEvent
from thirdparty.services.webhooks import webhook_configure

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

CONSENTS = 10
HOMES = 5


@pytest.fixture
def counter():
    receiver = WebhookCounter()
    yield receiver
    receiver.close()


def _consents(trent, alice, counter, *, expiring_at) -> list[Consent]:
    """CONSENTS consents of Alice, one per application, each with a webhook; ``expiring_at(n)`` ends the n-th."""
    consents = []
    for n in range(CONSENTS):
        application = world.register(trent, name=f"Scheduled app {n}")
        webhook_configure(application=application, url=counter.url, actor=trent)
        application.refresh_from_db()
        consent = world.grant(application, alice)
        Consent.objects.filter(pk=consent.pk).update(granted_at=timezone.now() - timedelta(days=2), expires_at=expiring_at(n))
        consents.append(consent)
    return consents


def _expiry_counts(consents: list[Consent], counter: WebhookCounter) -> dict[str, int]:
    """What was lost and what happened twice, by the three effects of an expiry."""
    targets = [f"consent:{consent.pk}" for consent in consents]
    audited = Counter(AuditEntry.objects.filter(action="thirdparty.consent_expired", target__in=targets).values_list("target", flat=True))
    events = Counter(WebhookEvent.objects.filter(event="authorization.expired", consent__in=consents).values_list("consent_id", flat=True))
    still_active = Consent.objects.filter(pk__in=[c.pk for c in consents], status=ConsentStatus.ACTIVE).count()
    return {
        "lost": still_active + sum(1 for c in consents if events[c.pk] == 0),
        "duplicated": sum(n - 1 for n in audited.values() if n > 1) + sum(n - 1 for n in events.values() if n > 1),
        "webhooks_lost": len(events) - len(counter.ids("authorization.expired")),
        "webhooks_repeated": counter.repeats("authorization.expired"),
    }


def _all_expired_and_sent(consents: list[Consent], counter: WebhookCounter) -> bool:
    ended = not Consent.objects.filter(pk__in=[c.pk for c in consents], status=ConsentStatus.ACTIVE).exists()
    return ended and len(counter.ids("authorization.expired")) == len(consents)


@pytest.mark.objective("SO-U3")
def test_a_worker_killed_mid_expiry_leaves_every_consent_expired_exactly_once_after_restart(alice, trent, counter, fault_processes):
    consents = _consents(trent, alice, counter, expiring_at=lambda n: timezone.now() - timedelta(minutes=1))
    fault_processes.env["AMI_CELERY_VISIBILITY_TIMEOUT"] = "10"  # a task a dead worker held comes back after 10 s
    order = list(Consent.objects.filter(pk__in=[c.pk for c in consents]).values_list("pk", flat=True))
    middle = order[CONSENTS // 2]
    with locked("SELECT 1 FROM thirdparty_consent WHERE id = %s FOR UPDATE", [middle]) as lock:
        fault_processes.worker()
        fault_processes.beat("thirdparty-consents-expire", every_seconds=3)
        waiting_backend(lock)  # the job has expired the consents before this one and waits for it
        done_before_kill = Consent.objects.filter(pk__in=order, status=ConsentStatus.EXPIRED).count()
        fault_processes.kill("worker")
    killed_at = time.monotonic()
    assert 0 < done_before_kill < CONSENTS, "the worker was killed mid-job"

    fault_processes.worker()
    wait_for(lambda: _all_expired_and_sent(consents, counter), timeout=60, interval=0.5)
    recovered_in = elapsed_since(killed_at)
    time.sleep(3)  # more beat runs: nothing happens twice
    counts = _expiry_counts(consents, counter)
    figures("worker killed mid consent expiry", consents=CONSENTS, expired_before_kill=done_before_kill, **counts, recovered_s=recovered_in)
    assert counts == {"lost": 0, "duplicated": 0, "webhooks_lost": 0, "webhooks_repeated": 0}


def _homes_with_a_month_of_use(as_of) -> None:
    for n in range(HOMES):
        premise = PremiseFactory(timezone="America/Chicago")
        meter = MeterFactory(premise=premise)
        start, _ = local_day_bounds(as_of - timedelta(days=29), premise.timezone)
        _, end = local_day_bounds(as_of, premise.timezone)
        hours = int((end - start).total_seconds() // 3600)
        ingest(readings(meter.serial_number, start, hours=hours, seconds=3600, value=lambda moment, n=n: 100 * (n + 1)))


@pytest.mark.objective("SO-U3")
def test_a_worker_killed_mid_ranking_leaves_the_day_unclaimed_and_it_is_ranked_once_after_restart(fault_processes):
    as_of = similar_homes_due_day()
    _homes_with_a_month_of_use(as_of)
    with locked("LOCK TABLE billing_similarhomesrank IN EXCLUSIVE MODE") as lock:
        fault_processes.worker()
        fault_processes.beat("billing-similar-homes-refresh", every_seconds=3)
        waiting_backend(lock)  # the job has claimed the day (uncommitted) and waits to write the ranks
        fault_processes.kill("worker")
    killed_at = time.monotonic()
    assert not SimilarHomesRun.objects.exists(), "the claim died with the worker's transaction"

    fault_processes.worker()
    wait_for(lambda: SimilarHomesRun.objects.filter(as_of=as_of, homes=HOMES).exists(), timeout=60, interval=0.5)
    recovered_in = elapsed_since(killed_at)
    time.sleep(3)  # more beat runs: the day is claimed, nothing is ranked twice
    ranks = SimilarHomesRank.objects.filter(as_of=as_of).count()
    runs = SimilarHomesRun.objects.filter(as_of=as_of).count()
    lost, duplicated = HOMES - ranks, ranks - HOMES
    figures("worker killed mid similar-homes ranking", homes=HOMES, lost=lost, duplicated=duplicated, runs=runs, recovered_s=recovered_in)
    assert (ranks, runs) == (HOMES, 1)


@pytest.mark.objective("SO-U3")
def test_beat_killed_and_restarted_loses_no_expiry_and_runs_none_twice(alice, trent, counter, fault_processes):
    start = timezone.now()
    consents = _consents(trent, alice, counter, expiring_at=lambda n: start + timedelta(seconds=8 + 2 * n))  # due 8 s..26 s
    fault_processes.worker()
    fault_processes.beat("thirdparty-consents-expire", "billing-similar-homes-refresh", every_seconds=2)
    wait_for(lambda: Consent.objects.filter(pk__in=[c.pk for c in consents], status=ConsentStatus.EXPIRED).exists(), timeout=60)
    fault_processes.kill("beat")
    down_at = time.monotonic()
    time.sleep(8)  # consents come due while beat is down
    fault_processes.beat("thirdparty-consents-expire", "billing-similar-homes-refresh", every_seconds=2)  # the same schedule file
    restarted_at = time.monotonic()
    wait_for(lambda: _all_expired_and_sent(consents, counter), timeout=60, interval=0.5)
    recovered_in = elapsed_since(restarted_at)
    time.sleep(4)
    counts = _expiry_counts(consents, counter)
    late = max((c.ended_at - c.expires_at).total_seconds() for c in Consent.objects.filter(pk__in=[c.pk for c in consents]))
    runs = SimilarHomesRun.objects.filter(as_of=similar_homes_due_day()).count()
    figures(
        "beat killed 8 s",
        consents=CONSENTS,
        **counts,
        similar_homes_runs=runs,
        all_done_after_restart_s=recovered_in,
        down_s=round(restarted_at - down_at, 1),
        latest_expiry_late_s=round(late, 1),
    )
    assert counts == {"lost": 0, "duplicated": 0, "webhooks_lost": 0, "webhooks_repeated": 0}
    assert runs == 1
