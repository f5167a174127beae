"""The one LISTEN connection per process that feeds every live event stream.

PostgreSQL notifies channel ``omniflow_reports`` on every status or progress change (a trigger
in the schema does it, whoever made the change). Each gateway process holds ONE listening
connection, however many browsers watch, and fans each notification out to its subscribers:
a learner's stream gets only their own reports, an admin's gets all of them.

Every subscriber has a bounded queue. A consumer that reads too slowly loses the OLDEST events,
never blocks the others, and is told how many it missed (a ``lagged`` event), so it can fetch
the current state with ``GET /reports``. If the listening connection drops (PostgreSQL
restarts), the hub reconnects with backoff and sends every subscriber a ``resync`` event,
because notifications sent while nobody listened are gone for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from omniflow.gateway.security import Principal

log = logging.getLogger("omniflow.gateway.listener")

CHANNEL = "omniflow_reports"
# Names the listening connection in pg_stat_activity.
APPLICATION_NAME = "omniflow-gateway-events"
QUEUE_SIZE = 256
HEALTH_CHECK_S = 10.0


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    data: str
    id: str | None = None


@dataclass(eq=False)
class Subscriber:
    """One open event stream: what it may see and what it has not read yet."""

    owner_id: int | None  # None: sees every report (an admin).
    queue: asyncio.Queue[Event] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    dropped: int = 0

    def offer(self, event: Event) -> None:
        """Queues ``event``, dropping the oldest one if the reader has fallen behind."""
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)


class EventHub:
    """Owns the process's LISTEN connection and its subscribers."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._by_owner: dict[int, set[Subscriber]] = {}
        self._everything: set[Subscriber] = set()
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    @property
    def subscriber_count(self) -> int:
        return len(self._everything) + sum(len(s) for s in self._by_owner.values())

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen_forever(), name="event-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    @contextlib.contextmanager
    def subscribe(self, principal: Principal) -> Iterator[Subscriber]:
        """Registers a stream for as long as the ``with`` block runs."""
        sub = Subscriber(owner_id=None if principal.is_admin else principal.user_id)
        group = (self._everything if sub.owner_id is None
                 else self._by_owner.setdefault(sub.owner_id, set()))
        group.add(sub)
        try:
            yield sub
        finally:
            group.discard(sub)
            if sub.owner_id is not None and not group:
                self._by_owner.pop(sub.owner_id, None)

    def publish(self, payload: dict[str, Any]) -> None:
        """Hands a report change to everyone allowed to see it."""
        event = Event(
            kind="report",
            data=json.dumps(payload, separators=(",", ":")),
            id=f"{payload.get('id')}:{payload.get('generation')}:{payload.get('updated_at')}",
        )
        for sub in self._everything:
            sub.offer(event)
        for sub in self._by_owner.get(payload.get("owner_id"), ()):  # type: ignore[arg-type]
            sub.offer(event)

    def broadcast(self, event: Event) -> None:
        for sub in self._everything:
            sub.offer(event)
        for group in self._by_owner.values():
            for sub in group:
                sub.offer(event)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        if not self._everything and not self._by_owner:
            return
        try:
            data = json.loads(payload)
        except ValueError:
            log.warning("ignored a malformed notification: %.80s", payload)
            return
        self.publish(data)

    async def _listen_forever(self) -> None:
        backoff = 0.2
        lost_before = False
        while True:
            try:
                conn = await asyncpg.connect(
                    self._url, timeout=5, server_settings={"application_name": APPLICATION_NAME})
            except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
                log.warning("event stream cannot listen (%s); retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            closed = asyncio.Event()
            conn.add_termination_listener(lambda _c, event=closed: event.set())
            try:
                await conn.add_listener(CHANNEL, self._on_notify)
                self.listening.set()
                backoff = 0.2
                log.info("listening for report changes on %s", CHANNEL)
                if lost_before:
                    self.broadcast(Event(kind="resync", data='{"reason":"listener reconnected"}'))
                await self._hold(conn, closed)
            except (OSError, TimeoutError, asyncpg.PostgresError,
                    asyncpg.InterfaceError) as exc:
                log.warning("event stream listener lost: %s", exc)
            finally:
                self.listening.clear()
                lost_before = True
                with contextlib.suppress(Exception):
                    await conn.close(timeout=1)
            await asyncio.sleep(backoff)

    async def _hold(self, conn: asyncpg.Connection, closed: asyncio.Event) -> None:
        """Returns when the connection is gone; a periodic query catches a silent death."""
        while not closed.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closed.wait(), HEALTH_CHECK_S)
            if not closed.is_set():
                await conn.fetchval("SELECT 1", timeout=5)
        log.warning("event stream listener connection closed")
