"""The administrator's view: every report, throughput, the broker's backlog and dead letters.

Counts and throughput come from PostgreSQL, the source of truth. Backlog, worker counters and
latencies come from the cheap signals the workers keep in Redis (``omniflow.signals``).

Requeueing a dead-lettered job happens in two steps that cannot share a transaction: first the
report goes back to PENDING with a new generation and a new outbox row (one PostgreSQL
statement), then the dead-letter entry is deleted. If the second step fails, the entry stays
behind but cannot be requeued twice: the report's generation has moved on, so the guarded
update matches nothing and the answer is 409.
"""

from __future__ import annotations

import logging
import math
import uuid
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from redis.exceptions import RedisError

from omniflow import signals
from omniflow.contracts import ReportStatus
from omniflow.gateway import database, queries
from omniflow.gateway.auth import Admin, Res
from omniflow.gateway.errors import ProblemError
from omniflow.gateway.openapi import problems
from omniflow.gateway.reports import Cursor, PageLimit, fetch_page, not_found
from omniflow.gateway.schemas import (
    ReportOut,
    ReportPage,
    StatusFilter,
    TypeFilter,
    json_response,
    report_from_row,
)

log = logging.getLogger("omniflow.gateway.admin")

router = APIRouter(prefix="/admin", tags=["admin"])

REQUEUED_MARK_TTL_S = 7 * 24 * 3600
EntryId = Annotated[str, Path(pattern=r"^\d{1,20}-\d{1,20}$",
                              description="The dead-letter stream entry id.",
                              examples=["1733390000000-0"])]
ADMIN_PROBLEMS = (401, 403)


class StatusCounts(BaseModel):
    """How many reports are in each status."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "counts": {"PENDING": 3, "PROCESSING": 2, "DONE": 120, "FAILED": 4, "CANCELLED": 1},
        "total": 130}]})

    counts: dict[str, int]
    total: int


class MinuteCount(BaseModel):
    """Reports that finished during one minute."""

    minute: str = Field(description="The minute's start, ISO 8601 UTC.")
    finished: int
    done: int
    failed: int
    cancelled: int


class Throughput(BaseModel):
    """Finished reports per minute, oldest minute first, the current minute last."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"minutes": [
        {"minute": "2026-12-05T09:30:00+00:00", "finished": 57, "done": 55, "failed": 2,
         "cancelled": 0}]}]})

    minutes: list[MinuteCount]


class WorkerOut(BaseModel):
    name: str
    processed: int
    failed: int
    retried: int
    dead_lettered: int
    in_flight: int
    pid: int
    heartbeat_age_s: float


class Latency(BaseModel):
    """Submit-to-finish latency over the most recent finished jobs."""

    samples: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


class BrokerState(BaseModel):
    """The broker's backlog and every live worker's counters."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "queue_length": 1200, "pending": 32, "consumer_lag": 40, "dead_letters": 2,
        "workers": [{"name": "worker-1", "processed": 900, "failed": 3, "retried": 5,
                     "dead_lettered": 1, "in_flight": 16, "pid": 4242,
                     "heartbeat_age_s": 0.4}],
        "latency": {"samples": 900, "p50_ms": 210.0, "p95_ms": 480.5, "p99_ms": 700.2}}]})

    queue_length: int = Field(description="Entries in the jobs stream (read or not).")
    pending: int = Field(description="Delivered to a worker, not yet acknowledged.")
    consumer_lag: int = Field(description="Entries the consumer group has not read yet.")
    dead_letters: int
    workers: list[WorkerOut]
    latency: Latency


class DeadLetter(BaseModel):
    """A job the workers gave up on, with why."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "entry_id": "1733390000000-0", "report_id": "0b9f2a4e-6a51-4c57-9d0e-3f7f1f0f5a11",
        "job_id": "0b9f2a4e-6a51-4c57-9d0e-3f7f1f0f5a11:1", "generation": 1,
        "reason": "poison report: always fails", "deliveries": 3,
        "dead_at": "2026-12-05T09:31:00+00:00", "fields": {"type": "sales_summary"}}]})

    entry_id: str
    report_id: str | None
    job_id: str | None
    generation: int | None
    reason: str | None
    deliveries: int | None
    dead_at: str | None
    fields: dict[str, str] = Field(description="Every field of the entry, as stored.")


