"""The registry of channels a notification can travel on (one module per channel)."""

from __future__ import annotations

from amiportal.notifications.channels import display, email, inbox
from amiportal.notifications.channels.base import ChannelError, ChannelModule

__all__ = ["CHANNELS", "ChannelError", "ChannelModule"]

CHANNELS: dict[str, ChannelModule] = {module.NAME: module for module in (inbox, email, display)}  # type: ignore[misc]
