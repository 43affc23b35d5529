"""Command types of the coordinator command path: one module per type, one registry (docs/han.md, "How to add a command type").

Each module below declares a ``CommandType`` (``han.commands.base``) and registers it
(``han.commands.registry.register``): importing this package loads them all.
"""

from han.commands import (  # noqa: F401 (each module registers its type)
    commission,
    device_status_read,
    load_control,
    network_configure,
    premise_state,
    remove,
    restore,
)
from han.commands.base import CommandType, CoordinatorHandler, Target, UnknownCommandType  # noqa: F401
from han.commands.registry import area_command_types, command_type, command_types, coordinator_handlers, kind_choices  # noqa: F401
