"""What the four Smart Energy clusters share: the base class and the field types of SE 1.4."""

from __future__ import annotations

from typing import Any, ClassVar

import zigpy.types as t
from zigpy.zcl import Cluster, foundation

# UTCTime on the air: seconds since 2000-01-01 00:00:00 UTC, 0xFFFFFFFF for "invalid".
UTCTime = t.UTCTime


class Octets(t.LVBytes):
    """An octet string: one length byte, then the bytes (ZCL type 0x41)."""


class Signature(t.FixedList, item_type=t.uint8_t, length=42):
    """The 42-byte ECDSA signature field of Report Event Status (SE 1.4 D.2.3.3.1)."""


class SmartEnergyCluster(Cluster):
    """A Smart Energy cluster: decoded commands reach the application's listeners.

    Every decoded cluster command goes to ``smart_energy_command(device, cluster, hdr, command)``
    on the controller application's listeners. A command that has its own answer in the
    specification (``ANSWERED``, e.g. GetCurrentPrice is answered by PublishPrice) gets no
    ZCL Default Response here: the listener answers it, or sends the Default Response
    (NOT_FOUND) itself.
    """

    ANSWERED: ClassVar[frozenset[str]] = frozenset()

    def handle_cluster_request(self, hdr: foundation.ZCLHeader, args: Any, *, dst_addressing: t.AddrMode | None = None) -> None:
        commands = self.client_commands if hdr.direction == foundation.Direction.Server_to_Client else self.server_commands
        command = commands.get(hdr.command_id)
        if command is None:  # the device decoded it as an unknown command (and said so to its listeners)
            self.send_default_rsp(hdr, foundation.Status.UNSUP_CLUSTER_COMMAND)
            return
        device = self.endpoint.device
        device.application.listener_event("smart_energy_command", device, self, hdr, args)
        if command.name in self.ANSWERED:
            return
        if not hdr.frame_control.disable_default_response:
            self.send_default_rsp(hdr, foundation.Status.SUCCESS)


class RemainingBytes(bytes):
    """The rest of a frame, kept as bytes: a repeated sub-payload whose layout a control field decides."""

    def serialize(self) -> bytes:
        return bytes(self)

    @classmethod
    def deserialize(cls, data: bytes) -> tuple[RemainingBytes, bytes]:
        return cls(data), b""
