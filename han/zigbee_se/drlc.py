"""Demand Response and Load Control, cluster 0x0701 (SE 1.4, 07-5356-19, Annex D.2).

The server (the utility's ESI, here the premise coordinator) sends load control events;
the client (a thermostat, a load control switch, an EV charger) reports what it did with
them and asks for the events it may have missed (GetScheduledEvents).
"""

from __future__ import annotations

from typing import Final

import zigpy.types as t
from zigpy.zcl import foundation
from zigpy.zcl.clusters import smartenergy as zigpy_smartenergy
from zigpy.zcl.foundation import ZCLAttributeDef, ZCLCommandDef

from .common import Signature, SmartEnergyCluster, UTCTime


class DeviceClass(t.bitmap16):
    """Device Class field (D.2.2.3.1.1.1): which kinds of load an event is for."""

    HVAC_Compressor_or_Furnace = 0x0001
    Strip_Heaters_Baseboard_Heaters = 0x0002
    Water_Heater = 0x0004
    Pool_Pump_Spa_Jacuzzi = 0x0008
    Smart_Appliances = 0x0010
    Irrigation_Pump = 0x0020
    Managed_Commercial_Industrial_Loads = 0x0040
    Simple_Misc_Loads = 0x0080
    Exterior_Lighting = 0x0100
    Interior_Lighting = 0x0200
    Electric_Vehicle = 0x0400
    Generation_Systems = 0x0800


class EventControl(t.bitmap8):
    Randomize_Start_Time = 0x01
    Randomize_End_Time = 0x02


class CancelControl(t.bitmap8):
    Graceful = 0x01  # end at the end of the current randomisation period


class EventStatus(t.enum8):
    """Event Status of Report Event Status (Table D-5)."""

    Load_Control_Event_Command_Received = 0x01
    Event_Started = 0x02
    Event_Completed = 0x03
    User_Has_Chosen_To_Opt_Out = 0x04
    User_Has_Chosen_To_Opt_In = 0x05
    The_Event_Has_Been_Cancelled = 0x06
    The_Event_Has_Been_Superseded = 0x07
    Event_Partially_Completed_With_User_Opt_Out = 0x08
    Event_Partially_Completed_Due_To_User_Opt_In = 0x09
    Event_Completed_No_User_Participation_Previous_Opt_Out = 0x0A
    Rejected_Invalid_Cancel_Command_Default = 0xF8
    Rejected_Invalid_Cancel_Command_Invalid_Effective_Time = 0xF9
    Rejected_Event_Was_Received_After_It_Had_Expired = 0xFB
    Rejected_Invalid_Cancel_Command_Undefined_Event = 0xFD
    Load_Control_Event_Command_Rejected = 0xFE


class SignatureType(t.enum8):
    No_Signature = 0x00
    ECDSA = 0x01


# The load control event fields (Figure D-2), shared by LoadControlEvent and the answers to GetScheduledEvents.
LOAD_CONTROL_EVENT_SCHEMA: Final = {
    "issuer_event_id": t.uint32_t,
    "device_class": DeviceClass,
    "utility_enrollment_group": t.uint8_t,
    "start_time": UTCTime,
    "duration_in_minutes": t.uint16_t,
    "criticality_level": t.uint8_t,
    "cooling_temperature_offset": t.uint8_t,
    "heating_temperature_offset": t.uint8_t,
    "cooling_temperature_set_point": t.int16s,
    "heating_temperature_set_point": t.int16s,
    "average_load_adjustment_percentage": t.int8s,
    "duty_cycle": t.uint8_t,
    "event_control": EventControl,
}


class Drlc(SmartEnergyCluster, zigpy_smartenergy.Drlc):
    """Demand Response and Load Control (replaces zigpy's empty placeholder of the same id)."""

    DeviceClass: Final = DeviceClass
    EventControl: Final = EventControl
    CancelControl: Final = CancelControl
    EventStatus: Final = EventStatus
    SignatureType: Final = SignatureType

    cluster_id: Final[t.uint16_t] = 0x0701
    ep_attribute: Final = "smartenergy_drlc"

    # GetScheduledEvents is answered by LoadControlEvent commands (or a Default Response NOT_FOUND).
    ANSWERED = frozenset({"get_scheduled_events"})

    class AttributeDefs(foundation.BaseAttributeDefs):
        # Client attributes (D.2.3.2); the server has none of its own.
        utility_enrollment_group: Final = ZCLAttributeDef(id=0x0000, type=t.uint8_t, access="rw")
        start_randomization_minutes: Final = ZCLAttributeDef(id=0x0001, type=t.uint8_t, access="rw")
        duration_randomization_minutes: Final = ZCLAttributeDef(id=0x0002, type=t.uint8_t, access="rw")
        device_class_value: Final = ZCLAttributeDef(id=0x0003, type=DeviceClass, access="rw")
        cluster_revision: Final = foundation.ZCL_CLUSTER_REVISION_ATTR
        reporting_status: Final = foundation.ZCL_REPORTING_STATUS_ATTR

    class ServerCommandDefs(foundation.BaseCommandDefs):
        # Received by the server, sent by the client (D.2.3.3).
        report_event_status: Final = ZCLCommandDef(
            id=0x00,
            schema={
                "issuer_event_id": t.uint32_t,
                "event_status": EventStatus,
                "event_status_time": UTCTime,
                "criticality_level_applied": t.uint8_t,
                "cooling_temperature_set_point_applied": t.int16s,
                "heating_temperature_set_point_applied": t.int16s,
                "average_load_adjustment_percentage_applied": t.int8s,
                "duty_cycle_applied": t.uint8_t,
                "event_control": EventControl,
                "signature_type": SignatureType,
                "signature": Signature,
            },
        )
        get_scheduled_events: Final = ZCLCommandDef(
            id=0x01,
            schema={
                "start_time": UTCTime,
                "number_of_events": t.uint8_t,
                "issuer_event_id?": t.uint32_t,  # added in SE 1.2; older clients leave it out
            },
        )

    class ClientCommandDefs(foundation.BaseCommandDefs):
        # Sent by the server (D.2.2.3).
        load_control_event: Final = ZCLCommandDef(id=0x00, schema=dict(LOAD_CONTROL_EVENT_SCHEMA))
        cancel_load_control_event: Final = ZCLCommandDef(
            id=0x01,
            schema={
                "issuer_event_id": t.uint32_t,
                "device_class": DeviceClass,
                "utility_enrollment_group": t.uint8_t,
                "cancel_control": CancelControl,
                "effective_time": UTCTime,
            },
        )
        cancel_all_load_control_events: Final = ZCLCommandDef(
            id=0x02,
            schema={"cancel_control": CancelControl},
        )
