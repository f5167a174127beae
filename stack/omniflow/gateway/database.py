"""Database calls that survive a recycled or killed connection instead of failing the user.

A pooled connection can die under a request: the server restarts, an operator terminates the
backend, or the pool closes a connection that reached its end of life. None of that is the
user's fault, so an operation that is safe to repeat runs again on another connection. When
the database really is down, the caller gets ``DatabaseUnavailable``, which the gateway answers
with 503 and ``Retry-After`` rather than a bare 500.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from omniflow.gateway.errors import ProblemError

log = logging.getLogger("omniflow.gateway.db")

T = TypeVar("T")

ACQUIRE_TIMEOUT_S = 5.0
RETRY_AFTER_S = 2
# Tries of a repeatable operation, each on another connection.
ATTEMPTS = 3

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
    """The database could not be reached, even after retrying."""

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
    """Runs ``operation`` on a pooled connection, again on a connection-level failure.

    A repeatable operation gets up to ``ATTEMPTS`` tries, each on another connection: the
    connection a retry gets can be lost too (a server restart takes them all, a killed backend
    can be the next one the pool hands out). ``retry`` replaces ``operation`` for the later
    tries; pass it when a try may have committed before its connection died (it should look
    for that work before redoing it). With ``repeatable=False`` only a failure to get a
    connection is retried, never a failure after the operation was sent.
    """
    for attempt in range(1, ATTEMPTS + 1):
        sent = False
        try:
            async with pool.acquire(timeout=ACQUIRE_TIMEOUT_S) as conn:
                sent = True
                try:
                    return await (operation if attempt == 1 else retry or operation)(conn)
                except CONNECTION_ERRORS:
                    discard(conn)
                    raise
        except CONNECTION_ERRORS as exc:
            what = "lost its connection" if sent else "could not get a connection"
            if sent and not repeatable:
                log.error("%s lost its connection after it was sent; not repeating it, since "
                          "it may have gone through: %s: %s", name, type(exc).__name__, exc)
                raise DatabaseUnavailable() from exc
            if attempt == ATTEMPTS:
                log.error("%s %s on each of %d tries, the last time with %s: %s", name, what,
                          ATTEMPTS, type(exc).__name__, exc)
                raise DatabaseUnavailable() from exc
            log.warning("%s %s (%s: %s); trying again on another connection (%d of %d)", name,
                        what, type(exc).__name__, exc, attempt + 1, ATTEMPTS)
    raise AssertionError("unreachable")


def discard(conn: asyncpg.Connection) -> None:
    """Closes a connection that failed, so that the pool never hands it out again.

    A backend terminated while idle leaves the driver half-way through an error ("another
    operation is in progress") until it reads the socket's end, and the pool, last in, first
    out, would give exactly this connection to the retry. Terminated, it is replaced by a new
    one. If the socket's end was read already, the driver has given the connection back to the
    pool as closed, and there is nothing left to do.
    """
    with contextlib.suppress(asyncpg.InterfaceError):  # Released by the driver's clean-up.
        conn.terminate()
