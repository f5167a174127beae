"""Runs the processes a benchmark measures, next to the stores of the stack it runs in.

A benchmark needs settings the stack's own services do not have (no limit on unfinished
reports, zero-work jobs, a private stream, a chosen number of workers), so it pauses the stack's
gateway, relay and workers and starts its own copies with those settings, on the stack's
PostgreSQL, Valkey and log store. ``restore`` starts the stack's services again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import redis.asyncio as aioredis

from omniflow import broker, signals
from omniflow.contracts import Job
from omniflow.launcher import Stack
from omniflow.launcher.ports import free_ports
from omniflow.settings import Settings

APP_SERVICES = ("worker", "relay", "gateway")
ROOT = Path(__file__).resolve().parent.parent
BENCH_PARAMS = {"days": 7, "top": 5}


class BenchError(RuntimeError):
    """A benchmark could not run; the message says why in one line."""


@dataclass
class Proc:
    """One process a benchmark started, with its log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None


@dataclass
class Harness:
    """The stack's stores plus the processes a benchmark starts on them."""

    stack: Stack
    settings: Settings
    log_level: str = "WARNING"
    procs: list[Proc] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)

    @classmethod
    def from_env(cls, log_level: str) -> Harness:
        if not os.environ.get("OMNIFLOW_STATE_DIR"):
            raise BenchError("run the benchmarks inside a stack: "
                             "omniflow run --isolated -- python -m benchmarks")
        stack = Stack.from_env()
        if not stack.is_running():
            raise BenchError(f"the stack in {stack.state_dir} is not running")
        return cls(stack=stack, settings=Settings(), log_level=log_level)

    @property
    def logs_dir(self) -> Path:
        return self.stack.state_dir / "logs"

    # The stack's own services.
    def pause_stack_services(self) -> None:
        """Stops the stack's gateway, relay and workers (they would compete for the CPU)."""
        running = {row.service for row in self.stack.status() if row.state == "RUNNING"}
        for name in APP_SERVICES:
            if name in running:
                self.stack.stop(name)
                self.paused.append(name)

    def restore(self) -> None:
        """Stops what the benchmark started and starts the stack's services again."""
        self.stop_all()
        for name in reversed(self.paused):
            with contextlib.suppress(Exception):
                self.stack.start(name)
        self.paused.clear()

    # Our own processes.
    def env(self, **overrides: object) -> dict[str, str]:
        base = {**os.environ, **self.stack.env(), "OMNIFLOW_LOG_LEVEL": self.log_level,
                "PYTHONUNBUFFERED": "1"}
        base.update({f"OMNIFLOW_{k.upper()}": str(v) for k, v in overrides.items()})
        return base

    def spawn(self, name: str, command: list[str], env: dict[str, str]) -> Proc:
        log = self.logs_dir / f"bench-{name}.log"
        with log.open("ab") as out:
            out.write(f"--- {time.strftime('%H:%M:%S')} {' '.join(command)}\n".encode())
            popen = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=ROOT, start_new_session=True)
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def stop(self, procs: Iterable[Proc], timeout: float = 20.0) -> None:
        """SIGTERM, then SIGKILL for whatever has not exited within ``timeout``."""
        procs = [p for p in procs if p in self.procs]
        for proc in procs:
            if proc.alive():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in procs:
            try:
                proc.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.popen.wait(5)
            self.procs.remove(proc)

    def stop_all(self) -> None:
        self.stop(list(self.procs))

    def check_alive(self, procs: Iterable[Proc]) -> None:
        for proc in procs:
            if not proc.alive():
                raise BenchError(f"{proc.name} exited with {proc.popen.returncode}; "
                                 f"see {proc.log}")

    async def start_gateway(self, **overrides: object) -> tuple[Proc, str]:
        """Our gateway on a free port, with no per-user limit; returns it and its URL."""
        (port,) = free_ports(1)
        url = f"http://127.0.0.1:{port}"
        env = self.env(gateway_port=port, gateway_url=url,
                       max_unfinished_reports=1_000_000_000,
                       login_rate_per_minute=1_000_000, **overrides)
        proc = self.spawn("gateway", [sys.executable, "-m", "omniflow.gateway"], env)
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(base_url=url, timeout=2) as client:
            while True:
                self.check_alive([proc])
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/health/ready")).status_code == 200:
                        return proc, url
                if time.monotonic() > deadline:
                    raise BenchError(f"the gateway did not get ready; see {proc.log}")
                await asyncio.sleep(0.2)

    def start_relay(self, stream: str) -> Proc:
        env = self.env(jobs_stream=stream, dead_stream=f"{stream}:dead")
        return self.spawn("relay", [sys.executable, "-m", "omniflow.relay"], env)

    async def start_workers(self, count: int, stream: str, *, wait: bool = True,
                            **overrides: object) -> list[Proc]:
        """``count`` of our workers on ``stream``; waits until each has registered."""
        tag = uuid.uuid4().hex[:6]
        procs = []
        for n in range(1, count + 1):
            name = f"bench-{tag}-{n}"
            env = self.env(jobs_stream=stream, dead_stream=f"{stream}:dead",
                           worker_name=name, **{"work_scale": 0, **overrides})
            env["OMNIFLOW_WORKER_NAME"] = name
            procs.append(self.spawn(f"worker-{n}", [sys.executable, "-m", "omniflow.worker"],
                                    env))
        if wait:
            names = {f"bench-{tag}-{n}" for n in range(1, count + 1)}
            deadline = time.monotonic() + 60
            async with self.redis() as redis:
                while not names <= await redis.smembers(signals.WORKERS_KEY):
                    self.check_alive(procs)
                    if time.monotonic() > deadline:
                        raise BenchError("our workers did not register in time")
                    await asyncio.sleep(0.1)
        return procs

    # Connections.
    @contextlib.asynccontextmanager
    async def redis(self) -> AsyncIterator[aioredis.Redis]:
        client = aioredis.Redis.from_url(self.settings.redis_url, decode_responses=True)
        try:
            yield client
        finally:
            await client.aclose()

    @contextlib.asynccontextmanager
    async def pg(self) -> AsyncIterator[asyncpg.Connection]:
        conn = await asyncpg.connect(self.settings.database_url)
        await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads,
                                  schema="pg_catalog")
        try:
            yield conn
        finally:
            await conn.close()


