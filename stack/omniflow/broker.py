"""The Redis Streams side of the contract: publishing jobs and managing the consumer group.

Publishing goes through one Lua script that is idempotent per job: it remembers each job's
stream id under a key, so publishing the same job twice (a relay that crashed after XADD but
before it recorded the fact) returns the first id instead of adding a second entry. Redis runs
the script atomically, and persistence records it as one unit, so the key and the entry exist
together or not at all. If the broker loses its data, both vanish and a republish is allowed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from omniflow.contracts import Job
from omniflow.settings import Settings

log = logging.getLogger("omniflow.broker")

PUBLISHED_KEY_TTL_S = 7 * 24 * 3600

_PUBLISH_ONCE = """
local existing = redis.call('GET', KEYS[1])
if existing then
    return existing
end
local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
redis.call('SET', KEYS[1], id, 'EX', ARGV[1])
return id
"""


def published_key(job_id: str) -> str:
    """Names the key that remembers where a job was published."""
    return f"omniflow:published:{job_id}"


def connect(settings: Settings) -> aioredis.Redis:
    """Returns a client that retries a dropped connection instead of failing the caller."""
    return aioredis.Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        health_check_interval=10,
        socket_connect_timeout=2,
        socket_timeout=10,
        retry_on_timeout=True,
    )


class Publisher:
    """Publishes jobs to the jobs stream, each at most once."""

    def __init__(self, redis: aioredis.Redis, settings: Settings) -> None:
        self._redis = redis
        self._stream = settings.jobs_stream
        self._script = redis.register_script(_PUBLISH_ONCE)

    async def publish_many(self, jobs: Iterable[Job]) -> list[str]:
        """Publishes ``jobs`` in one round trip; returns their stream ids in order."""
        jobs = list(jobs)
        if not jobs:
            return []
        # The context manager resets the pipeline even when the broker drops mid-call.
        async with self._redis.pipeline(transaction=False) as pipe:
            for job in jobs:
                flat = [item for pair in job.to_fields().items() for item in pair]
                await self._script(
                    keys=[published_key(job.job_id), self._stream],
                    args=[PUBLISHED_KEY_TTL_S, *flat],
                    client=pipe,
                )
            return list(await pipe.execute())


async def ensure_group(redis: aioredis.Redis, settings: Settings) -> None:
    """Creates the consumer group (and the stream) unless they exist already.

    The group starts at ``0`` so that a group recreated after the broker lost its data
    reads every entry that is in the stream, not only new ones.
    """
    try:
        await redis.xgroup_create(settings.jobs_stream, settings.consumer_group, id="0",
                                  mkstream=True)
        log.info("created consumer group %s on %s", settings.consumer_group,
                 settings.jobs_stream)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def is_missing_group(exc: BaseException) -> bool:
    """Tells whether ``exc`` says the stream or its group is gone (broker emptied)."""
    return isinstance(exc, ResponseError) and "NOGROUP" in str(exc)
