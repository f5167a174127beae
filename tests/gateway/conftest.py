"""Users and tokens for the gateway tests, made through the real running gateway."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from omniflow.settings import Settings
from tests.helpers import bearer, login, signup, unique_email


@dataclass
class User:
    """A signed-up account with a fresh token."""

    id: int
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


async def new_user(http: httpx.AsyncClient) -> User:
    email = unique_email()
    account = await signup(http, email)
    return User(id=account["id"], email=email, token=await login(http, email))


@pytest.fixture
async def alice(http: httpx.AsyncClient) -> User:
    return await new_user(http)


@pytest.fixture
async def bob(http: httpx.AsyncClient) -> User:
    return await new_user(http)


@pytest.fixture(scope="session")
async def admin(http: httpx.AsyncClient, settings: Settings) -> User:
    token = await login(http, settings.admin_email, settings.admin_password.get_secret_value())
    me = (await http.get("/auth/me", headers=bearer(token))).json()
    return User(id=me["id"], email=settings.admin_email, token=token)


def assert_problem(response: httpx.Response, status: int, *fields: str) -> dict:
    """Checks the RFC 9457 shape; with ``fields``, that each is named among the errors."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert {"type", "title", "status", "detail", "instance"} <= body.keys()
    assert body["status"] == status
    assert body["detail"]
    assert body["trace_id"] == response.headers["x-trace-id"]
    if fields:
        named = {error["field"] for error in body["errors"]}
        for field in fields:
            assert field in named, (field, body["errors"])
        assert all(error["reason"] for error in body["errors"])
    return body


async def retire(pg: asyncpg.Pool, owner_ids: list[int]) -> None:
    """Cancels these users' reports that no worker has started, and unpublished jobs.

    Load tests submit hundreds of real reports; left alone, they would keep the stack's
    workers busy long after the test and slow down every later test on the same stack.
    """
    async with pg.acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE outbox SET published_at = now() WHERE published_at IS NULL AND report_id IN "
            "(SELECT id FROM reports WHERE owner_id = ANY($1))", owner_ids)
        await conn.execute(
            "UPDATE reports SET status = 'CANCELLED', finished_at = now(), updated_at = now() "
            "WHERE owner_id = ANY($1) AND status = 'PENDING'", owner_ids)
