"""The demo HAN data that `make run` shows: idempotent, with a work order for Ivan."""

import json

import pytest

from amiportal.portal.demo import DEMO_EXTENSIONS, demo_seed
from han.demo import han_demo_seed
from han.install_codes import install_code_parse
from han.models import Coordinator, CoordinatorCommand, HanNetwork, JobKind, WorkOrder

pytestmark = pytest.mark.django_db


def test_the_demo_gives_ivan_work_orders_at_premises_with_gateways(settings, tmp_path, captured, django_capture_on_commit_callbacks):
    settings.VAR_DIR = tmp_path
    assert han_demo_seed in DEMO_EXTENSIONS
    with django_capture_on_commit_callbacks(execute=True):
        demo_seed()
    with django_capture_on_commit_callbacks(execute=True):
        demo_seed()  # a second run changes nothing
    assert WorkOrder.objects.filter(installer__email="ivan@demo.ami").count() == 2
    assert HanNetwork.objects.count() == 2 and Coordinator.objects.count() == 3
    assert CoordinatorCommand.objects.filter(kind=JobKind.NETWORK_CONFIGURE).count() == 2
    assert (tmp_path / "han" / "coordinators" / "gw-sp-100001.key").exists()
    devices = json.loads((tmp_path / "han" / "simulated_devices.json").read_text())
    for row in devices:
        assert install_code_parse(code=row["install_code"], eui64=row["eui64"]).eui64 == row["eui64"]
