"""End-to-end latency, submit to DONE, at fixed open-loop arrival rates.

The whole path runs: our gateway, the outbox relay and two workers on zero-work jobs. Submits
are sent on a fixed schedule (request ``i`` at ``start + i / rate``) whatever the answers do,
over a pool of keep-alive connections, so a slow system is not given time to catch up. A report's
latency runs from its *scheduled* send time to the ``finished_at`` the worker wrote in
PostgreSQL: the same clock, on the same machine.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from typing import Any
from urllib.parse import urlsplit

from benchmarks import gateway_submit, stats
from benchmarks.harness import Harness, new_stream

RATES = (50, 100, 200)
CONNECTIONS = 32
WORKERS = 2


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    payload: bytes) -> tuple[int, bytes]:
    writer.write(payload)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return int(head[9:12]), await reader.readexactly(length)


async def open_loop(url: str, tokens: list[str], rate: int, seconds: float,
                    ) -> list[tuple[float, float, int, str | None]]:
    """Sends ``rate * seconds`` submits on schedule; (scheduled, answered, status, id) each."""
    parts = urlsplit(url)
    host = parts.netloc
    payloads = [gateway_submit.request_bytes(host, t) for t in tokens]
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(CONNECTIONS):
        pool.put_nowait(await asyncio.open_connection(parts.hostname, parts.port))
    total = int(rate * seconds)
    results: list[tuple[float, float, int, str | None]] = []

    async def one(i: int, scheduled: float) -> None:
        reader, writer = await pool.get()
        try:
            status, body = await _exchange(reader, writer, payloads[i % len(payloads)])
        except (OSError, asyncio.IncompleteReadError):
            results.append((scheduled, time.time(), 0, None))
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        else:
            report_id = json.loads(body).get("id") if status == 202 else None
            results.append((scheduled, time.time(), status, report_id))
        pool.put_nowait((reader, writer))

    start = time.time() + 0.2
    tasks = []
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, scheduled)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        _, writer = pool.get_nowait()
        writer.close()
    return results


async def run_all(h: Harness, quick: bool, echo) -> dict[str, Any]:  # noqa: ANN001
    seconds = 5.0 if quick else 20.0
    stream = new_stream()
    gateway, url = await h.start_gateway()
    relay = h.start_relay(stream)
    workers = await h.start_workers(WORKERS, stream)
    rows = []
    try:
        tokens = await gateway_submit.make_tokens(url, 8)
        for rate in RATES:
            sent = await open_loop(url, tokens, rate, seconds)
            accepted = {rid: scheduled for scheduled, _, status, rid in sent if rid}
            finished = await _wait_finished(h, list(accepted), timeout_s=120)
            latencies = [(finished[rid][3] - accepted[rid]) for rid in accepted
                         if rid in finished]
            # Where the time goes: into the database (HTTP and the gateway), onto the broker
            # (the relay), to a worker (the broker and the worker's read), and the work itself.
            stages = {
                "to_saved": [finished[r][0] - accepted[r] for r in finished],
                "saved_to_queued": [finished[r][1] - finished[r][0] for r in finished],
                "queued_to_started": [finished[r][2] - finished[r][1] for r in finished],
                "started_to_done": [finished[r][3] - finished[r][2] for r in finished],
            }
            http = [answered - scheduled for scheduled, answered, _, _ in sent]
            row = {
                "rate": rate, "seconds": seconds, "sent": len(sent), "accepted": len(accepted),
                "done": len(latencies),
                "errors": len(sent) - len(accepted),
                "submit_to_done": stats.summary_ms(latencies),
                "http": stats.summary_ms(http),
                "stages": {name: stats.summary_ms(v) for name, v in stages.items()},
            }
            h.check_alive([gateway, relay, *workers])
            echo(f"  {rate:>3}/s: p50 {row['submit_to_done']['p50_ms']} ms, "
                 f"p99 {row['submit_to_done']['p99_ms']} ms, done {row['done']}/{row['sent']}")
            row["samples_ms"] = sorted(round(x * 1000, 2) for x in latencies)
            rows.append(row)
    finally:
        h.stop([*workers, relay, gateway])
        async with h.redis() as redis:
            await redis.delete(stream, f"{stream}:dead")
    return {"workers": WORKERS, "connections": CONNECTIONS, "rows": rows}


async def _wait_finished(h: Harness, ids: list[str], timeout_s: float,
                         ) -> dict[str, tuple[float, float, float, float]]:
    """(created, queued, started, finished) epoch seconds of each DONE report among ``ids``."""
    deadline = time.monotonic() + timeout_s
    async with h.pg() as conn:
        while True:
            rows = await conn.fetch(
                "SELECT id::text, created_at, queued_at, started_at, finished_at FROM reports "
                "WHERE id = ANY($1::uuid[]) AND status = 'DONE'", ids)
            if len(rows) == len(ids) or time.monotonic() > deadline:
                return {r["id"]: tuple(r[f].astimezone(dt.UTC).timestamp() for f in (
                            "created_at", "queued_at", "started_at", "finished_at"))
                        for r in rows}
            await asyncio.sleep(0.5)
