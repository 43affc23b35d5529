"""The coordinator reports waiting on the broker's Celery queue, read as the broker holds them (no worker running)."""

from __future__ import annotations

import base64
import json

import redis


def queued_reports(redis_url: str, queue: str = "celery") -> list[dict]:
    """Every report in every ``han_reports_record_task`` message on ``queue``, oldest first."""
    reports: list[dict] = []
    for raw in reversed(redis.Redis.from_url(redis_url).lrange(queue, 0, -1)):  # LPUSHed: the newest is first
        message = json.loads(raw)
        if message.get("headers", {}).get("task") != "han.tasks.han_reports_record_task":
            continue
        body = message["body"]
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args, _kwargs, _embed = json.loads(body)
        reports.extend(args[0])
    return reports


def events_for(reports: list[dict], command_id: str) -> list[str]:
    return [report["event"] for report in reports if report.get("command_id") == command_id]
