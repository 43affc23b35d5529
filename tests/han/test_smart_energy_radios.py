"""Smart Energy frames decode on the real radio libraries' controller classes, not only on the simulator (SO-U19).

Each controller class (bellows, zigpy-znp, zigpy-deconz, zigpy-zigate, zigpy-xbee) is built
without opening its serial port; a Smart Energy device is added the way zigpy adds a joined
one (``add_device``), and received frames go through zigpy's own message handling
(``ControllerApplication.packet_received`` with a ``ZigbeePacket``), as the radio library
hands them over. Only the radio's transmit (``send_packet``) is captured: that is where the
serial port would be. The frames are known answers (``tests/han/se_frames.py``), written
from the specification, not produced by our encoder.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
import zigpy.config as zigpy_config
import zigpy.endpoint
import zigpy.types as t
import zigpy.zdo.types as zdo_t
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from han import drlc
from han.coordinator.radios import RADIO_TYPES, controller_class_for
from han.coordinator.service import CoordinatorService
from han.coordinator.simulated import SimulatedControllerApplication, SimulatedDevice, SimulatedNetwork
from han.protocol import CoordinatorIdentity, ReplayGuard
from han.services.head_end_keys import head_end_box_public_key_hex, head_end_public_key_hex
from han.zigbee_se import SE_PROFILE, SmartEnergyApplicationMixin, SmartEnergyDevice
from tests.han.conftest import install_code_for, random_eui64
from tests.han.se_frames import FRAMES, NOW, Frame

REAL_RADIOS = ["ezsp", "znp", "deconz", "zigate", "xbee"]
DEVICE_IEEE = t.EUI64.convert("00:0d:6f:00:0a:bc:de:f0")
DEVICE_NWK = 0x3A7C
SE_CLUSTERS = (0x0700, 0x0701, 0x0703, 0x0705)


class Radio:
    """One radio library's controller class with a Smart Energy device on it, port never opened."""

    def __init__(self, radio: str) -> None:
        controller = controller_class_for(radio)
        self.app = controller({zigpy_config.CONF_DEVICE: {zigpy_config.CONF_DEVICE_PATH: "/dev/ttyUSB0"}, zigpy_config.CONF_DATABASE: None})
        self.app.state.node_info.ieee = t.EUI64.convert("00:12:4b:00:00:00:00:01")
        self.sent: list[t.ZigbeePacket] = []
        self.commands: list[tuple[int, str, object]] = []

        async def send_packet(packet: t.ZigbeePacket) -> None:  # the serial port's side of the radio
            self.sent.append(packet)

        self.app.send_packet = send_packet
        self.device = self.app.add_device(DEVICE_IEEE, t.NWK(DEVICE_NWK))
        self.device.node_desc = zdo_t.NodeDescriptor(
            logical_type=zdo_t.LogicalType.EndDevice,
            complex_descriptor_available=0,
            user_descriptor_available=0,
            reserved=0,
            aps_flags=0,
            frequency_band=zdo_t.NodeDescriptor.FrequencyBand.Freq2400MHz,
            mac_capability_flags=zdo_t.NodeDescriptor.MACCapabilityFlags.AllocateAddress,
            manufacturer_code=0x1234,
            maximum_buffer_size=82,
            maximum_incoming_transfer_size=82,
            server_mask=0,
            maximum_outgoing_transfer_size=82,
            descriptor_capability_field=zdo_t.NodeDescriptor.DescriptorCapability.NONE,
        )
        endpoint = self.device.add_endpoint(1)
        endpoint.profile_id, endpoint.device_type = SE_PROFILE, 0x0502  # a programmable thermostat
        endpoint.add_input_cluster(0x0000)
        for cluster_id in SE_CLUSTERS:  # client and server of each, so frames of both directions have their cluster
            endpoint.add_input_cluster(cluster_id)
            endpoint.add_output_cluster(cluster_id)
        endpoint.status = zigpy.endpoint.Status.ZDO_INIT
        self.device.manufacturer, self.device.model = "Acme", "T-9"
        self.app.add_listener(self)

    def smart_energy_command(self, device, cluster, hdr, command) -> None:
        self.commands.append((int(cluster.cluster_id), command.command.name, command))

    def receive(self, data: bytes, *, cluster_id: int, tsn: int | None = None) -> None:
        """A frame from the device, as the radio library hands it to zigpy."""
        self.app.packet_received(
            t.ZigbeePacket(
                src=t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=t.NWK(DEVICE_NWK)),
                src_ep=1,
                dst=t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=t.NWK(0x0000)),
                dst_ep=1,
                tsn=data[1] if tsn is None and len(data) > 1 else (tsn or 0),
                profile_id=SE_PROFILE,
                cluster_id=cluster_id,
                data=t.SerializableBytes(data),
                lqi=200,
                rssi=-48,
            )
        )

    def sent_frames(self) -> list[tuple[int, str]]:
        return [(int(p.cluster_id), p.data.serialize().hex()) for p in self.sent if p.profile_id == SE_PROFILE]


