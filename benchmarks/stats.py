"""Percentiles and summaries of latency samples, by the nearest-rank method."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def percentile(ordered: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile of samples that are already sorted."""
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p90, p99, max and mean of samples given in seconds, reported in milliseconds."""
    ordered = sorted(seconds)
    if not ordered:
        return {"p50_ms": math.nan, "p90_ms": math.nan, "p99_ms": math.nan,
                "max_ms": math.nan, "mean_ms": math.nan}
    return {
        "p50_ms": round(percentile(ordered, 50) * 1000, 2),
        "p90_ms": round(percentile(ordered, 90) * 1000, 2),
        "p99_ms": round(percentile(ordered, 99) * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
    }


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan
