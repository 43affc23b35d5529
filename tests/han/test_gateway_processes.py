"""A premise gateway with nothing of the head-end, and a broker that sees no customer data (SO-C13, SO-C14, SO-U1, SO-U5, SO-U13).

Real processes: Redis, a head-end Celery worker (test profile, the test database) and a
coordinator under ``AMI_PROFILE=gateway`` whose environment holds only its broker URL, the
head-end's two public keys and the logged plaintext override (the test Redis has no TLS).
The test database is shared with the worker, so these tests commit.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from han import drlc
from han.install_codes import install_code_parse
from han.models import CoordinatorCommand, Device, DeviceState, DeviceType, JobState
from han.protocol import CoordinatorIdentity
from han.services.commissioning import device_commission
from han.services.device_control import device_load_control_request, device_status_request
from han.services.head_end_keys import head_end_box_public_key_hex, head_end_public_key_hex
from han.services.networks import coordinator_register, han_network_create
from tests.conftest import wait_for
from tests.han.conftest import install_code_for, random_eui64
from tests.han.test_relay_processes import processes, redis_url  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def gateway_env(redis_url: str) -> dict[str, str]:  # noqa: F811
    """Everything a gateway is given. No PATH, no SECRET_KEY, no keyring, no database, no head-end seed."""
    return {
        "AMI_PROFILE": "gateway",
        "CELERY_BROKER_URL": redis_url,
        "AMI_ALLOW_PLAINTEXT_TRANSPORT": "true",
        "AMI_HAN_HEAD_END_PUBLIC_KEY": head_end_public_key_hex(),
        "AMI_HAN_HEAD_END_BOX_PUBLIC_KEY": head_end_box_public_key_hex(),
    }


def _gateway_with_an_ev_charger(*, processes, tmp_path: Path, redis_url: str, premise, installer, name: str) -> Device:  # noqa: F811
    """Register a gateway, start it with only ``gateway_env`` and its key file, commission an EV charger, wait until verified."""
    identity = CoordinatorIdentity.generate(name)
    identity.save(tmp_path / "keys" / f"{name}.key")  # its own key file: made on the gateway, never seen by the head-end
    code, eui64 = install_code_for(), random_eui64()
    devices = tmp_path / "devices.json"
    devices.write_text(json.dumps([{"eui64": eui64, "install_code": code, "device_type": "evse", "model": "EV-7"}]))
    coordinator = coordinator_register(name=name, box_public_key=identity.box_public_hex, verify_public_key=identity.verify_public_hex)
    processes.worker()
    processes.start(
        "gateway",
        *("manage.py", "han_coordinator", "--name", name, "--key-dir", str(tmp_path / "keys"), "--simulated-devices", str(devices)),
        env=gateway_env(redis_url),
    )
    network = han_network_create(premise=premise, coordinator=coordinator)
    device = device_commission(
        network=network, parsed=install_code_parse(code=code, eui64=eui64), device_type=DeviceType.EVSE, actor=installer
    )
    wait_for(lambda: Device.objects.get(pk=device.pk).state == DeviceState.VERIFIED, timeout=40)
    return Device.objects.get(pk=device.pk)


def _job(job: CoordinatorCommand) -> CoordinatorCommand:
    job.refresh_from_db()
    return job


@pytest.mark.objective("SO-C13")
@pytest.mark.objective("SO-C14")
def test_a_gateway_with_only_its_key_file_the_head_end_public_keys_and_its_broker_verifies_acts_and_reports(
    alice,
    ivan,
    tmp_path,
    processes,  # noqa: F811
    redis_url,  # noqa: F811
):
    device = _gateway_with_an_ev_charger(
        processes=processes,
        tmp_path=tmp_path,
        redis_url=redis_url,
        premise=alice.customer_account.agreements.get().premise,
        installer=ivan,
        name="gw-bare",
    )
    # Verified: the gateway checked the head-end's signature, opened the sealed key, joined and interviewed
    # the device, and its signed, sealed reports were verified and opened by the head-end.
    assert device.model == "EV-7" and device.interview["coordinator"] == "gw-bare"
    read = device_status_request(device=device, actor=alice)
    wait_for(lambda: _job(read).state == JobState.DONE, timeout=30)
    assert read.result["metering"]["summation_unit"] == "kWh" and read.result["metering"]["current_summ_delivered"] > 0

    logs = (tmp_path / "gateway.log").read_text()
    assert "coordinator gw-bare up" in logs and "Traceback" not in logs
    # Plain redis:// is accepted only because the override says so, and the gateway says that at start.
    assert "AMI_ALLOW_PLAINTEXT_TRANSPORT=true: CELERY_BROKER_URL (redis://127.0.0.1:6379) is not TLS" in logs


def test_a_gateway_without_the_head_end_public_keys_does_not_start(tmp_path, processes, redis_url):  # noqa: F811
    env = {key: value for key, value in gateway_env(redis_url).items() if key != "AMI_HAN_HEAD_END_BOX_PUBLIC_KEY"}
    gateway = processes.start("gateway", "manage.py", "han_coordinator", "--name", "gw-keyless", "--key-dir", str(tmp_path), env=env)
    assert gateway.wait(timeout=60) != 0
    assert "Set AMI_HAN_HEAD_END_BOX_PUBLIC_KEY too" in (tmp_path / "gateway.log").read_text()


class BrokerTap:
    """Every command the broker receives for one Redis database (``MONITOR``): what a reader of the broker sees."""

    def __init__(self, url: str) -> None:
        self.db = int(urlsplit(url).path.lstrip("/") or 0)
        self.commands: list[str] = []
        # No read timeout: an idle broker is not the end of the round trip (a timeout would close the tap).
        self._monitor = redis.Redis.from_url(url, socket_timeout=None).monitor().__enter__()
        self._wake = redis.Redis.from_url(url)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                command = self._monitor.next_command()
            except (redis.ConnectionError, OSError):
                return
            if int(command.get("db", -1)) == self.db:
                self.commands.append(command["command"])

    def stop(self) -> None:
        self._stop.set()
        self._wake.ping()  # the listener sees one more command, then stops
        self._thread.join(timeout=5)
        assert not self._thread.is_alive(), "the broker tap did not stop"

    def readable(self) -> str:
        """The raw commands, plus every base64 run in them decoded (kombu and Celery base64 their message bodies), twice over."""
        texts = list(self.commands)
        for _ in range(2):
            decoded = []
            for text in texts:
                for run in re.findall(r"[A-Za-z0-9+/]{24,}={0,2}", text):
                    try:
                        decoded.append(base64.b64decode(run + "=" * (-len(run) % 4)).decode("utf-8", errors="replace"))
                    except (binascii.Error, ValueError):
                        continue
            texts += decoded
        return "\n".join(texts)


@pytest.mark.objective("SO-U1")
@pytest.mark.objective("SO-U13")
@pytest.mark.objective("SO-C14")
def test_the_broker_sees_no_metering_value_and_no_event_body_in_a_real_round_trip(alice, ivan, tmp_path, processes, redis_url):  # noqa: F811
    tap = BrokerTap(redis_url)
    try:
        device = _gateway_with_an_ev_charger(
            processes=processes,
            tmp_path=tmp_path,
            redis_url=redis_url,
            premise=alice.customer_account.agreements.get().premise,
            installer=ivan,
            name="gw-tapped",
        )
        event = {"device_class": drlc.device_class_bits(["electric_vehicle"]), "duration_minutes": 47, "criticality": 5, "duty_cycle": 37}
        control = device_load_control_request(device=device, event=event, actor=alice)
        wait_for(lambda: _job(control).result.get("event_status") == "started", timeout=30)
        read = device_status_request(device=device, actor=alice)
        wait_for(lambda: _job(read).state == JobState.DONE, timeout=30)
    finally:
        tap.stop()

    metering = read.result["metering"]
    assert metering["current_summ_delivered"] > 0 and read.result["load_control_active"] is True
    seen = tap.readable()
    assert "han.coordinator.gw-tapped" in seen and "han_reports_record_task" in seen  # the tap did see the traffic
    assert '"sealed"' in seen  # and could read the kombu and Celery envelopes around it
    # Metering reads: neither a value nor an attribute name.
    for clear in (str(metering["current_summ_delivered"]), "current_summ_delivered", "instantaneous_demand", "summation"):
        assert clear not in seen, clear
    # Event bodies, in the command and in the device's status reports.
    for clear in ("duty_cycle", "duration_minutes", "criticality", "issuer_event_id", "status_name", "electric_vehicle"):
        assert clear not in seen, clear
    # Nor the device's address or model.
    for clear in (device.eui64, "EV-7"):
        assert clear not in seen, clear
