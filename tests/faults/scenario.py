"""A sustained submit load with faults injected on a timeline, and the ledger that judges it.

``SubmitLoad`` sends report submits at a fixed rate for a fixed time (open loop: a slow or absent
gateway does not slow the schedule down) and records which were accepted (2xx). ``StatusWatch``
reads the accepted reports' statuses from PostgreSQL twice a second and remembers any that moved
backwards. ``judge`` counts, at the end, what was lost and what was duplicated.

Every loop here is bounded in count and in time and stops by itself; every request goes to the
test stack's own gateway on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg
import httpx
import psutil
from pymongo import AsyncMongoClient

from omniflow.launcher import Stack
from omniflow.settings import Settings
from tests.helpers import bearer

RANK = {"PENDING": 0, "PROCESSING": 1, "DONE": 2, "FAILED": 2, "CANCELLED": 2}


@dataclass
class SubmitLoad:
    """``rate`` submits per second for ``seconds``, round-robin over ``tokens``."""

    url: str
    tokens: list[str]
    rate: float
    seconds: float
    accepted: list[str] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)

    async def run(self) -> None:
        total = int(self.rate * self.seconds)
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=16)
        async with httpx.AsyncClient(base_url=self.url, timeout=10, limits=limits) as client:
            began = time.monotonic()
            tasks = []
            for i in range(total):
                delay = began + i / self.rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(self._one(client, i)))
            await asyncio.gather(*tasks)

    async def _one(self, client: httpx.AsyncClient, i: int) -> None:
        token = self.tokens[i % len(self.tokens)]
        body = {"type": "user_activity", "params": {"days": 1 + i % 30, "top": 5, "seed": i}}
        try:
            response = await client.post("/reports", json=body, headers=bearer(token))
        except httpx.HTTPError as exc:
            self.outcomes[type(exc).__name__] += 1
            return
        self.outcomes[str(response.status_code)] += 1
        if response.status_code in (200, 202):
            self.accepted.append(response.json()["id"])


@dataclass
class StatusWatch:
    """Polls the statuses of accepted reports and keeps those that went backwards."""

    pg: asyncpg.Pool
    load: SubmitLoad
    seen: dict[str, str] = field(default_factory=dict)
    backwards: dict[str, tuple[str, str]] = field(default_factory=dict)
    reads: int = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.read_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
        await self.read_once()

    async def read_once(self) -> None:
        ids = list(self.load.accepted)
        if not ids:
            return
        try:
            rows = await self.pg.fetch(
                "SELECT id::text, status FROM reports WHERE id = ANY($1::uuid[])", ids)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return  # one missed reading changes nothing
        self.reads += 1
        for row in rows:
            before = self.seen.get(row["id"])
            if before is not None and RANK[row["status"]] < RANK[before]:
                self.backwards[row["id"]] = (before, row["status"])
            self.seen[row["id"]] = row["status"]


@dataclass
class Verdict:
    accepted: int
    completed: int
    lost: list[str]
    duplicated: dict[str, str]
    outcomes: dict[str, int]
    lost_why: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        text = (f"accepted {self.accepted}, completed {self.completed}, lost {len(self.lost)}, "
                f"duplicated {len(self.duplicated)}; submit outcomes {self.outcomes}")
        return text + "".join(f"\n  lost: {n} x {why}" for why, n in self.lost_why.items())


async def wait_finished(pg: asyncpg.Pool, ids: list[str], timeout_s: float) -> None:
    """Waits (bounded) until none of ``ids`` is PENDING or PROCESSING any more."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            left = await pg.fetchval(
                "SELECT count(*) FROM reports WHERE id = ANY($1::uuid[]) "
                "AND status IN ('PENDING', 'PROCESSING')", ids)
            if left == 0:
                return
        await asyncio.sleep(1.0)


