"""The gateway under faults: the broker stopped, database connections killed under load."""

from __future__ import annotations

import asyncio
import collections
import random
import time
import uuid

import asyncpg
import httpx
import psutil
import pytest

from omniflow.launcher import Stack
from omniflow.settings import Settings
from tests.gateway.conftest import User, new_user, retire
from tests.gateway.test_body_limit import gateway_process

BODY = {"type": "user_activity", "params": {"days": 3}}


@pytest.fixture
def stack() -> Stack:
    """The launcher's running stack, which can stop and start one service."""
    running = Stack.from_env()
    if not running.is_running():
        pytest.skip("needs a stack started by the launcher (omniflow run --isolated)")
    return running


async def submit_many(http: httpx.AsyncClient, user: User, count: int) -> list[str]:
    """Submits ``count`` reports one after another; every one must be accepted."""
    ids = []
    for _ in range(count):
        response = await http.post("/reports", headers=user.headers, json=BODY)
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    return ids


async def test_reports_accepted_while_redis_is_down_are_published_once(
    http, pg: asyncpg.Pool, redis, settings: Settings, stack: Stack,
) -> None:
    user = await new_user(http)  # Log in first: the login rate limit lives in Redis.

    before = await submit_many(http, user, 10)
    await asyncio.to_thread(stack.stop, "redis")
    try:
        during = await submit_many(http, user, 15)
    finally:
        await asyncio.to_thread(stack.start, "redis")
    after = await submit_many(http, user, 10)

    accepted = [uuid.UUID(i) for i in before + during + after]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        waiting = await pg.fetchval(
            "SELECT count(*) FROM outbox WHERE report_id = ANY($1) AND published_at IS NULL",
            accepted)
        if waiting == 0:
            break
        await asyncio.sleep(0.5)
    assert waiting == 0, f"{waiting} accepted reports never reached the broker"

    entries = await redis.xrange(settings.jobs_stream)
    per_report = collections.Counter(fields["report_id"] for _, fields in entries)
    await retire(pg, [user.id])
    assert {str(i): per_report[str(i)] for i in accepted} == {str(i): 1 for i in accepted}


async def test_killed_database_connections_never_surface_as_5xx(
    pg: asyncpg.Pool, settings: Settings, http,
) -> None:
    users = [await new_user(http) for _ in range(4)]
    gateway = gateway_process(settings)
    pg_port = int(settings.database_url.rsplit(":", 1)[1].split("/")[0])
    stop = asyncio.Event()
    kills = 0

    async def killer() -> None:
        """Terminates one of the gateway's connections four times a second."""
        nonlocal kills
        while not stop.is_set():
            ports = _client_ports(gateway, pg_port)
            if ports:
                kills += await pg.fetchval(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                    "FROM pg_stat_activity WHERE client_port = $1", random.choice(ports))
            await asyncio.sleep(0.25)

    async def client(user: User, client: httpx.AsyncClient) -> list[int]:
        statuses = []
        for _ in range(50):
            response = await client.post("/reports", headers=user.headers, json=BODY)
            statuses.append(response.status_code)
            read = await client.get("/reports?limit=5", headers=user.headers)
            statuses.append(read.status_code)
        return statuses

    async with httpx.AsyncClient(base_url=settings.gateway_url, timeout=30) as session:
        task = asyncio.create_task(killer())
        try:
            results = await asyncio.gather(*(client(u, session) for u in users))
        finally:
            stop.set()
            await task
            await retire(pg, [user.id for user in users])

    statuses = collections.Counter(s for result in results for s in result)
    assert kills > 0, "the test killed no connection"
    assert set(statuses) <= {200, 202}, statuses


def _client_ports(process: psutil.Process, server_port: int) -> list[int]:
    return [c.laddr.port for c in process.net_connections(kind="tcp")
            if c.raddr and c.raddr.port == server_port]