def new_stream() -> str:
    return f"bench:{uuid.uuid4().hex[:8]}:jobs"


async def seed_reports(conn: asyncpg.Connection, count: int) -> tuple[int, list[Job]]:
    """Inserts a fresh owner and ``count`` PENDING reports straight into PostgreSQL.

    No outbox rows are written, so no relay ever publishes them: each benchmark delivers the
    jobs itself, through the broker of the contender it measures.
    """
    owner = await conn.fetchval(
        "INSERT INTO users (email, password_hash, role) VALUES ($1, 'not-a-hash', 'learner') "
        "RETURNING id", f"bench-{uuid.uuid4().hex[:12]}@example.org")
    now = dt.datetime.now(dt.UTC)
    jobs = [
        Job(report_id=str(uuid.uuid4()), generation=1, type="user_activity",
            params={**BENCH_PARAMS, "seed": i}, trace_id=uuid.uuid4().hex, submitted_at=now)
        for i in range(count)
    ]
    await conn.executemany(
        "INSERT INTO reports (id, owner_id, type, params, trace_id, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        [(uuid.UUID(j.report_id), owner, j.type, j.params, j.trace_id, now) for j in jobs],
    )
    return owner, jobs


async def publish(redis: aioredis.Redis, settings: Settings, stream: str,
                  jobs: list[Job], chunk: int = 1000) -> None:
    """Publishes ``jobs`` to ``stream`` through the same script the relay uses."""
    publisher = broker.Publisher(redis, settings.model_copy(update={"jobs_stream": stream}))
    for start in range(0, len(jobs), chunk):
        await publisher.publish_many(jobs[start:start + chunk])


@dataclass(frozen=True)
class Span:
    """How long a batch of reports took, read from PostgreSQL's own timestamps."""

    done: int
    seconds: float

    @property
    def per_s(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0


async def wait_done(conn: asyncpg.Connection, owner: int, count: int, timeout_s: float,
                    procs: list[Proc] | None = None, harness: Harness | None = None) -> Span:
    """Waits until ``count`` reports of ``owner`` are DONE; the span runs from the first start
    to the last update."""
    deadline = time.monotonic() + timeout_s
    while True:
        row = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'DONE') AS done, min(started_at) AS first, "
            "max(updated_at) AS last FROM reports WHERE owner_id = $1", owner)
        if row["done"] >= count:
            return Span(row["done"], (row["last"] - row["first"]).total_seconds())
        if time.monotonic() > deadline:
            raise BenchError(f"only {row['done']} of {count} reports were DONE after "
                             f"{timeout_s:.0f}s")
        if harness and procs:
            harness.check_alive(procs)
        await asyncio.sleep(0.2)
