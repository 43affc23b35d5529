"""Prepayment, cluster 0x0705 (SE 1.4, 07-5356-19, Annex D.7).

The server (the meter or ESI) keeps the credit; clients (an in-home display, a head-end
proxy) top up, take emergency credit, and ask for the top-up and debt logs.
"""

from __future__ import annotations

from typing import Final

import zigpy.types as t
from zigpy.zcl import foundation
from zigpy.zcl.clusters import smartenergy as zigpy_smartenergy
from zigpy.zcl.foundation import ZCLAttributeDef, ZCLCommandDef

from .common import Octets, RemainingBytes, SmartEnergyCluster, UTCTime


class OriginatingDevice(t.enum8):
    Energy_Service_Interface = 0x00
    Meter = 0x01
    In_Home_Display_Device = 0x02


class CreditAdjustmentType(t.enum8):
    Credit_Incremental = 0x00
    Credit_Absolute = 0x01


class DebtRecoveryMethod(t.enum8):
    Time_Based = 0x00
    Percentage_Based = 0x01
    Catch_Up_Based = 0x02


class DebtAmountType(t.enum8):
    Type_1_Absolute = 0x00
    Type_1_Incremental = 0x01
    Type_2_Absolute = 0x02
    Type_2_Incremental = 0x03
    Type_3_Absolute = 0x04
    Type_3_Incremental = 0x05


class DebtRecoveryFrequency(t.enum8):
    Per_Hour = 0x00
    Per_Day = 0x01
    Per_Week = 0x02
    Per_Month = 0x03
    Per_Quarter = 0x04


class DebtType(t.enum8):
    Debt_1 = 0x00
    Debt_2 = 0x01
    Debt_3 = 0x02
    All_Debts = 0xFF


class ResultType(t.enum8):
    """Consumer Top Up Response result (Table D-150)."""

    Accepted = 0x00
    Rejected_Invalid_Top_Up = 0x01
    Rejected_Duplicate_Top_Up = 0x02
    Rejected_Error = 0x03
    Rejected_Max_Credit_Reached = 0x04
    Rejected_Keypad_Lock = 0x05
    Rejected_Top_Up_Value_Too_Large = 0x06
    Accepted_Supply_Enabled = 0x10
    Accepted_Supply_Disabled = 0x11
    Accepted_Supply_Armed = 0x12


class PaymentControlConfiguration(t.bitmap16):
    Disconnection_Enabled = 0x0001
    Prepayment_Enabled = 0x0002
    Credit_Management_Enabled = 0x0004
    Credit_Display_Enabled = 0x0010
    Account_Base = 0x0040
    Contactor_Fitted = 0x0080
    Standing_Charge_Configuration = 0x0100
    Emergency_Standing_Charge_Configuration = 0x0200
    Debt_Configuration = 0x0400
    Emergency_Debt_Configuration = 0x0800


class CreditStatus(t.bitmap8):
    Credit_OK = 0x01
    Low_Credit = 0x02
    Emergency_Credit_Enabled = 0x04
    Emergency_Credit_Available = 0x08
    Emergency_Credit_Selected = 0x10
    Emergency_Credit_In_Use = 0x20
    Credit_Exhausted = 0x40


