"""Counts job slots, so one process runs about ``worker_concurrency`` jobs at a time.

The reader asks for as many new entries as there are free slots, and takes the slots once the
entries arrive: it holds none while it blocks on an empty stream, so the reclaim loop can use
them meanwhile. The reclaim loop has priority: when it finds idle entries but no free slot, it
*reserves* slots, which the reader leaves alone, so a busy stream never starves the recovery
of a dead worker's jobs. (An entry that arrives while the reclaimer took the last slot still
runs: once delivered it is better run than left waiting, so the bound can be passed by one batch.)
"""

from __future__ import annotations

import asyncio


class Slots:
    def __init__(self, size: int) -> None:
        self.size = size
        self._free = size
        self.reserved = 0
        self._freed = asyncio.Event()

    @property
    def busy(self) -> int:
        return self.size - self._free

    @property
    def available(self) -> int:
        """Free slots the reader may use: those not reserved for the reclaim loop."""
        return max(0, self._free - self.reserved)

    async def wait_available(self, stop: asyncio.Event) -> int:
        """Waits until the reader may use a slot; returns how many, or 0 once ``stop`` is set."""
        while self.available == 0 and not stop.is_set():
            self._freed.clear()
            waiters = [asyncio.ensure_future(self._freed.wait()),
                       asyncio.ensure_future(stop.wait())]
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
        return 0 if stop.is_set() else self.available

    def take(self, count: int) -> None:
        """Takes ``count`` slots for entries already delivered, even past the bound."""
        self._free -= count

    def take_now(self, up_to: int) -> int:
        """Takes up to ``up_to`` free slots (reserved ones included) without waiting."""
        taken = max(0, min(self._free, up_to))
        self._free -= taken
        return taken

    def give_back(self, count: int) -> None:
        if count > 0:
            self._free += count
            self._freed.set()
