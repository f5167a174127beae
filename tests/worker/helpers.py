"""Helpers for the worker tests: reports made with SQL, jobs published, workers as processes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from omniflow import broker, signals
from omniflow.contracts import Job
from omniflow.settings import Settings

SALES = {"region": "all", "start_date": "2026-01-01", "end_date": "2026-01-31"}


async def make_user(pg: asyncpg.Pool) -> int:
    email = f"worker-test-{uuid.uuid4().hex[:12]}@example.test"
    return await pg.fetchval(
        "INSERT INTO users (email, password_hash) VALUES ($1, 'x') RETURNING id", email
    )


async def make_reports(pg: asyncpg.Pool, owner: int, count: int, *,
                       report_type: str = "sales_summary", params: dict[str, Any] | None = None,
                       outbox: bool = False) -> list[Job]:
    """Saves ``count`` PENDING reports; with ``outbox`` also their outbox rows (the relay's job)."""
    jobs = []
    async with pg.acquire() as conn, conn.transaction():
        for n in range(count):
            body = {"seed": n, **(SALES if report_type == "sales_summary" else {}),
                    **(params or {})}
            trace = uuid.uuid4().hex
            row = await conn.fetchrow(
                "INSERT INTO reports (owner_id, type, params, trace_id, queued_at)"
                " VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN NULL ELSE now() END)"
                " RETURNING id, generation, created_at",
                owner, report_type, body, trace, outbox,
            )
            if outbox:
                await conn.execute(
                    "INSERT INTO outbox (report_id, generation) VALUES ($1, $2)",
                    row["id"], row["generation"],
                )
            jobs.append(Job(report_id=str(row["id"]), generation=row["generation"],
                            type=report_type, params=body, trace_id=trace,
                            submitted_at=row["created_at"]))
    return jobs


async def publish(redis: aioredis.Redis, settings: Settings, jobs: Iterable[Job]) -> list[str]:
    await broker.ensure_group(redis, settings)
    return await broker.Publisher(redis, settings).publish_many(jobs)


async def add_raw(redis: aioredis.Redis, settings: Settings, job: Job) -> str:
    """Adds the job's fields as a new entry, bypassing the publish-once script (a duplicate)."""
    return await redis.xadd(settings.jobs_stream, job.to_fields())


async def reports(pg: asyncpg.Pool, jobs: Iterable[Job]) -> dict[str, asyncpg.Record]:
    rows = await pg.fetch("SELECT * FROM reports WHERE id = ANY($1::uuid[])",
                          [j.report_id for j in jobs])
    return {str(r["id"]): r for r in rows}


async def wait_for(pg: asyncpg.Pool, jobs: list[Job], statuses: set[str], *,
                   timeout: float = 30.0) -> dict[str, asyncpg.Record]:
    """Waits until every report is in one of ``statuses``; fails with their states if not."""
    deadline = time.monotonic() + timeout
    while True:
        rows = await reports(pg, jobs)
        if len(rows) == len(jobs) and all(r["status"] in statuses for r in rows.values()):
            return rows
        if time.monotonic() > deadline:
            states = sorted((r["status"], r["attempts"]) for r in rows.values())
            raise AssertionError(f"reports not in {statuses} after {timeout}s: {states}")
        await asyncio.sleep(0.1)


async def wait_until(predicate, *, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


class WorkerProcess:
    """``python -m omniflow.worker`` as a child process the test can signal."""

    def __init__(self, name: str, log_dir: Path, **settings: Any) -> None:
        self.name = name
        env = dict(os.environ)
        env["OMNIFLOW_WORKER_NAME"] = name
        env.setdefault("OMNIFLOW_ENVIRONMENT", "test")
        for key, value in settings.items():
            env[f"OMNIFLOW_{key.upper()}"] = str(value)
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "omniflow.worker"], env=env, stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def ready(self, timeout: float = 30.0) -> WorkerProcess:
        """Waits until the worker says it has started reading."""
        deadline = time.monotonic() + timeout
        while f"worker {self.name} started" not in self.log_text():
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.log_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"worker not ready:\n{self.log_text()[-3000:]}")
            await asyncio.sleep(0.05)
        return self

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout)

    def close(self) -> None:
        self.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()
        self._log.close()


async def worker_counts(redis: aioredis.Redis, name: str) -> dict[str, int]:
    """The counters a running worker has sent to the signals hash."""
    data = await redis.hgetall(signals.worker_key(name))
    return {key: int(data.get(key, 0)) for key in signals.COUNTERS}


async def count(collection, query: dict[str, Any]) -> int:
    """Counts matching documents with ``$match`` and ``$group``.

    Note that this means the same as ``count_documents`` on MongoDB, and on the embedded server
    it is many times faster.
    """
    pipeline = [{"$match": query}, {"$group": {"_id": None, "n": {"$sum": 1}}}]
    rows = await (await collection.aggregate(pipeline)).to_list()
    return int(rows[0]["n"]) if rows else 0


async def pending_count(redis: aioredis.Redis, settings: Settings) -> int:
    try:
        summary = await redis.xpending(settings.jobs_stream, settings.consumer_group)
    except aioredis.ResponseError:
        return 0
    return int(summary["pending"])