def _attribute_defs() -> type[foundation.BaseAttributeDefs]:
    """The server attribute sets of D.7.2.2."""
    defs: dict[str, ZCLAttributeDef] = {
        # Prepayment Information set
        "payment_control_configuration": ZCLAttributeDef(id=0x0000, type=PaymentControlConfiguration, access="r"),
        "credit_remaining": ZCLAttributeDef(id=0x0001, type=t.int32s, access="r"),
        "emergency_credit_remaining": ZCLAttributeDef(id=0x0002, type=t.int32s, access="r"),
        "credit_status": ZCLAttributeDef(id=0x0003, type=CreditStatus, access="r"),
        "credit_remaining_timestamp": ZCLAttributeDef(id=0x0004, type=UTCTime, access="r"),
        "accumulated_debt": ZCLAttributeDef(id=0x0005, type=t.int32s, access="r"),
        "overall_debt_cap": ZCLAttributeDef(id=0x0006, type=t.int32s, access="r"),
        "emergency_credit_limit_allowance": ZCLAttributeDef(id=0x0010, type=t.uint32_t, access="r"),
        "emergency_credit_threshold": ZCLAttributeDef(id=0x0011, type=t.uint32_t, access="r"),
        "total_credit_added": ZCLAttributeDef(id=0x0020, type=t.uint48_t, access="r"),
        "max_credit_limit": ZCLAttributeDef(id=0x0021, type=t.uint32_t, access="r"),
        "max_credit_per_top_up": ZCLAttributeDef(id=0x0022, type=t.uint32_t, access="r"),
        "friendly_credit_warning": ZCLAttributeDef(id=0x0030, type=t.uint8_t, access="r"),
        "low_credit_warning_level": ZCLAttributeDef(id=0x0031, type=t.uint32_t, access="r"),
        "ihd_low_credit_warning_level": ZCLAttributeDef(id=0x0032, type=t.uint32_t, access="rw"),
        "interrupt_suspend_time": ZCLAttributeDef(id=0x0033, type=t.uint8_t, access="r"),
        "remaining_friendly_credit_time": ZCLAttributeDef(id=0x0034, type=t.uint16_t, access="r"),
        "next_friendly_credit_period": ZCLAttributeDef(id=0x0035, type=UTCTime, access="r"),
        "cut_off_value": ZCLAttributeDef(id=0x0040, type=t.int32s, access="r"),
        "token_carrier_id": ZCLAttributeDef(id=0x0080, type=Octets, access="rw"),
        # Alarms set
        "prepayment_alarm_status": ZCLAttributeDef(id=0x0400, type=t.bitmap16, access="r"),
        "prepay_generic_alarm_mask": ZCLAttributeDef(id=0x0401, type=t.bitmap16, access="rw"),
        "prepay_switch_alarm_mask": ZCLAttributeDef(id=0x0402, type=t.bitmap16, access="rw"),
        "prepay_event_alarm_mask": ZCLAttributeDef(id=0x0403, type=t.bitmap16, access="rw"),
        "cluster_revision": foundation.ZCL_CLUSTER_REVISION_ATTR,
        "reporting_status": foundation.ZCL_REPORTING_STATUS_ATTR,
    }
    for n in range(1, 6):  # Top-up set: the last five top-ups
        base = 0x0100 + (n - 1) * 0x10
        defs[f"top_up_date_time_{n}"] = ZCLAttributeDef(id=base, type=UTCTime, access="r")
        defs[f"top_up_amount_{n}"] = ZCLAttributeDef(id=base + 1, type=t.int32s, access="r")
        defs[f"originating_device_{n}"] = ZCLAttributeDef(id=base + 2, type=OriginatingDevice, access="r")
        defs[f"top_up_code_{n}"] = ZCLAttributeDef(id=base + 3, type=Octets, access="r")
    for n in range(1, 4):  # Debt set: three debts
        base = 0x0210 + (n - 1) * 0x10
        defs[f"debt_label_{n}"] = ZCLAttributeDef(id=base, type=Octets, access="r")
        defs[f"debt_amount_{n}"] = ZCLAttributeDef(id=base + 1, type=t.uint32_t, access="r")
        defs[f"debt_recovery_method_{n}"] = ZCLAttributeDef(id=base + 2, type=DebtRecoveryMethod, access="r")
        defs[f"debt_recovery_start_time_{n}"] = ZCLAttributeDef(id=base + 3, type=UTCTime, access="r")
        defs[f"debt_recovery_collection_time_{n}"] = ZCLAttributeDef(id=base + 4, type=t.uint16_t, access="r")
        defs[f"debt_recovery_frequency_{n}"] = ZCLAttributeDef(id=base + 6, type=DebtRecoveryFrequency, access="r")
        defs[f"debt_recovery_amount_{n}"] = ZCLAttributeDef(id=base + 7, type=t.uint32_t, access="r")
        defs[f"debt_recovery_top_up_percentage_{n}"] = ZCLAttributeDef(id=base + 9, type=t.uint16_t, access="r")
    return type("AttributeDefs", (foundation.BaseAttributeDefs,), defs)


