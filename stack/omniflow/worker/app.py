"""Puts the worker together: connections, the loops, and an orderly stop.

One process runs three loops side by side: the consumer (new entries), the reclaimer (entries
of dead workers and failed attempts, on a timer) and the keep-alive (this worker's own entries),
plus the background writers for events and signals. Jobs run as tasks, at most
``worker_concurrency`` at a time; CPU-heavy steps go to a process pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

from omniflow import broker, db, logstore
from omniflow.settings import Settings
from omniflow.waiting import wait_for_dependencies
from omniflow.worker import shutdown, simulate
from omniflow.worker.consumer import Consumer
from omniflow.worker.cpupool import CpuPool
from omniflow.worker.deadletter import DeadLetters
from omniflow.worker.dispatch import Dispatcher
from omniflow.worker.processor import Processor
from omniflow.worker.reclaim import Reclaimer
from omniflow.worker.resilience import STORE_ERRORS, persist
from omniflow.worker.slots import Slots
from omniflow.worker.telemetry import Telemetry

log = logging.getLogger("omniflow.worker")


async def _wait_for_stores(settings: Settings, stop: asyncio.Event) -> bool:
    """Waits for all three stores (or a stop); a worker started early never exits for it."""
    stopped = asyncio.create_task(stop.wait())
    try:
        while not stop.is_set():
            waiting = asyncio.create_task(wait_for_dependencies(
                settings, postgres=True, redis=True, mongo=True, timeout_s=30))
            await asyncio.wait([waiting, stopped], return_when=asyncio.FIRST_COMPLETED)
            if not waiting.done():
                waiting.cancel()
                await asyncio.gather(waiting, return_exceptions=True)
                break
            if waiting.exception() is None:
                return True
            log.warning("stores not reachable yet (%s); still waiting", waiting.exception())
        return False
    finally:
        stopped.cancel()


async def run_worker(settings: Settings, name: str) -> int:
    """Runs one worker until SIGTERM/SIGINT; returns the process exit code."""
    stop = asyncio.Event()
    remove_handlers = shutdown.install(stop)
    try:
        if not await _wait_for_stores(settings, stop):
            return 0
        await _serve(settings, name, stop)
        return 0
    finally:
        remove_handlers()


async def _serve(settings: Settings, name: str, stop: asyncio.Event) -> None:
    pool = await persist("connect to postgres", lambda: db.create_pool(settings))
    redis = broker.connect(settings)
    mongo = logstore.connect(settings)
    database = logstore.database(mongo, settings)
    cpu_pool = CpuPool(settings.cpu_pool_size)
    try:
        await persist("log store schema", lambda: logstore.ensure_schema(
            database, retention_days=settings.event_retention_days))
        await persist("consumer group", lambda: broker.ensure_group(redis, settings))

        slots = Slots(settings.worker_concurrency)
        events = logstore.EventBuffer(database)
        dispatcher: Dispatcher
        telemetry = Telemetry(redis, name, os.getpid(), lambda: dispatcher.in_flight)
        processor = Processor(
            settings=settings, name=name, pool=pool, redis=redis, db=database, events=events,
            executions=logstore.ExecutionWriter(database, settings.execution_max_bytes),
            dead=DeadLetters(redis, settings, name), telemetry=telemetry,
            options=simulate.WorkOptions(settings.work_scale, settings.failure_rate, cpu_pool),
        )
        dispatcher = Dispatcher(processor, slots)
        consumer = Consumer(redis, settings, name, slots, dispatcher)
        reclaimer = Reclaimer(redis, settings, name, slots, dispatcher)

        if settings.work_scale > 0:
            cpu_pool.warm()
        events.start()
        await telemetry.start()
        keepalive = asyncio.create_task(reclaimer.run_keepalive(), name="keepalive")
        loops = [
            asyncio.create_task(consumer.run(stop), name="consumer"),
            asyncio.create_task(reclaimer.run_reclaim(stop), name="reclaim"),
        ]
        log.info(
            "worker %s started: stream %s, group %s, concurrency %d, batch %d, cpu pool %d, "
            "work scale %g, claim idle %d ms, max attempts %d, max deliveries %d",
            name, settings.jobs_stream, settings.consumer_group, settings.worker_concurrency,
            settings.worker_batch, settings.cpu_pool_size, settings.work_scale,
            settings.claim_idle_ms, settings.max_attempts, settings.max_deliveries,
        )

        # Run until asked to stop, or until a loop dies of an unexpected error.
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopper, *loops], return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        stopper.cancel()
        crashed = [task for task in done if task is not stopper and task.exception()]

        # The consumer returns after its current read (at most worker_block_ms).
        await asyncio.gather(*loops, return_exceptions=True)
        released = await shutdown.drain(dispatcher.tasks, settings.shutdown_grace_s)
        keepalive.cancel()
        await asyncio.gather(keepalive, return_exceptions=True)
        if released:
            with contextlib.suppress(Exception):
                count = await asyncio.wait_for(reclaimer.release(released), 5)
                log.info("released %d unfinished entries for other workers", count)
        else:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(reclaimer.leave_group(), 5)
        await events.close()
        await telemetry.close()
        log.info("worker %s stopped: read %d, reclaimed %d, counts %s", name,
                 consumer.read_total, reclaimer.reclaimed_total, dict(telemetry.totals))
        for task in crashed:
            raise task.exception()  # type: ignore[misc]
    finally:
        cpu_pool.shutdown()
        try:
            await asyncio.wait_for(pool.close(), 5)
        except (TimeoutError, *STORE_ERRORS):
            pool.terminate()
        with contextlib.suppress(*STORE_ERRORS):
            await redis.aclose()
        with contextlib.suppress(*STORE_ERRORS):
            await mongo.close()
