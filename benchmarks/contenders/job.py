"""The benchmark job, written once for the contenders: the same effects as our worker's.

For one zero-work ``user_activity`` report, every contender does exactly what our worker does:

1. PENDING → PROCESSING with the same guarded UPDATE (one round trip to PostgreSQL);
2. the report's output, computed by the same pure function with no extra CPU work;
3. the execution document, written with the same fenced replace into the log store;
4. PROCESSING → DONE with the same guarded UPDATE;
5. the same five events (processing, three steps, done) into the log store.

This module imports only the standard library, ``omniflow.worker.cpu`` (pure Python) and
``bson``, so it runs in the contenders' environments too.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import socket
import time
from typing import Any

from bson import Int64

from omniflow.worker import cpu

START = """
UPDATE reports
SET status = 'PROCESSING', attempts = attempts + 1, started_at = now(), worker = $3,
    progress = 0, failure_reason = NULL, finished_at = NULL, updated_at = now()
WHERE id = $1::uuid AND generation = $2 AND status IN ('PENDING', 'PROCESSING')
RETURNING attempts, started_at
"""

FINISH = """
UPDATE reports
SET status = 'DONE', progress = 100, finished_at = $4, updated_at = now()
WHERE id = $1::uuid AND generation = $2 AND attempts = $3 AND status = 'PROCESSING'
RETURNING finished_at
"""

STEPS = ("load_sessions", "rank_users", "render")
STEP_KINDS = ("io", "cpu", "io")
FENCE_ATTEMPTS = 1_000_000
DUPLICATE_KEY = 11000


def as_psycopg(sql: str) -> str:
    """The same statement with psycopg's named placeholders: ``$1`` becomes ``%(p1)s``."""
    for n in range(4, 0, -1):
        sql = sql.replace(f"${n}", f"%(p{n})s")
    return sql


def psycopg_args(*values: object) -> dict[str, object]:
    return {f"p{n}": value for n, value in enumerate(values, start=1)}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def compute(fields: dict[str, str]) -> tuple[dict[str, Any], list[tuple[str, str, dt.datetime,
                                                                          float]]]:
    """Runs the zero-work report; returns its result and the (name, kind, start, ms) steps."""
    params = json.loads(fields["params"])
    steps = []
    result: dict[str, Any] = {}
    for name, kind in zip(STEPS, STEP_KINDS, strict=True):
        began, clock = now(), time.perf_counter()
        if kind == "cpu":
            result = cpu.user_activity(params.get("seed", 0), params.get("days", 7),
                                       params.get("top", 10), 0)
        steps.append((name, kind, began, (time.perf_counter() - clock) * 1000))
    return result, steps


def environment(worker: str) -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid(),
            "python": platform.python_version(), "platform": platform.platform(terse=True),
            "worker": worker, "work_scale": 0.0, "cpu_pool_size": 0}


def documents(fields: dict[str, str], *, worker: str, attempt: int, started_at: dt.datetime,
              finished_at: dt.datetime, result: dict[str, Any],
              steps: list[tuple[str, str, dt.datetime, float]],
              ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The execution document and the five events, shaped like our worker's."""
    report_id, generation = fields["report_id"], int(fields["generation"])
    job_id = f"{report_id}:{generation}"
    result = dict(result)
    summary = result.pop("summary")
    submitted_at = dt.datetime.fromisoformat(fields["submitted_at"])
    execution = {
        "_id": report_id, "report_id": report_id, "generation": generation,
        "attempt": attempt, "job_id": job_id, "type": fields["type"], "status": "DONE",
        "reason": None, "trace_id": fields["trace_id"], "worker": worker,
        "environment": environment(worker), "input": json.loads(fields["params"]),
        "deliveries": 1, "submitted_at": submitted_at, "started_at": started_at,
        "finished_at": finished_at,
        "duration_ms": round((finished_at - started_at).total_seconds() * 1000, 3),
        "steps": [{"name": n, "kind": k, "started_at": at, "duration_ms": round(ms, 3)}
                  for n, k, at, ms in steps],
        "summary": summary, "output": result, "errors": [], "truncated": None,
        "schema_version": 1,
        "fence": Int64(generation * FENCE_ATTEMPTS + attempt),
    }

    def event(kind: str, n: int | str, ts: dt.datetime, data: dict[str, Any]) -> dict[str, Any]:
        return {"_id": f"{job_id}:{kind}:{n}", "report_id": report_id,
                "generation": generation, "job_id": job_id, "trace_id": fields["trace_id"],
                "kind": kind, "ts": ts, "worker": worker, "data": data, "attempt": attempt}

    events = [event("processing", attempt, started_at, {"delivery": 1})]
    events += [event("step", f"{attempt}:{i}", at,
                     {"name": n, "step_kind": k, "index": i, "duration_ms": round(ms, 3)})
               for i, (n, k, at, ms) in enumerate(steps)]
    events.append(event("done", 0, finished_at, {"duration_ms": execution["duration_ms"]}))
    return execution, events


def fenced_filter(execution: dict[str, Any]) -> dict[str, Any]:
    return {"_id": execution["_id"], "fence": {"$lte": execution["fence"]}}
