"""Commissioning through the signed relay and a zigpy coordinator on the simulated radio (BF-HAN-1, BF-HAN-3)."""

import pytest
from django.core.exceptions import ValidationError

from amiportal.audit.models import AuditEntry
from han.install_codes import install_code_parse
from han.models import CoordinatorCommand, Device, DeviceState, DeviceType, JobKind, JobState
from han.services.commissioning import DeviceAlreadyCommissioned, device_commission, device_commission_retry, device_remove
from han.services.relay import report_record
from tests.han.conftest import install_code_for, opened_command
from tests.han.drive import events, run_coordinator

pytestmark = pytest.mark.django_db


def _commission(network, sim_device, actor, django_capture_on_commit_callbacks, code=None):
    parsed = install_code_parse(code=code or sim_device.install_code, eui64=sim_device.eui64)
    with django_capture_on_commit_callbacks(execute=True):
        return device_commission(
            network=network, parsed=parsed, device_type=DeviceType.IN_HOME_DISPLAY, label="Kitchen display", actor=actor
        )


def _apply(reports):
    for report in reports:
        report_record(report=report)


@pytest.mark.objective("SO-C13")
@pytest.mark.objective("BF-HAN-3")
def test_a_device_with_the_right_code_joins_is_interviewed_and_verified(
    alice_network, identity, captured, sim_device, ivan, django_capture_on_commit_callbacks
):
    device = _commission(alice_network, sim_device, ivan, django_capture_on_commit_callbacks)
    device.refresh_from_db()
    assert device.state == DeviceState.KEY_RELAYED
    envelopes = [envelope for _, envelope in captured]
    reports = run_coordinator(identity, envelopes, [sim_device], until=lambda r: "interviewed" in events(r))
    assert events(reports)[:4] == ["configured", "permitted", "joined", "interviewed"]
    _apply(reports)
    device.refresh_from_db()
    assert device.state == DeviceState.VERIFIED
    assert (device.manufacturer, device.model) == ("Acme", "IHD-9")
    assert device.interview["pan_id"] == alice_network.pan_id
    assert device.interview["endpoints"][0]["profile"] == 0x0109
    assert CoordinatorCommand.objects.get(device=device).state == JobState.DONE
    assert AuditEntry.objects.filter(action="han.device_verified", target=f"device:{device.uid}").exists()


def test_reports_arriving_out_of_order_never_move_a_device_backwards(
    alice_network, identity, captured, sim_device, ivan, django_capture_on_commit_callbacks
):
    device = _commission(alice_network, sim_device, ivan, django_capture_on_commit_callbacks)
    reports = run_coordinator(identity, [e for _, e in captured], [sim_device], until=lambda r: "interviewed" in events(r))
    _apply(reversed(reports))
    _apply(reports)
    device.refresh_from_db()
    assert device.state == DeviceState.VERIFIED


