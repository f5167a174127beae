"""Client apps wired to the real gateway, and accounts made through the app's own widgets."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from omniflow.client import ClientApp
from omniflow.settings import Settings
from tests.client.accounts import closed_port, sign_up


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[ClientApp]:
    client = ClientApp(settings.gateway_url, poll_interval_s=0.2)
    yield client
    await client.close()


@pytest.fixture
async def signed_in(app: ClientApp) -> ClientApp:
    await sign_up(app)
    return app


@pytest.fixture
async def offline_app() -> AsyncIterator[ClientApp]:
    client = ClientApp(f"http://127.0.0.1:{closed_port()}", poll_interval_s=0.2, timeout_s=3)
    yield client
    await client.close()
