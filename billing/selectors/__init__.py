"""Reads of usage and cost, and the one read path of readings.

- ``windows``: the one ``Window`` type, ``window_for_dates``, ``occupancy_windows`` and the one ``clip``.
- ``readings``: ``interval_readings``, the one query of readings inside occupancy windows.
- ``usage``: rollups, chart series, costs, the utility's bills.

Everything public is re-exported here, so ``from billing.selectors import ...`` keeps working.
"""

from billing.selectors.readings import (  # noqa: F401
    BOTH_CHANNELS,
    interval_days_count,
    interval_readings,
    interval_seconds_first,
)
from billing.selectors.usage import *  # noqa: F403 (the usage and cost reads, public names as before)
from billing.selectors.usage import _CHANNEL_ARRAYS, _interval_series_rows  # noqa: F401 (tests and the bench reach these)
from billing.selectors.windows import Window, clip, occupancy_windows, window_for_dates  # noqa: F401
