"""Which settings module a process runs on: the head-end's, or a premise gateway's (``AMI_PROFILE=gateway``)."""

from __future__ import annotations

from amiportal.env import env_str

GATEWAY_PROFILE = "gateway"
GATEWAY_SETTINGS = "amiportal.gateway_settings"
HEAD_END_SETTINGS = "amiportal.settings"


def settings_module() -> str:
    return GATEWAY_SETTINGS if env_str("AMI_PROFILE") == GATEWAY_PROFILE else HEAD_END_SETTINGS
