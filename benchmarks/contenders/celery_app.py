"""The benchmark job as a Celery task, on Redis (the stack's Valkey) as the broker.

Run by the benchmark as ``celery -A benchmarks.contenders.celery_app worker -P threads -c N``:
a thread pool of ``N`` per process matches our worker's ``N`` concurrent jobs per process.
Acknowledgement is late (after the task, as ours), and results are not stored (ours stores none).
"""

from __future__ import annotations

import os
import threading

import psycopg
from celery import Celery
from pymongo import MongoClient
from pymongo.errors import BulkWriteError

from benchmarks.contenders import job

QUEUE = os.environ.get("BENCH_QUEUE", "bench")
WORKER = os.environ.get("BENCH_WORKER", "celery")

app = Celery("bench", broker=os.environ.get("OMNIFLOW_REDIS_URL", "redis://127.0.0.1:6379/0"))
app.conf.update(
    task_default_queue=QUEUE,
    task_acks_late=True,
    task_ignore_result=True,
    worker_prefetch_multiplier=4,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=True,
)

_local = threading.local()
_mongo: MongoClient | None = None
_mongo_lock = threading.Lock()
_START = job.as_psycopg(job.START)
_FINISH = job.as_psycopg(job.FINISH)


def _conn() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = psycopg.connect(os.environ["OMNIFLOW_DATABASE_URL"], autocommit=True)
        _local.conn = conn
    return conn


def _db():  # noqa: ANN202 - pymongo's database type
    global _mongo
    with _mongo_lock:
        if _mongo is None:
            _mongo = MongoClient(os.environ["OMNIFLOW_MONGO_URL"], tz_aware=True)
    return _mongo[os.environ.get("OMNIFLOW_MONGO_DB", "omniflow")]


@app.task(name="bench.run_job")
def run_job(fields: dict[str, str]) -> None:
    conn = _conn()
    row = conn.execute(_START, job.psycopg_args(fields["report_id"], int(fields["generation"]),
                                                WORKER)).fetchone()
    if row is None:
        return
    attempt, started_at = row
    result, steps = job.compute(fields)
    finished_at = job.now()
    execution, events = job.documents(fields, worker=WORKER, attempt=attempt,
                                      started_at=started_at, finished_at=finished_at,
                                      result=result, steps=steps)
    db = _db()
    db.executions.replace_one(job.fenced_filter(execution), execution, upsert=True)
    conn.execute(_FINISH, job.psycopg_args(fields["report_id"], int(fields["generation"]),
                                           attempt, finished_at))
    try:
        db.events.insert_many(events, ordered=False)
    except BulkWriteError as exc:
        if any(e.get("code") != job.DUPLICATE_KEY for e in exc.details["writeErrors"]):
            raise
