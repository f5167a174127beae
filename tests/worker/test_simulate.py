"""Pure logic of the simulated work: deterministic outputs and failures."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from omniflow.contracts import parse_params
from omniflow.worker import cpu, simulate
from omniflow.worker.reclaim import tick_seconds
from omniflow.worker.resilience import Backoff

PARAMS = {
    "sales_summary": {"region": "all", "start_date": "2026-01-01", "end_date": "2026-03-31"},
    "inventory_snapshot": {"warehouse": "lyon-2", "include_zero_stock": True},
    "user_activity": {"days": 30, "top": 5},
}


async def _noop(*_: object) -> None:
    return None


def _run(report_type: str, *, seed: int = 7, attempt: int = 1, failure_rate: float = 0.0,
         poison: bool = False, detail_kib: int = 0) -> simulate.WorkResult:
    params = parse_params(report_type, {**PARAMS[report_type], "seed": seed, "poison": poison})
    options = simulate.WorkOptions(0.0, failure_rate, None, detail_kib)
    return asyncio.run(simulate.run(report_type, params, report_id="r-1", attempt=attempt,
                                    options=options, on_step=_noop))


@pytest.mark.parametrize("report_type", sorted(PARAMS))
def test_the_output_depends_only_on_the_parameters(report_type):
    first, again = _run(report_type), _run(report_type)
    assert first.output == again.output and first.summary == again.summary
    assert _run(report_type, seed=8).output != first.output
    assert [s.name for s in first.steps] == [p[0] for p in simulate.PLANS[report_type]]


def test_sales_totals_add_up():
    result = _run("sales_summary")
    assert {r["region"] for r in result.output["regions"]} == set(cpu.REGIONS)
    assert result.summary["orders"] == sum(r["orders"] for r in result.output["regions"])
    assert result.summary["days"] == (dt.date(2026, 3, 31) - dt.date(2026, 1, 1)).days + 1


def test_failures_are_a_pure_function_of_seed_report_and_attempt():
    runs = [simulate.attempt_fails(seed, "r-1", 1, 0.5, 4) for seed in range(200)]
    assert runs == [simulate.attempt_fails(seed, "r-1", 1, 0.5, 4) for seed in range(200)]
    assert 60 < sum(r is not None for r in runs) < 140
    assert simulate.attempt_fails(3, "r-1", 1, 0.0, 4) is None
    assert all(simulate.attempt_fails(s, "r-1", 1, 1.0, 4) is not None for s in range(20))
    # A later attempt draws again, so a retry can succeed.
    assert any(simulate.attempt_fails(s, "r-1", 1, 0.5, 4) is not None
               and simulate.attempt_fails(s, "r-1", 2, 0.5, 4) is None for s in range(50))


def test_poison_always_fails():
    with pytest.raises(simulate.JobFailed, match="poison payload"):
        _run("user_activity", poison=True)


def test_detail_pads_the_output():
    result = _run("inventory_snapshot", detail_kib=3)
    assert len(result.output["detail"]) == 3
    assert len(simulate.DETAIL_LINE.encode()) == 1024


def test_backoff_doubles_up_to_its_cap():
    backoff = Backoff(0.1, 1.0)
    assert [backoff.next() for _ in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    backoff.reset()
    assert backoff.next() == 0.1


def test_reclaim_runs_well_inside_the_idle_limit():
    assert tick_seconds(1000) == pytest.approx(1 / 3)
    assert tick_seconds(15_000) == 5.0
    assert tick_seconds(600_000) == 5.0
