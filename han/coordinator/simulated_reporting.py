"""The simulated meters' side of attribute reporting: Configure Reporting and Bind answered, demand reported.

A simulated device that serves Metering reports InstantaneousDemand the way the ZCL says:
no more often than the configured minimum interval, whenever the value changed by at least
the reportable change, and at least every maximum interval. Its demand is its own
(``SimulatedDevice.current_demand_w``): steady, slowly varying for the demo, or set from
outside through the network's demand file (tests, and anyone who wants to see it move).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import zigpy.types as t
import zigpy.zdo.types as zdo_t
from zigpy.zcl import foundation
from zigpy.zcl.clusters.smartenergy import Metering

TICK_SECONDS = 0.25
DEMAND_ID = Metering.attributes_by_name["instantaneous_demand"].id


@dataclass
class Reporting:
    min_interval: int
    max_interval: int
    change: int
    last_value: int | None = None
    last_at: float = 0.0


def configure_reporting_answer(app, device, packet, hdr: foundation.ZCLHeader, payload: bytes) -> None:
    """Record the reporting asked for InstantaneousDemand and answer SUCCESS (other attributes: UNSUPPORTED)."""
    schema = foundation.GENERAL_COMMANDS[foundation.GeneralCommand.Configure_Reporting].schema
    request, _ = schema.deserialize(payload)
    records = []
    for config in request.config_records:
        if config.attrid == DEMAND_ID and config.direction == foundation.ReportingDirection.SendReports:
            device.reporting = Reporting(int(config.min_interval), int(config.max_interval), int(config.reportable_change or 0))
        else:
            records.append(
                foundation.ConfigureReportingResponseRecord(
                    status=foundation.Status.UNSUPPORTED_ATTRIBUTE, direction=config.direction, attrid=config.attrid
                )
            )
    records = records or [foundation.ConfigureReportingResponseRecord(status=foundation.Status.SUCCESS)]
    header = foundation.ZCLHeader.general(
        tsn=hdr.tsn, command_id=foundation.GeneralCommand.Configure_Reporting_rsp, direction=foundation.Direction.Server_to_Client
    )
    header = header.replace(frame_control=header.frame_control.replace(disable_default_response=True))
    app._reply(device, packet, Metering.cluster_id, header.serialize() + foundation.ConfigureReportingResponse(records).serialize())
    app.start_reporting()


def bind_answer(app, device, packet, data: bytes) -> None:
    """ZDO Bind_req: a meter accepts the coordinator's binding of its Metering cluster."""
    app._reply(device, packet, zdo_t.ZDOCmd.Bind_rsp, data[:1] + zdo_t.Status.SUCCESS.serialize())


def _report_frame(tsn: int, value: int) -> bytes:
    header = foundation.ZCLHeader.general(
        tsn=tsn, command_id=foundation.GeneralCommand.Report_Attributes, direction=foundation.Direction.Server_to_Client
    )
    header = header.replace(frame_control=header.frame_control.replace(disable_default_response=True))
    attribute = Metering.attributes_by_name["instantaneous_demand"]
    record = foundation.Attribute(
        attrid=DEMAND_ID, value=foundation.TypeValue(type=foundation.DataTypeId.int24, value=attribute.type(value))
    )
    return (
        header.serialize()
        + foundation.GENERAL_COMMANDS[foundation.GeneralCommand.Report_Attributes].schema(attribute_reports=[record]).serialize()
    )


def reports_due(app) -> None:
    """Send each configured device's demand report that is due now."""
    now = time.monotonic()
    app.sim_network.demand_overrides_load()
    for device in app.sim_network.devices.values():
        reporting = device.reporting
        if reporting is None or not device.joined:
            continue
        value = device.current_demand_w()
        changed = reporting.last_value is None or abs(value - reporting.last_value) >= max(reporting.change, 1)
        if (changed and now - reporting.last_at >= reporting.min_interval) or now - reporting.last_at >= reporting.max_interval:
            reporting.last_value, reporting.last_at = value, now
            tsn = app.get_sequence()
            app.packet_received(
                t.ZigbeePacket(
                    src=t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=t.NWK(device.nwk)),
                    src_ep=1,
                    dst=t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=t.NWK(0x0000)),
                    dst_ep=1,
                    tsn=tsn,
                    profile_id=0x0109,
                    cluster_id=Metering.cluster_id,
                    data=t.SerializableBytes(_report_frame(tsn, value)),
                    lqi=255,
                    rssi=-40,
                )
            )


async def reporting_loop(app) -> None:
    while True:
        reports_due(app)
        await asyncio.sleep(TICK_SECONDS)
