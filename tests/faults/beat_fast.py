"""Celery beat with the project's own schedule, every interval shortened to AMI_TEST_BEAT_SECONDS (fault tests only).

Usage: python tests/faults/beat_fast.py SCHEDULE_FILE [ENTRY ...]. With entry names, only
those run. The tasks and the beat process are the real ones; only the waiting is shorter.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amiportal.settings")


def main(schedule_file: str, *only: str) -> None:
    from amiportal.celery import app

    seconds = float(os.environ["AMI_TEST_BEAT_SECONDS"])
    schedule = app.conf.beat_schedule
    unknown = set(only) - set(schedule)
    if unknown:
        raise SystemExit(f"no such beat entries: {sorted(unknown)}")
    app.conf.beat_schedule = {
        name: {**entry, "schedule": timedelta(seconds=seconds)} for name, entry in schedule.items() if not only or name in only
    }
    app.start(["beat", "--schedule", schedule_file, "--loglevel", "INFO", "--max-interval", str(max(1, int(seconds)))])


if __name__ == "__main__":
    main(*sys.argv[1:])
