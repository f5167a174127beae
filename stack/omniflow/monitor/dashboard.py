"""The admin panel's charts: Bokeh figures fed one ``MonitorSnapshot`` at a time.

Every time series is a ``ColumnDataSource`` grown with ``stream(..., rollover=N)``: Bokeh keeps
only the newest N points, in the kernel and in the browser alike, so a panel left open for
hours uses the same memory as one opened a minute ago. At one update a second the default
N = 600 shows the last ten minutes. The per-worker bars are replaced on each update; there is
one bar per live worker, so they are bounded by the number of workers.

The dashboard only draws. Where snapshots come from (a poller, a test) and how the browser is
told about changes (a notebook push, a Bokeh server session) are decided by its callers.
"""

from __future__ import annotations

import html
import math
from typing import Any

from bokeh.layouts import column, row
from bokeh.models import ColumnDataSource, Div, FactorRange
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

from omniflow.monitor.snapshot import STATUSES, MonitorSnapshot

DEFAULT_ROLLOVER = 600
MAX_WORKER_BARS = 64
WIDTH, HEIGHT = 470, 220
TOOLS = "pan,box_zoom,reset,save"

_STATUS_COLOURS = {"PENDING": "#7f7f7f", "PROCESSING": "#1f77b4", "DONE": "#2ca02c",
                   "FAILED": "#d62728", "CANCELLED": "#bcbd22"}

# Each time series: its source's name and its columns (besides ``x``), with a colour each.
SERIES: dict[str, tuple[str, ...]] = {
    "rate": ("processed_per_s",),
    "status": STATUSES,
    "queue": ("depth", "lag", "pending"),
    "latency": ("p50", "p95", "p99"),
    "failures": ("failed_attempts", "failed_reports", "dead_letters"),
}


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _time_figure(title: str, y_label: str) -> Any:
    fig = figure(title=title, x_axis_type="datetime", width=WIDTH, height=HEIGHT, tools=TOOLS,
                 toolbar_location="right")
    fig.yaxis.axis_label = y_label
    fig.y_range.start = 0
    return fig


