"""Smart Energy Demand Response and Load Control (DRLC, cluster 0x0701): the two frames of the load-control path.

The field layouts are the ``Drlc`` cluster's (``han.zigbee_se.drlc``, Smart Energy 1.4,
07-5356-19, D.2); this module gives the head-end and the coordinator the two frames they
exchange, with the project's validation and names:

- **Load Control Event** (server to client, command 0x00): what the utility (ESI) asks
  a device to do, for how long, from when.
- **Report Event Status** (client to server, command 0x00): what the device did with it
  (received, started, completed, rejected ...).

Both are ZCL cluster-specific frames: a 3-byte ZCL header (frame control, sequence
number, command id) then the payload, little-endian. Times are ZigBee UTCTime: seconds
since 2000-01-01 00:00:00 UTC; a start time of 0 means "now".

No Django on purpose: the coordinator imports it, and the head-end uses the same
validation before it signs a command. One encoder: the payloads are the cluster's schemas.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from han.zigbee_se.drlc import Drlc

CLUSTER_ID = 0x0701
LOAD_CONTROL_EVENT = 0x00  # server -> client
REPORT_EVENT_STATUS = 0x00  # client -> server

# ZCL frame control: bits 0-1 frame type (01 cluster-specific), bit 3 direction (1 server->client),
# bit 4 disable default response.
_FRAME_CLUSTER_SPECIFIC = 0b01
_DIRECTION_SERVER_TO_CLIENT = 0b1000
_DISABLE_DEFAULT_RESPONSE = 0b10000

ZIGBEE_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
MAX_DURATION_MINUTES = 1440  # the specification's limit (0x05A0)
TEMPERATURE_OFFSET_UNUSED = 0xFF
SET_POINT_UNUSED = -0x8000
LOAD_ADJUSTMENT_UNUSED = -0x80
DUTY_CYCLE_UNUSED = 0xFF

# Device class field (D.2.2.3.1.1): bit -> what kind of load.
DEVICE_CLASSES: dict[str, int] = {
    "hvac": 0,  # HVAC compressor or furnace
    "strip_heat": 1,  # strip heaters, baseboard heaters
    "water_heater": 2,
    "pool_pump": 3,  # pool pump, spa, jacuzzi
    "smart_appliance": 4,
    "irrigation_pump": 5,
    "managed_loads": 6,  # managed commercial and industrial loads
    "simple_loads": 7,  # simple miscellaneous (residential on/off) loads
    "exterior_lighting": 8,
    "interior_lighting": 9,
    "electric_vehicle": 10,
    "generation": 11,
}

# Criticality levels (D.2.2.3.1.1.1): 1 green ... 9 emergency.
CRITICALITY_LEVELS = {1: "green", 2: "1", 3: "2", 4: "3", 5: "4", 6: "5", 7: "emergency", 8: "planned outage", 9: "service disconnect"}
# Emergency, planned outage and service disconnect speak for the utility: nobody else uses them unless granted.
UTILITY_ONLY_CRITICALITIES = frozenset({7, 8, 9})

# Event status values of Report Event Status (D.2.3.3.1.1).
EVENT_STATUS = {
    0x01: "received",
    0x02: "started",
    0x03: "completed",
    0x04: "opted_out",
    0x05: "opted_in",
    0x06: "cancelled",
    0x07: "superseded",
    0x08: "partially_opted_out",
    0x09: "partially_opted_in",
    0x0A: "completed_no_participation",
    0xF8: "rejected_invalid_cancel",
    0xF9: "rejected_invalid_cancel_time",
    0xFB: "rejected_expired",
    0xFD: "rejected_undefined_event",
    0xFE: "rejected",
}
STATUS_CODE = {name: code for code, name in EVENT_STATUS.items()}
# After these a device may still report on the event; after any other status it is over.
ONGOING_STATUSES = frozenset({"received", "started", "opted_in", "opted_out", "partially_opted_in", "partially_opted_out"})

_EVENT = Drlc.ClientCommandDefs.load_control_event.schema  # 23 bytes
_REPORT = Drlc.ServerCommandDefs.report_event_status.schema  # 60 bytes
_EVENT_SIZE, _REPORT_SIZE = 23, 60


class FrameError(ValueError):
    """A DRLC frame or event that does not follow the specification."""


def utc_time(moment: datetime) -> int:
    return int((moment - ZIGBEE_EPOCH).total_seconds())


def utc_now() -> int:
    return utc_time(datetime.now(UTC))


def from_utc_time(value: int) -> datetime:
    return datetime.fromtimestamp(ZIGBEE_EPOCH.timestamp() + value, tz=UTC)


def device_class_bits(names: list[str]) -> int:
    bits = 0
    for name in names:
        if name not in DEVICE_CLASSES:
            raise FrameError(f"Unknown device class {name!r}; choose from {', '.join(DEVICE_CLASSES)}.")
        bits |= 1 << DEVICE_CLASSES[name]
    return bits


def device_class_names(bits: int) -> list[str]:
    return [name for name, bit in DEVICE_CLASSES.items() if bits & (1 << bit)]


@dataclass(frozen=True)
class LoadControlEvent:
    """The payload of a Load Control Event command.

    ``cooling_offset`` and ``heating_offset`` are in 0.1 °C (0-254, 255 = not used);
    ``duty_cycle`` is a percentage (0-100, 255 = not used); ``start_time`` is UTCTime, 0 = now.
    """

    issuer_event_id: int
    device_class: int
    duration_minutes: int
    criticality: int
    start_time: int = 0
    utility_enrollment_group: int = 0
    cooling_offset: int = TEMPERATURE_OFFSET_UNUSED
    heating_offset: int = TEMPERATURE_OFFSET_UNUSED
    cooling_set_point: int = SET_POINT_UNUSED
    heating_set_point: int = SET_POINT_UNUSED
    load_adjustment_percent: int = LOAD_ADJUSTMENT_UNUSED
    duty_cycle: int = DUTY_CYCLE_UNUSED
    event_control: int = 0

    def __post_init__(self) -> None:
        checks = [
            (0 <= self.issuer_event_id <= 0xFFFFFFFF, "issuer_event_id must fit in 32 bits"),
            (0 < self.device_class <= 0xFFF, "device_class must name at least one known device class"),
            (1 <= self.duration_minutes <= MAX_DURATION_MINUTES, f"duration_minutes must be 1 to {MAX_DURATION_MINUTES}"),
            (self.criticality in CRITICALITY_LEVELS, "criticality must be 1 (green) to 9 (service disconnect)"),
            (0 <= self.start_time <= 0xFFFFFFFF, "start_time must be a UTCTime (0 = now)"),
            (0 <= self.utility_enrollment_group <= 0xFF, "utility_enrollment_group must fit in 8 bits"),
            (0 <= self.cooling_offset <= 0xFF, "cooling_offset must be 0-254 tenths of a degree, or 255 for none"),
            (0 <= self.heating_offset <= 0xFF, "heating_offset must be 0-254 tenths of a degree, or 255 for none"),
            (-0x8000 <= self.cooling_set_point <= 0x7FFF, "cooling_set_point out of range"),
            (-0x8000 <= self.heating_set_point <= 0x7FFF, "heating_set_point out of range"),
            (-0x80 <= self.load_adjustment_percent <= 100, "load_adjustment_percent must be -100 to 100"),
            (self.duty_cycle <= 100 or self.duty_cycle == DUTY_CYCLE_UNUSED, "duty_cycle must be 0-100 percent, or 255 for none"),
            (self.duty_cycle >= 0, "duty_cycle must be 0-100 percent, or 255 for none"),
            (0 <= self.event_control <= 0b11, "event_control has only the two randomisation bits"),
        ]
        for ok, message in checks:
            if not ok:
                raise FrameError(message)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoadControlEvent:
        try:
            return cls(**{name: int(data[name]) for name in cls.__dataclass_fields__ if name in data})
        except (TypeError, ValueError) as exc:
            raise FrameError(str(exc)) from None

    def end_time(self, received_at: int) -> int:
        """UTCTime the event ends if it starts as scheduled (``received_at`` stands in for "now")."""
        return (self.start_time or received_at) + 60 * self.duration_minutes


# A "start now" event that reaches the gateway later than this after it was issued is refused: whatever
# it was meant to answer (a price spike, a grid emergency) may be over, and a replay would act on old news.
START_NOW_MAX_DELAY_SECONDS = 300

# Why a gateway refuses an event on timing, by reason code (the head-end shows the same words).
TIMING_REFUSALS = {
    "event_without_start": "The event carries no explicit start, so the gateway cannot tell when it was meant for.",
    "event_ended": "The event had already ended when it reached the gateway, so it was not sent to the device.",
    "event_stale": (
        f"The start-now event reached the gateway more than {START_NOW_MAX_DELAY_SECONDS // 60} minutes after it was issued,"
        " so it was not sent to the device."
    ),
}


def event_timing_refusal(event: LoadControlEvent, *, start_now: bool, now: int) -> str | None:
    """The reason code (``TIMING_REFUSALS``) a gateway refuses ``event`` for at UTCTime ``now``; None if it may go on.

    Every event carries an explicit start: the head-end writes "now" into a start-now event when it
    issues it (and says so with ``start_now``), so the gateway can tell how old it is.
    """
    if event.start_time == 0:
        return "event_without_start"
    if event.end_time(now) <= now:
        return "event_ended"
    if start_now and now - event.start_time > START_NOW_MAX_DELAY_SECONDS:
        return "event_stale"
    return None


@dataclass(frozen=True)
class EventStatusReport:
    """The payload of Report Event Status. Devices send it unsigned (signature type 0)."""

    issuer_event_id: int
    status: int
    status_time: int
    criticality_applied: int
    cooling_set_point_applied: int = SET_POINT_UNUSED
    heating_set_point_applied: int = SET_POINT_UNUSED
    load_adjustment_applied: int = LOAD_ADJUSTMENT_UNUSED
    duty_cycle_applied: int = DUTY_CYCLE_UNUSED
    event_control: int = 0

    @property
    def status_name(self) -> str:
        return EVENT_STATUS.get(self.status, f"unknown_0x{self.status:02x}")

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status_name": self.status_name, "status_at": from_utc_time(self.status_time).isoformat()}


def _header(tsn: int, command_id: int, *, server_to_client: bool) -> bytes:
    control = _FRAME_CLUSTER_SPECIFIC | _DISABLE_DEFAULT_RESPONSE | (_DIRECTION_SERVER_TO_CLIENT if server_to_client else 0)
    return bytes([control, tsn & 0xFF, command_id])


def _split(frame: bytes, *, server_to_client: bool) -> tuple[int, bytes]:
    if len(frame) < 3:
        raise FrameError("frame shorter than a ZCL header")
    control, tsn, command_id = frame[0], frame[1], frame[2]
    if control & 0b11 != _FRAME_CLUSTER_SPECIFIC or control & 0b100:
        raise FrameError("not a cluster-specific frame without manufacturer code")
    if bool(control & _DIRECTION_SERVER_TO_CLIENT) != server_to_client:
        raise FrameError("frame travels in the wrong direction for this command")
    if command_id != 0x00:
        raise FrameError(f"DRLC command 0x{command_id:02x} is not supported")
    return tsn, frame[3:]


def _payload(schema: type, payload: bytes, size: int, name: str) -> Any:
    if len(payload) != size:
        raise FrameError(f"{name} payload is {len(payload)} bytes, not {size}")
    try:
        fields, _ = schema.deserialize(payload)
    except ValueError as exc:
        raise FrameError(f"{name} payload does not decode: {exc}") from None
    return fields


def event_encode(event: LoadControlEvent, *, tsn: int) -> bytes:
    e = event
    return (
        _header(tsn, LOAD_CONTROL_EVENT, server_to_client=True)
        + _EVENT(
            issuer_event_id=e.issuer_event_id,
            device_class=e.device_class,
            utility_enrollment_group=e.utility_enrollment_group,
            start_time=e.start_time,
            duration_in_minutes=e.duration_minutes,
            criticality_level=e.criticality,
            cooling_temperature_offset=e.cooling_offset,
            heating_temperature_offset=e.heating_offset,
            cooling_temperature_set_point=e.cooling_set_point,
            heating_temperature_set_point=e.heating_set_point,
            average_load_adjustment_percentage=e.load_adjustment_percent,
            duty_cycle=e.duty_cycle,
            event_control=e.event_control,
        ).serialize()
    )


def event_from_command(command: Any) -> LoadControlEvent:
    """The event of a decoded LoadControlEvent command (``Drlc`` schema); ``FrameError`` if it breaks the rules."""
    return LoadControlEvent(
        issuer_event_id=int(command.issuer_event_id),
        device_class=int(command.device_class),
        utility_enrollment_group=int(command.utility_enrollment_group),
        start_time=int(command.start_time),
        duration_minutes=int(command.duration_in_minutes),
        criticality=int(command.criticality_level),
        cooling_offset=int(command.cooling_temperature_offset),
        heating_offset=int(command.heating_temperature_offset),
        cooling_set_point=int(command.cooling_temperature_set_point),
        heating_set_point=int(command.heating_temperature_set_point),
        load_adjustment_percent=int(command.average_load_adjustment_percentage),
        duty_cycle=int(command.duty_cycle),
        event_control=int(command.event_control),
    )


def event_decode(frame: bytes) -> tuple[int, LoadControlEvent]:
    """(tsn, event) from a Load Control Event frame; ``FrameError`` for anything else."""
    tsn, payload = _split(frame, server_to_client=True)
    return tsn, event_from_command(_payload(_EVENT, payload, _EVENT_SIZE, "Load Control Event"))


def report_encode(report: EventStatusReport, *, tsn: int) -> bytes:
    r = report
    return (
        _header(tsn, REPORT_EVENT_STATUS, server_to_client=False)
        + _REPORT(
            issuer_event_id=r.issuer_event_id,
            event_status=r.status,
            event_status_time=r.status_time,
            criticality_level_applied=r.criticality_applied,
            cooling_temperature_set_point_applied=r.cooling_set_point_applied,
            heating_temperature_set_point_applied=r.heating_set_point_applied,
            average_load_adjustment_percentage_applied=r.load_adjustment_applied,
            duty_cycle_applied=r.duty_cycle_applied,
            event_control=r.event_control,
            signature_type=0,  # none (ECDSA signatures need CBKE certificates, out of scope)
            signature=[0] * 42,
        ).serialize()
    )


def report_from_command(command: Any) -> EventStatusReport:
    """The report of a decoded Report Event Status command (``Drlc`` schema)."""
    return EventStatusReport(
        issuer_event_id=int(command.issuer_event_id),
        status=int(command.event_status),
        status_time=int(command.event_status_time),
        criticality_applied=int(command.criticality_level_applied),
        cooling_set_point_applied=int(command.cooling_temperature_set_point_applied),
        heating_set_point_applied=int(command.heating_temperature_set_point_applied),
        load_adjustment_applied=int(command.average_load_adjustment_percentage_applied),
        duty_cycle_applied=int(command.duty_cycle_applied),
        event_control=int(command.event_control),
    )


def report_decode(frame: bytes) -> tuple[int, EventStatusReport]:
    tsn, payload = _split(frame, server_to_client=False)
    return tsn, report_from_command(_payload(_REPORT, payload, _REPORT_SIZE, "Report Event Status"))
