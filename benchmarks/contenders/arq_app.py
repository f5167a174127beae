"""The benchmark job as an arq function, on the stack's Valkey.

Run by the benchmark as ``arq benchmarks.contenders.arq_app.WorkerSettings``: ``max_jobs`` per
process matches our worker's concurrency. Results are not kept (ours stores none).
"""

from __future__ import annotations

import os
from typing import Any

import asyncpg
from arq.connections import RedisSettings
from pymongo import AsyncMongoClient
from pymongo.errors import BulkWriteError

from benchmarks.contenders import job

WORKER = os.environ.get("BENCH_WORKER", "arq")


async def startup(ctx: dict[str, Any]) -> None:
    ctx["pg"] = await asyncpg.create_pool(os.environ["OMNIFLOW_DATABASE_URL"], min_size=2,
                                          max_size=10)
    ctx["mongo"] = AsyncMongoClient(os.environ["OMNIFLOW_MONGO_URL"], tz_aware=True)
    ctx["db"] = ctx["mongo"][os.environ.get("OMNIFLOW_MONGO_DB", "omniflow")]


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["pg"].close()
    await ctx["mongo"].close()


async def run_job(ctx: dict[str, Any], fields: dict[str, str]) -> None:
    pool, db = ctx["pg"], ctx["db"]
    row = await pool.fetchrow(job.START, fields["report_id"], int(fields["generation"]), WORKER)
    if row is None:
        return
    attempt, started_at = row["attempts"], row["started_at"]
    result, steps = job.compute(fields)
    finished_at = job.now()
    execution, events = job.documents(fields, worker=WORKER, attempt=attempt,
                                      started_at=started_at, finished_at=finished_at,
                                      result=result, steps=steps)
    await db.executions.replace_one(job.fenced_filter(execution), execution, upsert=True)
    await pool.fetchrow(job.FINISH, fields["report_id"], int(fields["generation"]), attempt,
                        finished_at)
    try:
        await db.events.insert_many(events, ordered=False)
    except BulkWriteError as exc:
        if any(e.get("code") != job.DUPLICATE_KEY for e in exc.details["writeErrors"]):
            raise


class WorkerSettings:
    functions = [run_job]
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = RedisSettings.from_dsn(os.environ.get("OMNIFLOW_REDIS_URL",
                                                           "redis://127.0.0.1:6379/0"))
    queue_name = os.environ.get("BENCH_QUEUE", "arq:queue")
    max_jobs = int(os.environ.get("BENCH_CONCURRENCY", "16"))
    keep_result = 0
    poll_delay = float(os.environ.get("BENCH_POLL_DELAY", "0.5"))
    handle_signals = True
