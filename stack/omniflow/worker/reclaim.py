"""Takes over the jobs of workers that died, and keeps this worker's own jobs from looking dead.

Every worker runs this on a timer, so a job left by a killed worker is picked up even if no
other job ever arrives. Each tick does two things:

* **Keep-alive.** For each entry this worker is processing, reset its idle time (``XCLAIM …
  JUSTID``, which does not count as a delivery) — but only while this worker still owns it, so a
  keep-alive never steals an entry back. A job longer than ``claim_idle_ms`` is therefore safe.
* **Reclaim.** ``XAUTOCLAIM`` entries idle for at least ``claim_idle_ms`` (their worker died,
  or an attempt failed and left them for a retry), read how often each has been delivered from
  ``XPENDING``, and process them. Entries deleted from the stream meanwhile come back as bare ids
  and are acknowledged.

Releasing entries at shutdown uses the same owner-checked claim, with the idle time set to
``claim_idle_ms`` instead of zero, so that any other worker's next tick picks them up at once.
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
from omniflow.worker.resilience import STORE_ERRORS
from omniflow.worker.slots import Slots

log = logging.getLogger("omniflow.worker")

# KEYS[1] stream; ARGV: group, consumer, idle ms, ids... Returns how many were still ours.
_TOUCH_OWN = """
local n = 0
for i = 4, #ARGV do
    local mine = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2])
    if #mine > 0 then
        redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'IDLE', ARGV[3], 'JUSTID')
        n = n + 1
    end
end
return n
"""


def tick_seconds(claim_idle_ms: int) -> float:
    """How often to keep alive and reclaim: a third of the idle limit, at most 5 s."""
    return max(0.05, min(claim_idle_ms / 3000, 5.0))


class Reclaimer:
    """Takes over entries that a dead or stuck worker left pending, on a timer of its own.

    The timer matters: recovery must not wait for a new job to arrive. The same loop keeps this
    worker's own long-running entries from looking idle, so they are never taken from it.
    """

    def __init__(self, redis: aioredis.Redis, settings: Settings, name: str, slots: Slots,
                 dispatcher: Dispatcher) -> None:
        self._redis = redis
        self._settings = settings
        self._name = name
        self._slots = slots
        self._dispatcher = dispatcher
        self._touch = redis.register_script(_TOUCH_OWN)
        self.reclaimed_total = 0

    async def run_reclaim(self, stop: asyncio.Event) -> None:
        """Reclaims on a timer until ``stop`` is set."""
        period = tick_seconds(self._settings.claim_idle_ms)
        while not stop.is_set():
            try:
                await self.reclaim_once()
            except ResponseError as exc:
                if broker.is_missing_group(exc):
                    await self._recreate_group()
                else:
                    log.error("reclaim refused this round: %s", exc)
            except STORE_ERRORS as exc:
                log.warning("reclaim skipped this round: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=period)

    async def run_keepalive(self) -> None:
        """Keeps this worker's in-flight entries fresh until cancelled (after the shutdown)."""
        period = tick_seconds(self._settings.claim_idle_ms)
        while True:
            try:
                await self.touch(self._dispatcher.entry_ids(), idle_ms=0)
            except STORE_ERRORS as exc:
                log.warning("keep-alive skipped this round: %s", exc)
            except ResponseError as exc:
                log.warning("keep-alive refused: %s", exc)
            await asyncio.sleep(period)

    async def touch(self, entry_ids: list[str], *, idle_ms: int) -> int:
        """Sets the idle time of those ``entry_ids`` this worker still owns; returns how many."""
        if not entry_ids:
            return 0
        s = self._settings
        return int(await self._touch(keys=[s.jobs_stream],
                                     args=[s.consumer_group, self._name, idle_ms, *entry_ids]))

    async def release(self, entry_ids: list[str]) -> int:
        """Hands ``entry_ids`` back: they become claimable by any worker's next reclaim."""
        return await self.touch(entry_ids, idle_ms=self._settings.claim_idle_ms)

    async def leave_group(self) -> bool:
        """Removes this consumer from the group if it holds no entries (a tidy shutdown)."""
        s = self._settings
        summary = await self._redis.xpending(s.jobs_stream, s.consumer_group)
        mine = [c for c in summary.get("consumers") or [] if c["name"] == self._name]
        if mine and int(mine[0]["pending"]):
            return False
        await self._redis.xgroup_delconsumer(s.jobs_stream, s.consumer_group, self._name)
        return True

    async def reclaim_once(self) -> int:
        """Claims idle entries for as many free slots as there are; returns how many."""
        s = self._settings
        held = self._slots.take_now(s.worker_batch)
        if not held:
            await self._reserve_for_idle()
            return 0
        claimed: list[tuple[str, dict[str, str]]] = []
        try:
            cursor = "0-0"
            while len(claimed) < held:
                cursor, entries, deleted = await self._redis.xautoclaim(
                    s.jobs_stream, s.consumer_group, self._name,
                    min_idle_time=s.claim_idle_ms, start_id=cursor, count=held - len(claimed),
                )
                if deleted:
                    await self._redis.xack(s.jobs_stream, s.consumer_group, *deleted)
                    log.warning("acked %d pending entries that were deleted from the stream",
                                len(deleted))
                claimed.extend((entry_id, fields) for entry_id, fields in entries if fields)
                if cursor == "0-0":
                    break
            counts = await self._delivery_counts([entry_id for entry_id, _ in claimed])
        except BaseException:
            # Claimed entries not dispatched stay pending with us and are reclaimed later.
            self._slots.give_back(held)
            raise
        self._slots.give_back(held - len(claimed))
        if len(claimed) < held:
            self._slots.reserved = 0  # everything idle is claimed
        for entry_id, fields in claimed:
            deliveries = counts.get(entry_id, 1)
            log.info("reclaimed entry %s (delivery %d)", entry_id, deliveries)
            self._dispatcher.spawn(Delivery(entry_id, fields, deliveries, reclaimed=True))
        self.reclaimed_total += len(claimed)
        return len(claimed)

    async def _reserve_for_idle(self) -> None:
        """No slot is free: if entries wait to be reclaimed, keep the next freed slots for them."""
        s = self._settings
        idle = await self._redis.xpending_range(
            s.jobs_stream, s.consumer_group, min="-", max="+", count=s.worker_batch,
            idle=s.claim_idle_ms,
        )
        self._slots.reserved = min(len(idle), self._slots.size)

    async def _delivery_counts(self, entry_ids: list[str]) -> dict[str, int]:
        if not entry_ids:
            return {}
        s = self._settings
        pipe = self._redis.pipeline(transaction=False)
        for entry_id in entry_ids:
            pipe.xpending_range(s.jobs_stream, s.consumer_group, min=entry_id, max=entry_id,
                                count=1)
        counts: dict[str, int] = {}
        for rows in await pipe.execute():
            for row in rows:
                counts[row["message_id"]] = int(row["times_delivered"])
        return counts

    async def _recreate_group(self) -> None:
        log.warning("consumer group %s is gone (broker emptied?); recreating it",
                    self._settings.consumer_group)
        try:
            await broker.ensure_group(self._redis, self._settings)
        except STORE_ERRORS as exc:
            log.warning("cannot recreate the consumer group yet: %s", exc)
