"""Messaging, cluster 0x0703 (SE 1.4, 07-5356-19, Annex D.5).

The server (the ESI) shows a text message on a premise's displays; a client asks for the
last one (GetLastMessage) and confirms it read a message that asked for confirmation.
The cluster has no attributes.
"""

from __future__ import annotations

from typing import Final

import zigpy.types as t
from zigpy.zcl import foundation
from zigpy.zcl.clusters import smartenergy as zigpy_smartenergy
from zigpy.zcl.foundation import ZCLCommandDef

from .common import Octets, SmartEnergyCluster, UTCTime


class MessageControl(t.bitmap8):
    """Message Control (D.5.2.3.1.1.1): bits 0-1 transmission, 2-3 importance, 5 enhanced confirmation, 7 confirmation."""

    Transmission_Normal_And_Anonymous_Inter_PAN = 0x00
    Transmission_Normal_Only = 0x01
    Transmission_Anonymous_Inter_PAN_Only = 0x02
    Importance_Medium = 0x04
    Importance_High = 0x08
    Importance_Critical = 0x0C
    Enhanced_Confirmation_Required = 0x20
    Message_Confirmation_Required = 0x80


class ExtendedMessageControl(t.bitmap8):
    Message_Confirmation_Status = 0x01


class MessageConfirmationControl(t.bitmap8):
    No_Returned = 0x01
    Yes_Returned = 0x02


DISPLAY_MESSAGE_SCHEMA: Final = {
    "message_id": t.uint32_t,
    "message_control": MessageControl,
    "start_time": UTCTime,
    "duration_in_minutes": t.uint16_t,
    "message": t.CharacterString,
    "extended_message_control?": ExtendedMessageControl,  # SE 1.2 on
}


class Messaging(SmartEnergyCluster, zigpy_smartenergy.Messaging):
    """Messaging (replaces zigpy's empty placeholder of the same id)."""

    MessageControl: Final = MessageControl
    ExtendedMessageControl: Final = ExtendedMessageControl
    MessageConfirmationControl: Final = MessageConfirmationControl

    cluster_id: Final[t.uint16_t] = 0x0703
    ep_attribute: Final = "smartenergy_messaging"

    # GetLastMessage is answered by DisplayMessage (or a Default Response NOT_FOUND).
    ANSWERED = frozenset({"get_last_message"})

    class AttributeDefs(foundation.BaseAttributeDefs):
        cluster_revision: Final = foundation.ZCL_CLUSTER_REVISION_ATTR

    class ServerCommandDefs(foundation.BaseCommandDefs):
        # Received by the server, sent by the client (D.5.3.3).
        get_last_message: Final = ZCLCommandDef(id=0x00, schema={})
        message_confirmation: Final = ZCLCommandDef(
            id=0x01,
            schema={
                "message_id": t.uint32_t,
                "confirmation_time": UTCTime,
                "message_confirmation_control?": MessageConfirmationControl,  # SE 1.2 on
                "message_confirmation_response?": Octets,
            },
        )

    class ClientCommandDefs(foundation.BaseCommandDefs):
        # Sent by the server (D.5.2.3).
        display_message: Final = ZCLCommandDef(id=0x00, schema=dict(DISPLAY_MESSAGE_SCHEMA))
        cancel_message: Final = ZCLCommandDef(id=0x01, schema={"message_id": t.uint32_t, "message_control": MessageControl})
        display_protected_message: Final = ZCLCommandDef(id=0x02, schema=dict(DISPLAY_MESSAGE_SCHEMA))
        cancel_all_messages: Final = ZCLCommandDef(id=0x03, schema={"implementation_date_time": UTCTime})
