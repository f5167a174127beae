"""Counts free job slots, so one process never runs more than ``worker_concurrency`` jobs.

The reader and the reclaim loop both take slots *before* they fetch entries, and fetch only as
many as they hold: an entry is never pulled from Redis just to wait in local memory, where a
crash would strand it until the reclaim idle time passes.
"""

from __future__ import annotations

import asyncio


class Slots:
    def __init__(self, size: int) -> None:
        self.size = size
        self._free = size
        self._freed = asyncio.Event()

    @property
    def busy(self) -> int:
        return self.size - self._free

    async def take(self, up_to: int, stop: asyncio.Event) -> int:
        """Waits for at least one free slot and takes up to ``up_to``; 0 once ``stop`` is set."""
        while self._free == 0 and not stop.is_set():
            self._freed.clear()
            waiters = [asyncio.ensure_future(self._freed.wait()),
                       asyncio.ensure_future(stop.wait())]
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
        if stop.is_set():
            return 0
        return self.take_now(up_to)

    def take_now(self, up_to: int) -> int:
        """Takes up to ``up_to`` free slots without waiting."""
        taken = max(0, min(self._free, up_to))
        self._free -= taken
        return taken

    def give_back(self, count: int) -> None:
        if count > 0:
            self._free += count
            self._freed.set()
