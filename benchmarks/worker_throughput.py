"""Worker throughput and latency: ``python -m benchmarks.worker_throughput``.

Run it inside a stack (``omniflow run --isolated -- python -m benchmarks.worker_throughput``);
it uses that stack's PostgreSQL, Valkey and log store but its own stream and consumer group, so
the stack's workers never touch its jobs, and it starts its own worker processes.

* **Throughput.** ``--jobs`` zero-work jobs (``work_scale=0``: no waits, no CPU step) are saved
  as PENDING reports and queued at once; then 1, 2 and 4 worker processes drain them. Jobs per
  second = jobs / (last ``finished_at`` − first ``started_at``), both from PostgreSQL.
* **Latency.** Jobs arrive at a fixed rate for ``--seconds`` seconds (saved, then published
  straight to the stream: the relay's hop is not included) with 2 workers; latency is
  ``finished_at − created_at`` of each report, reported as p50 and p99.

Every job goes the whole way: the guarded transitions in PostgreSQL, the execution document and
the events in the log store, the acknowledgement in the stream.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from omniflow import broker, db
from omniflow.contracts import Job
from omniflow.settings import Settings

PARAMS = {"days": 7, "top": 5}

_INSERT = """
INSERT INTO reports (owner_id, type, params, trace_id, queued_at)
SELECT $1, 'user_activity', $2::jsonb, md5(random()::text || g::text), now()
FROM generate_series(1, $3) AS g
RETURNING id, generation, trace_id, created_at
"""


async def _owner(pool: asyncpg.Pool) -> int:
    email = f"bench-{uuid.uuid4().hex[:10]}@example.test"
    return await pool.fetchval(
        "INSERT INTO users (email, password_hash) VALUES ($1, 'x') RETURNING id", email)


async def _save(pool: asyncpg.Pool, owner: int, count: int) -> list[Job]:
    rows = await pool.fetch(_INSERT, owner, PARAMS, count)
    return [Job(report_id=str(r["id"]), generation=r["generation"], type="user_activity",
                params=PARAMS, trace_id=r["trace_id"], submitted_at=r["created_at"])
            for r in rows]


class Workers:
    """N ``python -m omniflow.worker`` processes on the benchmark's own stream."""

    def __init__(self, lane: Settings, count: int, log_dir: Path) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []
        tag = uuid.uuid4().hex[:6]
        self.prefix = f"bench-{tag}-"
        for n in range(1, count + 1):
            env = {
                **os.environ,
                "OMNIFLOW_WORKER_NAME": f"bench-{tag}-{n}",
                "OMNIFLOW_JOBS_STREAM": lane.jobs_stream,
                "OMNIFLOW_CONSUMER_GROUP": lane.consumer_group,
                "OMNIFLOW_DEAD_STREAM": lane.dead_stream,
                "OMNIFLOW_WORK_SCALE": "0",
                "OMNIFLOW_CPU_POOL_SIZE": "0",
                "OMNIFLOW_LOG_LEVEL": "WARNING",
            }
            log = log_dir / f"bench-{tag}-{n}.log"
            self.logs.append(log)
            with log.open("ab") as out:
                self.procs.append(subprocess.Popen(
                    [sys.executable, "-m", "omniflow.worker"], env=env, stdout=out,
                    stderr=subprocess.STDOUT))

    async def ready(self, redis) -> None:
        # A worker registers in the signals set once it is connected and about to read.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            names = await redis.smembers("omniflow:workers")
            mine = [n for n in names if n.startswith(self.prefix)]
            if len(mine) >= len(self.procs):
                return
            await asyncio.sleep(0.1)
        raise RuntimeError("benchmark workers did not start; see " + str(self.logs[0]))

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


async def _wait_done(pool: asyncpg.Pool, jobs: list[Job],
                     timeout: float) -> list[asyncpg.Record]:
    ids = [j.report_id for j in jobs]
    deadline = time.monotonic() + timeout
    while True:
        done = await pool.fetchval(
            "SELECT count(*) FROM reports WHERE id = ANY($1::uuid[]) AND status = 'DONE'", ids)
        if done == len(ids):
            return await pool.fetch(
                "SELECT started_at, finished_at, created_at FROM reports"
                " WHERE id = ANY($1::uuid[])", ids)
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {done} of {len(ids)} reports DONE after {timeout}s")
        await asyncio.sleep(0.2)


