"""The standalone monitor: a Bokeh server app on 127.0.0.1, streaming into a real browser."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Page

from omniflow.client import GatewayApi, submit_many, wait_for_all
from omniflow.settings import Settings
from tests.browser.conftest import COLUMN_JS, POINTS_JS
from tests.client.accounts import PASSWORD, closed_port, unique_email

pytestmark = pytest.mark.browser


@pytest.fixture
def monitor_url(settings: Settings, tmp_path: Path) -> Iterator[str]:
    port = closed_port()
    log = (tmp_path / "monitor.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "omniflow.monitor", "--port", str(port), "--interval", "0.5"],
        env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        # Only the port is probed: each page load opens a session, with its own admin poller.
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, "the monitor server exited early"
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert time.monotonic() < deadline, "the monitor server did not start listening"
            time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


async def test_the_server_app_streams_into_a_browser(page: Page, monitor_url: str,
                                                     settings: Settings,
                                                     artifacts: Path) -> None:
    await page.goto(monitor_url)
    await page.wait_for_function(f"({POINTS_JS})('omniflow-rate') >= 2", timeout=30_000)
    first = await page.evaluate(POINTS_JS, "omniflow-rate")

    learner = GatewayApi(settings.gateway_url)
    try:
        await learner.signup(email := unique_email("server"), PASSWORD)
        await learner.login(email, PASSWORD)
        await wait_for_all(learner, await submit_many(learner, 6), interval_s=0.3)
    finally:
        await learner.aclose()
    await asyncio.sleep(1.5)  # The next readings see the finished batch.

    later = await page.evaluate(POINTS_JS, "omniflow-rate")
    done = await page.evaluate(COLUMN_JS, ["omniflow-status", "DONE"])
    assert later >= first + 3
    assert done[-1] - done[0] >= 6
    headline = await page.evaluate(
        "() => window.Bokeh.documents[0].get_model_by_name('omniflow-headline').text")
    assert "processed/s" in headline
    await page.screenshot(path=artifacts / "monitor-server.png")
