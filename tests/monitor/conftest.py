"""A learner who makes work for the monitor to see, and pollers pointed at the real gateway."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from omniflow.client import GatewayApi, Report, follow_report
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
    submitted = await asyncio.gather(*(api.submit_report("user_activity", {"days": 1, "top": 1})
                                       for _ in range(count)))
    return list(await asyncio.gather(*(follow_report(api, report, lambda _r: None,
                                                     interval_s=0.2)
                                       for report in submitted)))
