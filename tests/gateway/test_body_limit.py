"""A huge request body is refused before it is parsed, and the gateway's memory stays flat."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from urllib.parse import urlsplit

import psutil
import pytest

from omniflow.settings import Settings
from tests.gateway.conftest import User

HUNDRED_MB = 100 * 1024 * 1024
CHUNK = 256 * 1024


def gateway_process(settings: Settings) -> psutil.Process:
    port = urlsplit(settings.gateway_url).port
    for conn in psutil.net_connections(kind="tcp"):
        if conn.laddr and conn.laddr.port == port and conn.status == "LISTEN" and conn.pid:
            return psutil.Process(conn.pid)
    pytest.fail(f"no process listens on the gateway port {port}")


async def post_huge(settings: Settings, token: str, *, chunked: bool) -> tuple[int, dict, int]:
    """Streams a 100 MB JSON body; stops sending as soon as the gateway answers.

    Returns the status, the problem body and how many body bytes were sent.
    """
    url = urlsplit(settings.gateway_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {HUNDRED_MB}"
    writer.write(
        f"POST /reports HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\n{framing}\r\n\r\n".encode()
    )
    response = asyncio.ensure_future(_read_response(reader))
    piece = b'{"type":"user_activity","params":{"pad":"' + b"x" * CHUNK
    sent = 0
    with contextlib.suppress(ConnectionError):
        while sent < HUNDRED_MB and not response.done():
            data = piece[: min(len(piece), HUNDRED_MB - sent)]
            writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data)
            await writer.drain()
            sent += len(data)
            await asyncio.sleep(0)  # Let the reader see an early answer.
    status, body = await asyncio.wait_for(response, 30)
    writer.close()
    return status, json.loads(body), sent


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    body = await reader.readexactly(int(headers["content-length"]))
    return int(lines[0].split()[1]), body


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_hundred_megabyte_body_is_413_and_memory_stays_flat(settings, alice: User,
                                                                  chunked) -> None:
    process = gateway_process(settings)
    before = process.memory_info().rss
    started = time.monotonic()

    status, problem, sent = await post_huge(settings, alice.token, chunked=chunked)

    grown_mb = (process.memory_info().rss - before) / 2**20
    assert status == 413
    assert problem["status"] == 413 and str(settings.max_body_bytes) in problem["detail"]
    assert sent < HUNDRED_MB / 4, "the gateway should answer long before the body ends"
    assert grown_mb < 20, f"gateway memory grew by {grown_mb:.1f} MiB"
    assert time.monotonic() - started < 10


async def test_body_just_over_the_limit_is_413(http, settings: Settings, alice: User) -> None:
    body = b'{"type":"user_activity","params":{}}'.ljust(settings.max_body_bytes + 1)

    response = await http.post("/reports", content=body,
                               headers={**alice.headers, "content-type": "application/json"})

    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_chunked_body_just_over_the_limit_is_413(http, settings, alice: User) -> None:
    async def pieces():
        yield b'{"type":"user_activity","params":{}}'
        for _ in range(settings.max_body_bytes // 1024 + 1):
            yield b" " * 1024

    response = await http.post("/reports", content=pieces(),
                               headers={**alice.headers, "content-type": "application/json"})

    assert response.status_code == 413
    assert response.json()["status"] == 413


async def test_gateway_still_serves_after_refusing_huge_bodies(http) -> None:
    assert (await http.get("/health/live")).status_code == 200
