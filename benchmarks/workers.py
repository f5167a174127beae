"""Worker throughput on zero-work jobs: ours with 1, 2 and 4 processes, Celery and arq side by
side with the same job and the same processes and concurrency, and the broker's raw ceiling.

Method, the same for every contender: seed ``n`` PENDING reports in PostgreSQL, queue their jobs
on the contender's broker (all on the stack's Valkey), then start the contender's worker
processes and wait until every report is DONE. Throughput is read from PostgreSQL's own
timestamps: the reports finished between the 10th and the 90th percentile of finish times,
divided by the time between them, which leaves out start-up and the last stragglers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from typing import Any

from benchmarks.contenders import venvs
from benchmarks.harness import (
    ROOT,
    BenchError,
    Harness,
    Proc,
    new_stream,
    publish,
    seed_reports,
    wait_done,
)
from omniflow.contracts import Job

CONCURRENCY = 16  # jobs in flight per process, for every contender (our default)
ARQ_POLL_DELAY_S = 0.05


@dataclass
class Run:
    contender: str
    processes: int
    jobs: int
    steady_per_s: float
    overall_per_s: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def steady_rate(finished: list[float]) -> float:
    """Reports per second between the 10th and 90th percentile of finish times."""
    ordered = sorted(finished)
    lo, hi = int(len(ordered) * 0.1), int(len(ordered) * 0.9) - 1
    if hi <= lo or ordered[hi] <= ordered[lo]:
        return 0.0
    return (hi - lo) / (ordered[hi] - ordered[lo])


async def _measure(h: Harness, owner: int, count: int, procs: list[Proc], contender: str,
                   processes: int) -> Run:
    async with h.pg() as conn:
        span = await wait_done(conn, owner, count, timeout_s=max(120, count / 20), procs=procs,
                               harness=h)
        rows = await conn.fetch("SELECT extract(epoch FROM updated_at) AS t FROM reports "
                                "WHERE owner_id = $1", owner)
    finished = [float(r["t"]) for r in rows]
    return Run(contender, processes, count, round(steady_rate(finished), 1),
               round(span.per_s, 1))


async def run_ours(h: Harness, processes: int, count: int, **overrides: object) -> Run:
    stream = new_stream()
    async with h.pg() as conn:
        owner, jobs = await seed_reports(conn, count)
    async with h.redis() as redis:
        await publish(redis, h.settings, stream, jobs)
    procs = await h.start_workers(processes, stream, wait=False,
                                  worker_concurrency=CONCURRENCY, cpu_pool_size=0, **overrides)
    try:
        label = "ours" + ("" if not overrides else " " + ",".join(
            f"{k}={v}" for k, v in overrides.items()))
        return await _measure(h, owner, count, procs, label, processes)
    finally:
        h.stop(procs)
        async with h.redis() as redis:
            await redis.delete(stream, f"{stream}:dead")


def _contender_env(h: Harness, queue: str) -> dict[str, str]:
    env = h.env()
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "stack")])
    env["BENCH_QUEUE"] = queue
    env["BENCH_CONCURRENCY"] = str(CONCURRENCY)
    env["BENCH_POLL_DELAY"] = str(ARQ_POLL_DELAY_S)
    return env


async def run_contender(h: Harness, name: str, processes: int, count: int) -> Run:
    bin_dir = venvs.ensure(name)
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    env = _contender_env(h, queue)
    async with h.pg() as conn:
        owner, jobs = await seed_reports(conn, count)
    await _produce(bin_dir, name, jobs, env)

    procs = []
    for n in range(1, processes + 1):
        worker_env = {**env, "BENCH_WORKER": f"{name}-{n}"}
        if name == "celery":
            command = [str(bin_dir / "celery"), "-A", "benchmarks.contenders.celery_app",
                       "worker", "-P", "threads", "-c", str(CONCURRENCY), "-Q", queue,
                       "-n", f"bench{n}-{queue}@localhost", "--loglevel", h.log_level,
                       "--without-gossip", "--without-mingle", "--without-heartbeat"]
        else:
            command = [str(bin_dir / "arq"), "benchmarks.contenders.arq_app.WorkerSettings"]
        procs.append(h.spawn(f"{name}-{n}", command, worker_env))
    try:
        return await _measure(h, owner, count, procs, name, processes)
    finally:
        h.stop(procs)
        async with h.redis() as redis:
            keys = [k async for k in redis.scan_iter(match=f"*{queue}*", count=1000)]
            if keys:
                await redis.delete(*keys)


async def _produce(bin_dir, name: str, jobs: list[Job], env: dict[str, str]) -> None:  # noqa: ANN001
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump([job.to_fields() for job in jobs], f)
        path = f.name
    try:
        proc = await asyncio.create_subprocess_exec(
            str(bin_dir / "python"), "-m", "benchmarks.contenders.produce", name, path,
            env=env, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        if proc.returncode != 0:
            raise BenchError(f"queuing the {name} jobs failed: "
                             f"{err.decode(errors='replace').strip().splitlines()[-1:]}")
    finally:
        os.unlink(path)


async def broker_ceiling(h: Harness, count: int, batch: int = 500) -> dict[str, Any]:
    """XADD, then XREADGROUP + XACK, pipelined in batches, from one client: the raw ceiling."""
    stream, group = new_stream(), "ceiling"
    fields = Job(report_id=str(uuid.uuid4()), generation=1, type="user_activity",
                 params={"days": 7, "top": 5, "seed": 1}, trace_id=uuid.uuid4().hex,
                 submitted_at=dt.datetime.now(dt.UTC)).to_fields()
    async with h.redis() as redis:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
        began = time.perf_counter()
        for start in range(0, count, batch):
            pipe = redis.pipeline(transaction=False)
            for _ in range(min(batch, count - start)):
                pipe.xadd(stream, fields)
            await pipe.execute()
        added = time.perf_counter() - began

        began = time.perf_counter()
        consumed = 0
        while consumed < count:
            reply = await redis.xreadgroup(group, "c1", {stream: ">"}, count=batch)
            ids = [entry_id for entry_id, _ in reply[0][1]] if reply else []
            if not ids:
                break
            await redis.xack(stream, group, *ids)
            consumed += len(ids)
        read = time.perf_counter() - began
        await redis.delete(stream)
    return {
        "entries": count,
        "batch": batch,
        "xadd_per_s": round(count / added, 0),
        "read_ack_per_s": round(consumed / read, 0),
        "cycle_per_s": round(count / (added + read), 0),
    }


async def run_all(h: Harness, quick: bool, echo) -> dict[str, Any]:  # noqa: ANN001
    count = 1000 if quick else 2000
    repeats = 1 if quick else 3
    results: dict[str, Any] = {"jobs_per_run": count, "repeats": repeats,
                               "concurrency_per_process": CONCURRENCY,
                               "arq_poll_delay_s": ARQ_POLL_DELAY_S, "runs": []}
    plan: list[tuple[str, int]] = []
    for processes in (1, 2, 4):
        plan.append(("ours", processes))
        if processes < 4 or not quick:
            plan += [("celery", processes), ("arq", processes)]
    for contender in ("celery", "arq"):
        venvs.ensure(contender, echo)
    # Round after round, every contender in turn: a background load that comes and goes then
    # weighs on all of them alike instead of on whichever ran at that moment.
    runs: list[Run] = []
    for _ in range(repeats):
        for contender, processes in plan:
            if contender == "ours":
                run = await run_ours(h, processes, count)
            else:
                run = await run_contender(h, contender, processes, count)
            echo(f"  {contender:<6} x{processes}: {run.steady_per_s:8.1f} reports/s "
                 f"(overall {run.overall_per_s:.1f})")
            runs.append(run)
    results["runs"] = [r.as_dict() for r in runs]
    results["median"] = {
        f"{c}:{p}": statistics.median(r.steady_per_s for r in runs
                                      if r.contender == c and r.processes == p)
        for c, p in plan
    }
    results["ceiling"] = await broker_ceiling(h, 20_000 if quick else 100_000)
    echo(f"  broker ceiling: {results['ceiling']}")
    return results
