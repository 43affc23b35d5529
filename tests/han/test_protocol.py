"""The signed, sealed command path to coordinators (SO-C13, SO-C14, SO-U4, SO-U5)."""

import json
import time

import pytest

from han.coordinator.durable import CoordinatorState
from han.protocol import (
    CommandRejected,
    CoordinatorIdentity,
    ReplayGuard,
    command_build,
    command_open,
    report_build,
    report_detail_open,
    report_verify,
)
from han.services.head_end_keys import head_end_box_key, head_end_box_public_key_hex, head_end_public_key_hex, head_end_signing_key

LINK_KEY = bytes.fromhex("66b6900981e1ee3ca4206b6b861c02bb")


@pytest.fixture
def gateway():
    return CoordinatorIdentity.generate("gw-one")


def _command(gateway, **overrides):
    arguments = {
        "signing_key": head_end_signing_key(),
        "command_type": "permit_join",
        "command_id": "c0ffee00-0000-4000-8000-000000000001",
        "coordinator": gateway.name,
        "recipient_public_hex": gateway.box_public_hex,
        "body": {"eui64": "00:0d:6f:00:0a:bc:12:34"},
        "secret": LINK_KEY,
    } | overrides
    return command_build(**arguments)


def _open(envelope, gateway, guard=None, now=None):
    return command_open(
        envelope=envelope, head_end_public_hex=head_end_public_key_hex(), identity=gateway, replay_guard=guard or ReplayGuard(), now=now
    )


@pytest.mark.objective("SO-U5")
@pytest.mark.objective("SO-C14")
def test_the_key_is_sealed_to_the_coordinator_and_opens_only_there(gateway):
    envelope = _command(gateway)
    assert LINK_KEY.hex() not in str(envelope) and LINK_KEY not in str(envelope).encode()
    assert _open(envelope, gateway).secret == LINK_KEY
    stranger = CoordinatorIdentity(name=gateway.name, box_key=CoordinatorIdentity.generate("x").box_key, sign_key=gateway.sign_key)
    with pytest.raises(CommandRejected, match="does not open"):
        _open(envelope, stranger)


@pytest.mark.objective("SO-U4")
@pytest.mark.parametrize(
    "tamper",
    [
        lambda e: e.update(command_id="c0ffee00-0000-4000-8000-000000000009"),
        lambda e: e.update(type="remove"),
        lambda e: e.update(expires_at=e["expires_at"] + 3600),
        lambda e: e["sealed"].update(ct=e["sealed"]["ct"][:-4] + "AAA="),
        lambda e: e.pop("sig"),
    ],
)
def test_a_manipulated_command_is_refused(gateway, tamper):
    envelope = _command(gateway)
    tamper(envelope)
    with pytest.raises(CommandRejected):
        _open(envelope, gateway)


@pytest.mark.objective("SO-U4")
def test_a_command_signed_by_anyone_but_the_head_end_is_refused(gateway):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    with pytest.raises(CommandRejected, match="signature"):
        _open(_command(gateway, signing_key=Ed25519PrivateKey.generate()), gateway)


@pytest.mark.objective("SO-U4")
def test_a_command_for_another_coordinator_is_refused(gateway):
    other = CoordinatorIdentity.generate("gw-two")
    with pytest.raises(CommandRejected, match="addressed to 'gw-two'"):
        _open(_command(gateway, coordinator="gw-two", recipient_public_hex=other.box_public_hex), gateway)


@pytest.mark.objective("SO-C13")
def test_replays_and_expired_commands_are_refused(gateway, tmp_path):
    gateway.save(tmp_path / "gw-one.key")
    envelope = _command(gateway)
    guard = CoordinatorState.open(tmp_path, "gw-one")
    _open(envelope, gateway, guard)
    with pytest.raises(CommandRejected, match="replay"):
        _open(envelope, gateway, guard)
    guard.close()
    # The guard survives a restart of the coordinator: it is its durable state.
    with pytest.raises(CommandRejected, match="replay"):
        _open(envelope, gateway, CoordinatorState.open(tmp_path, "gw-one"))
    stale = _command(gateway, command_id="c0ffee00-0000-4000-8000-000000000002", ttl_seconds=10, now=time.time() - 60)
    with pytest.raises(CommandRejected, match="expired"):
        _open(stale, gateway, guard)