class Dashboard:
    """Six charts and a headline, with one ``update(snapshot)`` to move them all."""

    def __init__(self, *, rollover: int = DEFAULT_ROLLOVER,
                 window_s: float | None = None) -> None:
        if rollover < 1:
            raise ValueError("rollover must be at least 1")
        self.rollover = rollover
        self.updates = 0
        self.sources: dict[str, ColumnDataSource] = {
            key: ColumnDataSource({"x": [], **{name: [] for name in names}},
                                  name=f"omniflow-{key}")
            for key, names in SERIES.items()
        }
        self.sources["workers"] = ColumnDataSource(
            {"worker": [], "per_s": [], "processed": []}, name="omniflow-workers")
        self.headline = Div(text="Waiting for the first reading…", width=2 * WIDTH,
                            name="omniflow-headline")
        window = f"{window_s:g} s rolling window" if window_s else "rolling window"
        self.figures = {
            "rate": self._lines("rate", f"Messages processed per second ({window})", "per second",
                                {"processed_per_s": "processed/s"}),
            "status": self._lines("status", "Reports by status", "reports",
                                  {name: name for name in STATUSES}, colours=_STATUS_COLOURS),
            "queue": self._lines("queue", "Queue depth and consumer lag", "jobs",
                                 {"depth": "depth (lag + pending)", "lag": "consumer lag",
                                  "pending": "pending (not acked)"}),
            "latency": self._lines("latency", "Submit-to-finish latency", "ms",
                                   {"p50": "p50", "p95": "p95", "p99": "p99"}),
            "failures": self._lines("failures", "Failures and dead letters", "count",
                                    {"failed_attempts": "failed attempts",
                                     "failed_reports": "FAILED reports",
                                     "dead_letters": "dead letters"}),
            "workers": self._worker_bars(),
        }
        f = self.figures
        self.layout = column(
            self.headline,
            row(f["rate"], f["status"]),
            row(f["queue"], f["latency"]),
            row(f["failures"], f["workers"]),
            name="omniflow-monitor",
        )

    def update(self, snap: MonitorSnapshot) -> None:
        """Appends one point to every series and redraws the worker bars."""
        x = snap.at * 1000.0  # Bokeh's datetime axis counts milliseconds.
        values: dict[str, dict[str, float]] = {
            "rate": {"processed_per_s": snap.processed_per_s},
            "status": {name: snap.status_counts.get(name, 0) for name in STATUSES},
            "queue": {"depth": snap.queue_depth, "lag": snap.consumer_lag,
                      "pending": snap.pending},
            "latency": {"p50": _nan(snap.p50_ms), "p95": _nan(snap.p95_ms),
                        "p99": _nan(snap.p99_ms)},
            "failures": {"failed_attempts": snap.failed_attempts,
                         "failed_reports": snap.status_counts.get("FAILED", 0),
                         "dead_letters": snap.dead_letters},
        }
        for key, point in values.items():
            self.sources[key].stream({"x": [x], **{k: [v] for k, v in point.items()}},
                                     rollover=self.rollover)
        self._update_workers(snap)
        self.updates += 1
        self.headline.text = self._headline(snap)

    def show_problem(self, text: str) -> None:
        """Replaces the headline with what keeps the charts from updating."""
        self.headline.text = (f'<span style="color:#a4262c">✖ {html.escape(text)}</span>')

    def series_length(self) -> int:
        """How many points each time series holds now (they all grow together)."""
        return len(self.sources["rate"].data["x"])

    def _lines(self, key: str, title: str, y_label: str, labels: dict[str, str],
               colours: dict[str, str] | None = None) -> Any:
        fig = _time_figure(title, y_label)
        for index, (column_name, label) in enumerate(labels.items()):
            colour = (colours or {}).get(column_name, Category10_10[index % 10])
            fig.line(x="x", y=column_name, source=self.sources[key], legend_label=label,
                     color=colour, line_width=2)
        fig.legend.location = "top_left"
        fig.legend.click_policy = "hide"
        fig.legend.label_text_font_size = "8pt"
        fig.legend.background_fill_alpha = 0.6
        return fig

    def _worker_bars(self) -> Any:
        fig = figure(title="Throughput per worker (processed per second)",
                     y_range=FactorRange(factors=[]), width=WIDTH, height=HEIGHT, tools=TOOLS,
                     tooltips=[("worker", "@worker"), ("per second", "@per_s{0.0}"),
                               ("processed", "@processed")])
        fig.hbar(y="worker", right="per_s", height=0.7, source=self.sources["workers"],
                 color=Category10_10[0])
        fig.x_range.start = 0
        return fig

    def _update_workers(self, snap: MonitorSnapshot) -> None:
        workers = sorted(snap.workers, key=lambda worker: worker.name)[:MAX_WORKER_BARS]
        names = [worker.name for worker in workers]
        bars = self.figures["workers"]
        if list(bars.y_range.factors) != names:
            bars.y_range.factors = names
        self.sources["workers"].data = {
            "worker": names,
            "per_s": [snap.worker_per_s.get(name, 0.0) for name in names],
            "processed": [worker.processed for worker in workers],
        }

    @staticmethod
    def _headline(snap: MonitorSnapshot) -> str:
        minute = ("–" if snap.finished_last_minute is None
                  else str(snap.finished_last_minute))
        p95 = "–" if snap.p95_ms is None else f"{snap.p95_ms:.0f} ms"
        return (
            f"<b>{snap.processed_per_s:.1f}</b> processed/s · "
            f"<b>{snap.queue_depth}</b> in the queue · "
            f"<b>{len(snap.workers)}</b> workers · "
            f"p95 <b>{p95}</b> · "
            f"<b>{minute}</b> finished in the last full minute · "
            f"<b>{snap.dead_letters}</b> dead letters"
        )
