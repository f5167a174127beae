"""Fixtures for the worker tests: a private stream per test, and workers as child processes.

The stack's own workers read the shared jobs stream. A test that must control which worker
takes a job (to kill it, to stop it) publishes to a *lane*: a stream, group and dead-letter
stream of its own, which only the workers this test starts read. Reports still live in the
shared PostgreSQL and MongoDB, so every assertion is about one report's outcome and effects.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from omniflow.settings import Settings
from tests.worker import helpers


@pytest.fixture
async def lane(settings: Settings, redis: aioredis.Redis) -> AsyncIterator[Settings]:
    tag = uuid.uuid4().hex[:10]
    private = settings.model_copy(update={
        "jobs_stream": f"test:{tag}:jobs",
        "dead_stream": f"test:{tag}:dead",
        "consumer_group": f"test-{tag}",
    })
    yield private
    await redis.delete(private.jobs_stream, private.dead_stream)


@pytest.fixture
def logs_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def start_worker(logs_dir: Path) -> Iterator[Callable[..., helpers.WorkerProcess]]:
    """Starts ``python -m omniflow.worker`` on a lane; every one is stopped after the test."""
    started: list[helpers.WorkerProcess] = []

    def start(lane: Settings, **overrides: object) -> helpers.WorkerProcess:
        name = f"test-worker-{uuid.uuid4().hex[:8]}"
        settings = {
            "jobs_stream": lane.jobs_stream,
            "dead_stream": lane.dead_stream,
            "consumer_group": lane.consumer_group,
            "claim_idle_ms": 1000,
            "max_attempts": 3,
            "max_deliveries": 10,
            "work_scale": 0.05,
            "cpu_pool_size": 0,
            "worker_block_ms": 200,
            "shutdown_grace_s": 5,
            **overrides,
        }
        worker = helpers.WorkerProcess(name, logs_dir, **settings)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.close()


@pytest.fixture
async def logdb(mongo: AsyncMongoClient, settings: Settings) -> AsyncDatabase:
    return mongo[settings.mongo_db]


@pytest.fixture
async def owner(pg) -> int:
    return await helpers.make_user(pg)
