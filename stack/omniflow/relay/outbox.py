"""The relay loop: drain the outbox in batches, wake on NOTIFY, back off while a store is down."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import asyncpg
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from omniflow import broker
from omniflow.contracts import Job
from omniflow.settings import Settings

log = logging.getLogger("omniflow.relay")

_CLAIM_BATCH = """
SELECT o.id AS outbox_id, o.generation, r.id, r.type, r.params, r.trace_id, r.created_at
FROM outbox o JOIN reports r ON r.id = o.report_id
WHERE o.published_at IS NULL
ORDER BY o.id
LIMIT $1
FOR UPDATE OF o SKIP LOCKED
"""

_MARK_PUBLISHED = """
WITH done AS (
    UPDATE outbox SET published_at = now(), attempts = attempts + 1
    WHERE id = ANY($1::bigint[])
    RETURNING report_id, generation
)
UPDATE reports r SET queued_at = now()
FROM done WHERE r.id = done.report_id AND r.generation = done.generation
"""

# Reports that should be on the broker but have sat still for a while. Republishing them is a
# no-op while the broker still has the job, and restores it if the broker lost its data.
_STALE_REPORTS = """
SELECT id, generation, type, params, trace_id, created_at
FROM reports
WHERE status IN ('PENDING', 'PROCESSING')
  AND updated_at < now() - make_interval(secs => $1)
  AND queued_at IS NOT NULL
ORDER BY updated_at
LIMIT $2
"""


def _job_from_row(row: asyncpg.Record) -> Job:
    return Job(
        report_id=str(row["id"]),
        generation=row["generation"],
        type=row["type"],
        params=row["params"],
        trace_id=row["trace_id"],
        submitted_at=row["created_at"],
    )


class OutboxRelay:
    """Publishes outbox rows to the jobs stream; safe to run as several processes at once."""

    def __init__(self, pool: asyncpg.Pool, redis: aioredis.Redis, settings: Settings) -> None:
        self._pool = pool
        self._redis = redis
        self._settings = settings
        self._publisher = broker.Publisher(redis, settings)
        self._wakeup = asyncio.Event()
        self.published_total = 0

    async def drain_once(self) -> int:
        """Publishes one batch of unpublished rows; returns how many it published.

        The rows are marked published *before* the jobs go out, inside the transaction that
        commits after them: if the publish fails, the transaction rolls the marks back. The
        order matters because a worker may start a job the moment it is on the broker, and its
        start locks the report's row. Had the relay still to lock those rows (to set
        ``queued_at``), a worker starting several of them in one statement and the relay could
        each wait for the other: a deadlock, which PostgreSQL breaks only after a second.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(_CLAIM_BATCH, self._settings.relay_batch)
            if not rows:
                return 0
            await conn.execute(_MARK_PUBLISHED, [r["outbox_id"] for r in rows])
            await self._publisher.publish_many(_job_from_row(r) for r in rows)
        self.published_total += len(rows)
        return len(rows)

    async def republish_stale(self) -> int:
        """Re-offers long-waiting jobs to the broker; returns how many were missing there."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                _STALE_REPORTS, self._settings.republish_after_s, self._settings.relay_batch
            )
        if not rows:
            return 0
        jobs = [_job_from_row(r) for r in rows]
        missing = [
            job for job, known in zip(
                jobs, await self._redis.mget([broker.published_key(j.job_id) for j in jobs]),
                strict=True,
            )
            if known is None
        ]
        if missing:
            await broker.ensure_group(self._redis, self._settings)
            await self._publisher.publish_many(missing)
            log.warning("republished %d jobs that the broker no longer had", len(missing))
        return len(missing)

    async def run(self, stop: asyncio.Event) -> None:
        """Relays until ``stop`` is set, sweeping for lost jobs every ``republish_after_s``."""
        listener = asyncio.create_task(self._listen(stop))
        backoff = 0.1
        next_sweep = time.monotonic() + self._settings.republish_after_s
        try:
            while not stop.is_set():
                # Cleared before the drain, not after: a NOTIFY that arrives while this drain
                # runs may be for a row the drain did not see, and must wake the next one.
                self._wakeup.clear()
                try:
                    published = await self.drain_once()
                    if time.monotonic() >= next_sweep:
                        await self.republish_stale()
                        next_sweep = time.monotonic() + self._settings.republish_after_s
                    backoff = 0.1
                except (RedisError, OSError, asyncpg.PostgresError,
                        asyncpg.InterfaceError) as exc:
                    log.warning("relay paused for %.1fs: %s", backoff, exc)
                    await _sleep_or_stop(stop, backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                if published < self._settings.relay_batch:
                    await _wait_any(stop, self._wakeup, self._settings.relay_poll_s)
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

    async def _listen(self, stop: asyncio.Event) -> None:
        """Holds a LISTEN connection that wakes the loop when a job is committed."""
        while not stop.is_set():
            try:
                conn = await asyncpg.connect(self._settings.database_url)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("relay cannot listen yet: %s", exc)
                await _sleep_or_stop(stop, 1.0)
                continue
            try:
                await conn.add_listener("omniflow_outbox", lambda *_: self._wakeup.set())
                while not stop.is_set() and not conn.is_closed():
                    await _sleep_or_stop(stop, 1.0)
            finally:
                await conn.close()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def _wait_any(stop: asyncio.Event, wakeup: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wakeup.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