def _service(app, tmp_path, radio: str) -> CoordinatorService:
    identity = CoordinatorIdentity.generate(f"gw-{radio}")
    return CoordinatorService(
        identity=identity,
        head_end_public_hex=head_end_public_key_hex(),
        head_end_box_public_hex=head_end_box_public_key_hex(),
        app=app,
        replay_guard=ReplayGuard(),
        consumer=object(),
        send_report=lambda report: None,
        radio_type=radio,
    )


def _run(coroutine_function):
    return asyncio.run(coroutine_function())


@pytest.mark.parametrize("radio", REAL_RADIOS)
def test_every_radio_controller_makes_smart_energy_devices(radio):
    radio_under_test = Radio(radio)
    assert issubclass(type(radio_under_test.app), SmartEnergyApplicationMixin)
    assert issubclass(type(radio_under_test.app), _library_class(radio))
    assert isinstance(radio_under_test.device, SmartEnergyDevice)


def _library_class(radio: str):
    import importlib

    module, name, _ = RADIO_TYPES[radio]
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("frame", FRAMES, ids=lambda f: f"{f.cluster_id:04x}-{f.command}-{f.hex[3:5]}")
@pytest.mark.parametrize("radio", ["ezsp", "znp", "deconz"])
def test_a_known_smart_energy_frame_decodes_through_zigpy_on_the_radio(radio, frame: Frame):
    async def main():
        under_test = Radio(radio)
        under_test.receive(frame.data, cluster_id=frame.cluster_id)
        await asyncio.sleep(0)
        return under_test

    under_test = _run(main)
    ((cluster_id, name, command),) = under_test.commands
    assert (cluster_id, name) == (frame.cluster_id, frame.command)
    for field, expected in frame.fields.items():
        value = getattr(command, field)
        if value is not None and expected is not None:
            value = type(expected)(value)  # zigpy's own int, enum, bitmap and byte types, compared as plain values
        assert value == expected, field


@pytest.mark.parametrize("radio", REAL_RADIOS)
def test_the_zigate_and_xbee_classes_decode_the_pulled_commands_too(radio):
    async def main():
        under_test = Radio(radio)
        for frame in FRAMES:
            if frame.command in ("get_current_price", "get_scheduled_events", "get_last_message", "report_event_status"):
                under_test.receive(frame.data, cluster_id=frame.cluster_id)
        await asyncio.sleep(0)
        return under_test

    names = [name for _, name, _ in _run(main).commands]
    assert names == ["get_current_price", "report_event_status", "get_scheduled_events", "get_scheduled_events", "get_last_message"]


# --- the coordinator answers what devices pull, on every radio -------------------------------------

PRICE = {"provider_id": 1, "issuer_event_id": 100, "price": 1234, "rate_label": "Peak", "number_of_price_tiers": 3}
EVENT = {
    "issuer_event_id": 3000,
    "device_class": 0x0001,
    "start_time": NOW,
    "duration_minutes": 30,
    "criticality": 3,
    "cooling_offset": 20,
}
MESSAGE = {"message_id": 0x12345678, "message_control": 0x80, "start_time": NOW, "duration_minutes": 60, "text": "Hello world"}


