"""Runs the outbox relay as a process: ``python -m omniflow.relay``."""

from __future__ import annotations

import asyncio
import logging
import signal

from omniflow import broker, db
from omniflow.logging_setup import configure_logging
from omniflow.relay.outbox import OutboxRelay
from omniflow.settings import get_settings
from omniflow.waiting import wait_for_dependencies

log = logging.getLogger("omniflow.relay")


async def main() -> None:
    settings = get_settings()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    await wait_for_dependencies(settings, postgres=True, redis=True)
    pool = await db.create_pool(settings, min_size=1, max_size=2)
    redis = broker.connect(settings)
    try:
        await broker.ensure_group(redis, settings)
        log.info("relay started: outbox -> %s", settings.jobs_stream)
        await OutboxRelay(pool, redis, settings).run(stop)
    finally:
        await pool.close()
        await redis.aclose()
        log.info("relay stopped")


if __name__ == "__main__":
    configure_logging("relay")
    asyncio.run(main())
