"""Which zigpy ControllerApplication drives which radio, named explicitly.

Real radios come from the zigpy radio libraries, pinned in ``requirements-radios.txt``
(``pip install -c constraints.txt -r requirements-radios.txt``); the simulated one is the
default for development and tests. Every controller class is returned with Smart Energy
devices (``han.zigbee_se.smart_energy_controller``), so SE frames decode on every radio.

Commissioning must admit only the device whose install-code key the head-end relayed.
A radio whose permit cannot promise that is refused for permit commands, with the reason
in ``JOIN_REFUSALS`` (docs/han.md, "What each radio's permit guarantees").
"""

from __future__ import annotations

import importlib

from han.zigbee_se import smart_energy_controller

RADIO_TYPES: dict[str, tuple[str, str, str]] = {
    # name: (module, class, pip package)
    "simulated": ("han.coordinator.simulated", "SimulatedControllerApplication", ""),
    "ezsp": ("bellows.zigbee.application", "ControllerApplication", "bellows"),
    "znp": ("zigpy_znp.zigbee.application", "ControllerApplication", "zigpy-znp"),
    "deconz": ("zigpy_deconz.zigbee.application", "ControllerApplication", "zigpy-deconz"),
    "zigate": ("zigpy_zigate.zigbee.application", "ControllerApplication", "zigpy-zigate"),
    "xbee": ("zigpy_xbee.zigbee.application", "ControllerApplication", "zigpy-xbee"),
}

# Radios whose permit would let other devices join too: permit commands are refused, nothing is sent.
JOIN_REFUSALS: dict[str, str] = {
    "zigate": (
        "ZiGate cannot admit a device by its install-code link key (zigpy-zigate has no join with link keys),"
        " so it cannot restrict a join to the registered device; commission on another radio."
    ),
    "deconz": (
        "deCONZ's permit opens the whole network: zigpy-deconz stores the device's link key, then permits joins"
        " network-wide, and the firmware still admits any device with the well-known key during the window;"
        " commission on another radio."
    ),
}


class RadioUnavailable(RuntimeError):
    pass


# bellows sets the trust-centre policy "joins use the install-code key" only on EZSP protocol 8 and later.
EZSP_INSTALL_CODE_POLICY_VERSION = 8


def join_refusal(radio_type: str, app: object = None) -> str | None:
    """Why permit commands are refused on this radio; None when its permit admits only the keyed device.

    With the running ``app``, what only the connected radio can tell is checked too (its firmware's protocol).
    """
    if radio_type in JOIN_REFUSALS:
        return JOIN_REFUSALS[radio_type]
    version = getattr(getattr(app, "_ezsp", None), "ezsp_version", None) if radio_type == "ezsp" else None
    if version is not None and version < EZSP_INSTALL_CODE_POLICY_VERSION:
        return (
            f"This EZSP radio speaks protocol version {version}: bellows restricts joins to the install-code key only"
            f" from version {EZSP_INSTALL_CODE_POLICY_VERSION}, so other devices could join too; update the radio's firmware."
        )
    return None


def controller_class_for(radio_type: str):
    try:
        module_name, class_name, package = RADIO_TYPES[radio_type]
    except KeyError:
        raise RadioUnavailable(f"Unknown radio type {radio_type!r}; choose one of {', '.join(sorted(RADIO_TYPES))}.") from None
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise RadioUnavailable(
            f"Radio type {radio_type!r} needs the optional package {package!r}: pip install {package}"
            " (all radios: pip install -c constraints.txt -r requirements-radios.txt)"
        ) from None
    return smart_energy_controller(getattr(module, class_name))
