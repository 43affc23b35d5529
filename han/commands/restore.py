"""``restore`` (wire type ``permit_join``): a replaced coordinator is given a device's escrowed key again.

The same command as ``commission`` on the wire and at the coordinator (the body says
``restore: true``); the device rejoins with the key it already has, so nobody types
an install code again (BF-HAN-2).
"""

from __future__ import annotations

from han.commands.commission import Commission
from han.commands.registry import register


@register
class Restore(Commission):
    kind = "restore"
    label = "Restore key"
    restore = True
