"""A real JupyterLab and a real headless Chromium, both started here and stopped by their PIDs.

JupyterLab serves a temporary copy of the lesson notebooks (so a run never changes the
committed ones) with a token, on a free port of 127.0.0.1, and its kernels inherit the test
stack's ``OMNIFLOW_*`` variables. Chromium is Debian's, driven through Playwright.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeout

from tests.client.accounts import closed_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
LAB_START_TIMEOUT_S = 60

# Counts the points of one named data source in every Bokeh document of the page.
POINTS_JS = """(name) => {
    const docs = (window.Bokeh && window.Bokeh.documents) || [];
    let most = -1;
    for (const doc of docs) {
        const source = doc.get_model_by_name(name);
        if (source) { most = Math.max(most, source.get_length() ?? 0); }
    }
    return most;
}"""

# Reads one column of one named data source (the first document that has it).
COLUMN_JS = """([name, column]) => {
    for (const doc of (window.Bokeh && window.Bokeh.documents) || []) {
        const source = doc.get_model_by_name(name);
        if (source) { return Array.from(source.data[column] ?? source.data.get(column)); }
    }
    return null;
}"""


@dataclass(frozen=True)
class Lab:
    url: str
    token: str
    root: Path
    pid: int

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?token={self.token}&reset"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory, settings: object) -> Iterator[Lab]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: run `make browser` (or apt-get install -y chromium)",
                    pytrace=False)
    base = tmp_path_factory.mktemp("lab")
    root = base / "notebooks"
    shutil.copytree(ROOT / "notebooks", root, ignore=shutil.ignore_patterns("src", ".*"))
    settings_dir = base / "user-settings"
    quiet = settings_dir / "@jupyterlab" / "apputils-extension"
    quiet.mkdir(parents=True)
    (quiet / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))

    port, token = closed_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(settings_dir),
           "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces")}
    log = (base / "jupyterlab.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", "--port-retries=0", f"--ServerApp.root_dir={root}",
         f"--IdentityProvider.token={token}", "--ServerApp.log_level=WARN",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        cwd=base, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, token, process)
        yield Lab(url=url, token=token, root=root, pid=process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_until_up(url: str, token: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + LAB_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited early with code {process.returncode}")
        try:
            if httpx.get(f"{url}/api/status", params={"token": token}, timeout=2).is_success:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"JupyterLab did not answer within {LAB_START_TIMEOUT_S} s")


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                    args=CHROMIUM_FLAGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = await context.new_page()
    yield tab
    await context.close()


async def open_notebook(page: Page, lab: Lab, name: str) -> None:
    """Opens a notebook and waits until its kernel is idle."""
    await page.goto(lab.notebook_url(name))
    await page.wait_for_selector(".jp-Notebook", timeout=60_000)
    await accept_kernel_choice(page)
    await page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]',
                                 timeout=60_000)


async def accept_kernel_choice(page: Page, timeout_ms: int = 5_000) -> None:
    """Accepts the proposed kernel if Lab asks (it does when its kernel list came late)."""
    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    try:
        await dialog.wait_for(state="visible", timeout=timeout_ms)
    except PlaywrightTimeout:
        return
    await dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    await dialog.wait_for(state="hidden")


async def run_all_cells(page: Page) -> None:
    """Run → Run All Cells, from the menu bar (JupyterLab 4 binds no key to it)."""
    await page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    await page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
    await accept_kernel_choice(page, timeout_ms=2_000)
