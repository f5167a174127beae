"""The process pool that runs CPU steps, so the event loop never waits on a computation.

If one of its processes dies (killed, out of memory), a ``ProcessPoolExecutor`` is broken for
good and fails every later call. That is not the job's fault, so the pool is replaced and the
step tried once more, instead of failing every job that follows. And a pool process ends when
its worker ends, even when the worker is killed outright, so no orphan is left behind.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from omniflow.worker import cpu

log = logging.getLogger("omniflow.worker")

T = TypeVar("T")


def _exit_with_parent(parent_pid: int) -> None:
    """Runs in each pool process: ends it when the worker is gone, even if it was SIGKILLed."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


class CpuPool:
    """``size`` processes for CPU steps; with size 0 the steps run in a thread instead."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._pool: ProcessPoolExecutor | None = None
        if size > 0:
            self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        # "spawn" starts clean interpreters: forking a process that runs an event loop and
        # driver threads can copy a lock in a held state.
        context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(max_workers=self.size, mp_context=context,
                                   initializer=_exit_with_parent, initargs=(os.getpid(),))

    def warm(self) -> None:
        """Starts the processes now, so the first job does not wait for them."""
        if self._pool is not None:
            self._pool.submit(cpu.burn, 0)

    async def run(self, call: Callable[[], T]) -> T:
        if self._pool is None:
            return await asyncio.to_thread(call)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, call)
        except BrokenProcessPool:
            log.error("a CPU pool process died; starting a new pool")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            return await loop.run_in_executor(self._pool, call)

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
