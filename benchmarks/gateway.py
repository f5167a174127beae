"""Gateway submit throughput and latency at fixed concurrencies.

Wraps ``benchmarks/gateway_submit.py`` (a closed-loop client on raw keep-alive connections):
each of ``concurrency`` connections sends one submit at a time. The gateway runs alone, with no
relay and no workers competing for the two cores, and with no per-user limit.
"""

from __future__ import annotations

import argparse
from typing import Any

from benchmarks import gateway_submit
from benchmarks.harness import Harness

CONCURRENCIES = (8, 32, 64)


async def run_all(h: Harness, quick: bool, echo) -> dict[str, Any]:  # noqa: ANN001
    requests = 1_500 if quick else 6_000
    warmup = 200 if quick else 500
    proc, url = await h.start_gateway()
    rows = []
    try:
        for concurrency in CONCURRENCIES:
            args = argparse.Namespace(url=url, requests=requests, concurrency=concurrency,
                                      users=16, warmup=warmup)
            result = await gateway_submit.run(args)
            h.check_alive([proc])
            echo(f"  concurrency {concurrency:>3}: {result['submits_per_s']:8.1f} submits/s, "
                 f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
                 f"statuses {result['statuses']}")
            rows.append(result)
    finally:
        h.stop([proc])
    await retire_bench_reports(h)
    return {"requests": requests, "warmup": warmup, "rows": rows}


async def retire_bench_reports(h: Harness) -> None:
    """Cancels the benchmark users' pending reports, so no later relay publishes them."""
    async with h.pg() as conn, conn.transaction():
        await conn.execute("""
            UPDATE outbox SET published_at = now()
            WHERE published_at IS NULL AND report_id IN (
                SELECT r.id FROM reports r JOIN users u ON u.id = r.owner_id
                WHERE u.email LIKE 'bench-%@example.org')""")
        await conn.execute("""
            UPDATE reports SET status = 'CANCELLED', finished_at = now(), updated_at = now()
            WHERE status = 'PENDING' AND owner_id IN (
                SELECT id FROM users WHERE email LIKE 'bench-%@example.org')""")
