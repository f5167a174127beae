"""The gateway's API docs draw in a real browser on a machine without the internet."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page

from omniflow.settings import Settings


async def test_swagger_ui_draws_every_operation_without_a_cdn(page: Page, settings: Settings,
                                                              artifacts: Path) -> None:
    outside: list[str] = []
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith(settings.gateway_url) else None)

    await page.goto(f"{settings.gateway_url}/docs")
    await page.wait_for_selector(".opblock", timeout=20_000)

    operations = await page.locator(".opblock").count()
    assert operations >= 10, operations
    assert await page.locator("text=/reports").count() > 0
    assert not outside, f"the page asked outside the gateway: {outside[:3]}"
    await page.screenshot(path=str(artifacts / "api-docs.png"))
