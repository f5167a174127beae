"""Cheap live signals that workers write and the admin API and the monitor read.

Every worker keeps a hash of counters in Redis, refreshed with each job and with a heartbeat,
and pushes recent submit-to-finish latencies onto one capped list. Reading all of it is a few
Redis round trips, however much work has been done, so the monitor can poll once a second.

Keys:
    omniflow:workers                 SET of worker names
    omniflow:worker:<name>           HASH processed, failed, retried, dead_lettered, in_flight,
                                          pid, started_ts, heartbeat_ts (expires without heartbeat)
    omniflow:latency:recent          LIST of recent latencies in milliseconds, newest first
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import redis.asyncio as aioredis

WORKERS_KEY = "omniflow:workers"
LATENCY_KEY = "omniflow:latency:recent"
LATENCY_KEEP = 2000
WORKER_TTL_S = 30
COUNTERS = ("processed", "failed", "retried", "dead_lettered")


def worker_key(name: str) -> str:
    return f"omniflow:worker:{name}"


@dataclass
class WorkerSignals:
    """A snapshot of one worker's counters."""

    name: str
    processed: int = 0
    failed: int = 0
    retried: int = 0
    dead_lettered: int = 0
    in_flight: int = 0
    pid: int = 0
    heartbeat_age_s: float = 0.0


@dataclass
class Snapshot:
    """Everything the monitor draws at one instant, read in one go."""

    at: float
    workers: list[WorkerSignals] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    queue_length: int = 0
    consumer_lag: int = 0
    pending: int = 0
    dead_letters: int = 0


class SignalWriter:
    """Used by one worker process to publish its counters."""

    def __init__(self, redis: aioredis.Redis, name: str, pid: int) -> None:
        self._redis = redis
        self._name = name
        self._key = worker_key(name)
        self._pid = pid

    async def register(self) -> None:
        now = time.time()
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.sadd(WORKERS_KEY, self._name)
            pipe.hset(self._key, mapping={"pid": self._pid, "started_ts": now, "heartbeat_ts": now,
                                          "in_flight": 0})
            pipe.expire(self._key, WORKER_TTL_S)
            await pipe.execute()

    async def heartbeat(self, in_flight: int) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.sadd(WORKERS_KEY, self._name)
            pipe.hset(self._key, mapping={"heartbeat_ts": time.time(), "in_flight": in_flight,
                                          "pid": self._pid})
            pipe.expire(self._key, WORKER_TTL_S)
            await pipe.execute()

    async def record(self, counts: dict[str, int], latencies_ms: list[float]) -> None:
        """Adds a batch of counter increments and finished-job latencies in one round trip."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for counter, amount in counts.items():
                if amount:
                    pipe.hincrby(self._key, counter, amount)
            if latencies_ms:
                pipe.lpush(LATENCY_KEY, *(f"{ms:.2f}" for ms in latencies_ms))
                pipe.ltrim(LATENCY_KEY, 0, LATENCY_KEEP - 1)
            pipe.expire(self._key, WORKER_TTL_S)
            await pipe.execute()

    async def unregister(self) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.srem(WORKERS_KEY, self._name)
            pipe.delete(self._key)
            await pipe.execute()


async def read_snapshot(redis: aioredis.Redis, *, stream: str, group: str,
                        dead_stream: str) -> Snapshot:
    """Reads every worker's counters, recent latencies and the broker's backlog."""
    now = time.time()
    names = sorted(await redis.smembers(WORKERS_KEY))
    async with redis.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.hgetall(worker_key(name))
        pipe.lrange(LATENCY_KEY, 0, LATENCY_KEEP - 1)
        pipe.xlen(stream)
        pipe.xlen(dead_stream)
        results = await pipe.execute()
    hashes, latencies, queue_length, dead = results[:-3], results[-3], results[-2], results[-1]

    snapshot = Snapshot(at=now, queue_length=int(queue_length), dead_letters=int(dead),
                        latencies_ms=[float(x) for x in latencies])
    for name, data in zip(names, hashes, strict=True):
        if not data:
            continue
        snapshot.workers.append(
            WorkerSignals(
                name=name,
                processed=int(data.get("processed", 0)),
                failed=int(data.get("failed", 0)),
                retried=int(data.get("retried", 0)),
                dead_lettered=int(data.get("dead_lettered", 0)),
                in_flight=int(data.get("in_flight", 0)),
                pid=int(data.get("pid", 0)),
                heartbeat_age_s=max(0.0, now - float(data.get("heartbeat_ts", now))),
            )
        )
    try:
        for info in await redis.xinfo_groups(stream):
            if info["name"] == group:
                snapshot.pending = int(info.get("pending") or 0)
                snapshot.consumer_lag = int(info.get("lag") or 0)
    except aioredis.ResponseError:
        pass  # No stream yet: nothing is queued.
    return snapshot