def _lane(settings: Settings) -> Settings:
    tag = uuid.uuid4().hex[:8]
    return settings.model_copy(update={
        "jobs_stream": f"bench:{tag}:jobs", "dead_stream": f"bench:{tag}:dead",
        "consumer_group": f"bench-{tag}",
    })


async def throughput(settings: Settings, pool, redis, owner: int, workers: int, jobs: int,
                     log_dir: Path) -> dict:
    lane = _lane(settings)
    await broker.ensure_group(redis, lane)
    procs = Workers(lane, workers, log_dir)
    try:
        await procs.ready(redis)
        batch = await _save(pool, owner, jobs)
        publisher = broker.Publisher(redis, lane)
        for start in range(0, len(batch), 500):
            await publisher.publish_many(batch[start:start + 500])
        rows = await _wait_done(pool, batch, timeout=600)
    finally:
        procs.stop()
        await redis.delete(lane.jobs_stream, lane.dead_stream)
    first = min(r["started_at"] for r in rows)
    last = max(r["finished_at"] for r in rows)
    seconds = (last - first).total_seconds()
    return {"workers": workers, "jobs": jobs, "seconds": round(seconds, 2),
            "jobs_per_s": round(jobs / seconds, 1)}


async def latency(settings: Settings, pool, redis, owner: int, rate: float, seconds: float,
                  workers: int, log_dir: Path) -> dict:
    lane = _lane(settings)
    await broker.ensure_group(redis, lane)
    procs = Workers(lane, workers, log_dir)
    jobs: list[Job] = []
    try:
        await procs.ready(redis)
        publisher = broker.Publisher(redis, lane)
        tick = 0.1
        began = time.monotonic()
        sent = 0
        while time.monotonic() - began < seconds:
            due = int((time.monotonic() - began) * rate) + 1 - sent
            if due > 0:
                batch = await _save(pool, owner, due)
                await publisher.publish_many(batch)
                jobs += batch
                sent += due
            await asyncio.sleep(tick)
        rows = await _wait_done(pool, jobs, timeout=300)
    finally:
        procs.stop()
        await redis.delete(lane.jobs_stream, lane.dead_stream)
    ms = sorted((r["finished_at"] - r["created_at"]).total_seconds() * 1000 for r in rows)
    cuts = statistics.quantiles(ms, n=100)
    return {"rate_per_s": rate, "workers": workers, "jobs": len(ms),
            "p50_ms": round(cuts[49], 1), "p99_ms": round(cuts[98], 1),
            "max_ms": round(ms[-1], 1)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000, help="jobs per throughput run")
    parser.add_argument("--workers", default="1,2,4", help="worker process counts to try")
    parser.add_argument("--rate", type=float, default=50.0, help="arrivals per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="latency run length")
    args = parser.parse_args()

    settings = Settings()
    pool = await db.create_pool(settings, min_size=1, max_size=4)
    redis = broker.connect(settings)
    log_dir = Path(tempfile.mkdtemp(prefix="omniflow-bench-"))
    results: dict = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus, "
                   f"Python {platform.python_version()}",
        "command": " ".join([Path(sys.executable).name, "-m", "benchmarks.worker_throughput",
                             *sys.argv[1:]]),
        "throughput": [], "latency": None,
    }
    try:
        owner = await _owner(pool)
        for count in (int(n) for n in args.workers.split(",")):
            row = await throughput(settings, pool, redis, owner, count, args.jobs, log_dir)
            print(f"throughput  {count} worker(s): {row['jobs_per_s']:8.1f} jobs/s "
                  f"({row['jobs']} jobs in {row['seconds']} s)", flush=True)
            results["throughput"].append(row)
        row = await latency(settings, pool, redis, owner, args.rate, args.seconds, 2, log_dir)
        print(f"latency     {row['rate_per_s']:g}/s with 2 workers: p50 {row['p50_ms']} ms, "
              f"p99 {row['p99_ms']} ms, max {row['max_ms']} ms ({row['jobs']} jobs)", flush=True)
        results["latency"] = row
    finally:
        await pool.close()
        await redis.aclose()
    print(json.dumps(results))


if __name__ == "__main__":
    asyncio.run(main())
