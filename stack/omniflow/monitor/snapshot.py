"""What the admin panel draws at one instant, read from the gateway's admin API.

A snapshot is plain data with no drawing code attached, so the collection side (the poller)
can be tested on its own and the drawing side (the dashboard) can be fed any sequence of
snapshots, from the live stack or from a test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omniflow.contracts import ReportStatus

STATUSES = tuple(str(status) for status in ReportStatus)


@dataclass(frozen=True, slots=True)
class WorkerCounters:
    """One live worker's counters since it started, as it reports them."""

    name: str
    pid: int = 0
    processed: int = 0
    failed: int = 0
    retried: int = 0
    dead_lettered: int = 0
    in_flight: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WorkerCounters:
        return cls(
            name=str(data["name"]),
            pid=int(data.get("pid") or 0),
            processed=int(data.get("processed") or 0),
            failed=int(data.get("failed") or 0),
            retried=int(data.get("retried") or 0),
            dead_lettered=int(data.get("dead_lettered") or 0),
            in_flight=int(data.get("in_flight") or 0),
        )


@dataclass(frozen=True, slots=True)
class MonitorSnapshot:
    """Counts, backlog, latency and rates at time ``at`` (seconds since the epoch)."""

    at: float
    status_counts: dict[str, int] = field(default_factory=dict)
    queue_length: int = 0
    pending: int = 0
    consumer_lag: int = 0
    dead_letters: int = 0
    workers: tuple[WorkerCounters, ...] = ()
    latency_samples: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    processed_per_s: float = 0.0
    worker_per_s: dict[str, float] = field(default_factory=dict)
    finished_last_minute: int | None = None

    @property
    def queue_depth(self) -> int:
        """Jobs not finished by the workers yet: not read at all, plus read but not acked."""
        return self.consumer_lag + self.pending

    @property
    def failed_attempts(self) -> int:
        """Attempts that failed across live workers (some were retried and then succeeded)."""
        return sum(worker.failed for worker in self.workers)

    @property
    def processed_total(self) -> int:
        return sum(worker.processed for worker in self.workers)
