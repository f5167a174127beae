"""Builds the gateway application: routes, error handling, middleware and shared connections.

``create_app`` is the factory uvicorn calls (``omniflow.gateway.app:create_app``); tests call
it too, to run the same application in-process. Start-up waits for PostgreSQL, opens the pool,
the Redis client and the event listener, and seeds the admin account. It does not run
migrations: the launcher does, before any gateway starts.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from pymongo import AsyncMongoClient

from omniflow import broker, db
from omniflow.gateway import admin, auth, events, health, openapi, reports
from omniflow.gateway.errors import install_handlers
from omniflow.gateway.limits import LoginLimiter
from omniflow.gateway.listener import EventHub
from omniflow.gateway.middleware import BodyLimit, RequestContext, install_trace_logging
from omniflow.gateway.resources import Resources
from omniflow.gateway.security import TokenCache
from omniflow.gateway.submits import SubmitBatcher
from omniflow.settings import Settings, get_settings
from omniflow.waiting import wait_for_dependencies

log = logging.getLogger("omniflow.gateway")

DESCRIPTION = """
Submit report requests and follow them while workers process them.

* Authenticate with `POST /auth/login`; send the token as `Authorization: Bearer <token>`.
* Every error is an RFC 9457 problem document (`application/problem+json`).
* Another user's report answers 404, exactly like a report that does not exist.
"""

TAGS = [
    {"name": "auth", "description": "Accounts and access tokens."},
    {"name": "reports", "description": "Your report requests."},
    {"name": "events", "description": "Live status changes as server-sent events."},
    {"name": "admin", "description": "Operations views; administrators only."},
    {"name": "health", "description": "Liveness and readiness probes."},
]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Returns a gateway application configured from ``settings`` (default: environment)."""
    settings = settings or get_settings()
    install_trace_logging()

    # FastAPIOffline is FastAPI with Swagger UI (/docs) and ReDoc (/redoc) served from files in
    # its package instead of a CDN: the lab's machines may have no internet.
    app = FastAPIOffline(
        title="OmniFlow gateway",
        version="1.0.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        static_url="/docs/static",
        lifespan=_lifespan(settings),
    )
    install_handlers(app)
    openapi.install(app)
    for module in (auth, reports, events, admin, health):
        app.include_router(module.router)
    # The last middleware added runs first: the context wraps the body limit.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContext)
    return app


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Skips asyncpg's session reset: the gateway sets no session state, holds no advisory
    locks or cursors, and listens only on its own dedicated connection."""


def _lifespan(settings: Settings):  # noqa: ANN202 - FastAPI's lifespan type is verbose
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await wait_for_dependencies(settings, postgres=True)
        pool = await db.create_pool(settings, reset=_keep_session)
        redis = broker.connect(settings)
        mongo: AsyncMongoClient = AsyncMongoClient(
            settings.mongo_url, serverSelectionTimeoutMS=1000, connectTimeoutMS=1000)
        hub = EventHub(settings.database_url)
        app.state.resources = Resources(
            settings=settings,
            pool=pool,
            redis=redis,
            mongo=mongo,
            limiter=LoginLimiter(redis, settings.login_rate_per_minute),
            events=hub,
            submits=SubmitBatcher(pool, settings.max_unfinished_reports),
            secret=settings.secret_key.get_secret_value(),
            tokens=TokenCache(settings.secret_key.get_secret_value()),
        )
        try:
            await auth.seed_admin(pool, settings)
            hub.start()
            log.info("gateway ready (body limit %d bytes, pool %d-%d)",
                     settings.max_body_bytes, settings.db_pool_min, settings.db_pool_max)
            yield
        finally:
            await hub.stop()
            await pool.close()
            await redis.aclose()
            await mongo.close()
            log.info("gateway stopped")

    return lifespan
