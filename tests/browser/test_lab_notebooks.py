"""The client form and the monitor in a real JupyterLab 4, as a learner sees them."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import nbformat
import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import COLUMN_JS, POINTS_JS, Lab, open_notebook, run_all_cells
from tests.client.accounts import PASSWORD

pytestmark = pytest.mark.browser


async def points(page: Page, name: str = "omniflow-rate") -> int:
    return await page.evaluate(POINTS_JS, name)


async def wait_for_points(page: Page, artifacts: Path, *, minimum: int,
                          timeout_s: float) -> None:
    """Waits for the chart's data to arrive; on time-out, keeps a picture of the page."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while await points(page) < minimum:
        if asyncio.get_running_loop().time() > deadline:
            await page.screenshot(path=artifacts / "monitor-notebook-timeout.png", full_page=True)
            outputs = await page.locator(".jp-OutputArea-output").all_inner_texts()
            pytest.fail(f"no points after {timeout_s} s; outputs: {outputs}")
        await asyncio.sleep(0.5)


async def assert_no_broken_output(page: Page) -> None:
    await expect(page.get_by_text("Error displaying widget")).to_have_count(0)
    await expect(page.locator(".jp-OutputArea-output", has_text="Traceback")).to_have_count(0)


async def test_monitor_notebook_streams_into_the_browser(page: Page, lab: Lab,
                                                         artifacts: Path) -> None:
    await open_notebook(page, lab, "07-monitor.ipynb")
    await run_all_cells(page)

    # The chart is drawn with no points; every point after that arrives by a push.
    await wait_for_points(page, artifacts, minimum=1, timeout_s=90)
    counts = []
    for _ in range(6):
        counts.append(await points(page))
        await asyncio.sleep(1.0)
    assert counts == sorted(counts) and counts[-1] >= counts[0] + 3, counts

    chart = page.locator("div[data-root-id]").last
    await chart.scroll_into_view_if_needed()
    await page.screenshot(path=artifacts / "monitor-notebook.png")

    checked = page.locator(".jp-OutputArea-output",
                           has_text="At least the whole batch reached DONE while we watched")
    await expect(checked).to_be_visible(timeout=90_000)
    done = await page.evaluate(COLUMN_JS, ["omniflow-status", "DONE"])
    assert done[-1] - done[0] >= 8, "the notebook's batch shows in the browser's data too"
    assert await points(page) >= 10
    await assert_no_broken_output(page)


async def test_client_form_processes_a_report_from_a_click(page: Page, lab: Lab,
                                                           artifacts: Path) -> None:
    scratch = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from omniflow.client import ClientApp\n\napp = ClientApp()\napp")])
    scratch.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                      "language": "python"}
    nbformat.write(scratch, lab.root / "client-in-browser.ipynb")

    await open_notebook(page, lab, "client-in-browser.ipynb")
    await run_all_cells(page)
    await page.get_by_placeholder("you@example.org").fill(f"browser-{secrets.token_hex(5)}"
                                                          "@example.org")
    await page.get_by_placeholder("8 characters or more").fill(PASSWORD)
    await page.get_by_role("button", name="Sign up").click()
    await expect(page.get_by_text("Account created: signed in as")).to_be_visible(timeout=30_000)

    await page.locator(".widget-dropdown", has_text="report type").locator("select") \
        .select_option("user_activity")
    await page.get_by_role("button", name="Process report").click()

    card = page.locator("[data-report-id]")
    await expect(card).to_be_visible(timeout=30_000)
    await expect(card.locator('[data-status="DONE"]')).to_be_visible(timeout=60_000)
    await expect(page.get_by_text("1 report(s).")).to_be_visible(timeout=10_000)
    await expect(page.locator(".widget-gridbox").get_by_text("user_activity")).to_be_visible()
    await page.screenshot(path=artifacts / "client-form.png")
    await assert_no_broken_output(page)
