"""Polls the gateway's admin API like the live monitor does, and reports the CPU it spent.

``python -m benchmarks.monitor_probe --seconds 60 --interval 1`` prints one JSON line. The
CPU time counts only the polling loop (from the first poll on), not the interpreter's start-up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import resource
import time

from benchmarks import stats
from omniflow.monitor import AdminPoller


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def main(seconds: float, interval: float) -> dict[str, float]:
    poller = AdminPoller()
    durations = []
    try:
        await poller.poll()  # logs in and opens the connections: not part of the steady cost
        began_cpu, began = _cpu(), time.monotonic()
        next_at = began
        while time.monotonic() - began < seconds:
            next_at += interval
            t0 = time.perf_counter()
            await poller.poll()
            durations.append(time.perf_counter() - t0)
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        cpu = _cpu() - began_cpu
    finally:
        await poller.aclose()
    latency = stats.summary_ms(durations)
    return {"polls": len(durations), "cpu_s": round(cpu, 4),
            "poll_p50_ms": latency["p50_ms"], "poll_p99_ms": latency["p99_ms"]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(asyncio.run(main(args.seconds, args.interval))))
