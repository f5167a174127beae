"""Fault drills stop and kill parts of the shared test stack: each test restores what it
touched and checks, through the launcher, that the stack is healthy again before it ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from omniflow.launcher import Stack
from tests.faults.scenario import restore


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    running = Stack.from_env()
    if not running.is_running():
        pytest.skip("needs a stack started by the launcher (omniflow run --isolated)")
    problems = await asyncio.to_thread(restore, running, 60.0)
    assert not problems, f"the stack was not healthy before the drill: {problems}"
    yield running
    problems = await asyncio.to_thread(restore, running)
    assert not problems, f"the stack did not come back healthy after the drill: {problems}"
