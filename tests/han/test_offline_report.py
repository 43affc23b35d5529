"""A coordinator's graceful stop reaches the head-end as a signed ``offline`` report (SO-U4)."""

from __future__ import annotations

import pytest

from han.protocol import CoordinatorIdentity, report_build
from han.services.head_end_keys import head_end_box_public_key_hex
from han.services.networks import coordinator_register
from han.services.relay import report_record


def _offline(identity: CoordinatorIdentity, seq: int) -> dict:
    return report_build(
        identity=identity,
        event="offline",
        command_id=None,
        detail={"reason": "stopped"},
        seq=seq,
        head_end_box_public_hex=head_end_box_public_key_hex(),
    )


@pytest.mark.django_db
@pytest.mark.objective("SO-U4")
def test_a_signed_offline_report_is_taken_once_and_not_looked_up_as_a_command():
    identity = CoordinatorIdentity.generate("gw-stopping")
    coordinator_register(name=identity.name, box_public_key=identity.box_public_hex, verify_public_key=identity.verify_public_hex)
    report = _offline(identity, seq=1)
    assert report_record(report=report) == "offline"
    assert report_record(report=report) == "replayed"
    forged = _offline(CoordinatorIdentity.generate("gw-stopping"), seq=2)  # the right name, another key
    assert report_record(report=forged) == "refused"
