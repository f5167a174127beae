"""Turns the workers' ever-growing counters into "processed per second" over a rolling window.

Each worker counts the jobs it has processed since it started. The rate is the growth of
those counters over the last few seconds. A worker that restarts starts again from zero (it is
recognised by a new process id) and one that stops simply drops out; neither makes the rate
jump or go negative, because only the growth of each worker's own counter is summed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from omniflow.monitor.snapshot import WorkerCounters

DEFAULT_WINDOW_S = 5.0


@dataclass(frozen=True, slots=True)
class Rates:
    total_per_s: float
    per_worker: dict[str, float]


class RollingRates:
    """Keeps the last ``window_s`` seconds of counter growth; memory is bounded by the window."""

    def __init__(self, window_s: float = DEFAULT_WINDOW_S) -> None:
        if window_s <= 0:
            raise ValueError("window_s must be positive")
        self.window_s = window_s
        self._last: dict[str, WorkerCounters] = {}
        self._growth: deque[tuple[float, dict[str, int]]] = deque()
        self._started: float | None = None

    def add(self, at: float, workers: tuple[WorkerCounters, ...]) -> Rates:
        """Records the counters read at ``at`` and returns the rates over the window."""
        growth = {}
        for worker in workers:
            before = self._last.get(worker.name)
            same_process = before is not None and before.pid == worker.pid
            if before is None:
                growth[worker.name] = 0  # First sight: its past is not part of this window.
            elif same_process:
                growth[worker.name] = max(0, worker.processed - before.processed)
            else:
                growth[worker.name] = worker.processed  # Restarted: counting from zero again.
        self._last = {worker.name: worker for worker in workers}
        if self._started is None:
            self._started = at
        self._growth.append((at, growth))
        while self._growth and self._growth[0][0] <= at - self.window_s:
            self._growth.popleft()

        span = min(self.window_s, at - self._started)
        if span <= 0:
            return Rates(0.0, {worker.name: 0.0 for worker in workers})
        per_worker = {worker.name: 0.0 for worker in workers}
        for _at, step in self._growth:
            for name, amount in step.items():
                if name in per_worker:
                    per_worker[name] += amount / span
        total = sum(sum(step.values()) for _at, step in self._growth) / span
        return Rates(total, per_worker)
