"""Runs the work a button starts as a task on the kernel's event loop.

A widget callback is an ordinary function called by the kernel; if it waited for the gateway
itself, the whole notebook would freeze until the answer came. Instead the callback hands a
coroutine to ``Background.spawn`` and returns at once. The task runs on the loop the kernel
already runs, errors are turned into a message for the widget instead of a traceback, and
``settle()`` lets code (a test, a notebook cell) wait until every started action is over.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from omniflow.client.problems import ApiError

log = logging.getLogger("omniflow.client")

ErrorSink = Callable[[str], None]


class Background:
    """Starts, tracks and cancels the tasks behind one app's buttons."""

    def __init__(self, on_error: ErrorSink) -> None:
        self._on_error = on_error
        self._tasks: set[asyncio.Task[Any]] = set()
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None

    @property
    def busy(self) -> bool:
        return any(not task.done() for task in self._tasks)

    def spawn(self, work: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Schedules ``work``; an ``ApiError`` it raises is shown, not raised."""
        loop = self._loop_for_now()
        task = loop.create_task(self._guarded(work, name), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def settle(self, timeout_s: float = 30.0) -> None:
        """Waits until no started task is left, including tasks started by those tasks."""
        async with asyncio.timeout(timeout_s):
            while True:
                current = asyncio.current_task()
                pending = [task for task in self._tasks if task is not current and not task.done()]
                if not pending:
                    return
                await asyncio.wait(pending)

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def _loop_for_now(self) -> asyncio.AbstractEventLoop:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        loop = running or self._loop
        if loop is None or loop.is_closed():
            raise RuntimeError("the client needs a running event loop (a Jupyter kernel has one)")
        self._loop = loop
        return loop

    async def _guarded(self, work: Coroutine[Any, Any, Any], name: str) -> Any:
        try:
            return await work
        except asyncio.CancelledError:
            raise
        except ApiError as exc:
            self._on_error(exc.message)
        except Exception as exc:
            log.exception("%s failed", name)
            self._on_error(f"Something unexpected went wrong ({exc.__class__.__name__}: {exc}). "
                           "The kernel's log has the details.")
        return None
