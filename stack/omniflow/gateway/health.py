"""Liveness and readiness, the two questions a supervisor asks.

Liveness: is the process able to answer at all? It touches nothing else, so a database outage
never gets a healthy gateway restarted. Readiness: can it do useful work now? It checks each
store with a short deadline, all at once, and says which one is missing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from omniflow.gateway import database
from omniflow.gateway.auth import Res

router = APIRouter(prefix="/health", tags=["health"])

CHECK_TIMEOUT_S = 1.0


class Live(BaseModel):
    status: Literal["ok"] = "ok"


class Check(BaseModel):
    status: Literal["ok", "down"]
    latency_ms: float
    error: str | None = None


class Ready(BaseModel):
    """Each dependency's state; ``status`` is ``ok`` only when all of them are."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "status": "down",
        "checks": {
            "postgres": {"status": "ok", "latency_ms": 0.8, "error": None},
            "redis": {"status": "down", "latency_ms": 1000.2, "error": "timed out"},
            "mongo": {"status": "ok", "latency_ms": 1.3, "error": None},
        }}]})

    status: Literal["ok", "down"]
    checks: dict[str, Check]


@router.get("/live", response_model=Live, summary="The process is up")
async def live() -> Live:
    return Live()


@router.get("/ready", response_model=Ready, summary="Every store answers",
            responses={503: {"model": Ready, "description": "A store does not answer."}})
async def ready(res: Res) -> Response:
    async def postgres() -> None:
        async with res.pool.acquire(timeout=CHECK_TIMEOUT_S) as conn:
            try:
                await conn.fetchval("SELECT 1")
            except database.CONNECTION_ERRORS:
                database.discard(conn)  # A broken connection must not go back to the pool.
                raise

    names = ("postgres", "redis", "mongo")
    results = await asyncio.gather(
        _check(postgres()),
        _check(res.redis.ping()),
        _check(res.mongo.admin.command("ping")),
    )
    checks = dict(zip(names, results, strict=True))
    ok = all(check.status == "ok" for check in results)
    body = Ready(status="ok" if ok else "down", checks=checks)
    return Response(body.model_dump_json(), status_code=200 if ok else 503,
                    media_type="application/json")


async def _check(probe: Awaitable[object]) -> Check:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT_S)
    except Exception as exc:  # Any failure means "not ready". Only its kind is shown: the
        # message may name hosts and ports, and this endpoint needs no login.
        return Check(status="down", latency_ms=_since(started), error=type(exc).__name__)
    return Check(status="ok", latency_ms=_since(started))


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
