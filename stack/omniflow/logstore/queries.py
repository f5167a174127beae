"""Read helpers for the notebooks and the admin API.

They use plain ``find``/``sort``/``limit`` and ``$group`` with ``$sum``/``$avg`` only: those
behave the same on MongoDB 7 and on the embedded server, which returns dates produced inside an
aggregation as strings. Dates are therefore only ever read from stored fields.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from omniflow.logstore.schema import EVENTS, EXECUTIONS


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


async def counts_by_kind(db: AsyncDatabase, *, since: dt.datetime | None = None) -> dict[str, int]:
    """How many events of each kind were recorded (since ``since``, if given)."""
    pipeline: list[dict[str, Any]] = []
    if since is not None:
        pipeline.append({"$match": {"ts": {"$gte": since}}})
    pipeline.append({"$group": {"_id": "$kind", "n": {"$sum": 1}}})
    rows = await (await db[EVENTS].aggregate(pipeline)).to_list()
    return {row["_id"]: int(row["n"]) for row in sorted(rows, key=lambda r: str(r["_id"]))}


async def avg_step_durations(db: AsyncDatabase, *, since: dt.datetime | None = None,
                             ) -> dict[str, dict[str, float]]:
    """Mean duration and count of each simulated step, e.g. ``{"load_orders": {...}}``."""
    match: dict[str, Any] = {"kind": "step"}
    if since is not None:
        match["ts"] = {"$gte": since}
    pipeline = [
        {"$match": match},
        {"$group": {"_id": "$data.name", "avg_ms": {"$avg": "$data.duration_ms"},
                    "n": {"$sum": 1}}},
    ]
    rows = await (await db[EVENTS].aggregate(pipeline)).to_list()
    return {
        row["_id"]: {"avg_ms": round(float(row["avg_ms"] or 0.0), 3), "count": int(row["n"])}
        for row in sorted(rows, key=lambda r: str(r["_id"]))
    }
