"""Opens the MongoDB client every log store user shares, with time-outs that fail fast.

A short server-selection time-out turns "MongoDB is restarting" into an error within seconds,
which the caller retries with backoff, instead of a write that hangs for half a minute.
"""

from __future__ import annotations

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from omniflow.settings import Settings


def connect(settings: Settings) -> AsyncMongoClient:
    """Returns a client for ``settings.mongo_url``; it connects lazily on first use."""
    return AsyncMongoClient(
        settings.mongo_url,
        serverSelectionTimeoutMS=3000,
        connectTimeoutMS=3000,
        tz_aware=True,
        appname="omniflow",
    )


def database(client: AsyncMongoClient, settings: Settings) -> AsyncDatabase:
    """The log store's database on ``client``."""
    return client[settings.mongo_db]
