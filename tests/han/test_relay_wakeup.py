"""One relay task for a burst of commands, and nothing lost when a wake-up is (BF-HAN-1)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from han.install_codes import install_code_parse
from han.models import CoordinatorCommand, DeviceType, JobKind, JobState, RelayWakeup
from han.services.commissioning import device_commission
from han.services.relay_wakeup import relay_pending
from han.services.sweeper import han_commands_sweep
from tests.han.conftest import install_code_for, random_eui64

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(alice_network, monkeypatch):
    """Relay tasks handed to the broker, recorded and not run (``alice_network`` is configured first)."""
    calls: list[tuple] = []
    monkeypatch.setattr("han.tasks.han_relay_pending_task.delay", lambda *args: calls.append(args))
    return calls


def _submit(network, actor, on_commit):
    with on_commit(execute=True):
        return device_commission(
            network=network,
            parsed=install_code_parse(code=install_code_for(), eui64=random_eui64()),
            device_type=DeviceType.IN_HOME_DISPLAY,
            actor=actor,
        )


def _commission_states():
    return list(CoordinatorCommand.objects.filter(kind=JobKind.COMMISSION).order_by("pk").values_list("state", flat=True))


def test_a_burst_of_submissions_sends_one_task_and_its_runner_relays_them_all(
    alice_network, ivan, sent, captured, django_capture_on_commit_callbacks
):
    for _ in range(3):
        _submit(alice_network, ivan, django_capture_on_commit_callbacks)
    assert sent == [()]  # three commands committed, one runner asked for
    assert _commission_states() == [JobState.PENDING] * 3

    assert relay_pending() == "1 passes"  # the first command's claim took the other two along
    assert _commission_states() == [JobState.RELAYED] * 3
    assert len([name for name, _ in captured if name == alice_network.coordinator.name]) >= 3

    _submit(alice_network, ivan, django_capture_on_commit_callbacks)
    assert sent == [(), ()]  # the runner cleared the wake-up before it looked: the next command asks again


def test_a_wake_up_whose_task_was_lost_counts_as_lost_after_the_hand_off_deadline(
    alice_network, ivan, sent, settings, django_capture_on_commit_callbacks
):
    _submit(alice_network, ivan, django_capture_on_commit_callbacks)
    _submit(alice_network, ivan, django_capture_on_commit_callbacks)
    assert sent == [()]
    # The task never ran (the broker lost it): once the hand-off deadline has passed, the next command asks again...
    lost_at = timezone.now() - timedelta(seconds=settings.AMI_HAN_RELAY_LEASE_SECONDS + 1)
    RelayWakeup.objects.update(requested_at=lost_at)
    _submit(alice_network, ivan, django_capture_on_commit_callbacks)
    assert sent == [(), ()]
    # ...and the sweeper hands out the commands whose hand-off lapsed, whatever the wake-up row says.
    CoordinatorCommand.objects.filter(state=JobState.PENDING).update(lease_expires_at=lost_at)
    with django_capture_on_commit_callbacks(execute=True):
        counts = han_commands_sweep()
    assert counts["returned"] + counts["stranded"] >= 1
    assert len(sent) == 3
