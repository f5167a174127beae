"""Processes one delivery of a job: the report's whole lifecycle, safe to run twice.

The order of effects is what makes a redelivery harmless:

1. ``start``: a guarded UPDATE moves the report to PROCESSING and hands out an attempt number.
   If the guard refuses, the report is finished, cancelled or of another generation: the entry is
   acknowledged and skipped.
2. The simulated work, reporting steps as events and progress at a few points.
3. The execution document, replaced by report id and fenced by the attempt number.
4. ``finish``: PROCESSING → DONE, only for the attempt that is still current.
5. XACK. A worker that dies anywhere before this leaves the entry pending; another worker
   reclaims it and, finding the report DONE, only acknowledges it.

Steps 1, 3, 4 and 5 are each shared by the jobs in flight that reach them at about the same
time (one statement, one ``insert_many``, one XACK for many entries), which is what lets one
process keep up with a busy stream; the order of effects within each job is unchanged.

A failed attempt leaves its entry pending (not acknowledged): the reclaim loop delivers it again
once it has been idle for ``claim_idle_ms``. Two limits end the retries, and each dead-letters
the job and makes the report FAILED:

* ``max_attempts`` attempts that failed with an error, as recorded in the log store. Only these
  are the job's fault.
* ``max_deliveries`` deliveries of any kind, as Redis counts them. A worker killed mid-job
  (a deploy, the OOM killer, a fault drill) costs the job a delivery, but its attempt did not
  *fail*, so this limit is higher; it exists for the job that kills its worker every time.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from pymongo.asynchronous.database import AsyncDatabase

from omniflow.batching import GroupCommit
from omniflow.contracts import Job, ReportStatus, parse_params
from omniflow.logstore import EVENTS, EventBuffer, ExecutionWriter
from omniflow.settings import Settings
from omniflow.worker import lifecycle, records, simulate
from omniflow.worker.deadletter import DeadLetters
from omniflow.worker.resilience import STORE_ERRORS, persist
from omniflow.worker.telemetry import Telemetry

log = logging.getLogger("omniflow.worker")

PROGRESS_MIN_INTERVAL_S = 0.5
MAX_DETAIL_KIB = 64 * 1024


@dataclass(frozen=True)
class Delivery:
    """One stream entry handed to this worker, and how many times Redis has delivered it."""

    entry_id: str
    fields: dict[str, str]
    deliveries: int = 1
    reclaimed: bool = False


class Abandoned(Exception):
    """The attempt is no longer current (taken over or cancelled): stop working on it."""


class _KeyedLocks:
    """One lock per job id, so two entries of one job never run side by side in this process."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class Processor:
    """Everything one worker needs to take a job from the stream to DONE or FAILED."""

    def __init__(self, *, settings: Settings, name: str, pool: asyncpg.Pool,
                 redis: aioredis.Redis, db: AsyncDatabase, events: EventBuffer,
                 executions: ExecutionWriter, dead: DeadLetters, telemetry: Telemetry,
                 options: simulate.WorkOptions) -> None:
        self._settings = settings
        self._name = name
        self._pool = pool
        self._redis = redis
        self._db = db
        self._events = events
        self._executions = executions
        self._dead = dead
        self._telemetry = telemetry
        self._options = options
        self._env = records.environment(name, work_scale=settings.work_scale,
                                        cpu_pool_size=settings.cpu_pool_size)
        self._locks = _KeyedLocks()
        self._transitions = lifecycle.Transitions(pool, name)
        self._acks: GroupCommit[str, None] = GroupCommit(
            self._ack_many, max_batch=256, transient=STORE_ERRORS, name="ack")

    async def handle(self, delivery: Delivery) -> None:
        """Processes ``delivery``; store outages are waited out, job failures are recorded."""
        try:
            job = Job.from_fields(delivery.fields)
            uuid.UUID(job.report_id)
        except ValueError as exc:
            await self._reject_malformed(delivery, str(exc))
            return
        async with self._locks.hold(job.job_id):
            await self._handle(delivery, job)

    async def _handle(self, d: Delivery, job: Job) -> None:
        trace = {"trace_id": job.trace_id}
        limit = self._settings.max_deliveries
        if d.deliveries > limit:
            last = await self._last_error(job)
            reason = (f"delivered {limit} times without finishing (its worker may be dying on "
                      f"it); last error: {last}")
            await self._give_up(d, job, reason=reason, attempt=None, last_error=None)
            return
        try:
            params, detail_kib = self._decode_params(job)
        except ValueError as exc:
            await self._give_up(d, job, reason=f"invalid job parameters: {exc}", attempt=None,
                                last_error=None)
            return

        started = await persist("start", lambda: self._transitions.start(job),
                                trace_id=job.trace_id)
        if started is None:
            await self._refused(d, job, "start")
            return
        attempt = started.attempt
        if attempt > 1:
            self._telemetry.count("retried")
        log.info("report %s (%s) attempt %d started, delivery %d of %d", job.report_id, job.type,
                 attempt, d.deliveries, limit, extra=trace)
        self._events.add(records.event(job, "processing", attempt, worker=self._name,
                                       attempt=attempt, ts=started.started_at,
                                       data={"delivery": d.deliveries, "entry_id": d.entry_id}))

        options = self._options
        if detail_kib:
            options = dataclasses.replace(options, detail_kib=detail_kib)
        try:
            result = await simulate.run(
                job.type, params, report_id=job.report_id, attempt=attempt, options=options,
                on_step=self._step_hook(job, attempt),
            )
        except Abandoned:
            await self._refused(d, job, "progress")
            return
        except Exception as exc:  # the work failed: this attempt is over
            await self._attempt_failed(d, job, attempt, f"{type(exc).__name__}: {exc}")
            return

        finished_at = records.now()
        errors = await self._earlier_errors(job) if attempt > 1 else []
        doc = records.execution(
            job, status=ReportStatus.DONE.value, attempt=attempt, deliveries=d.deliveries,
            worker=self._name, env=self._env, started_at=started.started_at,
            finished_at=finished_at, result=result, errors=errors,
        )
        written = await persist("execution write", lambda: self._executions.write(doc),
                                trace_id=job.trace_id)
        if not written:
            log.info("report %s attempt %d was taken over by a newer attempt; dropping it",
                     job.report_id, attempt, extra=trace)
            return
        done_at = await persist(
            "finish", lambda: self._transitions.finish(job, attempt, finished_at),
            trace_id=job.trace_id,
        )
        if done_at is None:
            await self._refused(d, job, "finish")
            return

        self._events.add(records.event(job, "done", 0, worker=self._name, attempt=attempt,
                                       ts=done_at, data={"duration_ms": doc["duration_ms"]}))
        self._telemetry.count("processed")
        self._telemetry.latency((done_at - job.submitted_at).total_seconds() * 1000)
        await self._ack(d, job)
        log.info("report %s DONE by attempt %d in %.0f ms", job.report_id, attempt,
                 doc["duration_ms"], extra=trace)

    def _decode_params(self, job: Job) -> tuple[Any, int]:
        raw = dict(job.params)
        detail_kib = 0
        if "detail_kib" in raw:  # test-only padding; never honoured in production
            value = raw.pop("detail_kib")
            if self._settings.environment != "production":
                detail_kib = max(0, min(int(value), MAX_DETAIL_KIB))
        return parse_params(job.type, raw), detail_kib

    def _step_hook(self, job: Job, attempt: int) -> simulate.StepHook:
        last_write = time.monotonic()

        async def on_step(index: int, total: int, step: simulate.StepRecord) -> None:
            nonlocal last_write
            self._events.add(records.event(
                job, "step", f"{attempt}:{index}", worker=self._name, attempt=attempt,
                ts=step.started_at,
                data={"name": step.name, "step_kind": step.kind, "index": index,
                      "duration_ms": round(step.duration_ms, 3)},
            ))
            # Progress goes to PostgreSQL at a few points only, not on every step.
            if index + 1 >= total or time.monotonic() - last_write < PROGRESS_MIN_INTERVAL_S:
                return
            last_write = time.monotonic()
            percent = min(99, (index + 1) * 100 // total)
            still_ours = await persist(
                "progress", lambda: lifecycle.progress(self._pool, job, attempt, percent),
                trace_id=job.trace_id,
            )
            if not still_ours:
                raise Abandoned

        return on_step

    async def _attempt_failed(self, d: Delivery, job: Job, attempt: int, message: str) -> None:
        at = records.now()
        self._events.add(records.event(job, "attempt_failed", attempt, worker=self._name,
                                       attempt=attempt, ts=at,
                                       data={"error": message[:records.MAX_ERROR_CHARS],
                                             "delivery": d.deliveries}))
        self._telemetry.count("failed")
        limit = self._settings.max_attempts
        errors = await self._earlier_errors(job)
        failed = {e["attempt"] for e in errors} | {attempt}
        if len(failed) >= limit:
            reason = f"{len(failed)} of {limit} attempts failed; last error: {message}"
            await self._give_up(d, job, reason=reason, attempt=attempt,
                                last_error=records.error(attempt, self._name, message, at),
                                errors=errors)
            return
        log.warning("report %s attempt %d failed (%s); %d of %d attempts failed, it will be "
                    "retried", job.report_id, attempt, message, len(failed), limit,
                    extra={"trace_id": job.trace_id})

    async def _give_up(self, d: Delivery, job: Job, *, reason: str, attempt: int | None,
                       last_error: dict[str, Any] | None,
                       errors: list[dict[str, Any]] | None = None) -> None:
        """Report → FAILED with ``reason``, an execution record, a dead letter, then the ack.

        ``errors`` are the recorded failed attempts, when the caller has just read them.
        """
        finished_at = await persist("fail", lambda: lifecycle.fail(self._pool, job, reason,
                                                                   attempt),
                                    trace_id=job.trace_id)
        if finished_at is None:
            await self._refused(d, job, "fail")
            return
        now = await persist("current", lambda: lifecycle.current(self._pool, job.report_id))
        attempts = now.attempts if now else (attempt or 0)
        started_at = (now.started_at if now else None) or finished_at
        if errors is None:
            errors = await self._earlier_errors(job)
        if last_error and not any(e["attempt"] == last_error["attempt"] for e in errors):
            errors.append(last_error)
        doc = records.execution(
            job, status=ReportStatus.FAILED.value, attempt=attempts, deliveries=d.deliveries,
            worker=self._name, env=self._env, started_at=started_at, finished_at=finished_at,
            result=None, errors=errors, reason=reason,
        )
        await persist("execution write", lambda: self._executions.write(doc),
                      trace_id=job.trace_id)
        self._events.add(records.event(job, "failed", 0, worker=self._name, ts=finished_at,
                                       data={"reason": reason, "deliveries": d.deliveries}))
        self._telemetry.count("dead_lettered")
        await persist("dead-letter", lambda: self._dead.move(
            d.entry_id, d.fields, reason=reason, deliveries=d.deliveries),
            trace_id=job.trace_id)
        log.error("report %s FAILED and dead-lettered: %s", job.report_id, reason,
                  extra={"trace_id": job.trace_id})

    async def _refused(self, d: Delivery, job: Job, step: str) -> None:
        """A guard said no: find out why, and acknowledge the entry unless its job is live."""
        trace = {"trace_id": job.trace_id}
        now = await persist("current", lambda: lifecycle.current(self._pool, job.report_id),
                            trace_id=job.trace_id)
        if now is None:
            log.warning("report %s does not exist; entry %s acked and skipped", job.report_id,
                        d.entry_id, extra=trace)
        elif now.generation != job.generation:
            log.info("job %s is stale (report is at generation %d); acked and skipped",
                     job.job_id, now.generation, extra=trace)
        elif now.status == ReportStatus.PROCESSING:
            # Another attempt took the report over; its owner acknowledges (or the reclaim
            # loop later finds the report finished and does).
            log.info("report %s is being processed by attempt %d on %s; leaving entry %s",
                     job.report_id, now.attempts, now.worker, d.entry_id, extra=trace)
            return
        elif now.status == ReportStatus.DONE:
            # Re-state the terminal event: a no-op if it exists, a repair if a crash lost it.
            self._events.add(records.event(job, "done", 0, worker=now.worker or self._name,
                                           attempt=now.attempts, ts=now.finished_at,
                                           data={"recovered": True}))
            log.info("report %s is already DONE; entry %s acked and skipped", job.report_id,
                     d.entry_id, extra=trace)
        elif now.status == ReportStatus.FAILED:
            self._events.add(records.event(job, "failed", 0, worker=now.worker or self._name,
                                           ts=now.finished_at,
                                           data={"reason": now.failure_reason or "",
                                                 "recovered": True}))
            await persist("dead-letter", lambda: self._dead.move(
                d.entry_id, d.fields, reason=now.failure_reason or "failed",
                deliveries=d.deliveries), trace_id=job.trace_id)
            log.info("report %s is already FAILED; entry %s dead-lettered once and acked",
                     job.report_id, d.entry_id, extra=trace)
            return
        else:
            log.info("report %s is %s; entry %s acked and skipped (%s refused)", job.report_id,
                     now.status, d.entry_id, step, extra=trace)
        await self._ack(d, job)

    async def _reject_malformed(self, d: Delivery, problem: str) -> None:
        log.error("entry %s is not a valid job (%s); dead-lettering it", d.entry_id, problem)
        self._telemetry.count("dead_lettered")
        await persist("dead-letter", lambda: self._dead.move(
            d.entry_id, d.fields, reason=f"malformed job: {problem}", deliveries=d.deliveries,
            per_entry=True))

    async def _ack(self, d: Delivery, job: Job) -> None:
        await persist("ack", lambda: self._acks.submit(d.entry_id), trace_id=job.trace_id)

    async def _ack_many(self, entry_ids: list[str]) -> list[None]:
        s = self._settings
        await self._redis.xack(s.jobs_stream, s.consumer_group, *entry_ids)
        return [None] * len(entry_ids)

    async def _earlier_errors(self, job: Job) -> list[dict[str, Any]]:
        """The failed attempts of this job recorded so far (possibly by other workers)."""
        await self._flush_events_quietly()
        query = {"report_id": job.report_id, "generation": job.generation,
                 "kind": "attempt_failed"}

        async def read() -> list[dict[str, Any]]:
            cursor = self._db[EVENTS].find(query).sort("ts", 1).limit(records.MAX_ERRORS)
            return await cursor.to_list()

        rows = await persist("read errors", read, trace_id=job.trace_id)
        return [
            records.error(row.get("attempt", 0), row["worker"],
                          row.get("data", {}).get("error", ""), row["ts"])
            for row in rows
        ]

    async def _last_error(self, job: Job) -> str:
        errors = await self._earlier_errors(job)
        return errors[-1]["message"] if errors else "the worker stopped or was lost mid-job"

    async def _flush_events_quietly(self) -> None:
        with contextlib.suppress(Exception):
            await self._events.flush()
