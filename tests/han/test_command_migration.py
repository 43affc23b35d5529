"""Renaming ``CommissioningJob`` to ``CoordinatorCommand`` keeps every command (han migration 0004)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from han.models import CoordinatorCommand, JobKind, JobState

BEFORE = ("han", "0003_report_sequences_freshness_and_command_expiry")


def _migrate(target: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)


@pytest.mark.django_db(transaction=True)
def test_the_rename_keeps_the_commands_rows_both_ways(alice_network):
    command = CoordinatorCommand.objects.get(network=alice_network, kind=JobKind.NETWORK_CONFIGURE)
    CoordinatorCommand.objects.filter(pk=command.pk).update(state=JobState.DONE, result={"kept": True})
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("han")
    try:
        _migrate([BEFORE])
        with connection.cursor() as cursor:
            cursor.execute("SELECT command_id, kind, state FROM han_commissioningjob WHERE id = %s", [command.pk])
            assert cursor.fetchone() == (command.command_id, "network_configure", "done")
    finally:
        _migrate(latest)
    kept = CoordinatorCommand.objects.get(pk=command.pk)
    assert (kept.command_id, kept.kind, kept.state, kept.result, kept.network_id) == (
        command.command_id,
        JobKind.NETWORK_CONFIGURE,
        JobState.DONE,
        {"kept": True},
        alice_network.pk,
    )
    assert kept.get_kind_display() == "Configure network"
