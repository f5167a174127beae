"""The read loop: new entries from the jobs stream, in batches, as slots free up.

It blocks on XREADGROUP for at most ``worker_block_ms``, so it notices a shutdown within that
time. A lost connection is retried with backoff; a missing group (the broker lost its data) is
recreated on the spot, and the relay republishes the reports that were still pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from omniflow import broker
from omniflow.settings import Settings
from omniflow.worker.dispatch import Dispatcher
from omniflow.worker.processor import Delivery
from omniflow.worker.resilience import STORE_ERRORS, Backoff
from omniflow.worker.slots import Slots

log = logging.getLogger("omniflow.worker")


class Consumer:
    """Reads new entries for this worker through the consumer group, as slots free up.

    Reading only as many entries as there are free slots keeps the rest in the stream, where
    another worker can take them, instead of in this process's memory.
    """

    def __init__(self, redis: aioredis.Redis, settings: Settings, name: str, slots: Slots,
                 dispatcher: Dispatcher) -> None:
        self._redis = redis
        self._settings = settings
        self._name = name
        self._slots = slots
        self._dispatcher = dispatcher
        self.read_total = 0

    async def run(self, stop: asyncio.Event) -> None:
        s = self._settings
        backoff = Backoff()
        failing = False
        while not stop.is_set():
            room = await self._slots.wait_available(stop)
            if not room:
                break
            try:
                reply = await self._redis.xreadgroup(
                    s.consumer_group, self._name, {s.jobs_stream: ">"},
                    count=min(room, s.worker_batch), block=s.worker_block_ms,
                )
            except ResponseError as exc:
                if not broker.is_missing_group(exc):
                    delay = backoff.next()
                    log.error("reading jobs refused (%s); retrying in %.1fs", exc, delay)
                    await _sleep_or_stop(stop, delay)
                    continue
                log.warning("consumer group %s is gone (broker emptied?); recreating it",
                            s.consumer_group)
                await self._recreate_group(stop)
                continue
            except STORE_ERRORS as exc:
                failing = True
                delay = backoff.next()
                log.warning("reading jobs failed (%s); retrying in %.1fs", exc, delay)
                await _sleep_or_stop(stop, delay)
                continue
            if failing:
                log.info("reading jobs again")
                failing = False
            backoff.reset()
            entries = reply[0][1] if reply else []
            self._slots.take(len(entries))
            self.read_total += len(entries)
            for entry_id, fields in entries:
                self._dispatcher.spawn(Delivery(entry_id, fields or {}))

    async def _recreate_group(self, stop: asyncio.Event) -> None:
        backoff = Backoff()
        while not stop.is_set():
            try:
                await broker.ensure_group(self._redis, self._settings)
                return
            except STORE_ERRORS as exc:
                await _sleep_or_stop(stop, backoff.next())
                log.warning("cannot recreate the consumer group yet: %s", exc)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
