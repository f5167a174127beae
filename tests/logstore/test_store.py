"""The log store against the real server: schema, fenced writes, batched events, queries."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
from pymongo import AsyncMongoClient

from omniflow import logstore
from omniflow.logstore.schema import EVENTS, EXECUTIONS, epoch_ms
from tests.worker import helpers


@pytest.fixture
async def store(mongo: AsyncMongoClient, settings):
    """The shared log store. Note that the embedded server keeps every database in one
    namespace (dropping one drops all), so tests use unique report ids and delete only those."""
    db = mongo[settings.mongo_db]
    await logstore.ensure_schema(db, retention_days=settings.event_retention_days)
    yield db
    await db[EVENTS].delete_many({"report_id": {"$regex": f"^{PREFIX}"}})
    await db[EXECUTIONS].delete_many({"report_id": {"$regex": f"^{PREFIX}"}})


# Recent enough that the retention index does not expire the events during the test.
BASE = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=5)
PREFIX = f"logstore-test-{uuid.uuid4().hex[:8]}-"


def rid(name: str) -> str:
    return PREFIX + name


def _execution(report_id: str, *, generation: int = 1, attempt: int = 1, **extra) -> dict:
    now = dt.datetime.now(dt.UTC)
    return {
        "_id": report_id, "report_id": report_id, "generation": generation, "attempt": attempt,
        "type": "user_activity", "status": "DONE", "trace_id": "t", "worker": "w",
        "environment": {"host": "h", "pid": 1, "python": "3", "worker": "w"}, "input": {},
        "steps": [], "errors": [], "started_at": now, "finished_at": now, "schema_version": 1,
        "summary": {}, "output": {"n": attempt}, "truncated": None, **extra,
    }


def _event(n: int, kind: str, report_id: str = "", **data) -> dict:
    report_id = report_id or rid("r-1")
    return {
        "_id": f"{report_id}:1:{kind}:{n}", "report_id": report_id, "generation": 1,
        "job_id": f"{report_id}:1", "trace_id": "t", "kind": kind, "worker": "w",
        "ts": BASE + dt.timedelta(seconds=n), "data": data,
        "ts_ms": epoch_ms(BASE + dt.timedelta(seconds=n)),
    }


async def test_schema_is_idempotent_and_indexes_serve_the_admin_queries(store, settings):
    await logstore.ensure_schema(store, retention_days=settings.event_retention_days)
    await logstore.ensure_schema(store, retention_days=settings.event_retention_days)

    # Compare keys, not names or directions: the embedded server renames indexes and lists
    # every key as ascending.
    events = {tuple(ix["key"]): ix async for ix in await store[EVENTS].list_indexes()}
    assert {("report_id", "ts"), ("kind", "ts"), ("ts",)} <= set(events)
    assert events[("ts",)]["expireAfterSeconds"] == settings.event_retention_days * 24 * 3600
    executions = {tuple(ix["key"]) async for ix in await store[EXECUTIONS].list_indexes()}
    assert {("status", "finished_at"), ("finished_at",)} <= executions


async def test_an_execution_is_one_document_and_a_late_older_attempt_cannot_overwrite_it(store):
    writer = logstore.ExecutionWriter(store, 1024 * 1024)
    assert await writer.write(_execution(rid("r-1"), attempt=1))
    assert await writer.write(_execution(rid("r-1"), attempt=1))  # a redelivery: same attempt
    assert await writer.write(_execution(rid("r-1"), attempt=2))  # a takeover
    assert not await writer.write(_execution(rid("r-1"), attempt=1))  # the old attempt, late
    assert await writer.write(_execution(rid("r-1"), generation=2, attempt=3))  # a requeue
    assert await writer.write(_execution(rid("r-2")))

    assert await helpers.count(store[EXECUTIONS], {"_id": {"$in": [rid("r-1"), rid("r-2")]}}) == 2
    doc = await logstore.get_execution(store, rid("r-1"))
    assert (doc["generation"], doc["attempt"]) == (2, 3)


async def test_a_huge_execution_is_stored_cut_to_the_bound(store):
    writer = logstore.ExecutionWriter(store, 1024 * 1024)
    doc = _execution(rid("big"), output={"detail": ["x" * 1024] * (18 * 1024)})
    assert await writer.write(doc)
    stored = await logstore.get_execution(store, rid("big"))
    assert stored["truncated"]["original_bytes"] > 18 * 1024 * 1024
    assert stored["truncated"]["kept_bytes"] <= 1024 * 1024


async def test_events_are_batched_and_a_repeat_is_ignored(store):
    buffer = logstore.EventBuffer(store, interval_s=0.05)
    buffer.start()
    for n in range(300):
        buffer.add(_event(n, "step", name=f"s{n % 3}", duration_ms=float(n % 3 + 1)))
    buffer.add(_event(0, "done"))
    await asyncio.sleep(0.3)
    buffer.add(_event(0, "done"))  # the same fact again, e.g. from a redelivery
    buffer.add(_event(1, "processing"))
    await buffer.close()  # flushes what is left

    mine = [rid("r-1")]
    assert await helpers.count(store[EVENTS], {"report_id": rid("r-1")}) == 302
    assert buffer.duplicates == 1
    assert await logstore.counts_by_kind(store, report_ids=mine) == {
        "done": 1, "processing": 1, "step": 300}
    durations = await logstore.avg_step_durations(store, report_ids=mine)
    assert durations["s0"] == {"avg_ms": 1.0, "count": 100}
    assert durations["s2"]["avg_ms"] == 3.0


async def test_read_helpers_return_stored_dates_in_order(store):
    await store[EVENTS].insert_many([_event(n, "step", name="a", duration_ms=1.0)
                                     for n in (3, 1, 2)])
    events = await logstore.events_for(store, rid("r-1"))
    offsets = [e["ts"].replace(tzinfo=dt.UTC) - BASE for e in events]
    assert offsets == [dt.timedelta(seconds=n) for n in (1, 2, 3)]
    assert all(isinstance(e["ts"], dt.datetime) for e in events)
    since = BASE + dt.timedelta(seconds=2)
    assert await logstore.counts_by_kind(store, since=since, report_ids=[rid("r-1")]) == {
        "step": 2}

    writer = logstore.ExecutionWriter(store, 1024 * 1024)
    await writer.write(_execution(rid("r-9"), status="FAILED"))
    await writer.write(_execution(rid("r-8")))
    failed = await logstore.recent_executions(store, status="FAILED", limit=5)
    ids = [d["_id"] for d in failed]
    assert rid("r-9") in ids and rid("r-8") not in ids
    assert all("output" not in d for d in failed)
