"""With real processes (Redis, two Celery workers, the console mail backend): a declared event reaches the
customers on the tariff once each, even when its fan-out task is delivered twice (SO-U3, SO-C5).

The test database is shared with the subprocesses, so this test commits.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from amiportal.notifications.models import Delivery, Notification
from tests.conftest import wait_for
from tests.han.test_relay_processes import processes, redis_url  # noqa: F401 (fixtures)
from tests.notifications.world import cpp_tariff, declare, plain_tariff

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.mark.objective("SO-U3")
@pytest.mark.objective("SO-C5")
def test_two_workers_fan_out_a_declared_event_once_and_mail_each_customer_once(alice, bob, peter, olga, processes):  # noqa: F811
    from amiportal.notifications.tasks import critical_peak_declared_task

    tariff = cpp_tariff(alice)
    plain_tariff(bob)
    processes.worker()
    processes.start(
        "worker2", "-m", "celery", "-A", "amiportal", "worker", "--pool", "solo", "--loglevel", "INFO", "--hostname", "second@test"
    )
    event = declare(tariff, timezone.localdate() + timedelta(days=1), olga)  # commits: the fan-out task goes to Redis
    critical_peak_declared_task.delay(event.pk)  # and again, as a redelivered message would

    def emailed():
        return Delivery.objects.filter(channel="email", state=Delivery.State.DELIVERED).count() == 1

    wait_for(emailed, timeout=90)
    assert list(Notification.objects.values_list("user__email", "period")) == [(alice.email, "declared")]
    assert sorted(Delivery.objects.values_list("channel", "state")) == [("email", "delivered"), ("inbox", "delivered")]
    logs = "".join((processes.tmp_path / name).read_text(errors="replace") for name in ("worker.log", "worker2.log"))
    assert logs.count(f"To: {alice.email}") == 1
    assert f"To: {bob.email}" not in logs and f"To: {peter.email}" not in logs