class Prepayment(SmartEnergyCluster, zigpy_smartenergy.Prepayment):
    """Prepayment (replaces zigpy's empty placeholder of the same id)."""

    OriginatingDevice: Final = OriginatingDevice
    CreditAdjustmentType: Final = CreditAdjustmentType
    DebtRecoveryMethod: Final = DebtRecoveryMethod
    DebtAmountType: Final = DebtAmountType
    DebtRecoveryFrequency: Final = DebtRecoveryFrequency
    DebtType: Final = DebtType
    ResultType: Final = ResultType
    PaymentControlConfiguration: Final = PaymentControlConfiguration
    CreditStatus: Final = CreditStatus

    cluster_id: Final[t.uint16_t] = 0x0705
    ep_attribute: Final = "smartenergy_prepayment"

    ANSWERED = frozenset({"change_payment_mode", "consumer_top_up", "get_prepay_snapshot", "get_top_up_log", "get_debt_repayment_log"})

    AttributeDefs = _attribute_defs()

    class ServerCommandDefs(foundation.BaseCommandDefs):
        # Received by the server, sent by the client (D.7.2.3); 0x01 is reserved since SE 1.2.
        select_available_emergency_credit: Final = ZCLCommandDef(
            id=0x00, schema={"command_issue_date_time": UTCTime, "originating_device": OriginatingDevice}
        )
        change_debt: Final = ZCLCommandDef(
            id=0x02,
            schema={
                "issuer_event_id": t.uint32_t,
                "debt_label": Octets,
                "debt_amount": t.uint32_t,
                "debt_recovery_method": DebtRecoveryMethod,
                "debt_amount_type": DebtAmountType,
                "debt_recovery_start_time": UTCTime,
                "debt_recovery_collection_time": t.uint16_t,
                "debt_recovery_frequency": DebtRecoveryFrequency,
                "debt_recovery_amount": t.uint32_t,
                "debt_recovery_balance_percentage": t.uint16_t,
            },
        )
        emergency_credit_setup: Final = ZCLCommandDef(
            id=0x03,
            schema={
                "issuer_event_id": t.uint32_t,
                "start_time": UTCTime,
                "emergency_credit_limit": t.uint32_t,
                "emergency_credit_threshold": t.uint32_t,
            },
        )
        consumer_top_up: Final = ZCLCommandDef(id=0x04, schema={"originating_device": OriginatingDevice, "top_up_code": Octets})
        credit_adjustment: Final = ZCLCommandDef(
            id=0x05,
            schema={
                "issuer_event_id": t.uint32_t,
                "start_time": UTCTime,
                "credit_adjustment_type": CreditAdjustmentType,
                "credit_adjustment_value": t.int32s,
            },
        )
        change_payment_mode: Final = ZCLCommandDef(
            id=0x06,
            schema={
                "provider_id": t.uint32_t,
                "issuer_event_id": t.uint32_t,
                "implementation_date_time": UTCTime,
                "proposed_payment_control_configuration": PaymentControlConfiguration,
                "cut_off_value": t.int32s,
            },
        )
        get_prepay_snapshot: Final = ZCLCommandDef(
            id=0x07,
            schema={
                "earliest_start_time": UTCTime,
                "latest_end_time": UTCTime,
                "snapshot_offset": t.uint8_t,
                "snapshot_cause": t.bitmap32,
            },
        )
        get_top_up_log: Final = ZCLCommandDef(id=0x08, schema={"latest_end_time": UTCTime, "number_of_records": t.uint8_t})
        set_low_credit_warning_level: Final = ZCLCommandDef(id=0x09, schema={"low_credit_warning_level": t.uint32_t})
        get_debt_repayment_log: Final = ZCLCommandDef(
            id=0x0A, schema={"latest_end_time": UTCTime, "number_of_debts": t.uint8_t, "debt_type": DebtType}
        )
        set_maximum_credit_limit: Final = ZCLCommandDef(
            id=0x0B,
            schema={
                "provider_id": t.uint32_t,
                "issuer_event_id": t.uint32_t,
                "implementation_date_time": UTCTime,
                "maximum_credit_level": t.uint32_t,
                "maximum_credit_per_top_up": t.uint32_t,
            },
        )
        set_overall_debt_cap: Final = ZCLCommandDef(
            id=0x0C,
            schema={
                "provider_id": t.uint32_t,
                "issuer_event_id": t.uint32_t,
                "implementation_date_time": UTCTime,
                "overall_debt_cap": t.int32s,
            },
        )

    class ClientCommandDefs(foundation.BaseCommandDefs):
        # Sent by the server (D.7.2.4); 0x00 and 0x04 are reserved.
        publish_prepay_snapshot: Final = ZCLCommandDef(
            id=0x01,
            schema={
                "snapshot_id": t.uint32_t,
                "snapshot_time": UTCTime,
                "total_snapshots_found": t.uint8_t,
                "command_index": t.uint8_t,
                "total_number_of_commands": t.uint8_t,
                "snapshot_cause": t.bitmap32,
                "snapshot_payload_type": t.enum8,
                "snapshot_payload": RemainingBytes,
            },
        )
        change_payment_mode_response: Final = ZCLCommandDef(
            id=0x02,
            schema={
                "friendly_credit": t.bitmap8,
                "friendly_credit_calendar_id": t.uint32_t,
                "emergency_credit_limit": t.uint32_t,
                "emergency_credit_threshold": t.uint32_t,
            },
        )
        consumer_top_up_response: Final = ZCLCommandDef(
            id=0x03,
            schema={
                "result_type": ResultType,
                "top_up_value": t.int32s,
                "source_of_top_up": OriginatingDevice,
                "credit_remaining": t.int32s,
            },
        )
        publish_top_up_log: Final = ZCLCommandDef(
            id=0x05,
            schema={"command_index": t.uint8_t, "total_number_of_commands": t.uint8_t, "top_up_payload": RemainingBytes},
        )
        publish_debt_log: Final = ZCLCommandDef(
            id=0x06,
            schema={"command_index": t.uint8_t, "total_number_of_commands": t.uint8_t, "debt_payload": RemainingBytes},
        )
