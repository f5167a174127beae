"""Login rate limiting: a fixed one-minute window per client address and email, in Redis.

Counting in Redis (not in the process) means several gateway processes share one budget. A
fixed window is the simplest counter that works: at worst a client gets twice the rate across
a window boundary, which is fine for slowing down password guessing.

If Redis is unreachable the limiter lets the attempt through and logs it: an outage of the
broker should not lock every user out. Argon2's cost still slows guessing down meanwhile.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("omniflow.gateway.limits")

WINDOW_S = 60


@dataclass(frozen=True, slots=True)
class Verdict:
    """The limiter's answer: allowed or not, and when to come back if not."""

    allowed: bool
    retry_after_s: int = 0


class LoginLimiter:
    """Allows ``per_minute`` login attempts per (client address, email) each minute."""

    def __init__(self, redis: aioredis.Redis, per_minute: int) -> None:
        self._redis = redis
        self._per_minute = per_minute

    async def hit(self, client: str, email: str) -> Verdict:
        """Counts one attempt and says whether it may go ahead."""
        now = time.time()
        window = int(now // WINDOW_S)
        # Hash the email so the key holds no personal data.
        who = hashlib.sha256(f"{client}|{email.lower()}".encode()).hexdigest()[:32]
        key = f"omniflow:login:{who}:{window}"
        try:
            pipe = self._redis.pipeline(transaction=True)
            pipe.incr(key)
            pipe.expire(key, WINDOW_S * 2)
            count, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("login rate limit unavailable, allowing the attempt: %s", exc)
            return Verdict(allowed=True)

        if int(count) <= self._per_minute:
            return Verdict(allowed=True)
        retry_after = max(1, int((window + 1) * WINDOW_S - now) + 1)
        return Verdict(allowed=False, retry_after_s=retry_after)
