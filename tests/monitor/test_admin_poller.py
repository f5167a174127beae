"""The poller reads the admin API into snapshots: what the charts will draw."""

from __future__ import annotations

import asyncio

import pytest

from omniflow.client import ApiError, GatewayApi, GatewayUnreachable
from omniflow.monitor import AdminPoller
from omniflow.monitor.snapshot import STATUSES
from omniflow.settings import Settings
from tests.client.accounts import PASSWORD, closed_port
from tests.monitor.conftest import run_reports


async def test_a_snapshot_has_counts_backlog_and_workers(poller: AdminPoller) -> None:
    snap = await poller.poll()

    assert tuple(snap.status_counts) == STATUSES
    assert all(count >= 0 for count in snap.status_counts.values())
    assert snap.workers, "the stack runs workers; the broker state should list them"
    assert snap.queue_depth == snap.consumer_lag + snap.pending >= 0
    assert snap.processed_per_s == 0.0  # One reading is no rate yet.


async def test_finished_jobs_show_in_counts_rate_and_latency(poller: AdminPoller,
                                                           learner: GatewayApi) -> None:
    before = await poller.poll()

    work = asyncio.ensure_future(run_reports(learner, 12))
    rates = []
    while not work.done():
        rates.append((await poller.poll()).processed_per_s)
        await asyncio.sleep(0.3)
    finished = await work
    # Workers flush their counters a moment after the report is DONE in PostgreSQL: the signals
    # are eventually consistent, so give the last flush a few polls to land.
    for _ in range(20):
        after = await poller.poll()
        if after.processed_total >= before.processed_total + 12:
            break
        await asyncio.sleep(0.25)

    assert all(report.status == "DONE" for report in finished)
    assert after.status_counts["DONE"] >= before.status_counts["DONE"] + 12
    assert after.processed_total >= before.processed_total + 12
    assert max([*rates, after.processed_per_s]) > 0
    assert after.latency_samples > 0 and after.p50_ms is not None
    assert after.p50_ms <= after.p95_ms <= after.p99_ms
    assert sum(after.worker_per_s.values()) == pytest.approx(after.processed_per_s)


async def test_a_learner_is_not_let_in(settings: Settings, learner: GatewayApi) -> None:
    intruder = AdminPoller(settings.gateway_url, email=learner.email, password=PASSWORD)
    try:
        with pytest.raises(ApiError) as refused:
            await intruder.poll()
    finally:
        await intruder.aclose()

    assert refused.value.status == 403
    assert refused.value.message == ("Not allowed to read the broker's state: this endpoint is "
                                     "for administrators.")


async def test_an_unreachable_gateway_raises_a_readable_error() -> None:
    offline = AdminPoller(f"http://127.0.0.1:{closed_port()}", timeout_s=2)
    try:
        with pytest.raises(GatewayUnreachable, match="Cannot reach the gateway at"):
            await offline.poll()
    finally:
        await offline.aclose()


async def test_pollers_in_one_process_share_the_admin_token(settings: Settings) -> None:
    first, second = AdminPoller(settings.gateway_url), AdminPoller(settings.gateway_url)
    try:
        await first.poll()
        await second.poll()
        assert second.api.token == first.api.token
    finally:
        await first.aclose()
        await second.aclose()
