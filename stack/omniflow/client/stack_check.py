"""The first cell of a lesson: is the stack up? If not, say what to run, without a traceback.

IPython shows an exception that has a ``_render_traceback_`` method by calling it, so the
notebook prints only the sentence below, and "Run All" still stops at this cell.
"""

from __future__ import annotations

import httpx

from omniflow.client.problems import START_HINT
from omniflow.settings import get_settings


class StackNotReady(RuntimeError):
    """The gateway (or a store behind it) is not answering."""

    def _render_traceback_(self) -> list[str]:
        return [f"StackNotReady: {self}"]


async def require_gateway(gateway_url: str | None = None, *, timeout_s: float = 5.0) -> str:
    """Returns a one-line confirmation, or raises ``StackNotReady`` saying what to do."""
    url = (gateway_url or get_settings().gateway_url).rstrip("/")
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as http:
            response = await http.get(f"{url}/health/ready")
    except httpx.TransportError:
        raise StackNotReady(f"Nothing answers at {url}. {START_HINT}") from None

    if response.status_code != 200:
        down = _down_checks(response)
        raise StackNotReady(f"The gateway at {url} is up but not ready ({down}). {START_HINT}")
    return f"The gateway at {url} is ready: PostgreSQL, Redis and MongoDB all answer."


def _down_checks(response: httpx.Response) -> str:
    try:
        checks = response.json().get("checks", {})
    except (ValueError, AttributeError):
        return f"HTTP {response.status_code}"
    down = [name for name, check in checks.items() if check.get("status") != "ok"]
    return f"not answering: {', '.join(down)}" if down else f"HTTP {response.status_code}"
