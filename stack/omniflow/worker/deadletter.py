"""Moves a job that cannot succeed to the dead-letter stream, exactly once.

One Lua script, run atomically by Redis, does both halves: it adds the dead letter (unless this
job already has one) and acknowledges the original entry. A marker key per job makes it
idempotent, so a worker that dies after the report became FAILED but before the entry was acked
can simply run it again on redelivery without writing a second dead letter.

A dead letter carries the original job fields plus ``reason``, ``deliveries``, ``dead_at``,
``consumer`` and ``source_id`` (the id of the entry in the jobs stream).
"""

from __future__ import annotations

import datetime as dt

import redis.asyncio as aioredis

from omniflow.settings import Settings

DEAD_MARKER_TTL_S = 7 * 24 * 3600

_DEAD_LETTER = """
if redis.call('SET', KEYS[1], ARGV[5], 'NX', 'EX', ARGV[1]) then
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 6))
end
return redis.call('XACK', KEYS[3], ARGV[3], ARGV[4])
"""


def dead_marker_key(job_key: str) -> str:
    """Names the key that remembers a job was dead-lettered."""
    return f"omniflow:dead:{job_key}"


class DeadLetters:
    """Writes dead letters for one worker."""

    def __init__(self, redis: aioredis.Redis, settings: Settings, consumer: str) -> None:
        self._script = redis.register_script(_DEAD_LETTER)
        self._settings = settings
        self._consumer = consumer

    async def move(self, entry_id: str, fields: dict[str, str], *, reason: str,
                   deliveries: int, per_entry: bool = False) -> None:
        """Dead-letters the entry ``entry_id`` (unless its job already was) and acks it.

        ``per_entry`` keys the marker on the entry instead of the job: for an entry that is not a
        valid job, whose ``job_id`` field cannot be trusted.
        """
        letter = {
            **fields,
            "reason": reason,
            "deliveries": str(deliveries),
            "dead_at": dt.datetime.now(dt.UTC).isoformat(),
            "consumer": self._consumer,
            "source_id": entry_id,
        }
        flat = [item for pair in letter.items() for item in pair]
        job_key = (None if per_entry else fields.get("job_id")) or f"entry:{entry_id}"
        s = self._settings
        await self._script(
            keys=[dead_marker_key(job_key), s.dead_stream, s.jobs_stream],
            args=[DEAD_MARKER_TTL_S, s.stream_maxlen, s.consumer_group, entry_id, entry_id,
                  *flat],
        )
