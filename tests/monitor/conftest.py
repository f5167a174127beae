"""A learner who makes work for the monitor to see, and pollers pointed at the real gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from omniflow.client import GatewayApi, Report, submit_many, wait_for_all
from omniflow.monitor import AdminPoller
from omniflow.settings import Settings
from tests.client.accounts import PASSWORD, unique_email


@pytest.fixture
async def learner(settings: Settings) -> AsyncIterator[GatewayApi]:
    api = GatewayApi(settings.gateway_url)
    email = unique_email("monitor")
    await api.signup(email, PASSWORD)
    await api.login(email, PASSWORD)
    yield api
    await api.aclose()


@pytest.fixture
async def poller(settings: Settings) -> AsyncIterator[AdminPoller]:
    admin = AdminPoller(settings.gateway_url)
    yield admin
    await admin.aclose()


async def run_reports(api: GatewayApi, count: int) -> list[Report]:
    """Submits ``count`` quick reports and waits until every one has finished."""
    return await wait_for_all(api, await submit_many(api, count), interval_s=0.2)
