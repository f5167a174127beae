"""Writes to the log store: execution documents and events, both in batches.

Both writes are idempotent, because a job can be delivered more than once:

* An execution document's ``_id`` is the report id, and it is written with a replace that is
  *fenced* by ``(generation, attempt)``, kept as one number in ``fence``: a newer attempt
  replaces an older one's document, while a late write from an attempt that was taken over
  matches nothing and is refused with a duplicate key error. A redelivered job therefore never
  makes a second document or overwrites a newer one.
* An event's ``_id`` is derived from the job and what happened (``<job_id>:<kind>:<n>``), so
  writing it twice is harmless: the second insert fails with a duplicate key error, which the
  buffer ignores. A document the server refuses for another reason is logged as an error.

Events are buffered and written with one ``insert_many(ordered=False)`` every ~100 ms or every
``max_batch`` events: the embedded server takes about 1,300 single inserts per second but 6,000 or
more when batched. Execution documents cannot wait that long (a report is DONE only after its
document is stored), so those written at about the same time share one ``insert_many``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from bson import Int64
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, ConnectionFailure, DuplicateKeyError, WriteError

from omniflow.batching import GroupCommit
from omniflow.logstore.schema import EVENTS, EXECUTIONS
from omniflow.logstore.truncate import fit_execution

log = logging.getLogger("omniflow.logstore")

DUPLICATE_KEY = 11000
FENCE_ATTEMPTS = 1_000_000


def fence_rank(generation: int, attempt: int) -> Int64:
    """Orders attempts across generations in one number: a later attempt ranks higher.

    One comparable field keeps the fence a plain range match; the embedded server mishandles an
    update filter that combines ``_id`` with ``$or``.
    """
    return Int64(generation * FENCE_ATTEMPTS + min(attempt, FENCE_ATTEMPTS - 1))


class ExecutionWriter:
    """Writes one execution document per report, cut to ``max_bytes`` if needed.

    Documents written at about the same time share one ``insert_many`` (see ``GroupCommit``).
    """

    MAX_BATCH = 128

    def __init__(self, db: AsyncDatabase, max_bytes: int) -> None:
        self._collection = db[EXECUTIONS]
        self._max_bytes = max_bytes
        self._batches: GroupCommit[dict[str, Any], bool] = GroupCommit(
            self._write_many, max_batch=self.MAX_BATCH, transient=(ConnectionFailure, OSError),
            name="execution write")

    async def write(self, doc: dict[str, Any]) -> bool:
        """Stores ``doc``; returns False if a newer attempt of the report has written already.

        Note that the document must carry its own ``_id``: with an upsert, MongoDB takes the id
        from the filter, but the embedded server does not, so the id is always stated twice.
        """
        return await self._batches.submit(doc)

    async def _write_many(self, docs: list[dict[str, Any]]) -> list[bool]:
        # Measuring (and rarely cutting) a document is CPU work: off the event loop, in one hop.
        fitted = await asyncio.to_thread(self._fit_all, docs)
        # Most reports are written once: a plain insert is the cheapest way to say so. Only a
        # redelivery, a takeover or a requeue finds a document and goes on to the fenced replace.
        try:
            await self._collection.insert_many(fitted, ordered=False)
            return [True] * len(docs)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            refused = [e for e in errors if e.get("code") != DUPLICATE_KEY]
            if refused:
                raise WriteError(refused[0].get("errmsg", "refused"), refused[0].get("code"),
                                 refused[0]) from exc
            existing = {e["index"] for e in errors}
        return [await self._replace(doc) if n in existing else True
                for n, doc in enumerate(fitted)]

    async def _replace(self, doc: dict[str, Any]) -> bool:
        try:
            await self._collection.replace_one({"_id": doc["_id"], "fence": {"$lte": doc["fence"]}},
                                               doc, upsert=True)
        except DuplicateKeyError:
            return False
        return True

    def _fit_all(self, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self._fit(doc) for doc in docs]

    def _fit(self, doc: dict[str, Any]) -> dict[str, Any]:
        fitted = fit_execution(doc, self._max_bytes)
        if fitted is not doc:
            marker = fitted["truncated"]
            log.warning(
                "execution of report %s cut from %d to %d bytes (%s)",
                doc["_id"], marker["original_bytes"], marker["kept_bytes"], marker["rule"],
                extra={"trace_id": doc.get("trace_id")},
            )
        return {**fitted, "fence": fence_rank(doc["generation"], doc["attempt"])}


class EventBuffer:
    """Collects event documents and writes them in batches from a background task."""

    def __init__(self, db: AsyncDatabase, *, interval_s: float = 0.1, max_batch: int = 500,
                 max_buffered: int = 100_000) -> None:
        self._collection = db[EVENTS]
        self._interval_s = interval_s
        self._max_batch = max_batch
        self._max_buffered = max_buffered
        self._pending: list[dict[str, Any]] = []
        self._wakeup = asyncio.Event()  # there is something to write
        self._full = asyncio.Event()  # a whole batch is waiting
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._flushing = asyncio.Lock()
        self.written = 0
        self.duplicates = 0

    def add(self, event: dict[str, Any]) -> None:
        """Queues one event; never blocks and never raises for a store outage."""
        if len(self._pending) >= self._max_buffered:
            log.error("event buffer full while the log store is down; dropped %s", event["_id"])
            return
        self._pending.append(event)
        self._wakeup.set()
        if len(self._pending) >= self._max_batch:
            self._full.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="event-buffer")

    async def close(self, timeout_s: float = 5.0) -> None:
        """Writes what is buffered (trying for up to ``timeout_s``), then stops."""
        self._closing = True
        self._wakeup.set()
        self._full.set()
        if self._task:
            try:
                await asyncio.wait_for(self._task, timeout_s)
            except TimeoutError:
                log.error("log store unreachable at shutdown: %d events not written",
                          len(self._pending))
        self._task = None

    async def flush(self) -> None:
        """Writes every buffered event now; raises if the store is unreachable."""
        async with self._flushing:
            while self._pending:
                batch = self._pending[: self._max_batch]
                await self._insert(batch)
                del self._pending[: len(batch)]

    async def _run(self) -> None:
        backoff = self._interval_s
        while True:
            if not self._closing and not self._pending:
                self._wakeup.clear()
                await self._wakeup.wait()  # idle: sleep until the first event
            if not self._closing and len(self._pending) < self._max_batch:
                self._full.clear()
                with contextlib.suppress(TimeoutError):  # let a batch gather
                    await asyncio.wait_for(self._full.wait(), self._interval_s)
            try:
                await self.flush()
                backoff = self._interval_s
            except Exception as exc:  # a store outage: keep the events and try again
                log.warning("writing events failed, retrying in %.1fs: %s", backoff, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if self._closing:
                return

    async def _insert(self, batch: list[dict[str, Any]]) -> None:
        started = time.perf_counter()
        try:
            await self._collection.insert_many(batch, ordered=False)
            inserted = len(batch)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            others = [e for e in errors if e.get("code") != DUPLICATE_KEY]
            if others:
                # Refused documents would be refused again: report them and move on.
                log.error("log store refused %d events, e.g. %s", len(others),
                          others[0].get("errmsg"))
            inserted = int(exc.details.get("nInserted", len(batch) - len(errors)))
            self.duplicates += len(errors) - len(others)
        self.written += inserted
        log.debug("wrote %d events in %.1f ms", inserted, (time.perf_counter() - started) * 1e3)
