"""The dashboard draws any snapshot it is given: gaps, new workers, long runs."""

from __future__ import annotations

import math

from omniflow.monitor import Dashboard, MonitorSnapshot, WorkerCounters


def snapshot(at: float, **fields: object) -> MonitorSnapshot:
    return MonitorSnapshot(at=at, **fields)


def test_missing_latency_is_a_gap_not_a_zero() -> None:
    board = Dashboard(rollover=10)
    board.update(snapshot(1.0))
    board.update(snapshot(2.0, p50_ms=10.0, p95_ms=20.0, p99_ms=30.0))

    p50 = board.sources["latency"].data["p50"]
    assert math.isnan(p50[0]) and p50[1] == 10.0


def test_worker_bars_follow_the_live_workers() -> None:
    board = Dashboard()
    board.update(snapshot(1.0, workers=(WorkerCounters("worker-2"), WorkerCounters("worker-1")),
                          worker_per_s={"worker-1": 3.0, "worker-2": 1.5}))
    assert list(board.figures["workers"].y_range.factors) == ["worker-1", "worker-2"]
    assert board.sources["workers"].data["per_s"] == [3.0, 1.5]

    board.update(snapshot(2.0, workers=(WorkerCounters("worker-1"),)))
    assert list(board.figures["workers"].y_range.factors) == ["worker-1"]


def test_a_long_run_keeps_only_the_rollover() -> None:
    board = Dashboard(rollover=100)
    for second in range(1200):  # Twenty minutes of readings, one a second.
        board.update(snapshot(float(second), status_counts={"DONE": second}))

    assert board.updates == 1200
    for source in board.sources.values():
        assert len(source.data[next(iter(source.data))]) <= 100
    assert list(board.sources["status"].data["DONE"]) == list(range(1100, 1200))


def test_a_problem_replaces_the_headline_as_text() -> None:
    board = Dashboard()
    board.show_problem("<script>no</script>")
    assert "&lt;script&gt;" in board.headline.text
