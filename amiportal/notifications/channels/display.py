"""The in-home display: registered, not built yet.

It will send a Smart Energy Messaging DisplayMessage with the notification's ``display_text``
over the HAN command path once messages to devices are built there. Until then it is off,
and the preferences page says why.
"""

from __future__ import annotations

from amiportal.notifications.channels.base import ChannelError

NAME = "display"
LABEL = "In-home display"
ENABLED = False
DISABLED_REASON = "Messages to in-home displays are not available yet; they will be offered here when they are."
IMMEDIATE = False


def missing_target(user) -> str:
    return "messages to in-home displays are not available yet"


def deliver(notification) -> None:
    raise ChannelError("messages to in-home displays are not available yet")
