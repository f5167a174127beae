"""Liveness and readiness probes."""

from __future__ import annotations

import re

import httpx


async def test_live_answers_without_touching_the_stores(http: httpx.AsyncClient) -> None:
    response = await http.get("/health/live")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert len(response.headers["x-trace-id"]) >= 8


async def test_ready_reports_each_store(http: httpx.AsyncClient) -> None:
    response = await http.get("/health/ready")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"postgres", "redis", "mongo"}
    assert all(check["status"] == "ok" for check in body["checks"].values())


async def test_incoming_trace_id_is_kept_and_a_malformed_one_replaced(
    http: httpx.AsyncClient,
) -> None:
    kept = await http.get("/health/live", headers={"X-Trace-Id": "my-trace-0001"})
    replaced = await http.get("/health/live", headers={"X-Trace-Id": "bad id; drop table"})

    assert kept.headers["x-trace-id"] == "my-trace-0001"
    assert replaced.headers["x-trace-id"] != "bad id; drop table"


async def test_openapi_document_describes_problems_and_examples(
    http: httpx.AsyncClient,
) -> None:
    spec = (await http.get("/openapi.json")).json()

    submit = spec["paths"]["/reports"]["post"]
    assert "examples" in spec["components"]["schemas"]["CreateReport"]
    for status in ("202", "200", "401", "413", "422", "429"):
        assert status in submit["responses"], status
    assert "application/problem+json" in submit["responses"]["422"]["content"]
    assert "/auth/login" in spec["paths"]
    assert "/admin/dead-letters/{entry_id}/requeue" in spec["paths"]


async def test_docs_pages_load_everything_from_the_gateway_itself(http) -> None:
    # No CDN: every script and style the pages ask for is served by the gateway, so the docs
    # work on a machine without the internet.
    for page_url in ("/docs", "/redoc"):
        page = await http.get(page_url)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css|png))"', page.text)
        assert assets, page.text[:500]
        for asset in assets:
            assert asset.startswith("/docs/static/"), asset
            served = await http.get(asset)
            assert served.status_code == 200 and len(served.content) > 1000, asset
    assert (await http.get("/docs/oauth2-redirect")).status_code == 200
    assert (await http.get("/openapi.json")).status_code == 200