class DeadLetters(BaseModel):
    items: list[DeadLetter]


@router.get("/reports", response_model=ReportPage, summary="List every user's reports",
            responses=problems(*ADMIN_PROBLEMS, 422))
async def list_all(
    _: Admin,
    res: Res,
    status: StatusFilter = None,
    type: TypeFilter = None,
    owner_id: Annotated[int | None, Query(ge=1, description="Only this user's.")] = None,
    limit: PageLimit = 50,
    cursor: Cursor = None,
) -> Any:
    """Pages through all reports, newest first, with optional filters."""
    return await fetch_page(res, owner_id=owner_id, statuses=status, report_types=type,
                            limit=limit, cursor=cursor)


@router.get("/reports/{report_id}", response_model=ReportOut, summary="Read any report",
            responses=problems(*ADMIN_PROBLEMS, 404, 422))
async def read_any(report_id: Annotated[uuid.UUID, Path()], _: Admin, res: Res) -> Any:
    async def fetch(conn: asyncpg.Connection) -> asyncpg.Record | None:
        return await conn.fetchrow(queries.REPORT_BY_ID, report_id)

    row = await database.run(res.pool, fetch, name="admin read report")
    if row is None:
        raise not_found()
    return json_response(report_from_row(row))


@router.get("/stats/status", response_model=StatusCounts, summary="Reports per status",
            responses=problems(*ADMIN_PROBLEMS))
async def status_counts(_: Admin, res: Res) -> StatusCounts:
    async def fetch(conn: asyncpg.Connection) -> list[asyncpg.Record]:
        return await conn.fetch(queries.STATUS_COUNTS)

    rows = await database.run(res.pool, fetch, name="status counts")
    counts = {status.value: 0 for status in ReportStatus}
    counts.update({row["status"]: row["n"] for row in rows})
    return StatusCounts(counts=counts, total=sum(counts.values()))


@router.get("/stats/throughput", response_model=Throughput,
            summary="Finished reports per minute", responses=problems(*ADMIN_PROBLEMS, 422))
async def throughput(
    _: Admin,
    res: Res,
    minutes: Annotated[int, Query(ge=1, le=1440, description="How many recent minutes.")] = 15,
) -> Throughput:
    async def fetch(conn: asyncpg.Connection) -> list[asyncpg.Record]:
        return await conn.fetch(queries.THROUGHPUT, minutes)

    rows = await database.run(res.pool, fetch, name="throughput")
    return Throughput(minutes=[
        MinuteCount(minute=row["minute"].isoformat(), finished=row["finished"],
                    done=row["done"], failed=row["failed"], cancelled=row["cancelled"])
        for row in rows
    ])


@router.get("/broker", response_model=BrokerState,
            summary="Queue depth, consumer lag, workers and latency",
            responses=problems(*ADMIN_PROBLEMS))
async def broker_state(_: Admin, res: Res) -> BrokerState:
    settings = res.settings
    try:
        snap = await signals.read_snapshot(res.redis, stream=settings.jobs_stream,
                                           group=settings.consumer_group,
                                           dead_stream=settings.dead_stream)
    except (RedisError, OSError) as exc:
        raise _broker_down(exc) from None
    return BrokerState(
        queue_length=snap.queue_length,
        pending=snap.pending,
        consumer_lag=snap.consumer_lag,
        dead_letters=snap.dead_letters,
        workers=[WorkerOut(**vars(worker)) for worker in snap.workers],
        latency=latency_summary(snap.latencies_ms),
    )


def latency_summary(samples: list[float]) -> Latency:
    """Nearest-rank percentiles: each one is a latency that really occurred."""
    ordered = sorted(samples)

    def rank(p: float) -> float | None:
        if not ordered:
            return None
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    return Latency(samples=len(ordered), p50_ms=rank(50), p95_ms=rank(95), p99_ms=rank(99))


@router.get("/dead-letters", response_model=DeadLetters, summary="Jobs the workers gave up on",
            responses=problems(*ADMIN_PROBLEMS, 422))
