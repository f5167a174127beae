"""Readiness probes: a service counts as up when it answers a real request, not when it forked.

The client libraries are imported when a probe runs, so commands that probe nothing
(``omniflow env``, ``omniflow logs``) start quickly.
"""

from __future__ import annotations

import contextlib
import warnings

from omniflow.launcher import postgres
from omniflow.launcher.config import HOST

PROBE_TIMEOUT_S = 2.0


def postgres_ready(port: int) -> str | None:
    """``None`` when ``SELECT 1`` works, else why not. Any role works for this check."""
    import psycopg

    try:
        with postgres.connect(port) as conn:
            conn.execute("SELECT 1").fetchone()
    except psycopg.Error as exc:
        return _first_line(exc)
    return None


def redis_ready(port: int) -> str | None:
    import redis

    client = redis.Redis(
        host=HOST, port=port, socket_timeout=PROBE_TIMEOUT_S,
        socket_connect_timeout=PROBE_TIMEOUT_S,
    )  # fmt: skip
    try:
        client.ping()
    except redis.RedisError as exc:
        return _first_line(exc)
    finally:
        client.close()
    return None


def mongo_ready(port: int) -> str | None:
    import pymongo

    ms = int(PROBE_TIMEOUT_S * 1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # drivers warn about servers that are not MongoDB
        client: pymongo.MongoClient = pymongo.MongoClient(
            host=HOST, port=port, serverSelectionTimeoutMS=ms, connectTimeoutMS=ms,
            socketTimeoutMS=ms, directConnection=True,
        )  # fmt: skip
        try:
            client.admin.command("ping")
        except pymongo.errors.PyMongoError as exc:
            return _first_line(exc)
        finally:
            with contextlib.suppress(Exception):
                client.close()
    return None


def gateway_ready(port: int) -> str | None:
    import httpx

    try:
        reply = httpx.get(f"http://{HOST}:{port}/health/ready", timeout=PROBE_TIMEOUT_S)
    except httpx.HTTPError as exc:
        return _first_line(exc) or type(exc).__name__
    return None if reply.status_code == 200 else f"/health/ready answered {reply.status_code}"


PROBES = {
    "postgres": postgres_ready,
    "redis": redis_ready,
    "mongo": mongo_ready,
    "gateway": gateway_ready,
}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
