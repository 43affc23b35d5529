"""Reads of the grid: which premises sit in an area, and the utility's areas with their counts.

Commands (and, later, outage grouping) choose their premises through ``premises_in_area``:
the one place that says what "in an area" means.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, QuerySet

from amiportal.premises.models import Feeder, Premise, Substation, Transformer


def premises_in_area(*, substation: str, feeder: str | None = None, transformer: str | None = None) -> QuerySet[Premise]:
    """Premises under a substation, one of its feeders, or one transformer on that feeder (codes as the utility writes them)."""
    if transformer is not None and feeder is None:
        raise ValueError("A transformer code is only unique on its feeder: name the feeder too.")
    premises = Premise.objects.filter(transformer__feeder__substation__code=substation)
    if feeder is not None:
        premises = premises.filter(transformer__feeder__code=feeder)
    if transformer is not None:
        premises = premises.filter(transformer__code=transformer)
    return premises.order_by("service_point_id")


@dataclass(frozen=True)
class FeederRow:
    feeder: Feeder
    transformers: list[Transformer]  # each annotated with ``premise_count``

    @property
    def premise_count(self) -> int:
        return sum(transformer.premise_count for transformer in self.transformers)


@dataclass(frozen=True)
class SubstationRow:
    substation: Substation
    feeders: list[FeederRow]

    @property
    def premise_count(self) -> int:
        return sum(row.premise_count for row in self.feeders)


def grid_overview() -> tuple[list[SubstationRow], int]:
    """Every substation with its feeders and transformers and how many premises each serves (3 queries), and the unplaced count."""
    transformers = Transformer.objects.annotate(premise_count=Count("premises")).order_by("feeder_id", "code")
    by_feeder: dict[int, list[Transformer]] = {}
    for transformer in transformers:
        by_feeder.setdefault(transformer.feeder_id, []).append(transformer)
    by_substation: dict[int, list[FeederRow]] = {}
    for feeder in Feeder.objects.order_by("substation_id", "code"):
        by_substation.setdefault(feeder.substation_id, []).append(FeederRow(feeder, by_feeder.get(feeder.pk, [])))
    rows = [SubstationRow(substation, by_substation.get(substation.pk, [])) for substation in Substation.objects.order_by("code")]
    return rows, Premise.objects.filter(transformer__isnull=True).count()
