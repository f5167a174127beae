"""Runs each delivery as its own task and keeps the list of what is in flight.

The list is what the keep-alive refreshes, what the heartbeat reports, and what a shutdown
waits for or releases. An unexpected error in one job is logged and contained: the entry stays
pending, so it is retried, and the worker goes on with the others.
"""

from __future__ import annotations

import asyncio
import logging

from omniflow.worker.processor import Delivery, Processor
from omniflow.worker.slots import Slots

log = logging.getLogger("omniflow.worker")


class Dispatcher:
    def __init__(self, processor: Processor, slots: Slots) -> None:
        self._processor = processor
        self._slots = slots
        self.tasks: dict[str, asyncio.Task[None]] = {}

    @property
    def in_flight(self) -> int:
        return len(self.tasks)

    def entry_ids(self) -> list[str]:
        return list(self.tasks)

    def spawn(self, delivery: Delivery) -> None:
        """Starts ``delivery`` in a slot the caller has already taken."""
        if delivery.entry_id in self.tasks:  # already running here
            self._slots.give_back(1)
            return
        self.tasks[delivery.entry_id] = asyncio.create_task(
            self._run(delivery), name=f"job {delivery.entry_id}"
        )

    async def _run(self, delivery: Delivery) -> None:
        try:
            await self._processor.handle(delivery)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("unexpected error on entry %s; it stays pending and will be retried",
                          delivery.entry_id)
        finally:
            self.tasks.pop(delivery.entry_id, None)
            self._slots.give_back(1)
