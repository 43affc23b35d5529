"""Companies the customer authorised: consents given, changed and ended, and their device requests."""

from __future__ import annotations

from datetime import datetime

from amiportal.portal.activity.names import Event, Names

AREAS = ("thirdparty",)
FALLBACK = "Something changed about a company's access to your data."

_KINDS = {
    "interval_usage": "usage readings",
    "usage_summary": "usage summaries",
    "billing": "billing details",
    "han_status": "home network device status",
    "han_control": "control of home network devices",
}
# Matched against the verifier's reason; the first hit words it, anything else is "not properly signed".
_REFUSALS = {
    "replay": "it repeated an earlier request",
    "outside the accepted window": "it was sent too long ago",
    "does not verify": "its signature did not match the company's registered key",
    "does not match the body": "it was changed on the way",
}


def _company(event: Event, names: Names) -> str:
    return names.application(event) or "A company"


def _until(event: Event, names: Names) -> str:
    try:
        return f" until {names.local_day(datetime.fromisoformat(event.payload['expires_at']))}"
    except (KeyError, TypeError, ValueError):
        return ""


def granted(event: Event, names: Names) -> str:
    kinds = [_KINDS.get(kind, "other data") for kind in event.payload.get("data_kinds") or []]
    what = ", ".join(dict.fromkeys(kinds)) or "your data"
    return f"You allowed {_company(event, names)} to see {what} for {names.premises_listed(event)}{_until(event, names)}."


def extended(event: Event, names: Names) -> str:
    return f"{names.actor(event)} kept the access of {_company(event, names)} to your data{_until(event, names)}."


def revoked(event: Event, names: Names) -> str:
    return f"{names.actor(event)} ended the access of {_company(event, names)} to your data."


def expired(event: Event, names: Names) -> str:
    return f"The access of {_company(event, names)} to your data ended on the date you chose."


def superseded(event: Event, names: Names) -> str:
    return f"Your earlier permission for {_company(event, names)} was replaced by the one you gave next."


def device_request(ok: bool):
    def phrase(event: Event, names: Names) -> str:
        if ok:
            return f"{_company(event, names)} sent a signed request about {names.device(event)}; the signature was checked."
        reason = str(event.payload.get("reason") or "")
        why = next((text for key, text in _REFUSALS.items() if key in reason), "it was not properly signed")
        return f"A request from {_company(event, names)} about {names.device(event)} was refused: {why}."

    return phrase


PHRASES = {
    "thirdparty.consent_granted": granted,
    "thirdparty.consent_extended": extended,
    "thirdparty.consent_revoked": revoked,
    "thirdparty.consent_expired": expired,
    "thirdparty.consent_superseded": superseded,
    "thirdparty.consent_device_access_ended": lambda event, names: (
        f"{_company(event, names)} can no longer see or control devices in a home you moved out of."
    ),
    "thirdparty.device_request_verified": device_request(True),
    "thirdparty.device_request_refused": device_request(False),
}
