"""Graceful shutdown: stop reading, let jobs in flight finish, hand back the rest.

On SIGTERM (or SIGINT) the worker stops taking new entries and waits up to
``shutdown_grace_s`` for the jobs it is running. Jobs still running then are cancelled and their
entries *released*: they stay pending in Redis, and their idle time is set to ``claim_idle_ms``
so the next reclaim tick of any other worker takes them over at once, instead of after the idle
limit. A worker that holds no entries at the end leaves the consumer group. Nothing is lost
either way: a worker killed outright leaves its entries pending too, they
are only picked up later.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

log = logging.getLogger("omniflow.worker")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def install(stop: asyncio.Event) -> Callable[[], None]:
    """Makes SIGTERM and SIGINT set ``stop``; returns the function that undoes it."""
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        if not stop.is_set():
            log.info("received %s: stopping", sig.name)
        stop.set()

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)

    def remove() -> None:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)

    return remove


async def drain(tasks: dict[str, asyncio.Task[None]], grace_s: float) -> list[str]:
    """Waits up to ``grace_s`` for ``tasks``; cancels the rest and returns their entry ids."""
    running = dict(tasks)
    if not running:
        return []
    log.info("waiting up to %.1fs for %d jobs in flight", grace_s, len(running))
    _, late = await asyncio.wait(running.values(), timeout=grace_s)
    unfinished = [entry_id for entry_id, task in running.items() if task in late]
    for entry_id in unfinished:
        running[entry_id].cancel()
    if late:
        await asyncio.gather(*late, return_exceptions=True)
        log.warning("%d jobs did not finish within %.1fs and were cancelled", len(late), grace_s)
    return unfinished
