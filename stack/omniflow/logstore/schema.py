"""The log store's collections, their validators and the indexes the admin's queries use.

``ensure_schema`` is idempotent and safe to run from several workers at once: every worker runs
it at start-up, so a fresh database is ready before the first write.

Note that a ``$jsonSchema`` validator is a safety net on a real MongoDB server only. The embedded
server accepts the validator but does not enforce it, so the writers never rely on it: they build
documents that already match.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from bson import Int64
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import CollectionInvalid, OperationFailure

log = logging.getLogger("omniflow.logstore")

EXECUTIONS = "executions"
EVENTS = "events"
SCHEMA_VERSION = 1

EVENT_KINDS = ("processing", "step", "attempt_failed", "done", "failed")
EXECUTION_STATUSES = ("DONE", "FAILED")

_DATE = {"bsonType": "date"}
_STR = {"bsonType": "string"}
_INT = {"bsonType": ["int", "long"]}

EXECUTION_VALIDATOR: dict[str, Any] = {
    "$jsonSchema": {
        "bsonType": "object",
        "required": [
            "_id", "report_id", "generation", "attempt", "type", "status", "trace_id", "worker",
            "environment", "input", "steps", "errors", "started_at", "finished_at",
            "schema_version",
        ],
        "properties": {
            "_id": _STR,
            "report_id": _STR,
            "generation": _INT,
            "attempt": _INT,
            "type": _STR,
            "status": {"enum": list(EXECUTION_STATUSES)},
            "trace_id": _STR,
            "worker": _STR,
            "environment": {
                "bsonType": "object",
                "required": ["host", "pid", "python", "worker"],
            },
            "input": {"bsonType": "object"},
            "steps": {"bsonType": "array"},
            "summary": {"bsonType": ["object", "null"]},
            "output": {"bsonType": ["object", "null"]},
            "errors": {"bsonType": "array"},
            "submitted_at": _DATE,
            "started_at": _DATE,
            "finished_at": _DATE,
            "duration_ms": {"bsonType": ["double", "int", "long"]},
            "truncated": {
                "bsonType": ["object", "null"],
                "required": ["original_bytes", "kept_bytes", "rule"],
            },
            "schema_version": _INT,
            "fence": _INT,
        },
    }
}

EVENT_VALIDATOR: dict[str, Any] = {
    "$jsonSchema": {
        "bsonType": "object",
        "required": ["_id", "report_id", "generation", "job_id", "trace_id", "kind", "ts",
                     "worker"],
        "properties": {
            "_id": _STR,
            "report_id": _STR,
            "generation": _INT,
            "job_id": _STR,
            "trace_id": _STR,
            "kind": {"enum": list(EVENT_KINDS)},
            "ts": _DATE,
            "ts_ms": _INT,
            "worker": _STR,
            "attempt": _INT,
            "data": {"bsonType": "object"},
        },
    }
}


def epoch_ms(ts: dt.datetime) -> Int64:
    """An event time as milliseconds since the epoch, stored beside ``ts`` as ``ts_ms``."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=dt.UTC)
    return Int64(round(ts.timestamp() * 1000))


def execution_indexes() -> list[IndexModel]:
    return [
        IndexModel([("status", ASCENDING), ("finished_at", DESCENDING)],
                   name="status_finished"),
        IndexModel([("finished_at", DESCENDING)], name="finished"),
        IndexModel([("trace_id", ASCENDING)], name="trace"),
    ]


def event_indexes(retention_days: int) -> list[IndexModel]:
    return [
        IndexModel([("report_id", ASCENDING), ("ts", ASCENDING)], name="report_ts"),
        IndexModel([("kind", ASCENDING), ("ts", DESCENDING)], name="kind_ts"),
        IndexModel([("kind", ASCENDING), ("ts_ms", ASCENDING)], name="kind_ts_ms"),
        # Retention: MongoDB deletes an event once its ``ts`` is older than this.
        IndexModel([("ts", ASCENDING)], name="ts_ttl",
                   expireAfterSeconds=retention_days * 24 * 3600),
    ]


async def ensure_schema(db: AsyncDatabase, *, retention_days: int) -> None:
    """Creates both collections with their validators and indexes, or brings them up to date."""
    await _ensure_collection(db, EXECUTIONS, EXECUTION_VALIDATOR)
    await _ensure_collection(db, EVENTS, EVENT_VALIDATOR)
    await db[EXECUTIONS].create_indexes(execution_indexes())
    try:
        await db[EVENTS].create_indexes(event_indexes(retention_days))
    except OperationFailure as exc:
        # An index with the same keys but another retention: change its expiry in place.
        if exc.code not in (85, 86):  # IndexOptionsConflict, IndexKeySpecsConflict
            raise
        await db.command({
            "collMod": EVENTS,
            "index": {"name": "ts_ttl", "expireAfterSeconds": retention_days * 24 * 3600},
        })
        await db[EVENTS].create_indexes(event_indexes(retention_days)[:-1])
        log.info("event retention changed to %d days", retention_days)


async def _ensure_collection(db: AsyncDatabase, name: str, validator: dict[str, Any]) -> None:
    try:
        await db.create_collection(name, validator=validator, validationLevel="moderate")
        log.info("created collection %s with its validator", name)
        return
    except CollectionInvalid:
        pass  # It exists: another worker made it, or an earlier run did.
    except OperationFailure as exc:
        if exc.code != 48:  # NamespaceExists, raised when two workers race to create it
            raise
    try:
        await db.command({"collMod": name, "validator": validator,
                          "validationLevel": "moderate"})
    except OperationFailure as exc:
        log.warning("could not update the validator of %s: %s", name, exc)