@pytest.mark.objective("SO-U1")
def test_a_command_body_travels_sealed_to_its_coordinator(gateway):
    envelope = _command(gateway, command_type="remove", secret=None)
    assert "body" not in envelope and "00:0d:6f:00:0a:bc:12:34" not in json.dumps(envelope)
    opened = _open(envelope, gateway)
    assert opened.body == {"eui64": "00:0d:6f:00:0a:bc:12:34"} and opened.secret is None


@pytest.mark.objective("SO-C13")
def test_coordinator_reports_are_signed_and_verified(gateway):
    report = _report(gateway)
    assert report_verify(report=report, verify_public_hex=gateway.verify_public_hex) is report
    report["seq"] = 2
    with pytest.raises(CommandRejected):
        report_verify(report=report, verify_public_hex=gateway.verify_public_hex)


def _report(gateway, detail=None):
    detail = detail or {"current_summ_delivered": 123456789, "instantaneous_demand": 4321}
    return report_build(
        identity=gateway, event="status_read", command_id="x", detail=detail, seq=1, head_end_box_public_hex=head_end_box_public_key_hex()
    )


@pytest.mark.objective("SO-U13")
def test_a_report_detail_is_sealed_to_the_head_end_and_opens_only_there(gateway):
    report = _report(gateway)
    assert "detail" not in report
    assert "123456789" not in json.dumps(report) and "current_summ_delivered" not in json.dumps(report)
    assert report_detail_open(report=report, head_end_box_key=head_end_box_key())["current_summ_delivered"] == 123456789
    with pytest.raises(CommandRejected, match="does not open"):
        report_detail_open(report=report, head_end_box_key=gateway.box_key)
    # The detail is bound to its header: moved under another coordinator's name or number, it does not open.
    with pytest.raises(CommandRejected, match="does not open"):
        report_detail_open(report={**report, "seq": 2}, head_end_box_key=head_end_box_key())


def test_key_files_are_private_and_reload_to_the_same_identity(gateway, tmp_path):
    path = tmp_path / "gw.key"
    gateway.save(path)
    assert path.stat().st_mode & 0o077 == 0
    again = CoordinatorIdentity.load_or_create(path, "gw-one")
    assert again.box_public_hex == gateway.box_public_hex and again.verify_public_hex == gateway.verify_public_hex
    with pytest.raises(ValueError, match="not 'gw-two'"):
        CoordinatorIdentity.load_or_create(path, "gw-two")


def test_a_report_batch_shows_the_broker_only_its_size_in_celerys_argsrepr_header(gateway, monkeypatch):
    from han import broker

    report = report_build(
        identity=gateway,
        event="interviewed",
        command_id="c0ffee00-0000-4000-8000-000000000001",
        detail={"eui64": "00:0d:6f:00:0a:bc:12:34"},
        seq=7,
        head_end_box_public_hex=head_end_box_public_key_hex(),
    )
    sent = {}
    monkeypatch.setattr(broker.celery_app, "send_task", lambda name, args, **options: sent.update(name=name, args=args, options=options))
    broker.reports_send([report, report])
    # The headers Celery builds from what the sender gave it (``send_task`` builds them the same way).
    message = broker.celery_app.amqp.as_task_v2("task-id", sent["name"], args=sent["args"], argsrepr=sent["options"].get("argsrepr"))
    assert sent["args"] == [[report, report]]
    assert message.headers["argsrepr"] == "[<2 signed reports>]"
    assert report["command_id"] not in str(message.headers)
