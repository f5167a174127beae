"""The whole path, end to end, over real HTTP: gateway → PostgreSQL → outbox → relay →
Redis Stream → worker → PostgreSQL and the MongoDB log store."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import httpx
import redis.asyncio as aioredis
from pymongo import AsyncMongoClient

from omniflow.settings import Settings
from tests.helpers import bearer, signup_and_login, submit

REPORTS = 100


async def _wait_all_finished(pg: asyncpg.Pool, ids: list[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        unfinished = await pg.fetchval(
            "SELECT count(*) FROM reports WHERE id = ANY($1::uuid[])"
            " AND status NOT IN ('DONE', 'FAILED', 'CANCELLED')",
            ids,
        )
        if unfinished == 0:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{unfinished} of {len(ids)} reports did not finish in {timeout_s}s")


async def test_hundred_reports_reach_done_with_one_row_and_one_document_each(
    http: httpx.AsyncClient,
    pg: asyncpg.Pool,
    redis: aioredis.Redis,
    mongo: AsyncMongoClient,
    settings: Settings,
) -> None:
    # Four learners, so the per-user limit on unfinished reports is not what is tested here.
    tokens = await asyncio.gather(*(signup_and_login(http) for _ in range(4)))
    params = [{"days": 1 + i % 30, "top": 5, "seed": i} for i in range(REPORTS)]

    accepted = await asyncio.gather(
        *(submit(http, tokens[i % 4], "user_activity", p) for i, p in enumerate(params))
    )
    ids = [report["id"] for report in accepted]
    assert len(set(ids)) == REPORTS
    assert {report["status"] for report in accepted} == {"PENDING"}

    await _wait_all_finished(pg, ids, timeout_s=90)

    rows = await pg.fetch(
        "SELECT id::text, status, attempts, created_at, started_at, finished_at"
        " FROM reports WHERE id = ANY($1::uuid[])",
        ids,
    )
    assert len(rows) == REPORTS
    assert {row["status"] for row in rows} == {"DONE"}
    assert all(r["created_at"] <= r["started_at"] <= r["finished_at"] for r in rows)

    executions = mongo[settings.mongo_db]["executions"]
    per_report = {
        doc["_id"]: doc["n"]
        async for doc in await executions.aggregate(
            [{"$match": {"_id": {"$in": ids}}}, {"$group": {"_id": "$_id", "n": {"$sum": 1}}}]
        )
    }
    assert per_report == dict.fromkeys(ids, 1)

    # Every job was acknowledged: nothing of ours is left pending in the consumer group.
    pending = await redis.xpending_range(
        settings.jobs_stream, settings.consumer_group, min="-", max="+", count=10_000
    )
    pending_ids = {entry["message_id"] for entry in pending}
    ours = await redis.xrange(settings.jobs_stream, count=100_000)
    assert not [entry_id for entry_id, fields in ours
                if fields.get("report_id") in set(ids) and entry_id in pending_ids]

    one = await http.get(f"/reports/{ids[0]}", headers=bearer(tokens[0]))
    assert one.status_code == 200
    body = one.json()
    assert body["status"] == "DONE"
    assert body["created_at"] and body["started_at"] and body["finished_at"]
