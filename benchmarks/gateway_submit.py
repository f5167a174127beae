"""Measures how many report submits per second the gateway accepts, and how fast it answers.

Run it against an isolated stack with no workers (they would compete for the same two cores)
and a per-user limit high enough that no submit is refused::

    OMNIFLOW_WORKERS=0 OMNIFLOW_MAX_UNFINISHED_REPORTS=1000000 \\
        omniflow run --isolated -- python benchmarks/gateway_submit.py --requests 20000

Each of ``--concurrency`` connections sends one request at a time over HTTP/1.1 keep-alive,
round-robin over ``--users`` accounts. The client is a few lines of raw asyncio on uvloop
rather than httpx: on a two-core machine the load generator shares the CPU with the gateway
and PostgreSQL, and a heavier client would mostly measure itself. The first ``--warmup``
requests are not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from collections import Counter
from urllib.parse import urlsplit

import httpx
import uvloop

BODY = json.dumps({"type": "user_activity", "params": {"days": 7, "top": 5}}).encode()


async def make_tokens(base_url: str, users: int) -> list[str]:
    """Signs up ``users`` fresh learners and logs each one in."""
    password = "benchmark password"
    tokens = []
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        for _ in range(users):
            email = f"bench-{uuid.uuid4().hex[:12]}@example.org"
            signup = await client.post("/auth/signup", json={"email": email, "password": password})
            signup.raise_for_status()
            login = await client.post("/auth/login", json={"email": email, "password": password})
            login.raise_for_status()
            tokens.append(login.json()["access_token"])
    return tokens


def request_bytes(host: str, token: str) -> bytes:
    return (
        f"POST /reports HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n"
    ).encode() + BODY


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


async def connection(url: str, requests: list[bytes], latencies: list[float],
                     statuses: Counter[int]) -> None:
    """One keep-alive connection sending its share of the requests back to back."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        for payload in requests:
            started = time.perf_counter()
            writer.write(payload)
            status = await read_response(reader)
            latencies.append(time.perf_counter() - started)
            statuses[status] += 1
    finally:
        writer.close()


async def run(args: argparse.Namespace) -> dict[str, object]:
    tokens = await make_tokens(args.url, args.users)
    host = urlsplit(args.url).netloc
    payloads = [request_bytes(host, token) for token in tokens]

    async def phase(count: int) -> tuple[list[float], Counter[int], float]:
        shares = [[payloads[(c + i * args.concurrency) % len(payloads)]
                   for i in range(count // args.concurrency)]
                  for c in range(args.concurrency)]
        latencies: list[float] = []
        statuses: Counter[int] = Counter()
        started = time.perf_counter()
        await asyncio.gather(*(connection(args.url, share, latencies, statuses)
                               for share in shares))
        return latencies, statuses, time.perf_counter() - started

    if args.warmup:
        await phase(args.warmup)
    latencies, statuses, elapsed = await phase(args.requests)

    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    return {
        "requests": len(latencies),
        "concurrency": args.concurrency,
        "users": args.users,
        "seconds": round(elapsed, 2),
        "submits_per_s": round(statuses[202] / elapsed, 1),
        "statuses": dict(statuses),
        "p50_ms": round(pct(50), 2),
        "p90_ms": round(pct(90), 2),
        "p99_ms": round(pct(99), 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("OMNIFLOW_GATEWAY_URL",
                                                        "http://127.0.0.1:8000"))
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=1_000)
    args = parser.parse_args()

    result = uvloop.run(run(args))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
