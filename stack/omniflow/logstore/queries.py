"""Read helpers for the notebooks and the admin API.

They use plain ``find``/``sort``/``limit`` and ``$group`` with ``$sum``/``$avg`` only: those
behave the same on MongoDB 7 and on the embedded server, which returns dates produced inside an
aggregation as strings, and does not filter by a date inside an aggregation's ``$match``.
So dates are only ever read from stored fields, and an aggregation filters time on ``ts_ms``,
the event's time as a number (milliseconds since the epoch), which both servers compare alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from omniflow.logstore.schema import EVENTS, EXECUTIONS, epoch_ms


async def get_execution(db: AsyncDatabase, report_id: str) -> dict[str, Any] | None:
    """The execution document of one report, or None if it has not finished yet."""
    return await db[EXECUTIONS].find_one({"_id": str(report_id)})


async def events_for(db: AsyncDatabase, report_id: str, *,
                     limit: int = 500) -> list[dict[str, Any]]:
    """One report's events, oldest first (ties broken by id, so the order is stable)."""
    cursor = (
        db[EVENTS]
        .find({"report_id": str(report_id)})
        .sort([("ts", ASCENDING), ("_id", ASCENDING)])
        .limit(limit)
    )
    return await cursor.to_list()


async def recent_executions(db: AsyncDatabase, *, status: str | None = None,
                            limit: int = 50) -> list[dict[str, Any]]:
    """The most recently finished executions, without their (possibly large) output."""
    query = {"status": status} if status else {}
    cursor = (
        db[EXECUTIONS]
        .find(query, projection={"output": False, "steps": False})
        .sort("finished_at", DESCENDING)
        .limit(limit)
    )
    return await cursor.to_list()


def _match(since: dt.datetime | None, report_ids: Sequence[str] | None,
           **fields: Any) -> dict[str, Any]:
    match = dict(fields)
    if since is not None:
        match["ts_ms"] = {"$gte": epoch_ms(since)}
    if report_ids is not None:
        match["report_id"] = {"$in": [str(r) for r in report_ids]}
    return match


async def counts_by_kind(db: AsyncDatabase, *, since: dt.datetime | None = None,
                         report_ids: Sequence[str] | None = None) -> dict[str, int]:
    """Counts events by kind, optionally only since ``since`` or only for ``report_ids``."""
    pipeline = [
        {"$match": _match(since, report_ids)},
        {"$group": {"_id": "$kind", "n": {"$sum": 1}}},
    ]
    rows = await (await db[EVENTS].aggregate(pipeline)).to_list()
    return {row["_id"]: int(row["n"]) for row in sorted(rows, key=lambda r: str(r["_id"]))}


async def avg_step_durations(db: AsyncDatabase, *, since: dt.datetime | None = None,
                             report_ids: Sequence[str] | None = None,
                             ) -> dict[str, dict[str, float]]:
    """Mean duration and count of each simulated step, e.g. ``{"load_orders": {...}}``."""
    pipeline = [
        {"$match": _match(since, report_ids, kind="step")},
        {"$group": {"_id": "$data.name", "avg_ms": {"$avg": "$data.duration_ms"},
                    "n": {"$sum": 1}}},
    ]
    rows = await (await db[EVENTS].aggregate(pipeline)).to_list()
    return {
        row["_id"]: {"avg_ms": round(float(row["avg_ms"] or 0.0), 3), "count": int(row["n"])}
        for row in sorted(rows, key=lambda r: str(r["_id"]))
    }
