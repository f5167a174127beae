"""CPU cost of the live monitor: the admin poller reading the gateway once a second.

The poller runs in a child process of its own (``python -m benchmarks.monitor_probe``), which
reports the CPU time its polling loop used; the gateway's CPU time is read from outside over the
same minutes, minus what it uses idle over as long a time.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import psutil

from benchmarks.harness import ROOT, BenchError, Harness


def _cpu(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


async def run_all(h: Harness, quick: bool, echo) -> dict[str, Any]:  # noqa: ANN001
    seconds = 20.0 if quick else 60.0
    gateway, url = await h.start_gateway()
    try:
        before = _cpu(gateway.pid)
        await asyncio.sleep(seconds)
        idle = _cpu(gateway.pid) - before

        env = h.env(gateway_url=url)
        before = _cpu(gateway.pid)
        probe = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks.monitor_probe", "--seconds", str(seconds),
            "--interval", "1.0", env=env, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        out, err = await probe.communicate()
        busy = _cpu(gateway.pid) - before
        if probe.returncode != 0:
            raise BenchError(f"the monitor probe failed: {err.decode(errors='replace')[-300:]}")
        result = json.loads(out)
    finally:
        h.stop([gateway])
    per_minute = 60.0 / seconds
    row = {
        "seconds": seconds,
        "polls": result["polls"],
        "poller_cpu_s_per_min": round(result["cpu_s"] * per_minute, 3),
        "gateway_cpu_s_per_min": round(max(0.0, busy - idle) * per_minute, 3),
        "gateway_idle_cpu_s_per_min": round(idle * per_minute, 3),
        "poll_p50_ms": result["poll_p50_ms"],
        "poll_p99_ms": result["poll_p99_ms"],
    }
    echo(f"  poller {row['poller_cpu_s_per_min']} CPU s/min, gateway "
         f"+{row['gateway_cpu_s_per_min']} CPU s/min, {row['polls']} polls")
    return row
