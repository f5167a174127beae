"""Collects the monitor's data through the gateway's admin API, one snapshot per call.

The admin panel is a client of the API like any other: it logs in with the admin account
(seeded when the gateway starts) and reads ``/admin/broker`` (backlog, workers, latency) and
``/admin/stats/status`` (reports per status) on every poll, both at once. The per-minute
throughput comes from a heavier database query, so it is read only every few polls.

Logins are rate-limited per address and email, and hashing a password is slow on purpose, so
pollers in one process share the admin token while it is valid: re-running a notebook cell that
makes a new monitor does not log in again. A refused token is replaced by a fresh login.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from omniflow.client.gateway_api import GatewayApi
from omniflow.client.problems import ApiError
from omniflow.monitor.rates import DEFAULT_WINDOW_S, RollingRates
from omniflow.monitor.snapshot import STATUSES, MonitorSnapshot, WorkerCounters
from omniflow.settings import get_settings

log = logging.getLogger("omniflow.monitor")

THROUGHPUT_EVERY_S = 10.0
TOKEN_MARGIN_S = 60.0

# (gateway URL, email) -> (token, expiry time); shared by every poller of this process.
_tokens: dict[tuple[str, str], tuple[str, float]] = {}


class AdminPoller:
    """Produces ``MonitorSnapshot``s; call ``poll()`` as often as the charts need.

    Note that the poller owns a connection pool: ``await poller.aclose()`` when done.
    """

    def __init__(self, gateway_url: str | None = None, *, email: str | None = None,
                 password: str | None = None, window_s: float = DEFAULT_WINDOW_S,
                 timeout_s: float = 5.0) -> None:
        settings = get_settings()
        self.api = GatewayApi(gateway_url, timeout_s=timeout_s)
        self._email = email or settings.admin_email
        self._password = password or settings.admin_password.get_secret_value()
        self._rates = RollingRates(window_s)
        self._throughput: int | None = None
        self._throughput_at = 0.0
        self.polls = 0

    async def aclose(self) -> None:
        await self.api.aclose()

    async def poll(self) -> MonitorSnapshot:
        """Reads everything once; raises ``ApiError`` when the gateway cannot answer."""
        if not self.api.signed_in:
            await self._log_in(reuse=True)
        try:
            broker, statuses = await self._read_both()
        except ApiError as exc:
            if exc.status != 401:
                raise
            log.info("the admin token was refused; logging in again")
            await self._log_in(reuse=False)
            broker, statuses = await self._read_both()
        at = time.time()
        await self._maybe_read_throughput(at)

        workers = tuple(WorkerCounters.from_json(item) for item in broker.get("workers", []))
        rates = self._rates.add(at, workers)
        latency = broker.get("latency") or {}
        counts = {status: int(statuses.get("counts", {}).get(status, 0)) for status in STATUSES}
        self.polls += 1
        return MonitorSnapshot(
            at=at,
            status_counts=counts,
            queue_length=int(broker.get("queue_length") or 0),
            pending=int(broker.get("pending") or 0),
            consumer_lag=int(broker.get("consumer_lag") or 0),
            dead_letters=int(broker.get("dead_letters") or 0),
            workers=workers,
            latency_samples=int(latency.get("samples") or 0),
            p50_ms=latency.get("p50_ms"),
            p95_ms=latency.get("p95_ms"),
            p99_ms=latency.get("p99_ms"),
            processed_per_s=rates.total_per_s,
            worker_per_s=rates.per_worker,
            finished_last_minute=self._throughput,
        )

    async def _log_in(self, *, reuse: bool) -> None:
        key = (self.api.base_url, self._email)
        cached = _tokens.get(key)
        if reuse and cached is not None and cached[1] - TOKEN_MARGIN_S > time.time():
            self.api.use_token(cached[0], email=self._email, expires_at=cached[1])
            return
        await self.api.login(self._email, self._password)
        if self.api.token is not None:
            _tokens[key] = (self.api.token, self.api.token_expires_at)

    async def _read_both(self) -> tuple[dict[str, Any], dict[str, Any]]:
        broker, statuses = await asyncio.gather(
            self.api.get_json("/admin/broker", action="read the broker's state"),
            self.api.get_json("/admin/stats/status", action="read the report counts"),
        )
        return broker, statuses

    async def _maybe_read_throughput(self, now: float) -> None:
        if now - self._throughput_at < THROUGHPUT_EVERY_S:
            return
        self._throughput_at = now
        answer = await self.api.get_json("/admin/stats/throughput", action="read the throughput",
                                         params={"minutes": 2})
        minutes = answer.get("minutes") or []
        # The current minute is still filling up: the last complete one is more telling.
        complete = minutes[-2] if len(minutes) >= 2 else (minutes[-1] if minutes else None)
        self._throughput = int(complete["finished"]) if complete else None
