"""Group commit: many concurrent callers, one round trip to the store for all of them.

A store write costs mostly its round trip and its commit, not its size, so callers that write
at about the same time do better sharing one statement. ``GroupCommit.submit`` queues one item
and waits for its own result; drain tasks take everything queued so far and hand it to the
``write`` function as one list. Nothing waits on a timer: a lone item goes out at once as a
batch of one, and batches grow only while the store is busy with the previous batch, which is
exactly when sharing pays off.

Errors keep their owner. An error of a kind listed as ``transient`` (the store is away) says
nothing about the items, so every caller of the batch gets it and decides whether to retry. Any
other error might belong to one item only, so the batch is run again one item at a time, and
each caller gets its own result or its own error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger("omniflow.batching")

T = TypeVar("T")
R = TypeVar("R")

Write = Callable[[list[T]], Awaitable[list[R]]]


class GroupCommit(Generic[T, R]):
    """Writes items in batches of up to ``max_batch``, with up to ``parallel`` batches at once.

    ``write`` gets a list of items and returns one result per item, in order.
    """

    def __init__(self, write: Write[T, R], *, max_batch: int, parallel: int = 1,
                 transient: tuple[type[BaseException], ...] = (), name: str = "write") -> None:
        self._write = write
        self._max_batch = max_batch
        self._parallel = parallel
        self._transient = transient
        self._name = name
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._draining = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: T) -> R:
        """Queues ``item`` and returns its result once its batch is written."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._draining < self._parallel:
            self._draining += 1
            task = asyncio.create_task(self._drain(), name=f"{self._name} batches")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch = self._queue[:self._max_batch]
                del self._queue[:self._max_batch]
                await self._settle(batch)
        finally:
            self._draining -= 1

    async def _settle(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._write([item for item, _ in batch])
            if len(results) != len(batch):
                raise ValueError(f"{self._name}: {len(results)} results for {len(batch)} items")
        except self._transient as exc:
            for _, future in batch:
                _fail(future, exc)
            return
        except Exception as exc:
            if len(batch) == 1:
                _fail(batch[0][1], exc)
                return
            log.warning("a %s batch of %d failed (%s: %s); writing its items one by one",
                        self._name, len(batch), type(exc).__name__, exc)
            for one in batch:
                await self._settle([one])
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)


def _fail(future: asyncio.Future[R], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
