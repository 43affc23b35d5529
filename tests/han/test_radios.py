"""Radios are chosen by name from an explicit mapping; real ones are optional extras (SO-U19)."""

import importlib
import sys

import pytest
from django.core.management import CommandError, call_command

from han.coordinator.radios import RADIO_TYPES, RadioUnavailable, controller_class_for
from han.coordinator.simulated import SimulatedControllerApplication
from han.zigbee_se import SmartEnergyApplicationMixin


def test_the_simulated_radio_is_the_default_and_always_available():
    assert controller_class_for("simulated") is SimulatedControllerApplication


@pytest.mark.parametrize("radio", ["ezsp", "znp", "deconz", "zigate", "xbee"])
def test_a_real_radio_whose_library_is_missing_says_which_package_to_install(radio, monkeypatch):
    module, _, package = RADIO_TYPES[radio]
    for name in [m for m in sys.modules if m == module.split(".")[0] or m.startswith(module.split(".")[0] + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module.split(".")[0], None)  # as on a gateway without it: importing it fails
    with pytest.raises(RadioUnavailable, match=f"pip install {package}"):
        controller_class_for(radio)


@pytest.mark.parametrize("radio", ["ezsp", "znp", "deconz", "zigate", "xbee"])
def test_every_radio_library_pinned_for_the_project_is_importable_and_given_smart_energy_devices(radio):
    """requirements-radios.txt installs them (CI via requirements-dev.txt); each controller class gets SE devices."""
    module, class_name, _ = RADIO_TYPES[radio]
    controller = controller_class_for(radio)
    assert issubclass(controller, getattr(importlib.import_module(module), class_name))
    assert issubclass(controller, SmartEnergyApplicationMixin)
    assert controller_class_for(radio) is controller  # one class per radio, not one per call


def test_an_unknown_radio_is_refused_by_the_coordinator_command():
    with pytest.raises(CommandError, match="Unknown radio type 'zwave'"):
        call_command("han_coordinator", "--name", "gw-x", "--radio", "zwave")
