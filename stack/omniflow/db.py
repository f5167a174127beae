"""PostgreSQL access shared by the gateway, the relay and the worker.

We use asyncpg directly with plain SQL: it is the fastest PostgreSQL driver for asyncio, and
plain SQL keeps every query visible to a learner. Alembic (with SQLAlchemy) owns the schema.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

import asyncpg

from omniflow.settings import Settings

log = logging.getLogger("omniflow.db")


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def create_pool(settings: Settings, *, min_size: int | None = None,
                      max_size: int | None = None,
                      reset: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
                      ) -> asyncpg.Pool:
    """Opens a connection pool whose connections are recycled before they grow stale.

    Note that asyncpg has no maximum connection age; ``max_queries`` and
    ``max_inactive_connection_lifetime`` bound a connection's life instead. ``reset`` replaces
    the session reset asyncpg runs (one more round trip) each time a connection goes back to
    the pool; an open transaction is rolled back either way.
    """
    return await asyncpg.create_pool(
        settings.database_url,
        min_size=min_size or settings.db_pool_min,
        max_size=max_size or settings.db_pool_max,
        max_queries=50_000,
        max_inactive_connection_lifetime=settings.db_conn_max_lifetime_s,
        command_timeout=30,
        init=_init_connection,
        reset=reset,
    )
