"""Rides out a store that restarts: retry with capped exponential backoff, never crash-loop.

A worker sees PostgreSQL, Redis and MongoDB go away now and then (a restart, a failover, a full
pool). None of that is the job's fault, so it must not count as a failed attempt: the step that
hit the outage is retried until the store answers again. The job's stream entry stays pending
meanwhile, so even a worker that dies while waiting loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
from pymongo.errors import ConnectionFailure
from redis.exceptions import BusyLoadingError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger("omniflow.worker")

T = TypeVar("T")

STORE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # includes ConnectionError and socket time-outs
    TimeoutError,
    RedisConnectionError,
    RedisTimeoutError,
    BusyLoadingError,  # Redis is replaying its append-only file after a restart
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,  # e.g. the connection was closed under us
    asyncpg.InternalClientError,  # a connection that broke mid-operation
    asyncpg.CannotConnectNowError,  # the server is starting up or shutting down
    asyncpg.AdminShutdownError,
    asyncpg.TooManyConnectionsError,
    ConnectionFailure,  # pymongo: AutoReconnect, NetworkTimeout, ServerSelectionTimeoutError
)

BACKOFF_START_S = 0.1
BACKOFF_MAX_S = 5.0


def is_store_error(exc: BaseException) -> bool:
    return isinstance(exc, STORE_ERRORS)


class Backoff:
    """Capped exponential delays: 0.1 s, 0.2 s, 0.4 s … up to 5 s; ``reset`` after a success."""

    def __init__(self, start_s: float = BACKOFF_START_S, max_s: float = BACKOFF_MAX_S) -> None:
        self._start = start_s
        self._max = max_s
        self.delay = start_s

    def next(self) -> float:
        delay = self.delay
        self.delay = min(self.delay * 2, self._max)
        return delay

    def reset(self) -> None:
        self.delay = self._start


async def persist(what: str, call: Callable[[], Awaitable[T]], *,
                  trace_id: str | None = None) -> T:
    """Runs ``call`` until it gets past store outages; other errors propagate at once.

    Note that there is no deadline: an in-flight job waits for its store as long as it takes,
    and a shutdown that cannot wait cancels it, leaving its stream entry to be reclaimed.
    """
    backoff = Backoff()
    while True:
        try:
            return await call()
        except STORE_ERRORS as exc:
            delay = backoff.next()
            log.warning("%s failed (%s: %s); retrying in %.1fs", what, type(exc).__name__, exc,
                        delay, extra={"trace_id": trace_id})
            await asyncio.sleep(delay)