def test_a_wrong_install_code_means_no_join_and_a_clear_failure(
    alice_network, identity, captured, sim_device, ivan, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("han.commands.commission.PERMIT_SECONDS", 1)
    device = _commission(alice_network, sim_device, ivan, django_capture_on_commit_callbacks, code=install_code_for())
    reports = run_coordinator(identity, [e for _, e in captured], [sim_device], until=lambda r: "failed" in events(r))
    assert "joined" not in events(reports)
    _apply(reports)
    device.refresh_from_db()
    assert device.state == DeviceState.FAILED
    assert "did not join in time" in device.failure_reason

    captured.clear()
    with django_capture_on_commit_callbacks(execute=True):
        device_commission_retry(device=device, actor=ivan)
    assert device.jobs.count() == 2 and captured[0][1]["type"] == "permit_join"


def test_an_eui64_registered_at_another_premise_is_refused_with_the_reason(
    alice_network, bob, identity, captured, sim_device, ivan, django_capture_on_commit_callbacks
):
    from han.protocol import CoordinatorIdentity
    from han.services.networks import coordinator_register, han_network_create

    _commission(alice_network, sim_device, ivan, django_capture_on_commit_callbacks)
    other = CoordinatorIdentity.generate("gw-bob")
    with django_capture_on_commit_callbacks(execute=True):
        bob_network = han_network_create(
            premise=bob.customer_account.agreements.get().premise,
            coordinator=coordinator_register(
                name=other.name, box_public_key=other.box_public_hex, verify_public_key=other.verify_public_hex
            ),
        )
    with pytest.raises(ValidationError, match="registered at another premise"):
        _commission(bob_network, sim_device, ivan, django_capture_on_commit_callbacks)
    assert Device.objects.filter(eui64=sim_device.eui64).count() == 1


def test_commissioning_a_device_that_already_joined_does_nothing_and_says_so(
    alice_network, identity, captured, sim_device, ivan, django_capture_on_commit_callbacks
):
    device = _commission(alice_network, sim_device, ivan, django_capture_on_commit_callbacks)
    _apply(run_coordinator(identity, [e for _, e in captured], [sim_device], until=lambda r: "interviewed" in events(r)))
    jobs_before = CoordinatorCommand.objects.count()
    with pytest.raises(DeviceAlreadyCommissioned, match="already joined"):
        _commission(alice_network, sim_device, ivan, django_capture_on_commit_callbacks)
    assert CoordinatorCommand.objects.count() == jobs_before
    device.refresh_from_db()
    assert device.state == DeviceState.VERIFIED


@pytest.mark.objective("BF-HAN-3")
def test_removing_a_device_takes_it_off_the_network_and_shreds_its_key(
    alice_network, identity, captured, sim_device, alice, ivan, django_capture_on_commit_callbacks
):
    device = _commission(alice_network, sim_device, ivan, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        device_remove(device=device, actor=alice)
    device.refresh_from_db()
    assert device.state == DeviceState.DECOMMISSIONED and device.link_key_sealed == ""
    remove = captured[-1][1]
    assert remove["type"] == "remove" and opened_command(remove, identity).secret is None
    reports = run_coordinator(identity, [e for _, e in captured], [sim_device], until=lambda r: "removed" in events(r))
    _apply(reports)
    assert CoordinatorCommand.objects.get(device=device, kind=JobKind.REMOVE).state == JobState.DONE
    # The radio can be registered again (at any premise) once it has been removed.
    again = _commission(alice_network, sim_device, ivan, django_capture_on_commit_callbacks)
    assert again.pk != device.pk


def test_a_forged_report_changes_nothing(alice_network, identity, captured, sim_device, ivan, django_capture_on_commit_callbacks):
    from han.protocol import CoordinatorIdentity, report_build
    from han.services.head_end_keys import head_end_box_public_key_hex

    device = _commission(alice_network, sim_device, ivan, django_capture_on_commit_callbacks)
    impostor = CoordinatorIdentity(
        name=identity.name, box_key=CoordinatorIdentity.generate("x").box_key, sign_key=CoordinatorIdentity.generate("x").sign_key
    )
    job = device.jobs.get()
    forged = report_build(
        identity=impostor,
        event="interviewed",
        command_id=str(job.command_id),
        detail={"eui64": device.eui64, "pan_id": alice_network.pan_id},
        seq=1,
        head_end_box_public_hex=head_end_box_public_key_hex(),
    )
    assert report_record(report=forged) == "refused"
    device.refresh_from_db()
    assert device.state == DeviceState.KEY_RELAYED


@pytest.mark.objective("SO-U13")
def test_a_report_whose_detail_is_not_sealed_to_the_head_end_changes_nothing_and_is_audited(
    alice_network, identity, captured, sim_device, ivan, django_capture_on_commit_callbacks
):
    """Signed by the right coordinator, but sealed to another key (a misconfigured gateway): refused, not guessed at."""
    from han.protocol import CoordinatorIdentity, report_build

    device = _commission(alice_network, sim_device, ivan, django_capture_on_commit_callbacks)
    job = device.jobs.get()
    misdirected = report_build(
        identity=identity,
        event="interviewed",
        command_id=str(job.command_id),
        detail={"eui64": device.eui64, "pan_id": alice_network.pan_id},
        seq=1,
        head_end_box_public_hex=CoordinatorIdentity.generate("not-the-head-end").box_public_hex,
    )
    assert report_record(report=misdirected) == "refused"
    device.refresh_from_db()
    assert device.state == DeviceState.KEY_RELAYED
    refused = AuditEntry.objects.get(action="han.report_refused", target=f"coordinator:{identity.name}")
    assert "sealed part does not open" in refused.payload
