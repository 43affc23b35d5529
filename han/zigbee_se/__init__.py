"""Zigbee Smart Energy 1.4 clusters and devices for zigpy.

Self-contained on purpose (zigpy and the standard library only) so it can be offered
upstream: the Price (0x0700), Demand Response and Load Control (0x0701), Messaging
(0x0703) and Prepayment (0x0705) clusters with their attributes and their server and
client commands, as Zigbee Smart Energy Standard 1.4 (document 07-5356-19) defines
them, and a device class that decodes ZCL on the Smart Energy profile (0x0109),
applied to any zigpy ``ControllerApplication`` with :func:`smart_energy_controller`.

Importing this package registers the four cluster classes in zigpy's cluster
registry in place of zigpy's empty placeholders; zigpy's own Metering (0x0702) stays.
"""

from .device import (
    SE_PROFILE,
    SmartEnergyApplicationMixin,
    SmartEnergyDevice,
    smart_energy_controller,
)
from .drlc import Drlc
from .messaging import Messaging
from .prepayment import Prepayment
from .price import Price

__all__ = [
    "SE_PROFILE",
    "Drlc",
    "Messaging",
    "Prepayment",
    "Price",
    "SmartEnergyApplicationMixin",
    "SmartEnergyDevice",
    "smart_energy_controller",
]
