"""The daily ranking of every home's usage within its customer class, for the dashboard's "similar homes".

Ranking every home of a class on each page view does not scale (a utility's residential class
is millions of meters), so once a day ``similar_homes_refresh`` ranks each electric meter's
delivered energy over 30 premise-local days among the meters of its premise's class and stores,
per meter, counts and a median (``SimilarHomesRank``). The dashboard then reads one row and
applies the minimum group size and the viewer's occupancy (``billing.dashboard.similar_homes``).

A day's ranking is a statement about that window as the data stood when it was worked out;
it is labelled with its last day on the page, and readings or corrections that arrive later
count from the next day's ranking.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction

from amiportal.premises.models import Meter, MeterKind, Premise
from billing.models import Channel, PeriodRollup, SimilarHomesRank, SimilarHomesRun

SIMILAR_HOMES_DAYS = 30
# Rankings older than this are deleted by the next refresh; the page uses one at most
# ``SIMILAR_HOMES_STALE_DAYS`` older than the viewer's yesterday.
SIMILAR_HOMES_KEEP_DAYS = 7
# Twelve hours after UTC midnight, the previous day has ended in every zone (UTC-12 to UTC+14).
_DAY_OVER_EVERYWHERE = timedelta(hours=12)


def similar_homes_due_day(now: datetime | None = None) -> date:
    """The newest day whose ranking can be worked out: the last day that has ended in every time zone."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return (now - _DAY_OVER_EVERYWHERE).date() - timedelta(days=1)


# Per electric meter, its delivered energy over its premise's local days first..last (a correlated
# sum: one short range scan of ``period_rollup_unique`` per meter, so the cost grows with the number
# of meters, not with the history the table holds), then each meter's place in its class. ``below``
# is rank() - 1: the homes with strictly less; ``above`` the homes with strictly more. The median of
# the *other* homes (``totals`` without this one, sorted, at index (n - 1) / 2) is the class's value
# at position (n - 1) / 2 for a meter ranked after it, else the one at the next position.
_RANK = """
WITH totals AS (
    SELECT meter_id, customer_class, total FROM (
        SELECT m.id AS meter_id, p.customer_class AS customer_class,
            (SELECT sum(r.value) FROM {period_rollup} r
             WHERE r.meter_id = m.id AND r.channel = %s AND r.day >= %s AND r.day <= %s) AS total
        FROM {meter} m JOIN {premise} p ON p.id = m.premise_id
        WHERE m.kind = %s
    ) AS per_meter
    WHERE total IS NOT NULL
), ranked AS (
    SELECT meter_id, customer_class, total,
        count(*) OVER (PARTITION BY customer_class) AS n,
        rank() OVER (PARTITION BY customer_class ORDER BY total) - 1 AS below,
        count(*) OVER (PARTITION BY customer_class ORDER BY total RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS at_or_below,
        row_number() OVER (PARTITION BY customer_class ORDER BY total) - 1 AS position
    FROM totals
), middles AS (
    SELECT customer_class,
        max(CASE WHEN position = (n - 1) / 2 THEN total END) AS low_middle,
        max(CASE WHEN position = (n - 1) / 2 + 1 THEN total END) AS high_middle
    FROM ranked GROUP BY customer_class
)
INSERT INTO {rank} (meter_id, as_of, customer_class, total_wh, group_size, below, above, others_median_wh)
SELECT r.meter_id, %s, r.customer_class, r.total, r.n, r.below, r.n - r.at_or_below,
    CASE WHEN r.n = 1 THEN NULL WHEN r.position > (r.n - 1) / 2 THEN m.low_middle ELSE m.high_middle END
FROM ranked r JOIN middles m ON m.customer_class = r.customer_class
"""


@transaction.atomic
def similar_homes_refresh(*, as_of: date, recompute: bool = False) -> int | None:
    """Rank every electric meter's usage over the 30 local days to ``as_of`` within its customer class.

    Runs once per day: the first caller claims the day (``SimilarHomesRun``) and a concurrent or
    later caller gets None, unless ``recompute`` replaces that day's ranking (after a bulk
    correction, say). Returns the number of homes ranked. Rankings older than a week go.
    """
    run, created = SimilarHomesRun.objects.get_or_create(as_of=as_of)
    if not created:
        if not recompute:
            return None
        SimilarHomesRun.objects.select_for_update(no_key=True).filter(pk=run.pk).get()
        SimilarHomesRank.objects.filter(as_of=as_of).delete()
    first = as_of - timedelta(days=SIMILAR_HOMES_DAYS - 1)
    sql = _RANK.format(
        period_rollup=PeriodRollup._meta.db_table,
        meter=Meter._meta.db_table,
        premise=Premise._meta.db_table,
        rank=SimilarHomesRank._meta.db_table,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [Channel.DELIVERED, first, as_of, MeterKind.ELECTRIC, as_of])
        homes = cursor.rowcount
    if homes < 0:  # SQLite reports no row count for a statement that starts with WITH
        homes = SimilarHomesRank.objects.filter(as_of=as_of).count()
    run.homes = homes
    run.save(update_fields=["homes"])
    oldest = as_of - timedelta(days=SIMILAR_HOMES_KEEP_DAYS)
    SimilarHomesRank.objects.filter(as_of__lt=oldest).delete()
    SimilarHomesRun.objects.filter(as_of__lt=oldest).delete()
    return homes
