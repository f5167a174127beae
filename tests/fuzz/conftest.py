"""Shared pieces for the boundary tests: a learner's headers and the problem+json check."""

from __future__ import annotations

import uuid

import httpx
import pytest

from omniflow.settings import Settings

PROBLEM = "application/problem+json"


@pytest.fixture(scope="session")
def learner_headers(settings: Settings) -> dict[str, str]:
    """A fresh learner's Authorization header, made with a plain synchronous client."""
    email = f"fuzz-{uuid.uuid4().hex[:12]}@example.org"
    password = "fuzzing is fun 123"
    with httpx.Client(base_url=settings.gateway_url, timeout=30) as client:
        client.post("/auth/signup", json={"email": email, "password": password}
                    ).raise_for_status()
        token = client.post("/auth/login", json={"email": email, "password": password}
                            ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def assert_clear_4xx(response: httpx.Response, *statuses: int) -> dict:
    """A 4xx (one of ``statuses`` if given) answered as an RFC 9457 problem document."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    if statuses:
        assert response.status_code in statuses, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body = response.json()
    assert body["status"] == response.status_code
    assert body["title"] and body["detail"], body
    assert "Traceback" not in response.text
    return body
