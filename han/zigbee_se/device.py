"""A zigpy device that speaks ZCL on the Smart Energy profile, and the controller mixin that makes every device one.

zigpy 2.4 decodes ZCL frames only on the Home Automation and ZLL profiles; a frame on the
Smart Energy profile (0x0109) goes to ``custom_profile_packet_received`` and is dropped.
The ZCL is the same on every profile, so :class:`SmartEnergyDevice` decodes SE frames too:
interviews finish (the Basic read is answered on 0x0109), attribute reads get their answers,
and cluster commands reach the cluster classes of this package.

Frames that cannot be decoded (a short header, a payload that does not fit its command, a
command or a cluster the device's endpoint does not have) are announced to the
application's listeners as ``smart_energy_frame_rejected(device, packet, reason)`` and
dropped; they never raise into the radio library's receive path.
"""

from __future__ import annotations

import logging
from typing import Any

import zigpy.application
import zigpy.device
import zigpy.types as t
import zigpy.zdo
from zigpy.zcl import foundation

# Registers the SE cluster classes with zigpy before any endpoint builds its clusters.
from . import drlc, messaging, prepayment, price  # noqa: F401

logger = logging.getLogger(__name__)

SE_PROFILE = 0x0109

# Why a Smart Energy frame from a device was dropped.
MALFORMED_HEADER = "malformed_header"
MALFORMED_COMMAND = "malformed_command"
UNKNOWN_COMMAND = "unknown_command"
UNKNOWN_CLUSTER = "unknown_cluster"


def _is_smart_energy(packet: t.ZigbeePacket) -> bool:
    return packet.profile_id == SE_PROFILE and packet.src_ep != zigpy.zdo.ZDO_ENDPOINT


class SmartEnergyDevice(zigpy.device.Device):
    """A zigpy device whose Smart Energy (0x0109) ZCL frames are decoded like Home Automation ones."""

    def _reject(self, packet: t.ZigbeePacket, reason: str) -> None:
        self.application.listener_event("smart_energy_frame_rejected", self, packet, reason)

    def _parse_packet_header(self, packet: t.ZigbeePacket):
        if not _is_smart_energy(packet):
            return super()._parse_packet_header(packet)
        try:
            hdr, _ = foundation.ZCLHeader.deserialize(packet.data.serialize())
        except ValueError:
            self._reject(packet, MALFORMED_HEADER)
            return None, None  # zigpy hands it to custom_profile_packet_received, which drops it
        return hdr, zigpy.device.ResponseKey(
            endpoint_id=packet.src_ep, cluster_id=packet.cluster_id, direction=hdr.frame_control.direction, tsn=hdr.tsn
        )

    def _match_packet_endpoint_cluster(self, packet: t.ZigbeePacket, hdr: Any):
        endpoint, cluster = super()._match_packet_endpoint_cluster(packet, hdr)
        if endpoint is None and _is_smart_energy(packet) and packet.src_ep in self.endpoints:
            self._reject(packet, UNKNOWN_CLUSTER)
        return endpoint, cluster

    def _parse_packet_command(self, packet: t.ZigbeePacket, endpoint: Any, zcl_cluster: Any) -> Any:
        try:
            command = super()._parse_packet_command(packet, endpoint, zcl_cluster)
        except Exception:
            if _is_smart_energy(packet):
                self._reject(packet, MALFORMED_COMMAND)
            raise
        if _is_smart_energy(packet) and isinstance(command, bytes | bytearray):
            self._reject(packet, UNKNOWN_COMMAND)  # zigpy returns the raw payload of a command it has no schema for
        return command


class SmartEnergyApplicationMixin:
    """Put before a ``ControllerApplication`` class: every device it creates is a :class:`SmartEnergyDevice`.

    zigpy creates devices through ``add_device`` when they join and when it loads them from
    its database at start-up, so both kinds decode Smart Energy frames.
    """

    def add_device(self, ieee: t.EUI64, nwk: t.NWK) -> SmartEnergyDevice:
        assert isinstance(ieee, t.EUI64)
        device = SmartEnergyDevice(self, ieee, nwk)
        self.devices[ieee] = device
        return device


_CONTROLLERS: dict[type, type] = {}


def smart_energy_controller(controller: type[zigpy.application.ControllerApplication]) -> type:
    """``controller`` (any radio library's ``ControllerApplication``) with Smart Energy devices; one class per radio."""
    if issubclass(controller, SmartEnergyApplicationMixin):
        return controller
    if controller not in _CONTROLLERS:
        _CONTROLLERS[controller] = type(
            f"SmartEnergy{controller.__name__}",
            (SmartEnergyApplicationMixin, controller),
            {"__module__": controller.__module__, "__doc__": f"{controller.__qualname__} with Smart Energy devices."},
        )
    return _CONTROLLERS[controller]
