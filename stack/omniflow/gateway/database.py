"""Database calls that survive a recycled or killed connection instead of failing the user.

A pooled connection can die under a request: the server restarts, an operator terminates the
backend, or the pool closes a connection that reached its end of life. None of that is the
user's fault, so an operation that is safe to repeat runs once more on a fresh connection. When
the database really is down, the caller gets ``DatabaseUnavailable``, which the gateway answers
with 503 and ``Retry-After`` rather than a bare 500.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from omniflow.gateway.errors import ProblemError

log = logging.getLogger("omniflow.gateway.db")

T = TypeVar("T")

ACQUIRE_TIMEOUT_S = 5.0
RETRY_AFTER_S = 2

# Errors that say "this connection (or the server) is gone", not "your query is wrong".
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    # A connection terminated while idle can leave the driver's protocol state confused; the
    # next query on it fails with this rather than with a connection error.
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
)


class DatabaseUnavailable(ProblemError):
    """The database could not be reached, even after one retry."""

    def __init__(self) -> None:
        super().__init__(
            503,
            "the database is not reachable right now; please retry shortly",
            kind="database-unavailable",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )


async def run(
    pool: asyncpg.Pool,
    operation: Callable[[asyncpg.Connection], Awaitable[T]],
    *,
    retry: Callable[[asyncpg.Connection], Awaitable[T]] | None = None,
    repeatable: bool = True,
    name: str = "query",
) -> T:
    """Runs ``operation`` on a pooled connection, once more on a connection-level failure.

    ``retry`` replaces ``operation`` for the second try; pass it when the first try may have
    committed before its connection died (it should look for that work before redoing it).
    With ``repeatable=False`` only a failure to get a connection is retried, never a failure
    after the operation was sent.
    """
    for attempt in (1, 2):
        sent = False
        try:
            async with pool.acquire(timeout=ACQUIRE_TIMEOUT_S) as conn:
                sent = True
                try:
                    return await (operation if attempt == 1 else retry or operation)(conn)
                except CONNECTION_ERRORS:
                    # Never hand this connection back to the pool as if it were healthy: a
                    # backend terminated while idle leaves the driver mid-way through an error
                    # ("another operation is in progress") until the socket's end is read,
                    # and the pool, which is last in, first out, would give exactly this
                    # connection to the retry. Terminated, the pool opens a fresh one.
                    conn.terminate()
                    raise
        except CONNECTION_ERRORS as exc:
            if sent and not repeatable:
                log.error("%s lost its connection after it was sent; not repeating it, since "
                          "it may have gone through: %s: %s", name, type(exc).__name__, exc)
                raise DatabaseUnavailable() from exc
            if attempt == 2:
                what = "lost its connection" if sent else "could not get a connection"
                log.error("%s %s again on the retry: %s: %s", name, what,
                          type(exc).__name__, exc)
                raise DatabaseUnavailable() from exc
            what = "lost its connection" if sent else "could not get a connection"
            log.warning("%s %s (%s: %s); retrying once on a fresh connection", name, what,
                        type(exc).__name__, exc)
    raise AssertionError("unreachable")
