"""Known-answer Smart Energy frames, written byte by byte from the specification, not by our encoder.

Each frame is a whole ZCL frame: frame control, sequence number, command id, then the payload,
little-endian, with the field order and widths of Zigbee Smart Energy Standard 1.4
(07-5356-19): Price D.4.2.3/D.4.2.4, DRLC D.2.2.3/D.2.3.3, Messaging D.5.2.3/D.5.3.3,
Prepayment D.7.2.3/D.7.2.4. The same field order and widths are what Wireshark's ZCL SE
dissector reads (epan/dissectors/packet-zbee-zcl-se.c: ``dissect_zcl_price_get_current_price``,
``dissect_zcl_price_publish_price``, ``dissect_zcl_price_publish_block_period`` ...,
``dissect_zcl_drlc_*``, ``dissect_zcl_msg_*``, ``dissect_zcl_prepayment_*``).

Frame control: 0x01 = cluster-specific, client to server; 0x09 = cluster-specific, server to
client; 0x19 = the same with "disable default response". UTCTime 0x2E7CE100 is written
``00 e1 7c 2e``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NOW = 0x2E7CE100  # 2024-09-01 ... as UTCTime; written 00 e1 7c 2e


@dataclass(frozen=True)
class Frame:
    cluster_id: int
    hex: str
    command: str
    fields: dict[str, Any]

    @property
    def data(self) -> bytes:
        return bytes.fromhex(self.hex.replace(" ", ""))

    @property
    def to_server(self) -> bool:
        return not self.data[0] & 0x08


PRICE, DRLC, MESSAGING, PREPAYMENT = 0x0700, 0x0701, 0x0703, 0x0705

FRAMES = [
    # --- Price, client to server (D.4.2.3) ---------------------------------------------------
    Frame(PRICE, "01 10 00 01", "get_current_price", {"command_options": 0x01}),
    Frame(PRICE, "01 11 01 00e17c2e 05", "get_scheduled_prices", {"start_time": NOW, "number_of_events": 5}),
    Frame(
        PRICE,
        "01 12 02 0a000000 d2040000 00e17c2e 01",
        "price_acknowledgement",
        {"provider_id": 10, "issuer_event_id": 1234, "price_ack_time": NOW, "control": 1},
    ),
    Frame(PRICE, "01 13 03 00000000 02 00", "get_block_periods", {"start_time": 0, "number_of_events": 2, "tariff_type": 0}),
    Frame(PRICE, "01 14 04 00e17c2e 01000000 04", "get_conversion_factor", {"min_issuer_event_id": 1, "number_of_commands": 4}),
    Frame(PRICE, "01 15 05 00000000 00000000 01", "get_calorific_value", {"number_of_commands": 1}),
    Frame(PRICE, "01 16 06 00000000 00000000 01 01", "get_tariff_information", {"tariff_type": 1}),
    Frame(PRICE, "01 17 07 99000000", "get_price_matrix", {"issuer_tariff_id": 0x99}),
    Frame(PRICE, "01 18 08 99000000", "get_block_thresholds", {"issuer_tariff_id": 0x99}),
    Frame(PRICE, "01 19 09 00000000 00000000 01", "get_co2_value", {"number_of_commands": 1, "tariff_type": None}),
    Frame(PRICE, "01 1a 0a 99000000", "get_tier_labels", {"issuer_tariff_id": 0x99}),
    Frame(PRICE, "01 1b 0b 00000000 00000000 01 00", "get_billing_period", {"tariff_type": 0}),
    Frame(PRICE, "01 1c 0c 00000000 00000000 02", "get_consolidated_bill", {"number_of_commands": 2}),
    Frame(PRICE, "01 1d 0d 2a000000 01", "cpp_event_response", {"issuer_event_id": 42, "cpp_auth": 1}),
    Frame(PRICE, "01 1e 0e ffffffff 05", "get_credit_payment", {"latest_end_time": 0xFFFFFFFF, "number_of_records": 5}),
    Frame(PRICE, "01 1f 0f", "get_currency_conversion_command", {}),
    Frame(PRICE, "01 20 10", "get_tariff_cancellation", {}),
    # --- Price, server to client (D.4.2.4) ---------------------------------------------------
    # Publish Price as an SE 1.0 ESI sends it: it stops after Price.
    Frame(
        PRICE,
        "09 21 00 01000000 04 5065616b 64000000 00e17c2e 00 4803 21 31 00000000 ffff d2040000",
        "publish_price",
        {
            "provider_id": 1,
            "rate_label": b"Peak",
            "issuer_event_id": 100,
            "current_time": NOW,
            "unit_of_measure": 0,
            "currency": 840,
            "price_trailing_digit_and_price_tier": 0x21,
            "number_of_price_tiers_and_register_tier": 0x31,
            "start_time": 0,
            "duration_in_minutes": 0xFFFF,
            "price": 1234,
            "price_ratio": None,
        },
    ),
    # ... and with the SE 1.1 optional fields up to Price Control.
    Frame(
        PRICE,
        "09 22 00 01000000 00 65000000 00e17c2e 00 4803 21 31 00000000 ffff d2040000 ff ffffffff ff ffffffff 01 00 00 01",
        "publish_price",
        {"rate_label": b"", "price_ratio": 0xFF, "alternate_cost_unit": 1, "number_of_block_thresholds": 0, "price_control": 1},
    ),
    Frame(
        PRICE,
        "09 23 01 01000000 66000000 00e17c2e 3c0000 01 00 00 00",
        "publish_block_period",
        {"block_period_start_time": NOW, "block_period_duration": 60, "block_period_control": 1},
    ),
    Frame(PRICE, "09 24 02 67000000 00e17c2e 0a000000 30", "publish_conversion_factor", {"conversion_factor": 10}),
    Frame(
        PRICE, "09 25 03 68000000 00e17c2e 27000000 01 30", "publish_calorific_value", {"calorific_value": 39, "calorific_value_unit": 1}
    ),
    Frame(
        PRICE,
        "09 26 04 01000000 69000000 99000000 00e17c2e 00 03 544f55 03 00 00 4803 20 64000000 00 010000 e80300",
        "publish_tariff_information",
        {"tariff_label": b"TOU", "number_of_price_tiers_in_use": 3, "standing_charge": 100, "block_threshold_divisor": 1000},
    ),
    Frame(
        PRICE,
        "09 27 05 01000000 6a000000 00e17c2e 99000000 00 01 01 01 0a000000 02 14000000",
        "publish_price_matrix",
        {"sub_payload_control": 1, "payload": bytes.fromhex("010a0000000214000000")},
    ),
    Frame(
        PRICE,
        "09 28 06 01000000 6b000000 00e17c2e 99000000 00 01 00 11 e80300000000",
        "publish_block_thresholds",
        {"payload": bytes.fromhex("11e80300000000")},
    ),
    Frame(PRICE, "09 29 07 01000000 6c000000 00e17c2e 00 b9000000 01 30", "publish_co2_value", {"co2_value": 185, "co2_value_unit": 1}),
    Frame(
        PRICE,
        "09 2a 08 01000000 6d000000 99000000 00 01 01 01 04 5065616b",
        "publish_tier_labels",
        {"number_of_labels": 1, "payload": bytes.fromhex("01045065616b")},
    ),
    Frame(PRICE, "09 2b 09 01000000 6e000000 00e17c2e c0a800 00 00", "publish_billing_period", {"billing_period_duration": 43200}),
    Frame(
        PRICE,
        "09 2c 0a 01000000 6f000000 00e17c2e c0a800 00 00 39300000 4803 20",
        "publish_consolidated_bill",
        {"consolidated_bill": 12345, "currency": 840},
    ),
    Frame(
        PRICE,
        "09 2d 0b 01000000 70000000 00e17c2e 3c00 00 01 00",
        "publish_cpp_event",
        {"duration_in_minutes": 60, "cpp_price_tier": 1, "cpp_auth": 0},
    ),
    Frame(
        PRICE,
        "09 2e 0c 01000000 71000000 00e17c2e 00000000 00 f4010000 00e17c2e 03 414243",
        "publish_credit_payment",
        {"credit_payment": 500, "credit_payment_ref": b"ABC"},
    ),
    Frame(
        PRICE,
        "09 2f 0d 01000000 72000000 00e17c2e 3a03 d203 38c10100 50 01000000",
        "publish_currency_conversion",
        {"old_currency": 826, "new_currency": 978, "conversion_factor": 115000},
    ),
    Frame(PRICE, "09 30 0e 01000000 99000000 00", "cancel_tariff", {"issuer_tariff_id": 0x99, "tariff_type": 0}),
    # --- DRLC, client to server (D.2.3.3) ----------------------------------------------------
    Frame(
        DRLC,
        "01 31 00 b80b0000 01 00e17c2e 03 0080 0080 80 ff 00 00" + " 00" * 42,
        "report_event_status",
        {
            "issuer_event_id": 3000,
            "event_status": 0x01,
            "event_status_time": NOW,
            "criticality_level_applied": 3,
            "cooling_temperature_set_point_applied": -0x8000,
            "average_load_adjustment_percentage_applied": -0x80,
            "duty_cycle_applied": 0xFF,
            "signature_type": 0,
        },
    ),
    # GetScheduledEvents as SE 1.0/1.1 clients send it, and with SE 1.2's Issuer Event ID.
    Frame(DRLC, "01 32 01 00000000 00", "get_scheduled_events", {"start_time": 0, "number_of_events": 0, "issuer_event_id": None}),
    Frame(
        DRLC, "01 33 01 00e17c2e 02 e8030000", "get_scheduled_events", {"start_time": NOW, "number_of_events": 2, "issuer_event_id": 1000}
    ),
    # --- DRLC, server to client (D.2.2.3) ----------------------------------------------------
    Frame(
        DRLC,
        "09 34 00 b80b0000 0100 00 00e17c2e 1e00 03 14 ff 0080 0080 80 ff 00",
        "load_control_event",
        {
            "issuer_event_id": 3000,
            "device_class": 0x0001,
            "start_time": NOW,
            "duration_in_minutes": 30,
            "criticality_level": 3,
            "cooling_temperature_offset": 20,
            "heating_temperature_offset": 0xFF,
            "duty_cycle": 0xFF,
        },
    ),
    Frame(
        DRLC,
        "09 35 01 b80b0000 0100 00 01 00000000",
        "cancel_load_control_event",
        {"issuer_event_id": 3000, "cancel_control": 1, "effective_time": 0},
    ),
    Frame(DRLC, "09 36 02 01", "cancel_all_load_control_events", {"cancel_control": 1}),
    # --- Messaging, client to server (D.5.3.3) -----------------------------------------------
    Frame(MESSAGING, "01 40 00", "get_last_message", {}),
    Frame(MESSAGING, "01 41 01 78563412 00e17c2e", "message_confirmation", {"message_id": 0x12345678, "confirmation_time": NOW}),
    Frame(
        MESSAGING,
        "01 42 01 78563412 00e17c2e 02 03 594553",
        "message_confirmation",
        {"message_confirmation_control": 0x02, "message_confirmation_response": b"YES"},
    ),
    # --- Messaging, server to client (D.5.2.3) -----------------------------------------------
    Frame(
        MESSAGING,
        "09 43 00 78563412 80 00e17c2e 3c00 0b 48656c6c6f20776f726c64",
        "display_message",
        {"message_id": 0x12345678, "message_control": 0x80, "duration_in_minutes": 60, "message": "Hello world"},
    ),
    Frame(
        MESSAGING,
        "09 44 02 78563412 08 00000000 ffff 02 4869 01",
        "display_protected_message",
        {"message": "Hi", "extended_message_control": 1},
    ),
    Frame(MESSAGING, "09 45 01 78563412 00", "cancel_message", {"message_id": 0x12345678}),
    Frame(MESSAGING, "09 46 03 00e17c2e", "cancel_all_messages", {"implementation_date_time": NOW}),
    # --- Prepayment, client to server (D.7.2.3) ----------------------------------------------
    Frame(PREPAYMENT, "01 50 00 00e17c2e 02", "select_available_emergency_credit", {"originating_device": 2}),
    Frame(
        PREPAYMENT,
        "01 51 02 01000000 04 44656274 10270000 00 00 00e17c2e 0000 01 64000000 0000",
        "change_debt",
        {"debt_label": b"Debt", "debt_amount": 10000, "debt_recovery_frequency": 1, "debt_recovery_amount": 100},
    ),
    Frame(
        PREPAYMENT,
        "01 52 03 02000000 00e17c2e e8030000 f4010000",
        "emergency_credit_setup",
        {"emergency_credit_limit": 1000, "emergency_credit_threshold": 500},
    ),
    Frame(
        PREPAYMENT,
        "01 53 04 02 0a 31323334353637383930",
        "consumer_top_up",
        {"originating_device": 2, "top_up_code": b"1234567890"},
    ),
    Frame(
        PREPAYMENT,
        "01 54 05 03000000 00e17c2e 00 18fcffff",
        "credit_adjustment",
        {"credit_adjustment_type": 0, "credit_adjustment_value": -1000},
    ),
    Frame(
        PREPAYMENT,
        "01 55 06 01000000 04000000 00e17c2e 0300 00000000",
        "change_payment_mode",
        {"proposed_payment_control_configuration": 0x0003, "cut_off_value": 0},
    ),
    Frame(PREPAYMENT, "01 56 07 00000000 ffffffff 00 ffffffff", "get_prepay_snapshot", {"snapshot_cause": 0xFFFFFFFF}),
    Frame(PREPAYMENT, "01 57 08 ffffffff 05", "get_top_up_log", {"number_of_records": 5}),
    Frame(PREPAYMENT, "01 58 09 f4010000", "set_low_credit_warning_level", {"low_credit_warning_level": 500}),
    Frame(PREPAYMENT, "01 59 0a ffffffff 05 ff", "get_debt_repayment_log", {"number_of_debts": 5, "debt_type": 0xFF}),
    Frame(
        PREPAYMENT,
        "01 5a 0b 01000000 05000000 00e17c2e 10270000 e8030000",
        "set_maximum_credit_limit",
        {"maximum_credit_level": 10000, "maximum_credit_per_top_up": 1000},
    ),
    Frame(PREPAYMENT, "01 5b 0c 01000000 06000000 00e17c2e 50c30000", "set_overall_debt_cap", {"overall_debt_cap": 50000}),
    # --- Prepayment, server to client (D.7.2.4) ----------------------------------------------
    Frame(
        PREPAYMENT,
        "09 5c 01 01000000 00e17c2e 01 00 01 01000000 00 00000000 00000000 00000000 00000000 00000000 e8030000",
        "publish_prepay_snapshot",
        {"snapshot_cause": 1, "snapshot_payload_type": 0, "snapshot_payload": bytes(20) + bytes.fromhex("e8030000")},
    ),
    Frame(
        PREPAYMENT,
        "09 5d 02 00 00000000 e8030000 f4010000",
        "change_payment_mode_response",
        {"emergency_credit_limit": 1000, "emergency_credit_threshold": 500},
    ),
    Frame(
        PREPAYMENT,
        "09 5e 03 00 e8030000 02 d0070000",
        "consumer_top_up_response",
        {"result_type": 0, "top_up_value": 1000, "source_of_top_up": 2, "credit_remaining": 2000},
    ),
    Frame(
        PREPAYMENT,
        "09 5f 05 00 01 0a31323334353637383930 e8030000 00e17c2e",
        "publish_top_up_log",
        {"command_index": 0, "total_number_of_commands": 1},
    ),
    Frame(PREPAYMENT, "09 60 06 00 01 00e17c2e 64000000 00 10270000", "publish_debt_log", {"total_number_of_commands": 1}),
]
