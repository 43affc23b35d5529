"""Price, cluster 0x0700 (SE 1.4, 07-5356-19, Annex D.4).

The server (the ESI) publishes prices, tariffs, block periods and bills; clients (in-home
displays, thermostats, smart appliances) ask for the current and scheduled ones.
"""

from __future__ import annotations

from typing import Final

import zigpy.types as t
from zigpy.zcl import foundation
from zigpy.zcl.clusters import smartenergy as zigpy_smartenergy
from zigpy.zcl.foundation import ZCLAttributeDef, ZCLCommandDef

from .common import Octets, RemainingBytes, SmartEnergyCluster, UTCTime


class CommandOptions(t.bitmap8):
    """Get Current Price command options (D.4.2.3.1.1)."""

    Requestor_Rx_On_When_Idle = 0x01


class PriceControl(t.bitmap8):
    Price_Acknowledgement_Required = 0x01
    Total_Tiers_Exceeds_15 = 0x02


class TariffType(t.enum8):
    Delivered = 0x00
    Received = 0x01
    Delivered_And_Received = 0x02


class CommodityType(t.enum8):
    Electric_Metering = 0x00
    Gas_Metering = 0x01
    Water_Metering = 0x02
    Heat_Metering = 0x05
    Cooling_Metering = 0x06


class CPPAuth(t.enum8):
    Pending = 0x00
    Accepted = 0x01
    Rejected = 0x02
    Forced = 0x03


def _attribute_defs() -> type[foundation.BaseAttributeDefs]:
    """The server attribute sets of D.4.2.2; tier labels, thresholds and block prices are numbered runs."""
    defs: dict[str, ZCLAttributeDef] = {}
    for tier in range(1, 49):  # Tier Label (Delivered) set
        defs[f"tier{tier}_price_label"] = ZCLAttributeDef(id=0x0000 + tier - 1, type=Octets, access="rw")
    for block in range(1, 16):  # Block Threshold (Delivered) set
        defs[f"block{block}_threshold"] = ZCLAttributeDef(id=0x0100 + block - 1, type=t.uint48_t, access="r")
    defs["block_threshold_count"] = ZCLAttributeDef(id=0x010F, type=t.uint8_t, access="r")
    # Block Period (Delivered) set
    defs["start_of_block_period"] = ZCLAttributeDef(id=0x0200, type=UTCTime, access="r")
    defs["block_period_duration"] = ZCLAttributeDef(id=0x0201, type=t.uint24_t, access="r")
    defs["threshold_multiplier"] = ZCLAttributeDef(id=0x0202, type=t.uint24_t, access="r")
    defs["threshold_divisor"] = ZCLAttributeDef(id=0x0203, type=t.uint24_t, access="r")
    defs["block_period_duration_type"] = ZCLAttributeDef(id=0x0204, type=t.bitmap8, access="r")
    # Commodity set
    defs["commodity_type"] = ZCLAttributeDef(id=0x0300, type=CommodityType, access="r")
    defs["standing_charge"] = ZCLAttributeDef(id=0x0301, type=t.uint32_t, access="r")
    defs["conversion_factor"] = ZCLAttributeDef(id=0x0302, type=t.uint32_t, access="r")
    defs["conversion_factor_trailing_digit"] = ZCLAttributeDef(id=0x0303, type=t.bitmap8, access="r")
    defs["calorific_value"] = ZCLAttributeDef(id=0x0304, type=t.uint32_t, access="r")
    defs["calorific_value_unit"] = ZCLAttributeDef(id=0x0305, type=t.enum8, access="r")
    defs["calorific_value_trailing_digit"] = ZCLAttributeDef(id=0x0306, type=t.bitmap8, access="r")
    # Block Price Information (Delivered) set: no tier and tiers 1-15, blocks 1-16 each
    for tier in range(16):
        for block in range(1, 17):
            name = f"no_tier_block{block}_price" if tier == 0 else f"tier{tier}_block{block}_price"
            defs[name] = ZCLAttributeDef(id=0x0400 + tier * 16 + block - 1, type=t.uint32_t, access="r")
    # Tariff Information (Delivered) set
    defs["tariff_label"] = ZCLAttributeDef(id=0x0610, type=Octets, access="r")
    defs["number_of_price_tiers_in_use"] = ZCLAttributeDef(id=0x0611, type=t.uint8_t, access="r")
    defs["number_of_block_thresholds_in_use"] = ZCLAttributeDef(id=0x0612, type=t.uint8_t, access="r")
    defs["tier_block_mode"] = ZCLAttributeDef(id=0x0613, type=t.enum8, access="r")
    defs["unit_of_measure"] = ZCLAttributeDef(id=0x0615, type=t.enum8, access="r")
    defs["currency"] = ZCLAttributeDef(id=0x0616, type=t.uint16_t, access="r")
    defs["price_trailing_digit"] = ZCLAttributeDef(id=0x0617, type=t.bitmap8, access="r")
    defs["tariff_resolution_period"] = ZCLAttributeDef(id=0x0619, type=t.enum8, access="r")
    defs["co2"] = ZCLAttributeDef(id=0x0620, type=t.uint32_t, access="r")
    defs["co2_unit"] = ZCLAttributeDef(id=0x0621, type=t.enum8, access="r")
    defs["co2_trailing_digit"] = ZCLAttributeDef(id=0x0622, type=t.bitmap8, access="r")
    # Billing Information (Delivered) set
    defs["current_billing_period_start"] = ZCLAttributeDef(id=0x0700, type=UTCTime, access="r")
    defs["current_billing_period_duration"] = ZCLAttributeDef(id=0x0701, type=t.uint24_t, access="r")
    defs["last_billing_period_start"] = ZCLAttributeDef(id=0x0702, type=UTCTime, access="r")
    defs["last_billing_period_duration"] = ZCLAttributeDef(id=0x0703, type=t.uint24_t, access="r")
    defs["last_billing_period_consolidated_bill"] = ZCLAttributeDef(id=0x0704, type=t.uint32_t, access="r")
    # Credit Payment set
    defs["credit_payment_due_date"] = ZCLAttributeDef(id=0x0800, type=UTCTime, access="r")
    defs["credit_payment_status"] = ZCLAttributeDef(id=0x0801, type=t.enum8, access="r")
    defs["credit_payment_over_due_amount"] = ZCLAttributeDef(id=0x0802, type=t.int32s, access="r")
    defs["payment_discount"] = ZCLAttributeDef(id=0x080A, type=t.int32s, access="r")
    defs["payment_discount_period"] = ZCLAttributeDef(id=0x080B, type=t.enum8, access="r")
    for n in range(1, 6):
        base = 0x0810 + (n - 1) * 0x10
        defs[f"credit_payment_{n}"] = ZCLAttributeDef(id=base, type=t.uint32_t, access="r")
        defs[f"credit_payment_date_{n}"] = ZCLAttributeDef(id=base + 1, type=UTCTime, access="r")
        defs[f"credit_payment_ref_{n}"] = ZCLAttributeDef(id=base + 2, type=Octets, access="r")
    defs["cluster_revision"] = foundation.ZCL_CLUSTER_REVISION_ATTR
    defs["reporting_status"] = foundation.ZCL_REPORTING_STATUS_ATTR
    return type("AttributeDefs", (foundation.BaseAttributeDefs,), defs)


