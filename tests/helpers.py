"""Small helpers any test can use to act as a user of the running gateway.

    token = await signup_and_login(http)
    report = await submit(http, token, "user_activity", {"days": 7})
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

PASSWORD = "correct horse battery"


def unique_email(prefix: str = "learner") -> str:
    """An email no earlier test (or earlier run against the same stack) has used."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.org"


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


async def signup(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict:
    """Creates a learner account; returns it (``id``, ``email``, ``role``)."""
    response = await http.post("/auth/signup", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    return response.json()


async def login(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    """Returns an access token for an existing account."""
    response = await http.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


async def signup_and_login(http: httpx.AsyncClient, email: str | None = None) -> str:
    """Creates a fresh learner and returns their access token."""
    email = email or unique_email()
    await signup(http, email)
    return await login(http, email)


async def submit(
    http: httpx.AsyncClient,
    token: str,
    type: str = "user_activity",
    params: dict[str, Any] | None = None,
    *,
    idempotency_key: str | None = None,
) -> dict:
    """Submits a report request and returns the accepted report (status PENDING)."""
    headers = bearer(token)
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    body = {"type": type, "params": params if params is not None else {"days": 7}}
    response = await http.post("/reports", json=body, headers=headers)
    assert response.status_code in (200, 202), response.text
    return response.json()