@pytest.mark.parametrize("radio", ["ezsp", "znp", "deconz", "xbee", "zigate"])
def test_devices_pull_price_events_and_message_from_the_coordinator(radio, tmp_path, monkeypatch):
    """GetCurrentPrice, GetScheduledEvents and GetLastMessage are answered from the premise state, byte for byte."""
    monkeypatch.setattr(drlc, "utc_now", lambda: NOW + 60)

    async def main():
        under_test = Radio(radio)
        service = _service(under_test.app, tmp_path, radio)
        for tsn, frame in ((0x10, "011000" + "01"), (0x11, "011101" + "00000000 00"), (0x12, "011200")):
            cluster = {0x10: 0x0700, 0x11: 0x0701, 0x12: 0x0703}[tsn]
            under_test.receive(bytes.fromhex(frame.replace(" ", "")), cluster_id=cluster)
        await service.smart_energy.settled()
        await asyncio.sleep(0.05)  # zigpy's own Default Response tasks
        empty = under_test.sent_frames()
        under_test.sent.clear()
        service.premise_state.update(price=PRICE, events=[EVENT], message=MESSAGE)
        for frame, cluster in (("01 20 00 01", 0x0700), ("01 21 01 00000000 00", 0x0701), ("01 22 00", 0x0703)):
            under_test.receive(bytes.fromhex(frame.replace(" ", "")), cluster_id=cluster)
        await service.smart_energy.settled()
        return empty, under_test.sent_frames()

    empty, answered = _run(main)
    # Nothing to answer yet: a ZCL Default Response (0x0b) NOT_FOUND (0x8b) for each request's command id.
    assert sorted(empty) == [(0x0700, "18100b008b"), (0x0701, "18110b018b"), (0x0703, "18120b008b")]
    now = "3ce17c2e"  # NOW + 60 s, little-endian
    assert answered == [
        # PublishPrice (D.4.2.4.1): provider 1, "Peak", event 100, now, kWh, USD 840, 2 digits/tier 1, 3 tiers/register 1,
        # start now, until changed, 12.34.
        (0x0700, "192000" + "01000000" + "045065616b" + "64000000" + now + "00" + "4803" + "21" + "31" + "00000000" + "ffff" + "d2040000"),
        # LoadControlEvent (D.2.2.3.1): event 3000, HVAC, group 0, start, 30 min, criticality 3, cool +2.0 °C, unused fields.
        (0x0701, "192100" + "b80b0000" + "0100" + "00" + "00e17c2e" + "1e00" + "03" + "14" + "ff" + "0080" + "0080" + "80" + "ff" + "00"),
        # DisplayMessage (D.5.2.3.1): message id, confirmation required, start, 60 min, "Hello world".
        (0x0703, "192200" + "78563412" + "80" + "00e17c2e" + "3c00" + "0b48656c6c6f20776f726c64"),
    ]


@pytest.mark.parametrize("radio", ["ezsp", "znp", "deconz"])
def test_a_device_report_event_status_reaches_the_load_control_path(radio, tmp_path):
    report = next(f for f in FRAMES if f.command == "report_event_status")

    async def main():
        under_test = Radio(radio)
        service = _service(under_test.app, tmp_path, radio)
        under_test.receive(report.data, cluster_id=report.cluster_id)
        await asyncio.sleep(0)
        return service.handlers["load_control"].last_status(DEVICE_IEEE)

    last = _run(main)
    assert last == drlc.EventStatusReport(
        issuer_event_id=3000, status=0x01, status_time=NOW, criticality_applied=3, load_adjustment_applied=-0x80
    )
    assert last.status_name == "received"


# --- bad input from a device: dropped, counted, logged once -------------------------------------------

# {n}: the frame's sequence number (zigpy drops a repeated identical frame before it is read at all).
BAD_FRAMES = [
    ("01 {n}", 0x0700, "malformed_header"),  # two bytes: not even a ZCL header
    ("01 {n} 01 00e1", 0x0701, "malformed_command"),  # GetScheduledEvents cut short
    ("01 {n} 7f 00", 0x0703, "unknown_command"),  # no Messaging command 0x7f
    ("01 {n} 00 01", 0x0704, "unknown_cluster"),  # Tunneling: not on the device's endpoint
]