async def dead_letters(
    _: Admin,
    res: Res,
    limit: Annotated[int, Query(ge=1, le=500, description="Newest entries first.")] = 50,
) -> DeadLetters:
    try:
        entries = await res.redis.xrevrange(res.settings.dead_stream, count=limit)
    except (RedisError, OSError) as exc:
        raise _broker_down(exc) from None
    return DeadLetters(items=[_dead_letter(entry_id, fields) for entry_id, fields in entries])


@router.post("/dead-letters/{entry_id}/requeue", status_code=202, response_model=ReportOut,
             summary="Send a dead-lettered job to the workers again",
             responses=problems(*ADMIN_PROBLEMS, 404, 409, 422))
async def requeue(entry_id: EntryId, admin: Admin, res: Res) -> Any:
    """Puts the report back to PENDING as a new generation, then removes the dead letter."""
    stream = res.settings.dead_stream
    mark = f"omniflow:requeued:{entry_id}"
    try:
        entries = await res.redis.xrange(stream, min=entry_id, max=entry_id)
        if not entries:
            if await res.redis.exists(mark):
                raise ProblemError(409, "this dead letter was already requeued",
                                   kind="already-requeued")
            raise ProblemError(404, "no dead letter with this id", kind="not-found")
    except (RedisError, OSError) as exc:
        raise _broker_down(exc) from None
    letter = _dead_letter(*entries[0])
    try:
        report_id = uuid.UUID(letter.report_id or "")
    except ValueError:
        raise ProblemError(409, "this dead letter names no valid report; delete it instead",
                           kind="unusable-dead-letter") from None
    generation = letter.generation or 0

    async def change(conn: asyncpg.Connection) -> asyncpg.Record | None:
        return await conn.fetchrow(queries.REQUEUE, report_id, generation)

    row = await database.run(res.pool, change, repeatable=False, name="requeue")
    if row is None:
        raise ProblemError(409, "the report of this dead letter no longer exists; delete it",
                           kind="unusable-dead-letter")
    if not row["changed"]:
        raise ProblemError(
            409,
            f"the report is {row['status']} at generation {row['generation']}; this dead "
            f"letter (generation {generation}) is stale or was already requeued",
            kind="already-requeued",
        )

    try:
        pipe = res.redis.pipeline(transaction=True)
        pipe.set(mark, str(report_id), ex=REQUEUED_MARK_TTL_S)
        pipe.xdel(stream, entry_id)
        await pipe.execute()
    except (RedisError, OSError) as exc:
        log.error("requeued report %s but could not delete dead letter %s: %s", report_id,
                  entry_id, exc)
    log.info("admin %s requeued report %s as generation %s", admin.user_id, report_id,
             row["generation"])
    return json_response(report_from_row(row), 202)


@router.delete("/dead-letters/{entry_id}", status_code=204, summary="Discard a dead letter",
               responses=problems(*ADMIN_PROBLEMS, 404, 422))
async def discard(entry_id: EntryId, admin: Admin, res: Res) -> Response:
    try:
        removed = await res.redis.xdel(res.settings.dead_stream, entry_id)
    except (RedisError, OSError) as exc:
        raise _broker_down(exc) from None
    if not removed:
        raise ProblemError(404, "no dead letter with this id", kind="not-found")
    log.info("admin %s discarded dead letter %s", admin.user_id, entry_id)
    return Response(status_code=204)


def _dead_letter(entry_id: str, fields: dict[str, str]) -> DeadLetter:
    def number(name: str) -> int | None:
        try:
            return int(fields[name])
        except (KeyError, ValueError):
            return None

    return DeadLetter(
        entry_id=entry_id,
        report_id=fields.get("report_id"),
        job_id=fields.get("job_id"),
        generation=number("generation"),
        reason=fields.get("reason"),
        deliveries=number("deliveries"),
        dead_at=fields.get("dead_at"),
        fields=fields,
    )


def _broker_down(exc: BaseException) -> ProblemError:
    log.warning("broker unavailable: %s", exc)
    return ProblemError(503, "the broker is not reachable right now; please retry shortly",
                        kind="broker-unavailable", headers={"Retry-After": "2"})
