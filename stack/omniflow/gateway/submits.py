"""Group commit for submits: concurrent submits share one statement and one commit.

Every submit must be durable before it is answered 202, so every submit pays for a commit,
that is, a flush of the write-ahead log to disk (a few milliseconds here). Worse, the schema's
NOTIFY triggers make PostgreSQL take a database-wide lock at commit time, held across that
flush, so transactions that notify commit strictly one after another. One transaction per
submit therefore tops out at a few hundred submits a second, however many connections try.

So submits go through a ``GroupCommit``: everything queued while the previous batch was being
written goes out as ONE statement (``queries.SUBMIT_BATCH``), one round trip and one commit.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from omniflow.batching import GroupCommit
from omniflow.gateway import database, queries

log = logging.getLogger("omniflow.gateway.submits")

MAX_BATCH = 256
# Batches written at once, each for its own share of the owners.
LANES = 2


@dataclass(frozen=True, slots=True)
class Submit:
    """One validated submit, ready to be written."""

    report_id: uuid.UUID
    owner_id: int
    type: str
    params: dict[str, Any]
    trace_id: str
    idempotency_key: str | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the statement did with one submit.

    ``row`` is the created report (``is_new``) or the earlier one with the same key; it is
    None when the owner's unfinished reports were at the limit, or when a concurrent submit
    with the same key won and is not visible to this statement yet.
    """

    row: Any
    is_new: bool
    unfinished: int


class SubmitBatcher:
    """Writes submits in batches; ``submit`` returns when the caller's batch is committed."""

    def __init__(self, pool: asyncpg.Pool, max_unfinished: int) -> None:
        self._pool = pool
        self._limit = max_unfinished
        # One batch at a time per lane, and each owner always in the same lane: two batches in
        # flight never hold submits of the same owner, so each one's unfinished count already
        # includes everything that owner had submitted before it (the limit is exact).
        self._lanes: list[GroupCommit[Submit, Outcome]] = [
            GroupCommit(self._write, max_batch=MAX_BATCH,
                        transient=(database.DatabaseUnavailable, *database.CONNECTION_ERRORS),
                        name="submit")
            for _ in range(LANES)
        ]

    async def submit(self, item: Submit) -> Outcome:
        return await self._lanes[item.owner_id % LANES].submit(item)

    async def _write(self, items: list[Submit]) -> list[Outcome]:
        async def second_try(conn: asyncpg.Connection) -> list[Outcome]:
            # The first try may have committed before its connection died: keep what it wrote
            # and submit only the rest again.
            ids = [item.report_id for item in items]
            saved = {row["id"]: row for row in await conn.fetch(queries.REPORTS_BY_IDS, ids)}
            if saved:
                log.warning("a lost batch had committed %d of %d submits", len(saved),
                            len(items))
            rest = [item for item in items if item.report_id not in saved]
            again = iter(await self._run(conn, rest))
            return [Outcome(row=saved[item.report_id], is_new=True, unfinished=0)
                    if item.report_id in saved else next(again) for item in items]

        return await database.run(self._pool, lambda conn: self._run(conn, items),
                                  retry=second_try, name="submit")

    async def _run(self, conn: asyncpg.Connection, items: list[Submit]) -> list[Outcome]:
        if not items:
            return []
        rows = await conn.fetch(
            queries.SUBMIT_BATCH,
            [item.report_id for item in items],
            [item.owner_id for item in items],
            [item.type for item in items],
            [item.params for item in items],
            [item.trace_id for item in items],
            [item.idempotency_key for item in items],
            self._limit,
        )
        return [Outcome(row=row if row["id"] is not None else None, is_new=bool(row["is_new"]),
                        unfinished=row["unfinished"]) for row in rows]
