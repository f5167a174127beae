"""The outbox relay's order of effects, against the real PostgreSQL and Valkey of the stack.

The stack's own relay is stopped for each test, so the relay under test is the only one
draining the outbox; its jobs go to a private stream, where no worker reads them.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from omniflow.launcher import Stack
from omniflow.relay.outbox import OutboxRelay
from omniflow.settings import Settings
from tests.helpers import bearer, login, signup, submit, unique_email


@pytest.fixture
async def quiet_outbox(settings: Settings) -> AsyncIterator[None]:
    stack = Stack.from_env()
    if not stack.is_running():
        pytest.fail("needs a stack started by the launcher (omniflow run --isolated)")
    stack.stop("relay")
    try:
        yield
    finally:
        stack.start("relay")


@pytest.fixture
async def relay(settings: Settings, pg: asyncpg.Pool, redis) -> AsyncIterator[OutboxRelay]:  # noqa: ANN001
    private = settings.model_copy(update={"jobs_stream": f"test:relay:{uuid.uuid4().hex[:8]}"})
    yield OutboxRelay(pg, redis, private)
    await redis.delete(private.jobs_stream)


async def _new_report(http) -> tuple[str, str]:  # noqa: ANN001
    """A report submitted through the gateway (its outbox row waits): its id and owner's token."""
    email = unique_email()
    await signup(http, email)
    token = await login(http, email)
    return (await submit(http, token))["id"], token


async def _marks(pg: asyncpg.Pool, report_id: str) -> tuple[object, object]:
    row = await pg.fetchrow(
        "SELECT r.queued_at, o.published_at FROM reports r JOIN outbox o ON o.report_id = r.id "
        "WHERE r.id = $1", uuid.UUID(report_id))
    return row["queued_at"], row["published_at"]


async def test_the_report_row_is_locked_and_marked_before_its_job_reaches_the_broker(
        quiet_outbox, relay: OutboxRelay, http, pg: asyncpg.Pool, redis, settings) -> None:
    report_id, token = await _new_report(http)
    seen: list[str] = []
    publish = relay._publisher.publish_many

    async def watching(jobs):  # noqa: ANN001, ANN202
        jobs = list(jobs)
        # A worker could start the job from here on: the relay must need no more row locks.
        async with pg.acquire() as other:
            with pytest.raises(asyncpg.LockNotAvailableError):
                await other.fetchrow("SELECT id FROM reports WHERE id = $1 FOR UPDATE NOWAIT",
                                     uuid.UUID(report_id))
        seen.extend(job.report_id for job in jobs)
        return await publish(jobs)

    relay._publisher.publish_many = watching
    while await relay.drain_once():
        pass

    assert report_id in seen
    queued_at, published_at = await _marks(pg, report_id)
    assert queued_at is not None and published_at is not None
    entries = await redis.xrange(relay._settings.jobs_stream)
    assert [fields["report_id"] for _, fields in entries].count(report_id) == 1
    # Nobody reads the private stream: cancel the report rather than leave it pending.
    await http.post(f"/reports/{report_id}/cancel", headers=bearer(token))


async def test_a_failed_publish_takes_the_marks_back(
        quiet_outbox, relay: OutboxRelay, http, pg: asyncpg.Pool) -> None:
    report_id, _ = await _new_report(http)

    async def broker_down(jobs):  # noqa: ANN001, ANN202
        raise RedisConnectionError("the broker went away")

    relay._publisher.publish_many = broker_down
    with pytest.raises(RedisConnectionError):
        await relay.drain_once()

    assert await _marks(pg, report_id) == (None, None)
