"""``database.run`` on a real pool: a connection that failed is never handed out again."""

from __future__ import annotations

import logging

import asyncpg
import pytest

from omniflow import db
from omniflow.gateway import database
from omniflow.settings import Settings


async def _keep_session(conn: asyncpg.Connection) -> None:
    """The gateway's own reset: none (see ``gateway/app.py``)."""


@pytest.fixture
async def pool(settings: Settings):
    # One connection, like a busy gateway whose other connections are all in use: the pool is
    # last in, first out, so the retry gets whatever the first try gave back.
    pool = await db.create_pool(settings, min_size=1, max_size=1, reset=_keep_session)
    try:
        yield pool
    finally:
        await pool.close()


async def test_the_retry_runs_on_a_fresh_connection_not_the_broken_one(pool) -> None:
    seen: list[int] = []

    async def operation(conn: asyncpg.Connection) -> int:
        seen.append(conn.get_server_pid())
        if len(seen) == 1:
            # What a backend terminated while idle looks like to the next query on it.
            raise asyncpg.InternalClientError(
                "cannot switch to state 12; another operation (2) is in progress")
        return await conn.fetchval("SELECT 1")

    assert await database.run(pool, operation, name="probe") == 1
    assert len(seen) == 2
    assert seen[0] != seen[1], "the retry reused the connection that had just failed"


async def test_failing_every_try_is_503_and_logged_as_what_happened(
    pool, caplog: pytest.LogCaptureFixture,
) -> None:
    async def operation(conn: asyncpg.Connection) -> None:
        raise asyncpg.InternalClientError("boom")

    with caplog.at_level(logging.WARNING, logger="omniflow.gateway.db"), \
            pytest.raises(database.DatabaseUnavailable):
        await database.run(pool, operation, name="probe")
    messages = [record.getMessage() for record in caplog.records]
    assert not any("looks down" in message for message in messages), messages
    assert any(f"on each of {database.ATTEMPTS} tries" in message for message in messages), \
        messages
    # The pool is healthy again: every broken connection was discarded.
    assert await pool.fetchval("SELECT 1") == 1


async def test_a_connection_the_driver_already_released_is_not_an_error(
    pool, caplog: pytest.LogCaptureFixture,
) -> None:
    calls = 0

    async def operation(conn: asyncpg.Connection) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            # The socket closed under the query: the driver's clean-up has released the
            # connection already, and terminating it through the proxy would raise.
            await pool.release(conn)
            raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle")
        return await conn.fetchval("SELECT 2")

    with caplog.at_level(logging.WARNING, logger="omniflow.gateway.db"):
        assert await database.run(pool, operation, name="probe") == 2
    # The log names what happened, not a failure to discard the connection.
    [warning] = [record.getMessage() for record in caplog.records]
    assert "ConnectionDoesNotExistError" in warning, warning
