"""Registering a production gateway from the command line: ``manage.py han_register_coordinator``."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from amiportal.audit.models import AuditEntry
from han.models import Coordinator, CoordinatorCommand, Device, HanNetwork, JobKind
from han.protocol import CoordinatorIdentity
from han.services.keys import link_key_seal

pytestmark = pytest.mark.django_db


def _public_file(tmp_path, identity: CoordinatorIdentity, **extra) -> str:
    path = tmp_path / f"{identity.name}.pub.json"
    data = {"name": identity.name, "box_public_key": identity.box_public_hex, "verify_public_key": identity.verify_public_hex, **extra}
    path.write_text(json.dumps(data))
    return str(path)


def _register(*args: str, stdin: str | None = None) -> str:
    out = io.StringIO()
    kwargs = {"stdout": out}
    if stdin is not None:
        kwargs["stdin"] = io.StringIO(stdin)
    call_command("han_register_coordinator", *args, **kwargs)
    return out.getvalue()


@pytest.fixture
def gateway():
    return CoordinatorIdentity.generate("gw-field-1")


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    def run(*args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return _register(*args, **kwargs)

    return run


def test_a_gateway_is_registered_from_its_public_keys_and_gets_the_premises_han(
    alice_premise, gateway, captured, olga, tmp_path, on_commit
):
    out = on_commit(
        "--name", gateway.name, "--premise", alice_premise.service_point_id, "--public-keys", _public_file(tmp_path, gateway),
        "--operator", olga.email,
    )  # fmt: skip

    coordinator = Coordinator.objects.get(name=gateway.name)
    assert (coordinator.box_public_key, coordinator.verify_public_key) == (gateway.box_public_hex, gateway.verify_public_hex)
    assert coordinator.radio_type == "ezsp"
    network = HanNetwork.objects.get(premise=alice_premise)
    assert network.coordinator == coordinator
    # The network key went out sealed to this gateway, on its own queue.
    assert [(name, envelope["type"]) for name, envelope in captured] == [(gateway.name, "network_configure")]
    registered = AuditEntry.objects.get(action="han.coordinator_registered", target=f"coordinator:{gateway.name}")
    assert registered.actor_id == olga.pk
    created = AuditEntry.objects.get(action="han.network_created", target=f"premise:{alice_premise.pk}")
    assert json.loads(created.payload)["pan_id"] == f"{network.pan_id:04X}"  # under its own name (the secret rule reads words)
    assert "Registered coordinator gw-field-1" in out and "AMI_HAN_HEAD_END_PUBLIC_KEY=" in out


def test_running_it_again_with_the_same_keys_changes_nothing(alice_premise, gateway, captured, tmp_path, on_commit):
    args = ("--name", gateway.name, "--premise", alice_premise.service_point_id, "--public-keys", _public_file(tmp_path, gateway))
    on_commit(*args)
    entries, jobs = AuditEntry.objects.count(), CoordinatorCommand.objects.count()

    out = on_commit(*args)

    assert "nothing changed" in out
    assert (AuditEntry.objects.count(), CoordinatorCommand.objects.count()) == (entries, jobs)
    assert len(captured) == 1


def test_leaving_out_the_radio_keeps_the_registered_one(alice_premise, gateway, captured, tmp_path, on_commit):
    args = ("--name", gateway.name, "--premise", alice_premise.service_point_id, "--public-keys", _public_file(tmp_path, gateway))
    on_commit(*args, "--radio", "deconz")
    entries = AuditEntry.objects.count()

    assert "nothing changed" in on_commit(*args)
    assert Coordinator.objects.get(name=gateway.name).radio_type == "deconz"
    assert AuditEntry.objects.count() == entries


def test_the_keys_can_come_from_stdin_or_flags(alice_premise, bob, gateway, captured, on_commit):
    document = json.dumps({"box_public_key": gateway.box_public_hex, "verify_public_key": gateway.verify_public_hex})
    on_commit("--name", gateway.name, "--premise", alice_premise.service_point_id, "--public-keys", "-", stdin=document)
    assert Coordinator.objects.filter(name=gateway.name).exists()

    other = CoordinatorIdentity.generate("gw-field-2")
    bob_premise = bob.customer_account.agreements.get().premise
    on_commit(
        "--name", other.name, "--premise", bob_premise.service_point_id, "--radio", "znp",
        "--box-public-key", other.box_public_hex.upper(), "--verify-public-key", other.verify_public_hex,
    )  # fmt: skip
    assert HanNetwork.objects.get(premise=bob_premise).coordinator.radio_type == "znp"


def test_different_keys_for_a_registered_name_are_refused_unless_replace(alice_premise, gateway, captured, tmp_path, on_commit):
    on_commit("--name", gateway.name, "--premise", alice_premise.service_point_id, "--public-keys", _public_file(tmp_path, gateway))
    rekeyed = CoordinatorIdentity.generate(gateway.name)
    args = ("--name", gateway.name, "--premise", alice_premise.service_point_id, "--public-keys", _public_file(tmp_path, rekeyed))

    with pytest.raises(CommandError, match="different public keys.*--replace"):
        on_commit(*args)
    assert Coordinator.objects.get(name=gateway.name).box_public_key == gateway.box_public_hex

    on_commit(*args, "--replace")
    coordinator = Coordinator.objects.get(name=gateway.name)
    assert (coordinator.box_public_key, coordinator.verify_public_key) == (rekeyed.box_public_hex, rekeyed.verify_public_hex)
    assert AuditEntry.objects.filter(action="han.coordinator_rekeyed", target=f"coordinator:{gateway.name}").count() == 1


def test_a_new_gateway_for_a_served_premise_needs_replace_and_then_gets_the_escrowed_keys(
    alice_premise, gateway, captured, tmp_path, on_commit
):
    on_commit("--name", gateway.name, "--premise", alice_premise.service_point_id, "--public-keys", _public_file(tmp_path, gateway))
    network = HanNetwork.objects.get(premise=alice_premise)
    device = Device(network=network, eui64="00:0d:6f:00:00:00:12:34", device_type="ihd", state="verified")
    device.link_key_sealed = link_key_seal(device=device, link_key=b"\x11" * 16)
    device.save()
    spare = CoordinatorIdentity.generate("gw-field-spare")
    args = ("--name", spare.name, "--premise", alice_premise.service_point_id, "--public-keys", _public_file(tmp_path, spare))

    with pytest.raises(CommandError, match="served by coordinator gw-field-1.*--replace"):
        on_commit(*args)
    assert HanNetwork.objects.get(premise=alice_premise).coordinator.name == gateway.name

    on_commit(*args, "--replace")
    network.refresh_from_db()
    assert network.coordinator.name == spare.name
    assert CoordinatorCommand.objects.filter(coordinator=network.coordinator, kind=JobKind.RESTORE, device=device).count() == 1
    assert not Coordinator.objects.get(name=gateway.name).is_active


@pytest.mark.objective("SO-C6")
def test_a_gateways_private_key_file_is_refused(alice_premise, gateway, tmp_path):
    key_file = tmp_path / "gw.key"
    gateway.save(key_file)

    with pytest.raises(CommandError, match="private keys"):
        _register("--name", gateway.name, "--premise", alice_premise.service_point_id, "--public-keys", str(key_file))
    assert not Coordinator.objects.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"box_public_key": "abc"}, "64 hexadecimal digits"),
        ({"verify_public_key": "zz" * 32}, "64 hexadecimal digits"),
        ({"name": "gw-someone-else"}, "not 'gw-field-1'"),
        ({"verify_public_key": None}, "lacks verify_public_key"),
    ],
)
def test_bad_public_keys_are_refused_with_the_reason(alice_premise, gateway, tmp_path, change, message):
    path = _public_file(tmp_path, gateway, **change)
    with pytest.raises(CommandError, match=message):
        _register("--name", gateway.name, "--premise", alice_premise.service_point_id, "--public-keys", path)
    assert not Coordinator.objects.exists()


def test_other_bad_input_is_refused_with_the_reason(alice_premise, gateway, tmp_path):
    good = _public_file(tmp_path, gateway)
    premise = alice_premise.service_point_id
    cases = [
        (("--name", gateway.name, "--premise", "SP-NOPE", "--public-keys", good), "No premise"),
        (("--name", "gw field!", "--premise", premise, "--public-keys", good), "letters, digits"),
        (("--name", gateway.name, "--premise", premise, "--public-keys", str(tmp_path / "missing.json")), "Cannot read"),
        (("--name", gateway.name, "--premise", premise), "Give the gateway's public keys"),
        (("--name", gateway.name, "--premise", premise, "--public-keys", good, "--channel", "27"), "between 11 and 26"),
        (("--name", gateway.name, "--premise", premise, "--public-keys", good, "--operator", "nobody@x.test"), "No user"),
    ]
    for args, message in cases:
        with pytest.raises(CommandError, match=message):
            _register(*args)
    with pytest.raises(CommandError, match="not valid JSON"):
        _register("--name", gateway.name, "--premise", premise, "--public-keys", "-", stdin="{not json")
    assert not Coordinator.objects.exists()


@pytest.mark.objective("SO-C14")
def test_the_head_end_prints_only_its_public_keys_for_a_gateway(settings):
    from han.protocol import public_hex
    from han.services.head_end_keys import head_end_box_key, head_end_signing_key

    out = io.StringIO()
    call_command("han_head_end_keys", stdout=out)
    lines = out.getvalue().split()
    assert lines == [
        f"AMI_HAN_HEAD_END_PUBLIC_KEY={public_hex(head_end_signing_key())}",
        f"AMI_HAN_HEAD_END_BOX_PUBLIC_KEY={public_hex(head_end_box_key())}",
    ]
    # Two distinct keys, neither of them the secret seed they come from.
    assert public_hex(head_end_signing_key()) != public_hex(head_end_box_key())
    assert settings.AMI_HAN_SIGNING_KEY not in out.getvalue()
