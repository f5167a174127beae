"""The simulated heavy work behind each report type.

A report is a short plan of steps. An ``io`` step waits (standing for a query or a remote call:
the event loop serves other jobs meanwhile); a ``cpu`` step computes the report in a process pool,
so a long computation never stalls the loop. Wait lengths and the amount of CPU work are scaled by
``work_scale``; at 0 every job is a zero-work job (no waits, the small output computed inline),
which is what the throughput benchmark measures.

Everything is deterministic: the output depends only on the parameters, and whether an attempt
fails depends only on the seed, the report and the attempt number, so a retry can succeed where
the first attempt failed, and a test can predict both.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from omniflow.worker import cpu
from omniflow.worker.cpupool import CpuPool

# Per type: (name, kind, base seconds of waiting for ``io`` or CPU rounds per unit for ``cpu``).
PLANS: dict[str, tuple[tuple[str, str, float], ...]] = {
    "sales_summary": (
        ("load_orders", "io", 0.40),
        ("aggregate_regions", "cpu", 300_000),
        ("load_returns", "io", 0.20),
        ("render", "io", 0.10),
    ),
    "inventory_snapshot": (
        ("scan_warehouse", "io", 0.30),
        ("count_stock", "cpu", 200_000),
        ("price_lookup", "io", 0.30),
        ("render", "io", 0.10),
    ),
    "user_activity": (
        ("load_sessions", "io", 0.50),
        ("rank_users", "cpu", 250_000),
        ("render", "io", 0.10),
    ),
}
DETAIL_LINE = "detail " + "x" * 1016 + "\n"  # 1 KiB of JSON text per line


class JobFailed(Exception):
    """The work itself failed: worth another attempt, up to the delivery limit."""


@dataclass
class StepRecord:
    name: str
    kind: str
    started_at: dt.datetime
    duration_ms: float

    def as_doc(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "started_at": self.started_at,
                "duration_ms": round(self.duration_ms, 3)}


@dataclass
class WorkResult:
    summary: dict[str, Any]
    output: dict[str, Any]
    steps: list[StepRecord] = field(default_factory=list)


StepHook = Callable[[int, int, StepRecord], Awaitable[None]]


@dataclass(frozen=True)
class WorkOptions:
    work_scale: float
    failure_rate: float
    cpu_pool: CpuPool | None  # None: compute in a thread
    detail_kib: int = 0  # test-only: pads the output to exercise the size bound


def attempt_fails(seed: int, report_id: str, attempt: int, failure_rate: float,
                  steps: int) -> int | None:
    """The step at which this attempt fails, or None; a pure function of its arguments."""
    if failure_rate <= 0:
        return None
    rng = random.Random(f"failure:{seed}:{report_id}:{attempt}")
    return rng.randrange(steps) if rng.random() < failure_rate else None


async def run(report_type: str, params: Any, *, report_id: str, attempt: int,
              options: WorkOptions, on_step: StepHook) -> WorkResult:
    """Runs the plan for ``report_type``; raises ``JobFailed`` when the attempt fails."""
    plan = PLANS[report_type]
    fail_at = attempt_fails(params.seed, report_id, attempt, options.failure_rate, len(plan))
    rng = random.Random(f"waits:{params.seed}:{report_id}")
    result: dict[str, Any] | None = None
    records: list[StepRecord] = []

    for index, (name, kind, amount) in enumerate(plan):
        if params.poison:
            raise JobFailed(f"poison payload: step {name} cannot process this input")
        if index == fail_at:
            raise JobFailed(f"simulated failure in step {name} (attempt {attempt})")
        began, clock = dt.datetime.now(dt.UTC), time.perf_counter()
        if kind == "io":
            pause = amount * options.work_scale * rng.uniform(0.5, 1.5)
            if pause > 0:
                await asyncio.sleep(pause)
        else:
            result = await _compute(report_type, params, int(amount * options.work_scale),
                                    options)
        record = StepRecord(name, kind, began, (time.perf_counter() - clock) * 1000)
        records.append(record)
        await on_step(index, len(plan), record)

    assert result is not None, "every plan has a cpu step"
    summary = result.pop("summary")
    if options.detail_kib > 0:
        result["detail"] = [DETAIL_LINE] * options.detail_kib
    return WorkResult(summary=summary, output=result, steps=records)


async def _compute(report_type: str, params: Any, burn_rounds: int,
                   options: WorkOptions) -> dict[str, Any]:
    call = _cpu_call(report_type, params, burn_rounds)
    if options.work_scale == 0:
        return call()  # a zero-work job: the output is tiny, a pool hop would cost more
    if options.cpu_pool is None:
        return await asyncio.to_thread(call)
    return await options.cpu_pool.run(call)


def _cpu_call(report_type: str, params: Any, burn_rounds: int) -> Callable[[], dict[str, Any]]:
    if report_type == "sales_summary":
        return partial(cpu.sales_summary, params.seed, params.region,
                       params.start_date.isoformat(), params.end_date.isoformat(), burn_rounds)
    if report_type == "inventory_snapshot":
        return partial(cpu.inventory_snapshot, params.seed, params.warehouse,
                       params.include_zero_stock, burn_rounds)
    return partial(cpu.user_activity, params.seed, params.days, params.top, burn_rounds)
