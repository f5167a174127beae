"""A report's status transitions, each one a single guarded UPDATE.

Every statement names the report *and* the generation it expects, and the statuses it may move
from, so a transition happens at most once and never backwards, whichever worker tries it and
however often a job is delivered. The outcome is read from ``RETURNING``: no row means the guard
said no, and the caller looks at the report to learn why (cancelled, finished, a newer generation,
or another attempt took over).

``attempts`` doubles as a fence: an attempt remembers the number it got when it started, and its
progress and finish statements only match while that number is still current.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import asyncpg

from omniflow.contracts import Job

_START = """
UPDATE reports
SET status = 'PROCESSING', attempts = attempts + 1, started_at = now(), worker = $3,
    progress = 0, failure_reason = NULL, finished_at = NULL, updated_at = now()
WHERE id = $1::uuid AND generation = $2 AND status IN ('PENDING', 'PROCESSING')
RETURNING attempts, started_at, created_at
"""

_PROGRESS = """
UPDATE reports SET progress = $4, updated_at = now()
WHERE id = $1::uuid AND generation = $2 AND attempts = $3 AND status = 'PROCESSING'
  AND progress < $4
RETURNING progress
"""

_FINISH = """
UPDATE reports
SET status = 'DONE', progress = 100, finished_at = $4, updated_at = now()
WHERE id = $1::uuid AND generation = $2 AND attempts = $3 AND status = 'PROCESSING'
RETURNING finished_at
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


async def start(pool: asyncpg.Pool, job: Job, worker: str) -> Started | None:
    """PENDING or PROCESSING (a lost attempt) → PROCESSING; None if the guard refused."""
    row = await pool.fetchrow(_START, job.report_id, job.generation, worker)
    return Started(row["attempts"], row["started_at"]) if row else None


async def progress(pool: asyncpg.Pool, job: Job, attempt: int, percent: int) -> bool:
    """Raises the progress of the current attempt; False if the attempt is no longer current."""
    row = await pool.fetchrow(_PROGRESS, job.report_id, job.generation, attempt, percent)
    return row is not None


async def finish(pool: asyncpg.Pool, job: Job, attempt: int,
                 finished_at: dt.datetime) -> dt.datetime | None:
    """PROCESSING → DONE for the current attempt; returns ``finished_at`` or None if refused."""
    row = await pool.fetchrow(_FINISH, job.report_id, job.generation, attempt, finished_at)
    return row["finished_at"] if row else None


async def fail(pool: asyncpg.Pool, job: Job, reason: str,
               attempt: int | None = None) -> dt.datetime | None:
    """PENDING/PROCESSING → FAILED with ``reason``; fenced by ``attempt`` when one is given."""
    row = await pool.fetchrow(_FAIL, job.report_id, job.generation, attempt, reason[:1000])
    return row["finished_at"] if row else None


async def current(pool: asyncpg.Pool, report_id: str) -> Current | None:
    """The report's status now, or None if it does not exist."""
    row = await pool.fetchrow(_CURRENT, report_id)
    return Current(**dict(row)) if row else None
