"""Rolling rates from worker counters: restarts and departures never make them jump."""

from __future__ import annotations

import pytest

from omniflow.monitor import RollingRates, WorkerCounters


def workers(**processed: int) -> tuple[WorkerCounters, ...]:
    return tuple(WorkerCounters(name=name, pid=1, processed=count)
                 for name, count in processed.items())


def test_the_first_reading_is_no_rate() -> None:
    rates = RollingRates(window_s=5).add(100.0, workers(w1=500))
    assert rates.total_per_s == 0.0
    assert rates.per_worker == {"w1": 0.0}


def test_growth_over_the_window_is_the_rate() -> None:
    rolling = RollingRates(window_s=5)
    for second in range(11):
        rates = rolling.add(100.0 + second, workers(w1=10 * second, w2=2 * second))
    assert rates.total_per_s == pytest.approx(12.0)
    assert rates.per_worker == pytest.approx({"w1": 10.0, "w2": 2.0})


def test_old_growth_leaves_the_window() -> None:
    rolling = RollingRates(window_s=2)
    rolling.add(0.0, workers(w1=0))
    rolling.add(1.0, workers(w1=50))
    rates = rolling.add(5.0, workers(w1=50))
    assert rates.total_per_s == 0.0


def test_a_restarted_worker_counts_from_zero() -> None:
    rolling = RollingRates(window_s=10)
    rolling.add(0.0, workers(w1=1000))
    restarted = (WorkerCounters(name="w1", pid=2, processed=4),)
    rates = rolling.add(1.0, restarted)
    assert rates.total_per_s == pytest.approx(4.0)


def test_a_departed_worker_drops_out() -> None:
    rolling = RollingRates(window_s=10)
    rolling.add(0.0, workers(w1=0, w2=0))
    rolling.add(1.0, workers(w1=5, w2=5))
    rates = rolling.add(2.0, workers(w1=10))
    assert rates.per_worker == {"w1": pytest.approx(5.0)}
    assert rates.total_per_s == pytest.approx(7.5)  # w2's past growth is still real work.


def test_a_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="window_s"):
        RollingRates(window_s=0)
