"""The long-lived connections one gateway process shares between all its requests."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import redis.asyncio as aioredis
from fastapi import Request
from pymongo import AsyncMongoClient

from omniflow.gateway.limits import LoginLimiter
from omniflow.gateway.listener import EventHub
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


def resources(request: Request) -> Resources:
    """The dependency that hands a request its process's connections."""
    return request.app.state.resources
