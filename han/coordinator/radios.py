"""Which zigpy ControllerApplication drives which radio, named explicitly.

Real radios come from the zigpy radio libraries, installed as optional extras
(``pip install bellows`` / ``zigpy-znp`` / ``zigpy-deconz``); the simulated one
is the default for development and tests.
"""

from __future__ import annotations

import importlib

RADIO_TYPES: dict[str, tuple[str, str, str]] = {
    # name: (module, class, pip package)
    "simulated": ("han.coordinator.simulated", "SimulatedControllerApplication", ""),
    "ezsp": ("bellows.zigbee.application", "ControllerApplication", "bellows"),
    "znp": ("zigpy_znp.zigbee.application", "ControllerApplication", "zigpy-znp"),
    "deconz": ("zigpy_deconz.zigbee.application", "ControllerApplication", "zigpy-deconz"),
}


class RadioUnavailable(RuntimeError):
    pass


def controller_class_for(radio_type: str):
    try:
        module_name, class_name, package = RADIO_TYPES[radio_type]
    except KeyError:
        raise RadioUnavailable(f"Unknown radio type {radio_type!r}; choose one of {', '.join(sorted(RADIO_TYPES))}.") from None
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise RadioUnavailable(f"Radio type {radio_type!r} needs the optional package {package!r}: pip install {package}") from None
    return getattr(module, class_name)
