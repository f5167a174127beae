"""A report's status transitions, each one a single guarded UPDATE.

Every statement names the report *and* the generation it expects, and the statuses it may move
from, so a transition happens at most once and never backwards, whichever worker tries it and
however often a job is delivered. The outcome is read from ``RETURNING``: no row means the guard
said no, and the caller looks at the report to learn why (cancelled, finished, a newer generation,
or another attempt took over).

``attempts`` doubles as a fence: an attempt remembers the number it got when it started, and its
progress and finish statements only match while that number is still current.

The two transitions every job makes, start and finish, are written for many jobs at once: the
jobs in flight that start (or finish) while the previous statement runs share the next one, so
a busy worker pays one round trip and one commit per batch instead of per job. Each row keeps
its own guard, and each job gets its own answer. The rare transitions (progress, fail) and the
look-up after a refusal go one report at a time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import asyncpg

from omniflow.batching import GroupCommit
from omniflow.contracts import Job
from omniflow.worker.resilience import STORE_ERRORS

# $1 report ids, $2 their generations, $3 the worker's name.
_START_MANY = """
UPDATE reports AS r
SET status = 'PROCESSING', attempts = r.attempts + 1, started_at = now(), worker = $3,
    progress = 0, failure_reason = NULL, finished_at = NULL, updated_at = now()
FROM unnest($1::uuid[], $2::integer[]) AS j(id, generation)
WHERE r.id = j.id AND r.generation = j.generation AND r.status IN ('PENDING', 'PROCESSING')
RETURNING r.id, r.generation, r.attempts, r.started_at
"""

_PROGRESS = """
UPDATE reports SET progress = $4, updated_at = now()
WHERE id = $1::uuid AND generation = $2 AND attempts = $3 AND status = 'PROCESSING'
  AND progress < $4
RETURNING progress
"""

# $1 report ids, $2 generations, $3 attempts, $4 finish times: one row per job.
_FINISH_MANY = """
UPDATE reports AS r
SET status = 'DONE', progress = 100, finished_at = j.finished_at, updated_at = now()
FROM unnest($1::uuid[], $2::integer[], $3::integer[], $4::timestamptz[])
     AS j(id, generation, attempt, finished_at)
WHERE r.id = j.id AND r.generation = j.generation AND r.attempts = j.attempt
  AND r.status = 'PROCESSING'
RETURNING r.id, r.generation, r.finished_at
"""

_FAIL = """
UPDATE reports
SET status = 'FAILED', failure_reason = $4, finished_at = now(), updated_at = now()
WHERE id = $1::uuid AND generation = $2 AND status IN ('PENDING', 'PROCESSING')
  AND ($3::integer IS NULL OR attempts = $3)
RETURNING finished_at
"""

_CURRENT = """
SELECT status, generation, attempts, worker, failure_reason, started_at, finished_at
FROM reports WHERE id = $1::uuid
"""


@dataclass(frozen=True)
class Started:
    """The attempt this worker now owns."""

    attempt: int
    started_at: dt.datetime


@dataclass(frozen=True)
class Current:
    """Where a report stands, read when a guard refused a transition."""

    status: str
    generation: int
    attempts: int
    worker: str | None
    failure_reason: str | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


async def progress(pool: asyncpg.Pool, job: Job, attempt: int, percent: int) -> bool:
    """Raises the progress of the current attempt; False if the attempt is no longer current."""
    row = await pool.fetchrow(_PROGRESS, job.report_id, job.generation, attempt, percent)
    return row is not None


async def fail(pool: asyncpg.Pool, job: Job, reason: str,
               attempt: int | None = None) -> dt.datetime | None:
    """PENDING/PROCESSING → FAILED with ``reason``; fenced by ``attempt`` when one is given."""
    row = await pool.fetchrow(_FAIL, job.report_id, job.generation, attempt, reason[:1000])
    return row["finished_at"] if row else None


async def current(pool: asyncpg.Pool, report_id: str) -> Current | None:
    """The report's status now, or None if it does not exist."""
    row = await pool.fetchrow(_CURRENT, report_id)
    return Current(**dict(row)) if row else None


@dataclass(frozen=True)
class _Finish:
    job: Job
    attempt: int
    finished_at: dt.datetime


class Transitions:
    """Start and finish for one worker, each statement shared by the jobs that need it at once.

    Two entries of one job are never in one batch: the processor runs a job's deliveries one
    after another. Two generations of one report can be, but only one of them matches the
    report's generation, so each row is updated at most once per statement.
    """

    MAX_BATCH = 128

    def __init__(self, pool: asyncpg.Pool, worker: str) -> None:
        self._pool = pool
        self._worker = worker
        self._starts: GroupCommit[Job, Started | None] = GroupCommit(
            self._start_many, max_batch=self.MAX_BATCH, transient=STORE_ERRORS, name="start")
        self._finishes: GroupCommit[_Finish, dt.datetime | None] = GroupCommit(
            self._finish_many, max_batch=self.MAX_BATCH, transient=STORE_ERRORS, name="finish")

    async def start(self, job: Job) -> Started | None:
        """PENDING or PROCESSING (a lost attempt) → PROCESSING; None if the guard refused."""
        return await self._starts.submit(job)

    async def finish(self, job: Job, attempt: int,
                     finished_at: dt.datetime) -> dt.datetime | None:
        """PROCESSING → DONE for the current attempt; ``finished_at``, or None if refused."""
        return await self._finishes.submit(_Finish(job, attempt, finished_at))

    async def _start_many(self, jobs: list[Job]) -> list[Started | None]:
        rows = await self._pool.fetch(_START_MANY, [j.report_id for j in jobs],
                                      [j.generation for j in jobs], self._worker)
        started = {(str(r["id"]), r["generation"]): Started(r["attempts"], r["started_at"])
                   for r in rows}
        return [started.get((j.report_id, j.generation)) for j in jobs]

    async def _finish_many(self, items: list[_Finish]) -> list[dt.datetime | None]:
        rows = await self._pool.fetch(
            _FINISH_MANY, [i.job.report_id for i in items], [i.job.generation for i in items],
            [i.attempt for i in items], [i.finished_at for i in items])
        done = {(str(r["id"]), r["generation"]): r["finished_at"] for r in rows}
        return [done.get((i.job.report_id, i.job.generation)) for i in items]
