"""The home-area network: devices added and removed, commands sent to them, what the gateway reported."""

from __future__ import annotations

from amiportal.portal.activity.names import Event, Names

AREAS = ("han",)
FALLBACK = "Something happened on your home network."

_COMMANDS = {
    "network_configure": "the settings of your home network",
    "permit_join": "the key {device} needs to join",
    "remove": "an instruction to remove {device}",
    "load_control": "a request for {device} to use less energy for a while",
    "device_status_read": "a request for the status of {device}",
}
_FAILURES = {
    "timed_out": "the device did not join in time",
    "rejected": "the gateway refused it",
    "key_unavailable": "its key could not be opened, so nothing was sent",
    "not_on_this_network": "the device answered on another network",
    "interview_timed_out": "the device joined but did not finish its set-up in time",
    "no_answer": "the gateway did not take it in time",
    "not_sent": "it could not be handed to the utility's message service",
}


def _at(event: Event, names: Names) -> str:
    where = names.premise(event)
    return f" at {where}" if where else ""


def added(event: Event, names: Names) -> str:
    return f"{names.actor(event)} added {names.device(event)} to your home network{_at(event, names)}."


def retried(event: Event, names: Names) -> str:
    return f"{names.actor(event)} tried again to add {names.device(event)} to your home network{_at(event, names)}."


def removed(event: Event, names: Names) -> str:
    return f"{names.actor(event)} removed {names.device(event)} from your home network{_at(event, names)}; its security key was destroyed."


def code_corrected(event: Event, names: Names) -> str:
    return f"{names.actor(event)} entered a new install code for {names.device(event)}{_at(event, names)}; the old key was destroyed."


def verified(event: Event, names: Names) -> str:
    return f"{names.device(event).capitalize()} joined your home network{_at(event, names)} and was checked."


def relayed(event: Event, names: Names) -> str:
    what = _COMMANDS.get(event.payload.get("type"), "a command").format(device=names.device(event))
    return f"The utility sent your home's gateway {what}, signed and encrypted."


def failed(event: Event, names: Names) -> str:
    why = _FAILURES.get(event.payload.get("reason"), "it did not complete")
    return f"A command for {names.device(event) if event.target_id('device') else 'your home network'} failed: {why}."


def load_control(event: Event, names: Names) -> str:
    event_detail = event.payload.get("event") if isinstance(event.payload.get("event"), dict) else {}
    minutes = event_detail.get("duration_minutes")
    length = f" for {minutes} minutes" if isinstance(minutes, int) else ""
    return f"{names.actor(event)} asked {names.device(event)} to use less energy{length}."


def status_requested(event: Event, names: Names) -> str:
    return f"{names.actor(event)} asked for the status of {names.device(event)}."


def status_read(event: Event, names: Names) -> str:
    return f"Your home's gateway reported the status of {names.device(event)}."


def load_control_reported(event: Event, names: Names) -> str:
    outcome = str(event.payload.get("outcome") or "").replace("_", " ")
    return f"{names.device(event).capitalize()} answered a request to use less energy: {outcome or 'no answer given'}."


def network_created(event: Event, names: Names) -> str:
    return f"{names.actor(event)} set up the home network{_at(event, names)}; its key is kept encrypted by the utility."


def gateway_replaced(event: Event, names: Names) -> str:
    return f"{names.actor(event)} replaced your home's gateway{_at(event, names)}; your devices' keys were sent to the new one."


PHRASES = {
    "han.device_commission_requested": added,
    "han.device_commission_retried": retried,
    "han.device_removed": removed,
    "han.device_install_code_corrected": code_corrected,
    "han.command_resent": lambda event, names: (
        "The utility sent your home's gateway a command again: the first copy was not taken in time."
    ),
    "han.device_verified": verified,
    "han.removed": lambda event, names: f"Your home's gateway confirmed that {names.device(event)} was removed.",
    "han.configured": lambda event, names: "Your home's gateway confirmed the settings of your home network.",
    "han.command_relayed": relayed,
    "han.command_failed": failed,
    "han.load_control_requested": load_control,
    "han.load_control_reported": load_control_reported,
    "han.device_status_requested": status_requested,
    "han.device_status_read": status_read,
    "han.network_created": network_created,
    "han.coordinator_replaced": gateway_replaced,
    "han.staff_network_viewed": lambda event, names: (
        f"{names.actor(event)} (utility staff) looked at your home network's devices and meter reads."
    ),
}
