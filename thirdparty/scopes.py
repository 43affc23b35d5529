"""Scopes: our data kinds by name, and ESPI scope strings mapped onto them.

An ESPI scope looks like ``FB=1_3_4_5_13_14_15_39;IntervalDuration=900;BlockDuration=monthly;HistoryLength=13``.
HistoryLength appears in the wild both in months and in seconds: a value up to 1200 is
read as months, a larger one as seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from thirdparty.models import DataKind

# What the API serves today. Billing statements are a data kind customers will be able to
# share once its resources exist; until then no third party can ask for it, so no customer
# is asked to grant something that does nothing. HAN device status and control are served
# under a usage point (thirdparty/api/devices.py), with signed requests.
OFFERED_KINDS = frozenset({DataKind.INTERVAL_USAGE, DataKind.USAGE_SUMMARY, DataKind.HAN_STATUS, DataKind.HAN_CONTROL})
# Kinds that reach equipment at the premise: the application must have a signing key registered.
DEVICE_KINDS = frozenset({DataKind.HAN_STATUS, DataKind.HAN_CONTROL})
# Kinds that act on equipment at the premise: granting them needs a fresh step-up (SO-C15).
STEP_UP_KINDS = frozenset({DataKind.HAN_CONTROL})
DEFAULT_HISTORY_MONTHS = 13
MAX_HISTORY_MONTHS = 120
HISTORY_CHOICES = (1, 3, 6, 13, 24, 36, 60, 120)
_MONTH_SECONDS = 30 * 86400
# ESPI function blocks that map onto our data kinds (FB_4/5 interval metering, FB_15/16 usage summaries).
_FUNCTION_BLOCKS = {4: DataKind.INTERVAL_USAGE, 5: DataKind.INTERVAL_USAGE, 15: DataKind.USAGE_SUMMARY, 16: DataKind.USAGE_SUMMARY}
_ESPI_SCOPE = re.compile(r"^FB=(\d+(?:_\d+)*)((?:;[A-Za-z]+=[A-Za-z0-9_]+)*)$")


# Client access (Green Button CMD's client_credentials token, ESPI FB_34/FB_35 "data custodian
# admin / client access"): the third party reads its own Authorization collection and the
# service status, never customer data. Only the client_credentials grant issues these scopes;
# they are no data kind, so the authorization-code flow refuses them.
CLIENT_ACCESS = "client_access"
CLIENT_ACCESS_SCOPES = frozenset({CLIENT_ACCESS, "FB=34_35", "FB=34", "FB=35"})


def is_client_access(scope: str) -> bool:
    requested = set(scope.split())
    return bool(requested) and requested <= CLIENT_ACCESS_SCOPES


class ScopeError(ValueError):
    pass


@dataclass(frozen=True)
class RequestedAccess:
    kinds: frozenset[str]
    history_months: int


def history_months_from(value: str) -> int:
    if not value.isdigit() or int(value) == 0:
        raise ScopeError(f"HistoryLength must be a positive whole number, not {value!r}.")
    number = int(value)
    months = number if number <= 1200 else -(-number // _MONTH_SECONDS)
    return min(months, MAX_HISTORY_MONTHS)


def parse_espi_scope(scope: str) -> RequestedAccess:
    match = _ESPI_SCOPE.match(scope)
    if not match:
        raise ScopeError(f"{scope!r} is not an ESPI scope (FB=...;Name=value).")
    blocks = {int(part) for part in match.group(1).split("_")}
    kinds = frozenset(_FUNCTION_BLOCKS[b] for b in blocks if b in _FUNCTION_BLOCKS)
    if not kinds:
        raise ScopeError("The ESPI scope names no function block this data custodian serves (4, 5, 15 or 16).")
    history = DEFAULT_HISTORY_MONTHS
    for part in filter(None, match.group(2).split(";")):
        name, _, value = part.partition("=")
        if name == "HistoryLength":
            history = history_months_from(value)
    return RequestedAccess(kinds, history)


def offered_choices() -> list[tuple[str, str]]:
    return [(kind.value, kind.label) for kind in DataKind if kind in OFFERED_KINDS]


def parse_scopes(scopes: list[str]) -> RequestedAccess:
    """Our named scopes and ESPI scope strings together, as data kinds and a history length."""
    kinds: set[str] = set()
    history = DEFAULT_HISTORY_MONTHS
    for scope in scopes:
        if scope in DataKind.values:
            kinds.add(scope)
        else:
            espi = parse_espi_scope(scope)
            kinds |= espi.kinds
            history = espi.history_months
    return RequestedAccess(frozenset(kinds), history)
