"""Feeds the monitor: counters, submit-to-done latencies and a heartbeat, in cheap batches.

Counting happens in memory as jobs finish; a background task sends the increments every 250 ms
and a heartbeat (with the number of jobs in flight) every 2 s, through the shared
``SignalWriter``. If Redis is briefly away, the increments wait for the next send.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable

import redis.asyncio as aioredis

from omniflow.signals import COUNTERS, SignalWriter
from omniflow.worker.resilience import STORE_ERRORS

log = logging.getLogger("omniflow.worker")

FLUSH_EVERY_S = 0.25
HEARTBEAT_EVERY_S = 2.0


class Telemetry:
    """One worker's signals; ``count`` and ``latency`` are cheap enough to call per job."""

    def __init__(self, redis: aioredis.Redis, name: str, pid: int,
                 in_flight: Callable[[], int]) -> None:
        self._writer = SignalWriter(redis, name, pid)
        self._in_flight = in_flight
        self._counts: Counter[str] = Counter()
        self._latencies: list[float] = []
        self._task: asyncio.Task[None] | None = None
        self.totals: Counter[str] = Counter()

    def count(self, counter: str, amount: int = 1) -> None:
        assert counter in COUNTERS, counter
        self._counts[counter] += amount
        self.totals[counter] += amount

    def latency(self, ms: float) -> None:
        self._latencies.append(ms)

    async def start(self) -> None:
        with contextlib.suppress(*STORE_ERRORS):
            await self._writer.register()
        self._task = asyncio.create_task(self._run(), name="telemetry")

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        try:
            await asyncio.wait_for(self._flush(), 2.0)
            await asyncio.wait_for(self._writer.unregister(), 2.0)
        except (TimeoutError, *STORE_ERRORS) as exc:
            log.warning("could not send the last signals: %s", exc)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_beat = loop.time()
        while True:
            try:
                await self._flush()
                if loop.time() >= next_beat:
                    await self._writer.heartbeat(self._in_flight())
                    next_beat = loop.time() + HEARTBEAT_EVERY_S
            except STORE_ERRORS as exc:
                log.debug("signals not sent yet: %s", exc)
            await asyncio.sleep(FLUSH_EVERY_S)

    async def _flush(self) -> None:
        if not self._counts and not self._latencies:
            return
        counts, latencies = dict(self._counts), self._latencies
        self._counts, self._latencies = Counter(), []
        try:
            await self._writer.record(counts, latencies)
        except BaseException:
            self._counts.update(counts)  # keep them for the next try
            self._latencies = latencies + self._latencies
            raise
