"""Builds the documents the worker writes to the log store.

Event ids are derived from the job and what happened (``<job_id>:<kind>:<n>``), so the same
fact written twice, by a redelivery or by a recovery path, is one document.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import socket
from typing import Any

from omniflow.contracts import Job
from omniflow.logstore.schema import SCHEMA_VERSION, epoch_ms
from omniflow.worker.simulate import WorkResult

MAX_ERROR_CHARS = 2000
MAX_ERRORS = 20


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def event(job: Job, kind: str, n: int | str, *, worker: str, attempt: int | None = None,
          ts: dt.datetime | None = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """One event document; ``n`` makes the id unique within the job and kind."""
    ts = ts or now()
    doc: dict[str, Any] = {
        "_id": f"{job.job_id}:{kind}:{n}",
        "report_id": job.report_id,
        "generation": job.generation,
        "job_id": job.job_id,
        "trace_id": job.trace_id,
        "kind": kind,
        "ts": ts,
        "ts_ms": epoch_ms(ts),
        "worker": worker,
        "data": data or {},
    }
    if attempt is not None:
        doc["attempt"] = attempt
    return doc


def environment(worker: str, *, work_scale: float, cpu_pool_size: int) -> dict[str, Any]:
    """Where an execution ran, for the person reading its record later."""
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "worker": worker,
        "work_scale": work_scale,
        "cpu_pool_size": cpu_pool_size,
    }


def error(attempt: int, worker: str, message: str, at: dt.datetime) -> dict[str, Any]:
    return {"attempt": attempt, "worker": worker, "message": message[:MAX_ERROR_CHARS], "at": at}


def execution(job: Job, *, status: str, attempt: int, deliveries: int, worker: str,
              env: dict[str, Any], started_at: dt.datetime, finished_at: dt.datetime,
              result: WorkResult | None, errors: list[dict[str, Any]],
              reason: str | None = None) -> dict[str, Any]:
    """The whole story of the attempt that finished a report."""
    return {
        "_id": job.report_id,
        "report_id": job.report_id,
        "generation": job.generation,
        "attempt": attempt,
        "job_id": job.job_id,
        "type": job.type,
        "status": status,
        "reason": reason,
        "trace_id": job.trace_id,
        "worker": worker,
        "environment": env,
        "input": dict(job.params),
        "deliveries": deliveries,
        "submitted_at": job.submitted_at,
        "started_at": started_at,
        "finished_at": finished_at,
        "duration_ms": round((finished_at - started_at).total_seconds() * 1000, 3),
        "steps": [step.as_doc() for step in result.steps] if result else [],
        "summary": result.summary if result else None,
        "output": result.output if result else None,
        "errors": errors[-MAX_ERRORS:],
        "truncated": None,
        "schema_version": SCHEMA_VERSION,
    }
