"""Makes some work for the stack: many reports at once, then waits for all of them.

The monitor lesson needs traffic to watch; a test needs finished jobs to count. Submitting is
concurrent (the gateway answers each request at once), and waiting polls each report until it
has finished, like the form does for one.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from omniflow.client.gateway_api import GatewayApi
from omniflow.client.report import Report
from omniflow.client.report_watch import follow_report

log = logging.getLogger("omniflow.client")


async def submit_many(api: GatewayApi, count: int, *, report_type: str = "user_activity",
                      params: dict[str, Any] | None = None) -> list[Report]:
    """Submits ``count`` reports of one type at once; returns them as accepted (PENDING)."""
    chosen = params if params is not None else {"days": 1, "top": 3}
    reports = await asyncio.gather(*(api.submit_report(report_type, chosen)
                                     for _ in range(count)))
    log.info("submitted %d %s reports", count, report_type)
    return list(reports)


async def wait_for_all(api: GatewayApi, reports: list[Report], *, timeout_s: float = 120.0,
                       interval_s: float = 0.5) -> list[Report]:
    """Waits until every report has finished; returns their final states, in the same order."""
    async with asyncio.timeout(timeout_s):
        return list(await asyncio.gather(*(
            follow_report(api, report, _ignore, interval_s=interval_s) for report in reports
        )))


def _ignore(_report: Report) -> None:
    return None
