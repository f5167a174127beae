"""The form's own check gives the gateway's answer: same fields, same reasons."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from omniflow.client import ApiError, GatewayApi, check_params
from omniflow.settings import Settings
from tests.client.accounts import PASSWORD, unique_email

REFUSED = [
    pytest.param("user_activity", {"days": 0}, id="days-zero"),
    pytest.param("user_activity", {"top": 101}, id="top-too-big"),
    pytest.param("user_activity", {"colour": "red"}, id="unknown-param"),
    pytest.param("inventory_snapshot", {}, id="warehouse-missing"),
    pytest.param("inventory_snapshot", {"warehouse": "bad name!"}, id="warehouse-pattern"),
    pytest.param("sales_summary", {"start_date": "2026-03-01", "end_date": "2026-01-01"},
                 id="dates-reversed"),
    pytest.param("sales_summary", {"start_date": "2024-01-01", "end_date": "2026-01-01"},
                 id="range-too-long"),
    pytest.param("sales_summary", {"region": "mars", "start_date": "2026-01-01",
                                   "end_date": "2026-01-02"}, id="unknown-region"),
    pytest.param("sales_summary", {"start_date": "yesterday", "end_date": "2026-01-02"},
                 id="not-a-date"),
]


@pytest.fixture(scope="module")
async def learner(settings: Settings) -> AsyncIterator[GatewayApi]:
    api = GatewayApi(settings.gateway_url)
    email = unique_email("validation")
    await api.signup(email, PASSWORD)
    await api.login(email, PASSWORD)
    yield api
    await api.aclose()


@pytest.mark.parametrize(("report_type", "params"), REFUSED)
async def test_client_and_gateway_refuse_alike(learner: GatewayApi, report_type: str,
                                               params: dict[str, Any]) -> None:
    checked = check_params(report_type, params)
    with pytest.raises(ApiError) as refused:
        await learner.submit_report(report_type, params)

    assert not checked.ok
    assert refused.value.status == 422
    assert [(e.field, e.reason) for e in checked.errors] == [
        (e.field, e.reason) for e in refused.value.errors
    ]


async def test_an_unknown_type_is_refused_by_both(learner: GatewayApi) -> None:
    checked = check_params("weather_forecast", {})
    with pytest.raises(ApiError) as refused:
        await learner.submit_report("weather_forecast", {})

    assert [e.field for e in checked.errors] == ["type"]
    assert [e.field for e in refused.value.errors] == ["type"]


def test_accepted_params_come_back_with_defaults_as_json() -> None:
    checked = check_params("sales_summary", {"start_date": "2026-01-01",
                                             "end_date": "2026-01-31"})
    assert checked.ok
    assert checked.params == {"region": "all", "start_date": "2026-01-01",
                              "end_date": "2026-01-31", "seed": 0, "poison": False}
