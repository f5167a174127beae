"""Live events: a learner sees their own reports change, never anyone else's."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator

import httpx

from omniflow.gateway.listener import APPLICATION_NAME, QUEUE_SIZE, Event, Subscriber
from omniflow.settings import Settings
from tests.gateway.conftest import User, assert_problem
from tests.gateway.test_reports import park
from tests.helpers import submit


class Stream:
    """Collects the events of one open ``/events`` response."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict]] = []
        self.ready = asyncio.Event()
        self.changed = asyncio.Event()

    def reports(self, report_id: str) -> list[str]:
        return [data["status"] for kind, data in self.events
                if kind == "report" and data["id"] == report_id]

    async def wait_for(self, report_id: str, status: str, timeout: float = 10) -> None:
        async with asyncio.timeout(timeout):
            while status not in self.reports(report_id):
                self.changed.clear()
                await self.changed.wait()


@contextlib.asynccontextmanager
async def listen(settings: Settings, *, headers: dict | None = None,
                 params: dict | None = None) -> AsyncIterator[Stream]:
    stream = Stream()

    async def read(client: httpx.AsyncClient) -> None:
        async with client.stream("GET", "/events", headers=headers, params=params) as response:
            assert response.status_code == 200
            kind = None
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    kind = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and kind:
                    stream.events.append((kind, json.loads(line.split(":", 1)[1])))
                    if kind == "ready":
                        stream.ready.set()
                    stream.changed.set()

    async with httpx.AsyncClient(base_url=settings.gateway_url, timeout=30) as client:
        task = asyncio.create_task(read(client))
        try:
            async with asyncio.timeout(10):
                await stream.ready.wait()
            yield stream
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_learner_stream_shows_own_transitions_only(http, pg, settings, admin: User,
                                                         alice: User, bob: User) -> None:
    async with (
        listen(settings, headers=alice.headers) as alices,
        listen(settings, params={"access_token": bob.token}) as bobs,
        listen(settings, headers=admin.headers) as admins,
    ):
        [mine] = await park(pg, alice.id)
        theirs = (await submit(http, bob.token))["id"]
        for status, progress in (("PROCESSING", 50), ("DONE", 100)):
            await pg.execute("UPDATE reports SET status = $2, progress = $3 WHERE id = $1",
                             uuid.UUID(mine), status, progress)

        await alices.wait_for(mine, "DONE")
        await bobs.wait_for(theirs, "PENDING")
        await admins.wait_for(mine, "DONE")
        await admins.wait_for(theirs, "PENDING")

    assert alices.reports(mine) == ["PENDING", "PROCESSING", "DONE"]
    assert alices.reports(theirs) == []
    assert bobs.reports(mine) == []
    assert alices.events[0] == ("ready", {"scope": "own", "listening": True})
    assert admins.events[0][1]["scope"] == "all"


async def test_events_need_a_valid_token(http) -> None:
    missing = await http.get("/events")
    forged = await http.get("/events", params={"access_token": "a.b.c"})

    assert_problem(missing, 401)
    assert_problem(forged, 401)


async def test_stream_resyncs_and_resumes_after_the_listener_is_killed(pg, settings,
                                                                      alice: User) -> None:
    async with listen(settings, headers=alice.headers) as stream:
        killed = await pg.fetchval(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = $1", APPLICATION_NAME)
        async with asyncio.timeout(15):
            while not any(kind == "resync" for kind, _ in stream.events):
                stream.changed.clear()
                await stream.changed.wait()
        [report_id] = await park(pg, alice.id)
        await stream.wait_for(report_id, "PENDING")

    assert killed >= 1


def test_a_slow_subscriber_loses_the_oldest_events_and_is_told() -> None:
    sub = Subscriber(owner_id=1)

    for n in range(QUEUE_SIZE + 44):
        sub.offer(Event(kind="report", data=str(n)))

    assert sub.dropped == 44
    assert sub.queue.qsize() == QUEUE_SIZE
    assert sub.queue.get_nowait().data == "44"
