"""Reads of usage and cost, and the one read path of readings.

- ``windows``: the one ``Window`` type, ``window_for_dates``, ``occupancy_windows`` and the one ``clip``.
- ``readings``: the one read path of readings and their rollups, always inside windows (no
  default): ``interval_readings``, ``interval_rollups``, ``interval_sums``, ``period_rollups``.
- ``usage``: costs built on those reads, chart series, the utility's bills.

Everything public is re-exported here, so ``from billing.selectors import ...`` keeps working.
"""

from billing.selectors.readings import (  # noqa: F401
    BOTH_CHANNELS,
    hourly_usage,
    interval_days_count,
    interval_peak,
    interval_readings,
    interval_rollups,
    interval_seconds_first,
    interval_sums,
    period_rollups,
    window_days,
)
from billing.selectors.usage import *  # noqa: F403 (the usage and cost reads, public names as before)
from billing.selectors.usage import _CHANNEL_ARRAYS, _interval_series_rows  # noqa: F401 (tests and the bench reach these)
from billing.selectors.windows import Window, clip, occupancy_windows, whole_meter_windows, window_for_dates  # noqa: F401
