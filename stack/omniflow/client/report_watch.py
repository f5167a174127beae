"""Follows one report until it finishes by asking the gateway for it every half second.

Polling ``GET /reports/{id}`` is the simplest way to see a status change: one request, no
connection to keep open. The loop runs as a task on the kernel's event loop, so the notebook
stays usable. A gateway that stops answering does not end the watch: the problem is reported,
the interval grows a little, and the watch resumes when the gateway is back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from omniflow.client.gateway_api import GatewayApi
from omniflow.client.problems import GatewayUnreachable
from omniflow.client.report import Report

log = logging.getLogger("omniflow.client")

POLL_INTERVAL_S = 0.5
MAX_INTERVAL_S = 5.0


async def follow_report(
    api: GatewayApi,
    report: Report,
    on_change: Callable[[Report], None],
    *,
    on_trouble: Callable[[str], None] | None = None,
    interval_s: float = POLL_INTERVAL_S,
) -> Report:
    """Calls ``on_change`` whenever the status or progress moves; returns the finished report.

    Note that an ``ApiError`` other than an unreachable gateway (a 401 after the token expired,
    a 404 for a report that vanished) ends the watch by propagating to the caller.
    """
    last = report
    on_change(last)
    delay = interval_s
    while not last.finished:
        await asyncio.sleep(delay)
        try:
            current = await api.get_report(last.id)
        except GatewayUnreachable as exc:
            if on_trouble is not None:
                on_trouble(exc.message)
            delay = min(delay * 2, MAX_INTERVAL_S)
            continue

        delay = interval_s
        if (current.status, current.progress, current.generation) != (
            last.status, last.progress, last.generation
        ):
            log.debug("report %s is %s (%s%%)", current.id, current.status, current.progress)
            on_change(current)
        last = current
    return last
