"""The admin panel inside a notebook: the dashboard, updated every second by a kernel task.

The streaming loop is an asyncio task on the kernel's own event loop, so cells keep running
while the charts move. After each update ``push_notebook`` sends only what changed (the new
points, the new headline) to the chart already drawn in the page. The traffic goes one way,
from the kernel to the browser, so the kernel's copy of the data stays exact.

One monitor streams at a time in a kernel: starting one stops the previous one, so running a
cell again never leaves an old loop behind. ``duration_s`` or ``max_updates`` make the loop end
by itself (for a notebook run from start to end without a person); without them it runs until
``stop()`` or the Stop button.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from typing import ClassVar

import ipywidgets as widgets
from bokeh.io import output_notebook, push_notebook, show
from bokeh.io.notebook import CommsHandle
from bokeh.io.state import curstate
from bokeh.resources import INLINE
from IPython.display import display

from omniflow.client.problems import ApiError
from omniflow.monitor.admin_poller import AdminPoller
from omniflow.monitor.dashboard import DEFAULT_ROLLOVER, Dashboard
from omniflow.monitor.rates import DEFAULT_WINDOW_S
from omniflow.monitor.snapshot import MonitorSnapshot

log = logging.getLogger("omniflow.monitor")

DEFAULT_INTERVAL_S = 1.0


def load_bokehjs() -> None:
    """Puts BokehJS into the page, from the installed package (this machine has no CDN)."""
    output_notebook(INLINE, hide_banner=True)


class LiveMonitor:
    """Polls the admin API and streams each reading into the dashboard's charts."""

    _streaming: ClassVar[LiveMonitor | None] = None

    def __init__(self, gateway_url: str | None = None, *,
                 interval_s: float = DEFAULT_INTERVAL_S, rollover: int = DEFAULT_ROLLOVER,
                 window_s: float = DEFAULT_WINDOW_S, poller: AdminPoller | None = None) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.interval_s = interval_s
        self.poller = poller or AdminPoller(gateway_url, window_s=window_s)
        self.dashboard = Dashboard(rollover=rollover, window_s=window_s)
        self.last: MonitorSnapshot | None = None
        self.problem: str | None = None
        self.readings = 0
        self._task: asyncio.Task[None] | None = None
        self._handle: CommsHandle | None = None

        self.status = widgets.HTML("Stopped.")
        self.start_button = widgets.Button(description="Start", icon="play")
        self.stop_button = widgets.Button(description="Stop", icon="stop", disabled=True)
        self.controls = widgets.HBox([self.start_button, self.stop_button, self.status])
        self.start_button.on_click(lambda _b: self.start())
        self.stop_button.on_click(lambda _b: self.stop())

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def updates(self) -> int:
        """Readings drawn so far (a failed reading draws nothing)."""
        return self.dashboard.updates

    def show(self) -> None:
        """Draws the controls and the charts in the current cell's output."""
        if not curstate().notebook:
            load_bokehjs()
        display(self.controls)
        self._handle = show(self.dashboard.layout, notebook_handle=True)

    def start(self, *, duration_s: float | None = None,
              max_updates: int | None = None) -> asyncio.Task[None]:
        """Starts streaming in the background; returns the task (``await`` it to wait)."""
        self.stop()
        previous = LiveMonitor._streaming
        if previous is not None and previous is not self:
            log.info("stopping the monitor started earlier in this kernel")
            previous.stop()
        LiveMonitor._streaming = self

        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._stream(duration_s, max_updates),
                                      name="omniflow monitor")
        self.start_button.disabled = True
        self.stop_button.disabled = False
        return self._task

    def stop(self) -> None:
        """Stops streaming; the charts keep what they show."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None
        self.start_button.disabled = False
        self.stop_button.disabled = True

    async def wait(self) -> None:
        """Waits until the streaming loop ends (by its limit, or by ``stop()``)."""
        task = self._task
        if task is None:
            return
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.cancelled():
                raise

    async def close(self) -> None:
        """Stops streaming and closes the connections and the controls."""
        self.stop()
        if LiveMonitor._streaming is self:
            LiveMonitor._streaming = None
        await self.poller.aclose()
        self.controls.close()
        for child in self.controls.children:
            child.close()

    async def _stream(self, duration_s: float | None, max_updates: int | None) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        taken = 0
        self._set_status("Streaming…")
        log.info("monitor streaming every %.1f s", self.interval_s)
        try:
            while True:
                if duration_s is not None and loop.time() - started >= duration_s:
                    break
                if max_updates is not None and taken >= max_updates:
                    break
                tick = loop.time()
                await self.update_once()
                taken += 1
                await asyncio.sleep(max(0.0, self.interval_s - (loop.time() - tick)))
        finally:
            self.start_button.disabled = False
            self.stop_button.disabled = True
            self._set_status(f"Stopped after {taken} readings.")
            log.info("monitor stopped after %d readings", taken)

    async def update_once(self) -> MonitorSnapshot | None:
        """Takes one reading and draws it; a gateway problem is shown, not raised."""
        self.readings += 1
        try:
            snapshot = await self.poller.poll()
        except ApiError as exc:
            self.problem = exc.message
            self.dashboard.show_problem(exc.message)
            self._set_status(f"Reading {self.readings} failed: {exc.message}")
            self._push()
            return None

        self.problem = None
        self.last = snapshot
        self.dashboard.update(snapshot)
        self._push()
        self._set_status(f"Streaming: {self.dashboard.updates} readings, last at "
                         f"{time.strftime('%H:%M:%S', time.localtime(snapshot.at))}.")
        return snapshot

    def _push(self) -> None:
        if self._handle is not None:
            push_notebook(handle=self._handle)

    def _set_status(self, text: str) -> None:
        self.status.value = html.escape(text)
