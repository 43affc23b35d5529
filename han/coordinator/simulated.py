"""A simulated premise network behind a zigpy ControllerApplication.

``SimulatedControllerApplication`` implements zigpy's radio-facing methods in
memory. Its ``SimulatedNetwork`` holds Smart Energy devices, each with its own
install code: a device joins only after the coordinator was given the link key
derived from that code (a wrong key means no join, as on real hardware), then
answers the ZDO and Basic interview like a real device would.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zigpy.application
import zigpy.config as zigpy_conf
import zigpy.device
import zigpy.endpoint
import zigpy.exceptions
import zigpy.state
import zigpy.types as t
import zigpy.util
import zigpy.zdo.types as zdo_t
from zigpy.zcl import foundation
from zigpy.zcl.clusters.smartenergy import Metering

from han import drlc
from han.coordinator.simulated_reporting import Reporting, bind_answer, configure_reporting_answer, reporting_loop
from han.zigbee_se import SE_PROFILE, SmartEnergyApplicationMixin

logger = logging.getLogger(__name__)

HA_PROFILE = 0x0104
BASIC_CLUSTER = 0x0000
METERING_CLUSTER = Metering.cluster_id
COORDINATOR_IEEE = "00:12:4b:00:00:00:00:01"

# Smart Energy device ids and the server clusters a simulated one offers (Basic + Identify + SE).
SE_DEVICE_PROFILES: dict[str, tuple[int, list[int], list[int]]] = {
    "ihd": (0x0503, [0x0000, 0x0003], [0x0700, 0x0702, 0x0703]),
    "pct": (0x0502, [0x0000, 0x0003, 0x0201], [0x0700, 0x0701, 0x0703]),
    "load_control": (0x0504, [0x0000, 0x0003], [0x0700, 0x0701]),
    "smart_appliance": (0x0505, [0x0000, 0x0003], [0x0700, 0x0701, 0x0703]),
    "evse": (0x0506, [0x0000, 0x0003, 0x0702], [0x0700, 0x0701]),
    "range_extender": (0x0008, [0x0000, 0x0003], []),
    "metering": (0x0501, [0x0000, 0x0003, 0x0702], []),
}


# Which DRLC device classes (han.drlc.DEVICE_CLASSES) a simulated device of each type serves.
SE_DEVICE_CLASSES: dict[str, list[str]] = {
    "pct": ["hvac", "strip_heat"],
    "load_control": ["water_heater", "pool_pump", "irrigation_pump", "simple_loads"],
    "smart_appliance": ["smart_appliance"],
    "evse": ["electric_vehicle"],
}


@dataclass
class SimulatedDevice:
    eui64: str
    install_code: str
    device_type: str = "ihd"
    manufacturer: str = "AMI Sim"
    model: str = "SE-Device"
    nwk: int = 0
    joined: bool = False
    link_key: bytes = field(default=b"", repr=False)
    # The load-control event the device is following: the event, and its start and end (UTCTime).
    drlc_event: drlc.LoadControlEvent | None = None
    drlc_start: int = 0
    drlc_end: int = 0
    _drlc_timers: list[asyncio.TimerHandle] = field(default_factory=list, repr=False)
    # A device that serves the Metering cluster (a meter, an EV charger) counts energy: Wh delivered
    # when it was first seen, and a steady demand in W, reported in kWh and kW (divisor 1000).
    summation_wh: int = 0
    demand_w: int = 0
    # The demo's meters: demand swings slowly around demand_w (two-minute cycle) so live demand moves.
    varying: bool = False
    demand_override: int | None = field(default=None, repr=False)  # set from the network's demand file
    reporting: Reporting | None = field(default=None, repr=False)  # InstantaneousDemand reporting, once configured
    _counting_since: float = field(default_factory=time.monotonic, repr=False)

    def __post_init__(self) -> None:
        self.link_key = bytes(zigpy.util.convert_install_code(bytes.fromhex(self.install_code.replace("-", "").replace(" ", ""))))
        seed = int.from_bytes(bytes(self.ieee), "little")
        self.summation_wh = self.summation_wh or 1_000_000 + seed % 9_000_000
        self.demand_w = self.demand_w or 200 + seed % 3_000

    @property
    def serves_metering(self) -> bool:
        return METERING_CLUSTER in SE_DEVICE_PROFILES.get(self.device_type, SE_DEVICE_PROFILES["ihd"])[1]

    def current_demand_w(self) -> int:
        if self.demand_override is not None:
            return self.demand_override
        if self.varying:
            return int(round(self.demand_w * (1 + 0.4 * math.sin(2 * math.pi * time.time() / 120)), -1))
        return self.demand_w

    def metering_attributes(self) -> dict[str, int]:
        """The Metering attributes the device answers with, as zigpy names them."""
        elapsed_hours = (time.monotonic() - self._counting_since) / 3600
        return {
            "current_summ_delivered": self.summation_wh + int(self.demand_w * elapsed_hours),
            "instantaneous_demand": self.current_demand_w(),
            "unit_of_measure": int(Metering.MeteringUnitofMeasure.Kwh_and_Kwh_binary),
            "multiplier": 1,
            "divisor": 1000,
        }

    @property
    def device_class_bits(self) -> int:
        return drlc.device_class_bits(SE_DEVICE_CLASSES.get(self.device_type, []))

    @property
    def ieee(self) -> t.EUI64:
        return t.EUI64.convert(self.eui64)


class SimulatedNetwork:
    """The radios in range of one simulated gateway."""

    def __init__(self, devices: list[SimulatedDevice] | None = None, *, demand_file: Path | None = None) -> None:
        self.devices: dict[t.EUI64, SimulatedDevice] = {}
        for device in devices or []:
            self.add(device)
        # {"<eui64>": watts}: a meter's demand set from outside (read when the file changes).
        self.demand_file = demand_file
        self._demand_mtime: float | None = None

    def demand_overrides_load(self) -> None:
        """Apply the demand file if it changed since last read; a missing or unreadable file sets nothing."""
        if self.demand_file is None:
            return
        try:
            mtime = self.demand_file.stat().st_mtime
            if mtime == self._demand_mtime:
                return
            values = json.loads(self.demand_file.read_text())
        except (OSError, ValueError):
            return
        self._demand_mtime = mtime
        for device in self.devices.values():
            value = values.get(device.eui64.lower()) if isinstance(values, dict) else None
            device.demand_override = int(value) if isinstance(value, int) and -(2**23) < value < 2**23 else None

    def add(self, device: SimulatedDevice) -> None:
        self.devices[device.ieee] = device

    @classmethod
    def from_file(cls, path: Path, *, coordinator: str) -> SimulatedNetwork:
        """A JSON list of {eui64, install_code, device_type, manufacturer, model, coordinators: [names in range]}."""
        rows = json.loads(path.read_text()) if path.exists() else []
        fields = {"eui64", "install_code", "device_type", "manufacturer", "model", "varying", "demand_w"}
        return cls(
            [
                SimulatedDevice(**{k: v for k, v in row.items() if k in fields})
                for row in rows
                if coordinator in row.get("coordinators", [coordinator])
            ],
            demand_file=path.with_name(f"{path.stem}.demand.json"),
        )


class SimulatedControllerApplication(SmartEnergyApplicationMixin, zigpy.application.ControllerApplication):
    """zigpy's controller over an in-memory radio. Join latency is a few milliseconds.

    Its devices are Smart Energy devices through the same mixin every real radio gets
    (``han.coordinator.radios.controller_class_for``)."""

    JOIN_DELAY_S = 0.01

    def __init__(self, config: dict) -> None:
        super().__init__(config)
        self._sim_network: SimulatedNetwork = SimulatedNetwork()
        self._permitted: dict[t.EUI64, bytes] = {}
        self._stored_network: tuple[zigpy.state.NetworkInfo, zigpy.state.NodeInfo] | None = None
        self._next_nwk = 0x1000
        self._reporting_task: asyncio.Task | None = None

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        return {
            zigpy_conf.CONF_DEVICE: {zigpy_conf.CONF_DEVICE_PATH: "/dev/null"},
            zigpy_conf.CONF_DATABASE: None,
            zigpy_conf.CONF_NWK_BACKUP_ENABLED: False,
            zigpy_conf.CONF_TOPO_SCAN_ENABLED: False,
            zigpy_conf.CONF_WATCHDOG_ENABLED: False,
            zigpy_conf.CONF_STARTUP_ENERGY_SCAN: False,
            zigpy_conf.CONF_OTA: {zigpy_conf.CONF_OTA_ENABLED: False},
            zigpy_conf.CONF_NWK: {zigpy_conf.CONF_NWK_CHANNEL: 15},
        }

    @property
    def sim_network(self) -> SimulatedNetwork:
        return self._sim_network

    @sim_network.setter
    def sim_network(self, network: SimulatedNetwork) -> None:
        """The devices in range. Those zigpy already knows (from its database) are still on the network.

        A real coordinator that restarts does not make its devices leave: they keep their
        network address and keys, and answer again. The simulated ones do the same.
        """
        self._sim_network = network
        for ieee, device in self.devices.items():
            simulated = network.devices.get(ieee)
            if simulated is not None and device.nwk not in (0x0000, 0xFFFF):
                simulated.joined, simulated.nwk = True, int(device.nwk)
                self._next_nwk = max(self._next_nwk, simulated.nwk)

    # --- the radio's non-volatile memory -------------------------------------------
    # A real radio keeps its network (PAN ids, channel, network key) across restarts.
    # The simulated one keeps it in the file named as its device path, when there is one,
    # so a restarted coordinator stays on the network the head-end configured.

    def _nvram_path(self) -> Path | None:
        path = self.config[zigpy_conf.CONF_DEVICE][zigpy_conf.CONF_DEVICE_PATH]
        return None if not path or path == "/dev/null" else Path(path)

    def _nvram_save(self) -> None:
        path = self._nvram_path()
        if path is None or self._stored_network is None:
            return
        network_info, node_info = self._stored_network
        # zigpy's as_dict() formats these as its own types; forming a network may leave plain ints.
        node_info = node_info.replace(nwk=t.NWK(node_info.nwk))
        network_info = network_info.replace(nwk_manager_id=t.NWK(network_info.nwk_manager_id))
        data = json.dumps({"network_info": network_info.as_dict(), "node_info": node_info.as_dict()})
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the network key, like a radio's NVRAM
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(data)
        tmp.replace(path)

    def _nvram_load(self) -> None:
        path = self._nvram_path()
        if path is None or not path.exists():
            return
        try:
            data = json.loads(path.read_text(encoding="ascii"))
            self._stored_network = (
                zigpy.state.NetworkInfo.from_dict(data["network_info"]),
                zigpy.state.NodeInfo.from_dict(data["node_info"]),
            )
        except (ValueError, KeyError, TypeError, AssertionError) as exc:
            # Never quietly form a new network: the head-end's devices would fail as "not on this network".
            raise RuntimeError(
                f"{path}: the simulated radio's saved network is unreadable ({exc!r}); remove the file to form a new one"
            ) from None

    # --- radio-facing methods zigpy requires ------------------------------------

    async def connect(self) -> None:
        if self._stored_network is None:
            self._nvram_load()

    async def disconnect(self) -> None:
        if self._reporting_task is not None:
            self._reporting_task.cancel()
            self._reporting_task = None

    def start_reporting(self) -> None:
        """Run the simulated meters' attribute reports (started by the first Configure Reporting)."""
        if self._reporting_task is None:
            self._reporting_task = asyncio.get_running_loop().create_task(reporting_loop(self))

    async def start_network(self) -> None:
        if self._stored_network is None:
            raise zigpy.exceptions.NetworkNotFormed()
        await self.load_network_info()
        await self.register_endpoints()
        coordinator = zigpy.device.Device(self, self.state.node_info.ieee, 0x0000)
        endpoint = coordinator.add_endpoint(1)
        endpoint.profile_id = HA_PROFILE
        endpoint.status = zigpy.endpoint.Status.ZDO_INIT
        coordinator.model, coordinator.manufacturer = "Simulated coordinator", "AMI Portal"
        self.devices[self.state.node_info.ieee] = coordinator

    async def force_remove(self, dev: zigpy.device.Device) -> None:
        self._permitted.pop(dev.ieee, None)
        simulated = self.sim_network.devices.get(dev.ieee)
        if simulated is not None:
            simulated.joined = False

    async def add_endpoint(self, descriptor: zdo_t.SimpleDescriptor) -> None:
        return None

    async def permit_ncp(self, time_s: int = 60) -> None:
        return None

    async def permit_with_link_key(self, node: t.EUI64, link_key: t.KeyData, time_s: int = 60) -> None:
        """Install the link key for this one device; if it is in range and the key matches, it joins."""
        self._permitted[t.EUI64(node)] = bytes(link_key)
        simulated = self.sim_network.devices.get(t.EUI64(node))
        if simulated is not None and simulated.link_key == bytes(link_key):
            asyncio.get_running_loop().call_later(self.JOIN_DELAY_S, self._simulate_join, simulated)

    async def write_network_info(self, *, network_info: zigpy.state.NetworkInfo, node_info: zigpy.state.NodeInfo) -> None:
        if node_info.ieee == t.EUI64.UNKNOWN:
            node_info = node_info.replace(ieee=t.EUI64.convert(COORDINATOR_IEEE))
        # Forming a network may leave plain ints where zigpy's types belong; zigpy's own
        # backups (in its database) and our NVRAM file serialise them as its types.
        node_info = node_info.replace(nwk=t.NWK(node_info.nwk))
        network_info = network_info.replace(nwk_manager_id=t.NWK(network_info.nwk_manager_id))
        self._stored_network = (network_info, node_info)
        self._nvram_save()

    async def load_network_info(self, *, load_devices: bool = False) -> None:
        if self._stored_network is None:
            raise zigpy.exceptions.NetworkNotFormed()
        self.state.network_info, self.state.node_info = self._stored_network

    async def reset_network_info(self) -> None:
        self._stored_network = None
        path = self._nvram_path()
        if path is not None:
            path.unlink(missing_ok=True)

    async def send_packet(self, packet: t.ZigbeePacket) -> None:
        if packet.dst is None or packet.dst.addr_mode not in (t.AddrMode.NWK, t.AddrMode.IEEE):
            return  # broadcasts and groups: nothing in the simulation answers them
        device = self._simulated_by_address(packet.dst)
        if device is None or not device.joined:
            raise zigpy.exceptions.DeliveryError("no route to device", status=t.MACStatus.MAC_NO_ACK)
        asyncio.get_running_loop().call_soon(self._answer, device, packet)

    async def energy_scan(self, channels: t.Channels, duration_exp: int, count: int) -> dict[int, float]:
        return dict.fromkeys(channels, 0.0)

    # --- the simulated devices ---------------------------------------------------------

    def _simulated_by_address(self, address: t.AddrModeAddress) -> SimulatedDevice | None:
        for simulated in self.sim_network.devices.values():
            if (address.addr_mode == t.AddrMode.NWK and simulated.nwk == address.address) or (
                address.addr_mode == t.AddrMode.IEEE and simulated.ieee == address.address
            ):
                return simulated
        return None

    def _simulate_join(self, simulated: SimulatedDevice) -> None:
        if self._permitted.get(simulated.ieee) != simulated.link_key:
            return
        if not simulated.nwk:
            self._next_nwk += 1
            simulated.nwk = self._next_nwk
        simulated.joined = True
        self.handle_join(nwk=t.NWK(simulated.nwk), ieee=simulated.ieee, parent_nwk=t.NWK(0x0000))

    def _reply(self, device: SimulatedDevice, request: t.ZigbeePacket, cluster_id: int, data: bytes, profile_id: int | None = None) -> None:
        self.packet_received(
            t.ZigbeePacket(
                src=t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=t.NWK(device.nwk)),
                src_ep=request.dst_ep,
                dst=t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=t.NWK(0x0000)),
                dst_ep=request.src_ep,
                tsn=request.tsn,
                profile_id=request.profile_id if profile_id is None else profile_id,
                cluster_id=cluster_id,
                data=t.SerializableBytes(data),
                lqi=255,
                rssi=-40,
            )
        )

    def _answer(self, device: SimulatedDevice, packet: t.ZigbeePacket) -> None:
        data = packet.data.serialize()
        if packet.dst_ep == 0:
            self._answer_zdo(device, packet, data)
        elif packet.cluster_id == BASIC_CLUSTER:
            self._answer_read_attributes(device, packet, data, self._basic_values(device))
        elif packet.cluster_id == METERING_CLUSTER and device.serves_metering:
            self.sim_network.demand_overrides_load()
            hdr, payload = foundation.ZCLHeader.deserialize(data)
            if hdr.frame_control.is_general and hdr.command_id == foundation.GeneralCommand.Configure_Reporting:
                configure_reporting_answer(self, device, packet, hdr, payload)
            else:
                self._answer_read_attributes(device, packet, data, self._metering_values(device))
        elif packet.cluster_id == drlc.CLUSTER_ID and packet.profile_id == SE_PROFILE:
            self._answer_drlc(device, packet, data)

    def _answer_zdo(self, device: SimulatedDevice, packet: t.ZigbeePacket, data: bytes) -> None:
        tsn = data[:1]
        nwk = t.NWK(device.nwk).serialize()
        ok = zdo_t.Status.SUCCESS.serialize()
        device_id, server_clusters, client_clusters = SE_DEVICE_PROFILES.get(device.device_type, SE_DEVICE_PROFILES["ihd"])
        cluster = packet.cluster_id
        if cluster == zdo_t.ZDOCmd.Node_Desc_req:
            descriptor = zdo_t.NodeDescriptor(
                logical_type=zdo_t.LogicalType.Router if device.device_type == "range_extender" else zdo_t.LogicalType.EndDevice,
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
            self._reply(device, packet, zdo_t.ZDOCmd.Node_Desc_rsp, tsn + ok + nwk + descriptor.serialize())
        elif cluster == zdo_t.ZDOCmd.Active_EP_req:
            self._reply(device, packet, zdo_t.ZDOCmd.Active_EP_rsp, tsn + ok + nwk + t.LVList[t.uint8_t, t.uint8_t]([1]).serialize())
        elif cluster == zdo_t.ZDOCmd.Simple_Desc_req:
            descriptor = zdo_t.SizePrefixedSimpleDescriptor(
                endpoint=1,
                profile=SE_PROFILE,
                device_type=device_id,
                device_version=1,
                input_clusters=server_clusters,
                output_clusters=client_clusters,
            )
            self._reply(device, packet, zdo_t.ZDOCmd.Simple_Desc_rsp, tsn + ok + nwk + descriptor.serialize())
        elif cluster == zdo_t.ZDOCmd.Bind_req:
            bind_answer(self, device, packet, data)
        elif cluster == zdo_t.ZDOCmd.Mgmt_Leave_req:
            self._reply(device, packet, zdo_t.ZDOCmd.Mgmt_Leave_rsp, tsn + ok)
            device.joined = False
            self._permitted.pop(device.ieee, None)
            self.handle_leave(t.NWK(device.nwk), device.ieee)

    @staticmethod
    def _basic_values(device: SimulatedDevice) -> dict[int, foundation.TypeValue]:
        return {
            attribute_id: foundation.TypeValue(type=foundation.DataTypeId.string, value=t.CharacterString(text))
            for attribute_id, text in ((0x0004, device.manufacturer), (0x0005, device.model))
        }

    @staticmethod
    def _metering_values(device: SimulatedDevice) -> dict[int, foundation.TypeValue]:
        """Encoded with the types zigpy's Metering cluster defines for each attribute."""
        values = {}
        for name, value in device.metering_attributes().items():
            attribute = Metering.attributes_by_name[name]
            data_type = foundation.DataType.from_python_type(attribute.type)
            values[attribute.id] = foundation.TypeValue(type=foundation.DataTypeId[data_type.name], value=attribute.type(value))
        return values

    def _answer_read_attributes(
        self, device: SimulatedDevice, packet: t.ZigbeePacket, data: bytes, values: dict[int, foundation.TypeValue]
    ) -> None:
        hdr, payload = foundation.ZCLHeader.deserialize(data)
        if not hdr.frame_control.is_general or hdr.command_id != foundation.GeneralCommand.Read_Attributes:
            return
        request, _ = foundation.GENERAL_COMMANDS[foundation.GeneralCommand.Read_Attributes].schema.deserialize(payload)
        records = [
            foundation.ReadAttributeRecord(attrid=attribute_id, status=foundation.Status.SUCCESS, value=values[attribute_id])
            if attribute_id in values
            else foundation.ReadAttributeRecord(attrid=attribute_id, status=foundation.Status.UNSUPPORTED_ATTRIBUTE)
            for attribute_id in request.attribute_ids
        ]
        header = foundation.ZCLHeader.general(
            tsn=hdr.tsn, command_id=foundation.GeneralCommand.Read_Attributes_rsp, direction=foundation.Direction.Server_to_Client
        )
        header = header.replace(frame_control=header.frame_control.replace(disable_default_response=True))
        body = foundation.ReadAttributesResponse(status_records=records).serialize()
        self._reply(device, packet, packet.cluster_id, header.serialize() + body)

    # --- Demand response and load control (SE 1.x D.2) ---------------------------------

    def _drlc_report(self, device: SimulatedDevice, request: t.ZigbeePacket, event: drlc.LoadControlEvent, status: str) -> None:
        report = drlc.EventStatusReport(
            issuer_event_id=event.issuer_event_id,
            status=drlc.STATUS_CODE[status],
            status_time=drlc.utc_now(),
            criticality_applied=event.criticality,
            cooling_set_point_applied=event.cooling_set_point,
            heating_set_point_applied=event.heating_set_point,
            load_adjustment_applied=event.load_adjustment_percent,
            duty_cycle_applied=event.duty_cycle,
            event_control=event.event_control,
        )
        if device.joined:
            self._reply(device, request, drlc.CLUSTER_ID, drlc.report_encode(report, tsn=request.tsn))

    def _answer_drlc(self, device: SimulatedDevice, packet: t.ZigbeePacket, data: bytes) -> None:
        """Follow a Load Control Event the way a device would: acknowledge, start at its time, complete at its end."""
        try:
            _, event = drlc.event_decode(data)
        except drlc.FrameError as exc:
            logger.info("simulated %s ignores a DRLC frame: %s", device.eui64, exc)
            return
        now = drlc.utc_now()
        if not event.device_class & device.device_class_bits:
            self._drlc_report(device, packet, event, "rejected")
            return
        if event.end_time(now) <= now:
            self._drlc_report(device, packet, event, "rejected_expired")
            return
        if device.drlc_event is not None and device.drlc_end > now:
            self._drlc_report(device, packet, device.drlc_event, "superseded")
        for timer in device._drlc_timers:
            timer.cancel()
        device.drlc_event, device.drlc_start, device.drlc_end = event, event.start_time or now, event.end_time(now)
        self._drlc_report(device, packet, event, "received")
        loop = asyncio.get_running_loop()

        def started() -> None:
            self._drlc_report(device, packet, event, "started")

        def completed() -> None:
            device.drlc_event = None
            self._drlc_report(device, packet, event, "completed")

        device._drlc_timers = [
            loop.call_later(max(0, device.drlc_start - now), started),
            loop.call_later(max(0, device.drlc_end - now), completed),
        ]
