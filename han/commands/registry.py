"""The one place that maps a command kind to its type (and a wire type to its coordinator handler)."""

from __future__ import annotations

from typing import Any

from han.commands.base import CommandType, CoordinatorHandler, Target, UnknownCommandType

_TYPES: dict[str, CommandType] = {}


def register(cls: type[CommandType]) -> type[CommandType]:
    """Class decorator: add a command type. Refuses an incomplete type or a second one of the same kind."""
    for attribute in ("kind", "label", "wire_type", "targets", "events", "coordinator_handler"):
        if not getattr(cls, attribute, None):
            raise TypeError(f"command type {cls.__name__} declares no {attribute}")
    if cls.build is CommandType.build:
        raise TypeError(f"command type {cls.__name__} has no head-end builder")
    if not all(isinstance(target, Target) for target in cls.targets):
        raise TypeError(f"command type {cls.__name__}: targets must be Target members")
    if cls.coordinator_handler.wire_type != cls.wire_type:
        raise TypeError(f"command type {cls.__name__}: its coordinator handler serves {cls.coordinator_handler.wire_type!r}")
    if cls.area_capable and Target.DEVICE_CLASS not in cls.targets:
        raise TypeError(f"command type {cls.__name__}: only a type that targets a device class may go to a grid area")
    if cls.kind in _TYPES:
        raise TypeError(f"command kind {cls.kind!r} is registered twice")
    for other in _TYPES.values():
        if other.wire_type == cls.wire_type and other.coordinator_handler is not cls.coordinator_handler:
            raise TypeError(f"wire type {cls.wire_type!r} has two coordinator handlers ({other.kind}, {cls.kind})")
    _TYPES[cls.kind] = cls()
    return cls


def command_type(kind: Any) -> CommandType:
    """The registered type of ``kind``; ``UnknownCommandType`` otherwise."""
    try:
        return _TYPES[str(kind)]
    except KeyError:
        raise UnknownCommandType(kind) from None


def command_types() -> list[CommandType]:
    return list(_TYPES.values())


def area_command_types() -> list[CommandType]:
    """The types an operator may send to a grid area (``CommandType.area_capable``)."""
    return [each for each in _TYPES.values() if each.area_capable]


def kind_choices() -> list[tuple[str, str]]:
    """The stored kinds (``CoordinatorCommand.kind``'s choices)."""
    return [(each.kind, each.label) for each in _TYPES.values()]


def coordinator_handlers(service: Any) -> dict[str, CoordinatorHandler]:
    """One handler per wire type for a coordinator service (kinds that share a wire type share it)."""
    handlers: dict[str, CoordinatorHandler] = {}
    for each in _TYPES.values():
        if each.wire_type not in handlers:
            handlers[each.wire_type] = each.coordinator_handler(service)
    return handlers
