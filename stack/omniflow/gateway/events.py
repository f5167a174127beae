"""Live report status changes as server-sent events (``GET /events``).

The events come from the process's ``EventHub`` (see ``listener``), which turns PostgreSQL
notifications into per-subscriber queues; this module only writes them out in the
``text/event-stream`` format with sse-starlette.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from omniflow.gateway.auth import CurrentUser
from omniflow.gateway.listener import EventHub
from omniflow.gateway.openapi import problems

log = logging.getLogger("omniflow.gateway.events")

PING_S = 15

router = APIRouter(tags=["events"])


@router.get(
    "/events",
    summary="Live report changes (server-sent events)",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {"example": (
        "event: ready\ndata: {\"scope\":\"own\"}\n\n"
        "event: report\nid: 0b9f…:1:2026-12-05T09:30:01Z\n"
        "data: {\"id\":\"0b9f…\",\"owner_id\":7,\"status\":\"PROCESSING\",\"progress\":40,"
        "\"generation\":1,\"failure_reason\":null,\"updated_at\":\"2026-12-05T09:30:01Z\"}\n\n"
    )}}, "description": "An endless event stream."}, **problems(401)},
)
async def events(request: Request, principal: CurrentUser) -> EventSourceResponse:
    """Streams `report` events for the caller's reports (an admin: everyone's).

    Browsers' `EventSource` cannot send headers, so the token may also come as
    `?access_token=`. The stream starts with a `ready` event once it is subscribed; `lagged`
    (events were dropped for a slow reader) and `resync` (the server's listener reconnected)
    mean: fetch the current state again. A comment line is sent every 15 s to keep proxies
    from closing the connection.
    """
    hub: EventHub = request.app.state.resources.events

    async def stream() -> AsyncIterator[ServerSentEvent]:
        with hub.subscribe(principal) as sub:
            scope = "all" if sub.owner_id is None else "own"
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(hub.listening.wait(), 5)
            yield ServerSentEvent(event="ready", data=json.dumps(
                {"scope": scope, "listening": hub.listening.is_set()}))
            while True:
                event = await sub.queue.get()
                if sub.dropped:
                    yield ServerSentEvent(event="lagged", data=json.dumps(
                        {"dropped": sub.dropped}))
                    sub.dropped = 0
                yield ServerSentEvent(event=event.kind, data=event.data, id=event.id)

    log.info("event stream opened for user %s", principal.user_id)
    return EventSourceResponse(stream(), ping=PING_S, headers={"Cache-Control": "no-store"})
