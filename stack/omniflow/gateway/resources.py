"""The long-lived connections one gateway process shares between all its requests."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import redis.asyncio as aioredis
from fastapi import Request
from pymongo import AsyncMongoClient

from omniflow.gateway.limits import LoginLimiter
from omniflow.gateway.listener import EventHub
from omniflow.gateway.security import TokenCache
from omniflow.gateway.submits import SubmitBatcher
from omniflow.settings import Settings


@dataclass
class Resources:
    """Opened at start-up, closed at shutdown; requests borrow from them."""

    settings: Settings
    pool: asyncpg.Pool
    redis: aioredis.Redis
    mongo: AsyncMongoClient
    limiter: LoginLimiter
    events: EventHub
    submits: SubmitBatcher
    secret: str
    tokens: TokenCache


async def resources(request: Request) -> Resources:
    """The dependency that hands a request its process's connections.

    Note that it is ``async`` on purpose: FastAPI runs a plain ``def`` dependency in a thread,
    and that hop would cost more than everything else on the submit path.
    """
    return request.app.state.resources
