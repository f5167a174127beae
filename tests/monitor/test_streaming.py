"""The monitor's data sources really stream, and never hold more than the rollover."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from omniflow.client import GatewayApi
from omniflow.monitor import LiveMonitor
from omniflow.settings import Settings
from tests.client.accounts import closed_port
from tests.monitor.conftest import run_reports

SERIES = ("rate", "status", "queue", "latency", "failures")


@pytest.fixture
async def monitors(settings: Settings) -> AsyncIterator[list[LiveMonitor]]:
    made: list[LiveMonitor] = []
    yield made
    for monitor in made:
        await monitor.close()


def new_monitor(made: list[LiveMonitor], url: str, **options: object) -> LiveMonitor:
    monitor = LiveMonitor(url, **options)
    made.append(monitor)
    return monitor


def lengths(monitor: LiveMonitor) -> set[int]:
    return {len(monitor.dashboard.sources[key].data["x"]) for key in SERIES}


async def test_sources_grow_while_jobs_run(settings: Settings, learner: GatewayApi,
                                           monitors: list[LiveMonitor]) -> None:
    monitor = new_monitor(monitors, settings.gateway_url, interval_s=0.25, rollover=10_000)
    monitor.start()

    seen = []
    work = asyncio.ensure_future(run_reports(learner, 20))
    while not work.done():
        seen.append(monitor.dashboard.series_length())
        await asyncio.sleep(0.5)
    await work
    await asyncio.sleep(1.0)
    monitor.stop()

    assert len(lengths(monitor)) == 1, "every series gets one point per reading"
    assert seen == sorted(seen) and seen[-1] > seen[0], seen
    status = monitor.dashboard.sources["status"].data
    assert status["DONE"][-1] - status["DONE"][0] >= 20
    assert max(monitor.dashboard.sources["rate"].data["processed_per_s"]) > 0
    assert monitor.dashboard.sources["workers"].data["worker"]
    assert "processed/s" in monitor.dashboard.headline.text


async def test_sources_stay_bounded_by_the_rollover(settings: Settings,
                                                    monitors: list[LiveMonitor]) -> None:
    monitor = new_monitor(monitors, settings.gateway_url, interval_s=0.05, rollover=5)

    monitor.start(max_updates=15)
    await asyncio.wait_for(monitor.wait(), 30)

    assert monitor.updates == 15
    assert lengths(monitor) == {5}
    x = monitor.dashboard.sources["rate"].data["x"]
    assert list(x) == sorted(x)
    assert x[-1] == monitor.last.at * 1000


async def test_duration_ends_the_stream_by_itself(settings: Settings,
                                                  monitors: list[LiveMonitor]) -> None:
    monitor = new_monitor(monitors, settings.gateway_url, interval_s=0.2)
    await monitor.update_once()  # Logs in first: hashing the password takes a moment.

    monitor.start(duration_s=1.0)
    await asyncio.wait_for(monitor.wait(), 10)

    assert not monitor.running
    assert 2 <= monitor.updates - 1 <= 6
    assert monitor.status.value.startswith("Stopped after")


async def test_starting_again_leaves_no_old_task_streaming(settings: Settings,
                                                          monitors: list[LiveMonitor]) -> None:
    first = new_monitor(monitors, settings.gateway_url, interval_s=0.1)
    second = new_monitor(monitors, settings.gateway_url, interval_s=0.1)

    earlier_task = first.start()
    again = first.start()  # The same cell run twice.
    await asyncio.sleep(0.3)
    assert earlier_task.cancelled() and not again.done()

    second.start()  # A new monitor made by re-running the cell that creates it.
    await asyncio.sleep(0.3)
    frozen = first.dashboard.series_length()
    await asyncio.sleep(0.5)

    assert not first.running and second.running
    assert first.dashboard.series_length() == frozen
    second.stop()
    assert not second.running


async def test_an_unreachable_gateway_is_shown_not_raised(monitors: list[LiveMonitor]) -> None:
    monitor = new_monitor(monitors, f"http://127.0.0.1:{closed_port()}", interval_s=0.1)

    assert await monitor.update_once() is None

    assert monitor.problem is not None and monitor.problem.startswith("Cannot reach the gateway")
    assert "Cannot reach the gateway" in monitor.dashboard.headline.text
    assert monitor.updates == 0
