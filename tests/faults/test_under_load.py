"""Faults under a sustained submit load: nothing accepted is lost, nothing runs twice.

During a bounded run of submits, workers are SIGKILLed several times, Valkey is restarted (with
its append-only file on), the log store is stopped for ten seconds and the gateway is restarted.
At the end every accepted report must be DONE, with one execution document, at most one DONE
event, and a status that never moved backwards.

The short profile runs in CI (about two minutes). The long profile is longer, kills harder (also
Valkey itself, with SIGKILL) and repeats every fault; it is marked ``slow``, which ``make test``
leaves out, and ``make faults-long`` runs.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import partial

import asyncpg
import httpx
import pytest
from pymongo import AsyncMongoClient

from omniflow.launcher import Stack
from omniflow.settings import Settings
from tests.faults.scenario import (
    Fault,
    StatusWatch,
    SubmitLoad,
    judge,
    kill_redis,
    kill_worker,
    make_users,
    run_timeline,
    stop_for,
    wait_finished,
    watching,
)


@dataclass(frozen=True)
class Profile:
    rate: float
    seconds: float
    users: int
    drain_s: float

    def faults(self, stack: Stack) -> list[Fault]:
        raise NotImplementedError


class Short(Profile):
    def faults(self, stack: Stack) -> list[Fault]:
        return [
            (3, "SIGKILL worker-1", partial(kill_worker, stack, "worker-1")),
            (7, "SIGKILL worker-2", partial(kill_worker, stack, "worker-2")),
            (11, "restart redis", partial(stack.restart, "redis")),
            (16, "stop mongo for 10 s", partial(stop_for, stack, "mongo", 10)),
            (29, "SIGKILL worker-1", partial(kill_worker, stack, "worker-1")),
            (32, "restart gateway", partial(stack.restart, "gateway")),
        ]


class Long(Profile):
    def faults(self, stack: Stack) -> list[Fault]:
        faults: list[Fault] = []
        for round_start in (0, 60, 120):
            faults += [
                (round_start + 3, "SIGKILL worker-1", partial(kill_worker, stack, "worker-1")),
                (round_start + 8, "SIGKILL worker-2", partial(kill_worker, stack, "worker-2")),
                (round_start + 13, "restart redis", partial(stack.restart, "redis")),
                (round_start + 20, "stop mongo for 10 s", partial(stop_for, stack, "mongo", 10)),
                (round_start + 34, "SIGKILL worker-1", partial(kill_worker, stack, "worker-1")),
                (round_start + 38, "restart gateway", partial(stack.restart, "gateway")),
                (round_start + 45, "SIGKILL redis", partial(kill_redis, stack)),
                (round_start + 52, "SIGKILL worker-2", partial(kill_worker, stack, "worker-2")),
            ]
        return faults


SHORT = Short(rate=5, seconds=36, users=12, drain_s=120)
LONG_PROFILE = Long(rate=6, seconds=180, users=20, drain_s=240)


async def drill(profile: Profile, stack: Stack, http: httpx.AsyncClient, pg: asyncpg.Pool,
                mongo: AsyncMongoClient, redis, settings: Settings) -> None:  # noqa: ANN001
    assert await redis.config_get("appendonly") == {"appendonly": "yes"}
    tokens, owners = await make_users(http, pg, profile.users)
    load = SubmitLoad(settings.gateway_url, tokens, profile.rate, profile.seconds)
    watch = StatusWatch(pg, load)
    log: list[str] = []

    async with watching(watch):
        await asyncio.wait_for(
            asyncio.gather(load.run(), run_timeline(profile.faults(stack), log)),
            profile.seconds + 120,
        )
        await wait_finished(pg, load.accepted, profile.drain_s)
    verdict = await judge(pg, mongo, settings, load, watch, owners)

    report = "\n".join([verdict.line(), *log])
    print(report)
    assert verdict.accepted >= profile.rate * profile.seconds * 0.5, report
    assert watch.reads > 10, "the status watch hardly ran"
    assert not verdict.lost, f"lost {len(verdict.lost)}, e.g. {verdict.lost[:3]}\n{report}"
    assert not verdict.duplicated, f"duplicated {verdict.duplicated}\n{report}"
    assert verdict.completed == verdict.accepted


async def test_faults_under_load_lose_and_duplicate_nothing(
    stack, http, pg, mongo, redis, settings,
) -> None:
    await drill(SHORT, stack, http, pg, mongo, redis, settings)


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_long_fault_profile(stack, http, pg, mongo, redis, settings) -> None:
    await drill(LONG_PROFILE, stack, http, pg, mongo, redis, settings)
