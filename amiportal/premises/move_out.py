"""What the apps built on premises do when a customer moves out: a registry of named handlers.

Core never imports those apps (third-party access, HAN...). Each registers its handler
in its ``AppConfig.ready()``; ``agreement_move_out`` runs them all, by name order, inside
its own transaction, so a move-out and everything that follows from it commit together.
A handler takes the ended agreement and the actor who recorded it, and writes its own
audit entries. Explicit calls, not signals: the move-out service shows what it triggers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from amiportal.premises.models import ServiceAgreement

MoveOutHandler = Callable[..., None]  # handler(*, agreement: ServiceAgreement, actor) -> None

_HANDLERS: dict[str, MoveOutHandler] = {}


def move_out_handler_register(name: str, handler: MoveOutHandler) -> None:
    """Add (or replace, by name: ``ready()`` may run twice) what an app does at a move-out."""
    _HANDLERS[name] = handler


def move_out_handlers() -> dict[str, MoveOutHandler]:
    return dict(sorted(_HANDLERS.items()))


def move_out_handlers_run(*, agreement: ServiceAgreement, actor: Any) -> None:
    for handler in move_out_handlers().values():
        handler(agreement=agreement, actor=actor)
