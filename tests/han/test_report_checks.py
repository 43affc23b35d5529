"""Signed reports must also be new, fresh and within their command's life (SO-U4, SO-C7, SO-U8).

A valid signature says who wrote a report, not when or how often it was sent: a day-old heartbeat
must not show a dead gateway online, and a replayed or outlived report must not move a device.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from amiportal.audit.models import AuditEntry
from amiportal.premises.selectors import current_agreement
from amiportal.premises.services import STAFF_ACCESS_SESSION_KEY
from han.install_codes import install_code_parse
from han.models import Coordinator, CoordinatorCommand, DeviceState, DeviceType
from han.protocol import ReportSequence, canonical, report_build
from han.selectors import coordinator_is_online
from han.services.commissioning import device_commission
from han.services.head_end_keys import head_end_box_public_key_hex
from han.services.relay import report_record, reports_record
from han.services.report_checks import SEQUENCE_WINDOW, ReportWindow
from tests.conftest import signed_in
from tests.han.conftest import install_code_for, random_eui64

# --- the rules on their own -------------------------------------------------------------------------


@pytest.mark.objective("SO-U4")
def test_a_report_number_counts_once_and_a_late_one_never_seen_still_counts():
    window = ReportWindow()
    assert [window.accept(seq) for seq in (1, 2, 5, 4, 3)] == [True, True, True, True, True]
    assert [window.accept(seq) for seq in (5, 3, 1)] == [False, False, False]
    assert window.replayed == 3 and window.replayed_numbers == [5, 3, 1]
    assert window.accept(5 + SEQUENCE_WINDOW) and not window.accept(5)  # too far below the highest to tell: refused
    again = ReportWindow.from_stored(high=window.high, window=window.stored_window())
    assert not again.accept(5 + SEQUENCE_WINDOW) and again.accept(4 + SEQUENCE_WINDOW)  # seen / never seen, after storing


@pytest.mark.objective("SO-U4")
def test_a_restarted_coordinator_continues_its_report_numbers_from_its_file(tmp_path):
    path = tmp_path / "gw.seq"
    first = ReportSequence(path, block=4)
    used = [first.next() for _ in range(6)]
    assert used == [1, 2, 3, 4, 5, 6]
    assert path.stat().st_mode & 0o077 == 0
    restarted = ReportSequence(path, block=4)  # the process died after using 6 of the 8 it had reserved
    assert restarted.next() > max(used)
    assert ReportSequence().next() > 10**15  # without a file: from the clock in microseconds, so never from 1 again


# --- through the head-end -----------------------------------------------------------------------------


def _report(identity, event, *, seq, command_id=None, detail=None, age_seconds=0):
    return report_build(
        identity=identity,
        event=event,
        command_id=command_id,
        detail=detail or {},
        seq=seq,
        now=time.time() - age_seconds,
        head_end_box_public_hex=head_end_box_public_key_hex(),
    )


def _coordinator(network) -> Coordinator:
    return Coordinator.objects.get(pk=network.coordinator_id)


@pytest.mark.django_db
@pytest.mark.objective("SO-C7")
def test_a_stale_heartbeat_is_not_proof_of_life_and_is_counted(alice_network, identity):
    day_old = _report(identity, "online", seq=1, age_seconds=24 * 3600)
    assert report_record(report=day_old) == "stale"
    coordinator = _coordinator(alice_network)
    assert coordinator.last_seen_at is None and not coordinator_is_online(coordinator)
    assert coordinator.stale_heartbeats == 1

    assert report_record(report=_report(identity, "online", seq=2, age_seconds=61)) == "stale"
    fresh = _report(identity, "online", seq=3, age_seconds=20)
    assert report_record(report=fresh) == "online"
    coordinator = _coordinator(alice_network)
    assert coordinator.stale_heartbeats == 2
    # Its own signed time, not the time the head-end got it.
    assert coordinator.last_seen_at.timestamp() == fresh["at"] and coordinator_is_online(coordinator)

    # An older (still fresh) heartbeat that arrives later never moves last_seen back.
    assert report_record(report=_report(identity, "online", seq=4, age_seconds=50)) == "online"
    assert _coordinator(alice_network).last_seen_at.timestamp() == fresh["at"]


@pytest.mark.django_db
@pytest.mark.objective("SO-C7")
def test_a_heartbeat_dated_in_the_future_is_refused(alice_network, identity):
    assert report_record(report=_report(identity, "online", seq=1, age_seconds=-3600)) == "refused"
    assert _coordinator(alice_network).last_seen_at is None
    refusal = AuditEntry.objects.get(action="han.report_refused")
    assert "future" in json.loads(refusal.payload)["reason"]


@pytest.mark.django_db
@pytest.mark.objective("SO-U4")
def test_a_report_without_a_number_is_refused(alice_network, identity):
    unnumbered = {k: v for k, v in _report(identity, "online", seq=1).items() if k not in ("seq", "sig")}
    unnumbered["sig"] = base64.b64encode(identity.sign_key.sign(canonical(unnumbered))).decode()  # signed, but not numbered
    assert report_record(report=unnumbered) == "refused"
    assert _coordinator(alice_network).last_seen_at is None


@pytest.fixture
def relayed_device(alice_network, ivan, captured, django_capture_on_commit_callbacks):
    """A device whose permit_join was relayed to gw-alice: the next good reports would verify it."""
    with django_capture_on_commit_callbacks(execute=True):
        device = device_commission(
            network=alice_network,
            parsed=install_code_parse(code=install_code_for(), eui64=random_eui64()),
            device_type=DeviceType.IN_HOME_DISPLAY,
            actor=ivan,
        )
    device.refresh_from_db()
    assert device.state == DeviceState.KEY_RELAYED
    return device


def _interviewed(identity, device, network, *, seq, age_seconds=0):
    job = device.jobs.get()
    detail = {"eui64": device.eui64, "nwk": 0x1001, "pan_id": network.pan_id, "endpoints": [], "model": "IHD"}
    return _report(identity, "interviewed", seq=seq, command_id=str(job.command_id), detail=detail, age_seconds=age_seconds)


@pytest.mark.django_db
@pytest.mark.objective("SO-U4")
@pytest.mark.objective("SO-U8")
def test_a_replayed_report_is_refused_counted_and_audited(alice_network, identity, relayed_device):
    permitted = _report(identity, "permitted", seq=7, command_id=str(relayed_device.jobs.get().command_id))
    assert report_record(report=permitted) == "permitted"
    relayed_device.refresh_from_db()
    assert relayed_device.state == DeviceState.PERMITTED
    # The same signed report again (a replay through the broker), twice in one batch: refused, counted and audited.
    assert reports_record(reports=[permitted, permitted]) == ["replayed", "replayed"]
    coordinator = _coordinator(alice_network)
    assert coordinator.replayed_reports == 2 and coordinator.report_seq_high == 7
    entry = AuditEntry.objects.get(action="han.reports_replayed")
    assert json.loads(entry.payload) == {"count": 2, "sequence_numbers": [7, 7]}


@pytest.mark.django_db
@pytest.mark.objective("SO-U4")
def test_a_replayed_interview_cannot_verify_a_device(alice_network, identity, relayed_device):
    interview = _interviewed(identity, relayed_device, alice_network, seq=3)
    # The coordinator's number 3 was already used (say, for a heartbeat the head-end applied).
    assert report_record(report=_report(identity, "online", seq=3)) == "online"
    assert report_record(report=interview) == "replayed"
    relayed_device.refresh_from_db()
    assert relayed_device.state == DeviceState.KEY_RELAYED


@pytest.mark.django_db
@pytest.mark.objective("SO-U4")
def test_a_report_older_than_its_commands_lifetime_cannot_change_the_device(alice_network, identity, relayed_device):
    old = _interviewed(identity, relayed_device, alice_network, seq=1, age_seconds=25 * 3600)
    assert report_record(report=old) == "late"
    relayed_device.refresh_from_db()
    assert relayed_device.state == DeviceState.KEY_RELAYED
    assert _coordinator(alice_network).late_reports == 1
    refusal = json.loads(AuditEntry.objects.get(action="han.report_refused").payload)
    assert refusal["reason"] == "report outlived its command" and refusal["seq"] == 1

    # Signed after the command expired (its envelope went out more than a day ago): late too.
    CoordinatorCommand.objects.filter(device=relayed_device).update(expires_at=timezone.now() - timedelta(minutes=5))
    assert report_record(report=_interviewed(identity, relayed_device, alice_network, seq=2)) == "late"
    relayed_device.refresh_from_db()
    assert relayed_device.state == DeviceState.KEY_RELAYED

    # Within the lifetime, the same report verifies the device: the refusals above were the rule, not a broken path.
    CoordinatorCommand.objects.filter(device=relayed_device).update(expires_at=timezone.now() + timedelta(hours=1))
    assert report_record(report=_interviewed(identity, relayed_device, alice_network, seq=4)) == "verified"


@pytest.mark.django_db
def test_a_relayed_command_records_when_its_envelope_expires(relayed_device, captured):
    job = relayed_device.jobs.get()
    (envelope,) = [e for _, e in captured if e["command_id"] == str(job.command_id)]
    assert job.expires_at.timestamp() == envelope["expires_at"]


@pytest.mark.django_db
@pytest.mark.objective("SO-C7")
def test_the_operator_network_page_shows_the_refused_report_counts(alice_network, identity, olga):
    report_record(report=_report(identity, "online", seq=1, age_seconds=3600))
    report_record(report=_report(identity, "online", seq=2))
    report_record(report=_report(identity, "online", seq=2))
    client = signed_in(olga)
    session = client.session  # the reason gate opened for the premise's customer, as after the reason form
    session[STAFF_ACCESS_SESSION_KEY] = {str(current_agreement(premise=alice_network.premise).account_id): 4102444800.0}
    session.save()
    page = client.get(reverse("han:operator_network", args=[alice_network.pk])).content.decode()
    assert "1 stale heartbeat" in page and "1 replayed report" in page and "0 late reports" in page


@pytest.mark.django_db
def test_a_rekeyed_gateway_numbers_its_reports_afresh(alice_network, identity):
    from han.protocol import CoordinatorIdentity
    from han.services.networks import coordinator_register

    assert report_record(report=_report(identity, "online", seq=500)) == "online"
    rekeyed = CoordinatorIdentity.generate(identity.name)
    coordinator_register(name=identity.name, box_public_key=rekeyed.box_public_hex, verify_public_key=rekeyed.verify_public_hex)
    assert report_record(report=_report(rekeyed, "online", seq=1)) == "online"
    assert report_record(report=_report(identity, "online", seq=501)) == "refused"  # the old key no longer counts
    assert _coordinator(alice_network).report_seq_high == 1


@pytest.mark.django_db
def test_one_batch_from_several_gateways_updates_each_of_them_by_its_own_reports(alice_network, identity):
    from han.protocol import CoordinatorIdentity
    from han.services.networks import coordinator_register

    other = CoordinatorIdentity.generate("gw-other")
    coordinator_register(name=other.name, box_public_key=other.box_public_hex, verify_public_key=other.verify_public_hex)
    fresh = _report(identity, "online", seq=10, age_seconds=5)
    outcomes = reports_record(
        reports=[
            fresh,
            _report(other, "online", seq=3, age_seconds=600),
            _report(other, "online", seq=3),
            _report(identity, "online", seq=9, age_seconds=30),  # late, never seen: counts, but is older than seq 10
        ]
    )
    assert outcomes == ["online", "stale", "replayed", "online"]
    alice_gateway, other_gateway = _coordinator(alice_network), Coordinator.objects.get(name="gw-other")
    assert (alice_gateway.report_seq_high, alice_gateway.stale_heartbeats, alice_gateway.replayed_reports) == (10, 0, 0)
    assert alice_gateway.last_seen_at.timestamp() == fresh["at"]
    assert (other_gateway.report_seq_high, other_gateway.stale_heartbeats, other_gateway.replayed_reports) == (3, 1, 1)
    assert other_gateway.last_seen_at is None
