"""Waits for the stores a process needs before it starts, with retries instead of sleeps."""

from __future__ import annotations

import logging

import asyncpg
import redis.asyncio as aioredis
from pymongo import AsyncMongoClient
from tenacity import (
    AsyncRetrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

from omniflow.settings import Settings

log = logging.getLogger("omniflow.waiting")


def _retrying(what: str, timeout_s: float) -> AsyncRetrying:
    return AsyncRetrying(
        stop=stop_after_delay(timeout_s),
        wait=wait_exponential(multiplier=0.1, max=2),
        retry=retry_if_exception_type(Exception),
        before_sleep=before_sleep_log(log, logging.INFO),
        reraise=True,
    )


async def wait_for_dependencies(
    settings: Settings,
    *,
    postgres: bool = False,
    redis: bool = False,
    mongo: bool = False,
    timeout_s: float = 60.0,
) -> None:
    """Returns once every requested store answers; raises its last error after ``timeout_s``."""
    if postgres:
        async for attempt in _retrying("postgres", timeout_s):
            with attempt:
                conn = await asyncpg.connect(settings.database_url, timeout=2)
                await conn.close()
    if redis:
        async for attempt in _retrying("redis", timeout_s):
            with attempt:
                client = aioredis.Redis.from_url(settings.redis_url, socket_connect_timeout=2)
                try:
                    await client.ping()
                finally:
                    await client.aclose()
    if mongo:
        async for attempt in _retrying("mongo", timeout_s):
            with attempt:
                client: AsyncMongoClient = AsyncMongoClient(
                    settings.mongo_url, serverSelectionTimeoutMS=2000
                )
                try:
                    await client.admin.command("ping")
                finally:
                    await client.close()
