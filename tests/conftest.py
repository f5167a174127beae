"""Fixtures shared by every test: connections to the running stack.

The tests run against real servers. ``make test`` starts an isolated embedded stack on free
ports (``omniflow run --isolated -- pytest ...``) and exports its ``OMNIFLOW_*`` URLs; these
fixtures connect to whatever those variables name.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
from pymongo import AsyncMongoClient

from omniflow import db
from omniflow.settings import Settings


def _require_stack() -> None:
    if not os.environ.get("OMNIFLOW_STATE_DIR"):
        pytest.fail(
            "these tests need a running stack: run them with `make test`, or inside "
            "`omniflow run --isolated -- pytest ...`",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def settings() -> Settings:
    _require_stack()
    return Settings()


@pytest.fixture(scope="session")
async def pg(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    pool = await db.create_pool(settings, min_size=1, max_size=5)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
async def redis(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(settings.redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
async def mongo(settings: Settings) -> AsyncIterator[AsyncMongoClient]:
    client: AsyncMongoClient = AsyncMongoClient(settings.mongo_url)
    yield client
    await client.close()


@pytest.fixture(scope="session")
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=settings.gateway_url, timeout=30) as client:
        yield client
