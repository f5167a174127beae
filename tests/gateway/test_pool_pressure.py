"""A tiny pool whose connections expire quickly, under steady submits: no 5xx for users.

This runs the gateway application in-process (same code, same PostgreSQL and Redis) so that
the test can choose pool settings the stack's own gateway does not have.
"""

from __future__ import annotations

import asyncio
import collections
import time

import httpx

from omniflow.gateway.app import create_app
from omniflow.settings import Settings
from tests.gateway.conftest import retire
from tests.helpers import bearer, signup_and_login

DURATION_S = 15


async def test_small_recycled_pool_never_answers_5xx(settings: Settings, pg) -> None:
    tight = settings.model_copy(update={"db_pool_min": 1, "db_pool_max": 2,
                                        "db_conn_max_lifetime_s": 0.2,
                                        "max_unfinished_reports": 1_000_000})
    app = create_app(tight)
    statuses: collections.Counter[int] = collections.Counter()

    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway", timeout=30,
    ) as client:
        token = await signup_and_login(client)
        deadline = time.monotonic() + DURATION_S

        async def user() -> None:
            while time.monotonic() < deadline:
                response = await client.post("/reports", headers=bearer(token),
                                             json={"type": "user_activity", "params": {}})
                statuses[response.status_code] += 1
                if statuses[202] % 50 == 0:
                    await asyncio.sleep(0.3)  # Let idle connections pass their lifetime.
                page = await client.get("/reports?limit=3", headers=bearer(token))
                statuses[page.status_code] += 1

        try:
            await asyncio.gather(*(user() for _ in range(16)))
        finally:
            me = await client.get("/auth/me", headers=bearer(token))
            await retire(pg, [me.json()["id"]])

    assert statuses[202] > 100
    assert set(statuses) <= {200, 202}, statuses