_PERIOD_REQUEST = {"earliest_start_time": UTCTime, "min_issuer_event_id": t.uint32_t, "number_of_commands": t.uint8_t}


class Price(SmartEnergyCluster, zigpy_smartenergy.Price):
    """Price (replaces zigpy's empty placeholder of the same id)."""

    CommandOptions: Final = CommandOptions
    PriceControl: Final = PriceControl
    TariffType: Final = TariffType
    CommodityType: Final = CommodityType
    CPPAuth: Final = CPPAuth

    cluster_id: Final[t.uint16_t] = 0x0700
    ep_attribute: Final = "smartenergy_price"

    # Each has its own answer (PublishPrice, PublishBlockPeriod ...) or a Default Response NOT_FOUND.
    ANSWERED = frozenset(
        {
            "get_current_price",
            "get_scheduled_prices",
            "get_block_periods",
            "get_conversion_factor",
            "get_calorific_value",
            "get_tariff_information",
            "get_price_matrix",
            "get_block_thresholds",
            "get_co2_value",
            "get_tier_labels",
            "get_billing_period",
            "get_consolidated_bill",
            "get_credit_payment",
            "get_currency_conversion_command",
            "get_tariff_cancellation",
        }
    )

    AttributeDefs = _attribute_defs()

    class ServerCommandDefs(foundation.BaseCommandDefs):
        # Received by the server, sent by the client (D.4.2.3).
        get_current_price: Final = ZCLCommandDef(id=0x00, schema={"command_options": CommandOptions})
        get_scheduled_prices: Final = ZCLCommandDef(id=0x01, schema={"start_time": UTCTime, "number_of_events": t.uint8_t})
        price_acknowledgement: Final = ZCLCommandDef(
            id=0x02,
            schema={
                "provider_id": t.uint32_t,
                "issuer_event_id": t.uint32_t,
                "price_ack_time": UTCTime,
                "control": PriceControl,
            },
        )
        get_block_periods: Final = ZCLCommandDef(
            id=0x03, schema={"start_time": UTCTime, "number_of_events": t.uint8_t, "tariff_type?": TariffType}
        )
        get_conversion_factor: Final = ZCLCommandDef(id=0x04, schema=dict(_PERIOD_REQUEST))
        get_calorific_value: Final = ZCLCommandDef(id=0x05, schema=dict(_PERIOD_REQUEST))
        get_tariff_information: Final = ZCLCommandDef(id=0x06, schema={**_PERIOD_REQUEST, "tariff_type": TariffType})
        get_price_matrix: Final = ZCLCommandDef(id=0x07, schema={"issuer_tariff_id": t.uint32_t})
        get_block_thresholds: Final = ZCLCommandDef(id=0x08, schema={"issuer_tariff_id": t.uint32_t})
        get_co2_value: Final = ZCLCommandDef(id=0x09, schema={**_PERIOD_REQUEST, "tariff_type?": TariffType})
        get_tier_labels: Final = ZCLCommandDef(id=0x0A, schema={"issuer_tariff_id": t.uint32_t})
        get_billing_period: Final = ZCLCommandDef(id=0x0B, schema={**_PERIOD_REQUEST, "tariff_type?": TariffType})
        get_consolidated_bill: Final = ZCLCommandDef(id=0x0C, schema={**_PERIOD_REQUEST, "tariff_type?": TariffType})
        cpp_event_response: Final = ZCLCommandDef(id=0x0D, schema={"issuer_event_id": t.uint32_t, "cpp_auth": CPPAuth})
        get_credit_payment: Final = ZCLCommandDef(id=0x0E, schema={"latest_end_time": UTCTime, "number_of_records": t.uint8_t})
        get_currency_conversion_command: Final = ZCLCommandDef(id=0x0F, schema={})
        get_tariff_cancellation: Final = ZCLCommandDef(id=0x10, schema={})

    class ClientCommandDefs(foundation.BaseCommandDefs):
        # Sent by the server (D.4.2.4).
        publish_price: Final = ZCLCommandDef(
            id=0x00,
            schema={
                "provider_id": t.uint32_t,
                "rate_label": Octets,
                "issuer_event_id": t.uint32_t,
                "current_time": UTCTime,
                "unit_of_measure": t.enum8,
                "currency": t.uint16_t,
                "price_trailing_digit_and_price_tier": t.uint8_t,  # high nibble trailing digits, low nibble tier
                "number_of_price_tiers_and_register_tier": t.uint8_t,  # high nibble tiers, low nibble register tier
                "start_time": UTCTime,
                "duration_in_minutes": t.uint16_t,
                "price": t.uint32_t,
                # Optional from here on (SE 1.0 ESIs stop after Price); each needs the ones before it.
                "price_ratio?": t.uint8_t,
                "generation_price?": t.uint32_t,
                "generation_price_ratio?": t.uint8_t,
                "alternate_cost_delivered?": t.uint32_t,
                "alternate_cost_unit?": t.enum8,
                "alternate_cost_trailing_digit?": t.uint8_t,
                "number_of_block_thresholds?": t.uint8_t,
                "price_control?": PriceControl,
                "number_of_generation_tiers?": t.uint8_t,
                "generation_tier?": t.enum8,
                "extended_number_of_price_tiers?": t.uint8_t,
                "extended_price_tier?": t.enum8,
                "extended_register_tier?": t.enum8,
            },
        )
        publish_block_period: Final = ZCLCommandDef(
            id=0x01,
            schema={
                "provider_id": t.uint32_t,
                "issuer_event_id": t.uint32_t,
                "block_period_start_time": UTCTime,
                "block_period_duration": t.uint24_t,
                "block_period_control": t.bitmap8,
                "block_period_duration_type": t.bitmap8,
                "tariff_type": t.bitmap8,
                "tariff_resolution_period": t.enum8,
            },
        )
        publish_conversion_factor: Final = ZCLCommandDef(
            id=0x02,
            schema={
                "issuer_event_id": t.uint32_t,
                "start_time": UTCTime,
                "conversion_factor": t.uint32_t,
                "conversion_factor_trailing_digit": t.bitmap8,
            },
        )
        publish_calorific_value: Final = ZCLCommandDef(
            id=0x03,
            schema={
                "issuer_event_id": t.uint32_t,
                "start_time": UTCTime,
                "calorific_value": t.uint32_t,
                "calorific_value_unit": t.enum8,
                "calorific_value_trailing_digit": t.bitmap8,
            },
        )
        publish_tariff_information: Final = ZCLCommandDef(
            id=0x04,
            schema={
                "provider_id": t.uint32_t,
                "issuer_event_id": t.uint32_t,
                "issuer_tariff_id": t.uint32_t,
                "start_time": UTCTime,
                "tariff_type_charging_scheme": t.bitmap8,
                "tariff_label": Octets,
                "number_of_price_tiers_in_use": t.uint8_t,
                "number_of_block_thresholds_in_use": t.uint8_t,
                "unit_of_measure": t.enum8,
                "currency": t.uint16_t,
                "price_trailing_digit": t.bitmap8,
                "standing_charge": t.uint32_t,
                "tier_block_mode": t.enum8,
                "block_threshold_multiplier": t.uint24_t,
                "block_threshold_divisor": t.uint24_t,
            },
        )
        publish_price_matrix: Final = ZCLCommandDef(
            id=0x05,
            schema={
                "provider_id": t.uint32_t,
                "issuer_event_id": t.uint32_t,
                "start_time": UTCTime,
                "issuer_tariff_id": t.uint32_t,
                "command_index": t.uint8_t,
                "total_number_of_commands": t.uint8_t,
                "sub_payload_control": t.bitmap8,
                "payload": RemainingBytes,  # (tier/block id, price) pairs; their meaning depends on the control
            },
        )
        publish_block_thresholds: Final = ZCLCommandDef(
            id=0x06,
            schema={
                "provider_id": t.uint32_t,
                "issuer_event_id": t.uint32_t,
                "start_time": UTCTime,
                "issuer_tariff_id": t.uint32_t,
                "command_index": t.uint8_t,
                "total_number_of_commands": t.uint8_t,
                "sub_payload_control": t.bitmap8,
                "payload": RemainingBytes,
            },
        )
        publish_co2_value: Final = ZCLCommandDef(
            id=0x07,
            schema={
                "provider_id": t.uint32_t,
                "issuer_event_id": t.uint32_t,
                "start_time": UTCTime,
                "tariff_type": TariffType,
                "co2_value": t.uint32_t,
                "co2_value_unit": t.enum8,
                "co2_value_trailing_digit": t.bitmap8,
            },
        )
        publish_tier_labels: Final = ZCLCommandDef(
            id=0x08,
            schema={
                "provider_id": t.uint32_t,
                "issuer_event_id": t.uint32_t,
                "issuer_tariff_id": t.uint32_t,
                "command_index": t.uint8_t,
                "total_number_of_commands": t.uint8_t,
                "number_of_labels": t.uint8_t,
                "payload": RemainingBytes,  # (tier id, label) pairs
            },
        )
        publish_billing_period: Final = ZCLCommandDef(
            id=0x09,
            schema={
                "provider_id": t.uint32_t,
                "issuer_event_id": t.uint32_t,
                "billing_period_start_time": UTCTime,
                "billing_period_duration": t.uint24_t,
                "billing_period_duration_type": t.bitmap8,
                "tariff_type": TariffType,
            },
        )
        publish_consolidated_bill: Final = ZCLCommandDef(
            id=0x0A,
            schema={
                "provider_id": t.uint32_t,
                "issuer_event_id": t.uint32_t,
                "billing_period_start_time": UTCTime,
                "billing_period_duration": t.uint24_t,
                "billing_period_duration_type": t.bitmap8,
                "tariff_type": TariffType,
                "consolidated_bill": t.uint32_t,
                "currency": t.uint16_t,
                "bill_trailing_digit": t.bitmap8,
            },
        )
        publish_cpp_event: Final = ZCLCommandDef(
            id=0x0B,
            schema={
                "provider_id": t.uint32_t,
                "issuer_event_id": t.uint32_t,
                "start_time": UTCTime,
                "duration_in_minutes": t.uint16_t,
                "tariff_type": TariffType,
                "cpp_price_tier": t.uint8_t,
                "cpp_auth": CPPAuth,
            },
        )
        publish_credit_payment: Final = ZCLCommandDef(
            id=0x0C,
            schema={
                "provider_id": t.uint32_t,
                "issuer_event_id": t.uint32_t,
                "credit_payment_due_date": UTCTime,
                "credit_payment_overdue_amount": t.uint32_t,
                "credit_payment_status": t.enum8,
                "credit_payment": t.uint32_t,
                "credit_payment_date": UTCTime,
                "credit_payment_ref": Octets,
            },
        )
        publish_currency_conversion: Final = ZCLCommandDef(
            id=0x0D,
            schema={
                "provider_id": t.uint32_t,
                "issuer_event_id": t.uint32_t,
                "start_time": UTCTime,
                "old_currency": t.uint16_t,
                "new_currency": t.uint16_t,
                "conversion_factor": t.uint32_t,
                "conversion_factor_trailing_digit": t.bitmap8,
                "currency_change_control_flags": t.bitmap32,
            },
        )
        cancel_tariff: Final = ZCLCommandDef(
            id=0x0E, schema={"provider_id": t.uint32_t, "issuer_tariff_id": t.uint32_t, "tariff_type": TariffType}
        )