async def judge(pg: asyncpg.Pool, mongo: AsyncMongoClient, settings: Settings,
                load: SubmitLoad, watch: StatusWatch, owners: list[int]) -> Verdict:
    """Lost = accepted but not DONE; duplicated = two execution documents, two DONE events
    or a status that went backwards (checked over every report of the test's users)."""
    rows = await pg.fetch(
        "SELECT id::text, status, attempts, failure_reason FROM reports "
        "WHERE owner_id = ANY($1::bigint[])", owners)
    status = {r["id"]: r["status"] for r in rows}
    lost = [rid for rid in load.accepted if status.get(rid) != "DONE"]
    why: Counter[str] = Counter()
    for r in rows:
        if r["id"] in set(lost):
            reason = (r["failure_reason"] or "")[:90]
            why[f"{r['status']} after {r['attempts']} attempt(s) {reason}".strip()] += 1

    db = mongo[settings.mongo_db]
    everyone = list(status)
    duplicated: dict[str, str] = {}
    executions: Counter[str] = Counter()
    async for doc in db["executions"].find({"report_id": {"$in": everyone}},
                                           {"report_id": 1}):
        executions[doc["report_id"]] += 1
    done_events: Counter[str] = Counter()
    async for doc in db["events"].find({"report_id": {"$in": everyone}, "kind": "done"},
                                       {"report_id": 1}):
        done_events[doc["report_id"]] += 1
    for rid, n in executions.items():
        if n > 1:
            duplicated[rid] = f"{n} execution documents"
    for rid, n in done_events.items():
        if n > 1:
            duplicated[rid] = f"{n} DONE events"
    for rid, (before, after) in watch.backwards.items():
        duplicated[rid] = f"status went back from {before} to {after}"
    completed = sum(1 for rid in load.accepted if status.get(rid) == "DONE")
    return Verdict(len(load.accepted), completed, lost, duplicated, dict(load.outcomes),
                   dict(why))


# Faults: each one is a blocking launcher call, run in a thread.
def kill_worker(stack: Stack, name: str) -> int | None:
    """SIGKILLs one running worker (supervisord restarts it); returns the pid killed."""
    rows = {row.process: row for row in stack.status()}
    row = rows.get(name)
    if row is None or row.state != "RUNNING" or not row.pid or (row.uptime_s or 0) < 2:
        return None
    with contextlib.suppress(ProcessLookupError):
        os.kill(row.pid, signal.SIGKILL)
    return row.pid


def kill_redis(stack: Stack) -> int | None:
    """SIGKILLs Valkey: no chance to flush its append-only file (supervisord restarts it)."""
    pid = stack.pids().get("redis")
    if pid:
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).kill()
    return pid


def stop_for(stack: Stack, name: str, seconds: float) -> None:
    stack.stop(name)
    try:
        time.sleep(seconds)
    finally:
        stack.start(name)


Fault = tuple[float, str, Callable[[], object]]


async def run_timeline(faults: list[Fault], log: list[str]) -> None:
    """Runs each fault at its offset (seconds from now), one after another."""
    began = time.monotonic()
    for at, label, action in faults:
        delay = began + at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        started = time.monotonic() - began
        result = await asyncio.to_thread(action)
        ended = time.monotonic() - began
        note = f" (pid {result})" if isinstance(result, int) else ""
        log.append(f"{started:5.1f}-{ended:5.1f}s {label}{note}")


def restore(stack: Stack, timeout_s: float = 90.0) -> list[str]:
    """Starts whatever is not running and waits until the launcher says all is healthy."""
    deadline = time.monotonic() + timeout_s
    while True:
        rows = stack.status()
        down = [r.process for r in rows if r.state not in ("RUNNING", "STARTING")]
        for name in down:
            with contextlib.suppress(Exception):
                stack.start(name)
        rows = stack.status()
        if all(r.healthy for r in rows):
            return []
        if time.monotonic() > deadline:
            return [f"{r.process}: {r.state}, {r.health}" for r in rows if not r.healthy]
        time.sleep(1.0)


async def make_users(http: httpx.AsyncClient, pg: asyncpg.Pool, count: int,
                     ) -> tuple[list[str], list[int]]:
    """Signs up and logs in ``count`` fresh learners; their tokens and ids."""
    from tests.helpers import login, signup

    tokens, owners = [], []
    for _ in range(count):
        email = f"faults-{uuid.uuid4().hex[:12]}@example.org"
        account = await signup(http, email)
        tokens.append(await login(http, email))
        owners.append(account["id"])
    return tokens, owners


@contextlib.asynccontextmanager
async def watching(watch: StatusWatch):  # noqa: ANN201 - an async context manager
    """Keeps ``watch`` polling for as long as the block runs."""
    stop = asyncio.Event()
    task = asyncio.create_task(watch.run(stop))
    try:
        yield watch
    finally:
        stop.set()
        await task
