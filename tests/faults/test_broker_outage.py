"""The broker (Redis) unreachable for 30 s while the web takes requests that enqueue work (SO-U3).

Real processes: gunicorn, a Celery worker and beat, on a redis-server of the test's own,
which is killed (losing what it held) and started again 30 s later. The test database is
shared with the processes, so this test commits.
"""

from __future__ import annotations

import time

import pytest
import requests

from tests.conftest import signed_in, wait_for
from tests.faults.processes import elapsed_since, figures
from tests.faults.webhook_counter import WebhookCounter
from tests.thirdparty import world
from thirdparty.models import Consent, ConsentStatus, WebhookEvent
from thirdparty.services.webhooks import webhook_configure

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

CONSENTS = 10
OUTAGE_SECONDS = 30


def _browser_of(user, base_url: str) -> requests.Session:
    """A requests session carrying the user's signed-in session cookie and a CSRF cookie, as a browser holds them."""
    client = signed_in(user)
    session = requests.Session()
    session.cookies.set("sessionid", client.cookies["sessionid"].value, domain="127.0.0.1")
    session.cookies.set("csrftoken", client.csrf_token(), domain="127.0.0.1")
    session.base_url = base_url  # type: ignore[attr-defined]
    return session


@pytest.mark.objective("SO-U3")
def test_revocations_made_while_the_broker_is_down_are_answered_and_their_webhooks_arrive_once_after(
    alice, trent, fault_processes, own_broker
):
    counter = WebhookCounter()
    fault_processes.env["AMI_WEBHOOK_LEASE_SECONDS"] = "15"
    try:
        consents = []
        for n in range(CONSENTS):
            application = world.register(trent, name=f"Outage app {n}")
            webhook_configure(application=application, url=counter.url, actor=trent)
            application.refresh_from_db()
            consents.append(world.grant(application, alice))
        fault_processes.worker()
        fault_processes.beat("thirdparty-webhook-leases-sweep", every_seconds=3)
        base_url = fault_processes.web(workers=2)
        wait_for(lambda: len(counter.ids("authorization.created")) == CONSENTS, timeout=60)

        browser = _browser_of(alice, base_url)
        own_broker.stop()
        outage_began = time.monotonic()
        answers = []
        for consent in consents:
            response = browser.post(
                f"{base_url}/customer/access/{consent.pk}/revoke/",
                data={"csrfmiddlewaretoken": browser.cookies["csrftoken"], "confirm": "yes"},
                allow_redirects=False,
                timeout=20,
            )
            answers.append(response.status_code)
        answered_within = elapsed_since(outage_began)
        assert answers == [302] * CONSENTS, "every revocation is answered while the broker is down"
        assert Consent.objects.filter(status=ConsentStatus.REVOKED).count() == CONSENTS
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - outage_began)))

        own_broker.start()
        broker_back = time.monotonic()
        revoked = {str(pk) for pk in WebhookEvent.objects.filter(event="authorization.revoked").values_list("pk", flat=True)}
        assert len(revoked) == CONSENTS
        wait_for(lambda: counter.ids("authorization.revoked") == revoked, timeout=60, interval=0.5)
        recovered_in = elapsed_since(broker_back)
        time.sleep(3)  # another sweep or two: nothing is sent again
        lost = len(revoked - counter.ids("authorization.revoked"))
        duplicated = counter.repeats("authorization.revoked") + counter.repeats("authorization.created")
        figures(
            "broker down 30 s",
            requests=CONSENTS,
            answered_ok=answers.count(302),
            requests_took_s=answered_within,
            events=CONSENTS,
            lost=lost,
            duplicated=duplicated,
            delivered_after_broker_back_s=recovered_in,
        )
        assert (lost, duplicated) == (0, 0)
        assert set(WebhookEvent.objects.filter(pk__in=revoked).values_list("state", flat=True)) == {WebhookEvent.State.DELIVERED}
    finally:
        counter.close()