@pytest.mark.parametrize("radio", ["ezsp", "znp", "deconz"])
def test_a_malformed_or_unknown_smart_energy_frame_is_dropped_counted_and_logged_once(radio, tmp_path, caplog):
    async def main():
        under_test = Radio(radio)
        service = _service(under_test.app, tmp_path, radio)
        for n in range(3):
            for data, cluster, _reason in BAD_FRAMES:
                under_test.receive(bytes.fromhex(data.format(n=f"{0x50 + n:02x}").replace(" ", "")), cluster_id=cluster)
        # the loop goes on: a good frame after the bad ones is still answered
        under_test.receive(bytes.fromhex("01600001"), cluster_id=0x0700)
        await service.smart_energy.settled()
        await asyncio.sleep(0.05)
        return under_test, service

    with caplog.at_level(logging.WARNING, logger="han.coordinator.smart_energy"):
        under_test, service = _run(main)
    assert service.smart_energy.rejected == {reason: 3 for _, _, reason in BAD_FRAMES}
    assert service._heartbeat_detail()["se_frames_rejected"] == {reason: 3 for _, _, reason in BAD_FRAMES}
    dropped = [r for r in caplog.records if "dropped a Smart Energy frame" in r.getMessage()]
    assert len(dropped) == len(BAD_FRAMES)  # once per (device, reason), not once per frame
    assert [name for _, name, _ in under_test.commands] == ["get_current_price"]
    assert (0x0700, "18600b008b") in under_test.sent_frames()  # answered: no price set
    assert (0x0703, "18500b7f81") in under_test.sent_frames()  # the unknown command: Default Response UNSUP_CLUSTER_COMMAND


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster_id=st.sampled_from([*SE_CLUSTERS, 0x0704]), data=st.binary(max_size=80))
def test_garbage_from_a_device_is_decoded_or_dropped_with_a_documented_reason_never_raised(cluster_id, data):
    loop = asyncio.new_event_loop()
    try:

        async def feed():
            under_test = Radio("ezsp")
            rejected = []
            under_test.app.add_listener(type("R", (), {"smart_energy_frame_rejected": lambda _, d, p, reason: rejected.append(reason)})())
            under_test.receive(data, cluster_id=cluster_id, tsn=0)
            await asyncio.sleep(0)
            return under_test.commands, rejected

        commands, rejected = loop.run_until_complete(feed())
    finally:
        loop.close()
    assert set(rejected) <= {"malformed_header", "malformed_command", "unknown_command", "unknown_cluster"}
    assert len(commands) + len(rejected) <= 1
    if len(data) < 3:
        assert rejected == ["malformed_header"]


# --- the simulator uses the same device class, and so do devices zigpy loads from its database --------


def test_a_device_loaded_from_zigpys_database_after_a_restart_is_a_smart_energy_device(tmp_path):
    simulated = SimulatedDevice(eui64=random_eui64(), install_code=install_code_for(), device_type="pct")
    config = SimulatedControllerApplication.default_config()
    config[zigpy_config.CONF_DEVICE][zigpy_config.CONF_DEVICE_PATH] = str(tmp_path / "radio.json")
    config[zigpy_config.CONF_DATABASE] = str(tmp_path / "zigbee.db")

    async def join_then_restart():
        app = await SimulatedControllerApplication.new(config, auto_form=True)
        app.sim_network = SimulatedNetwork([simulated])
        initialized = asyncio.get_running_loop().create_future()

        class Listener:
            def device_initialized(self, device):
                if not initialized.done():
                    initialized.set_result(device)

        app.add_listener(Listener())
        await app.permit_with_link_key(node=simulated.ieee, link_key=t.KeyData(simulated.link_key), time_s=60)
        await asyncio.wait_for(initialized, 10)
        await app.shutdown()
        restarted = await SimulatedControllerApplication.new(config, auto_form=True)
        device = restarted.devices[simulated.ieee]
        await restarted.shutdown()
        return device

    device = _run(join_then_restart)
    assert isinstance(device, SmartEnergyDevice)
    assert 0x0701 in device.endpoints[1].out_clusters  # its DRLC client cluster, with our cluster class
    assert type(device.endpoints[1].out_clusters[0x0701]).__module__ == "han.zigbee_se.drlc"


@pytest.mark.parametrize("version, refused", [(7, True), (8, False), (13, False)])
def test_an_ezsp_radio_older_than_protocol_8_refuses_permits_and_sends_nothing(version, refused, tmp_path):
    """bellows sets the install-code-only trust-centre policy from EZSP 8 on; older firmware would admit anyone."""

    class ConnectedEzsp:  # what the serial protocol object reports after connecting
        ezsp_version = version

    async def main():
        under_test = Radio("ezsp")
        under_test.app._ezsp = ConnectedEzsp()
        service = _service(under_test.app, tmp_path, "ezsp")
        reports = []
        service.report = lambda event, command_id, detail=None: reports.append((event, detail))
        permits = []

        async def permit_with_link_key(**kwargs):
            permits.append(kwargs)

        under_test.app.permit_with_link_key = permit_with_link_key
        command = type("Command", (), {"command_id": "c-1", "body": {"eui64": str(DEVICE_IEEE), "permit_seconds": 60}, "secret": bytes(16)})
        await service.handlers["permit_join"].handle(command)
        await asyncio.sleep(0)
        for task in list(service._background):
            task.cancel()
        return reports, permits

    reports, permits = _run(main)
    if refused:
        assert permits == [] and reports[0][0] == "failed"
        assert reports[0][1]["reason"] == "radio_cannot_restrict_joins" and "protocol version 7" in reports[0][1]["message"]
    else:
        assert reports[0][0] == "permitted" and permits[0]["node"] == DEVICE_IEEE
