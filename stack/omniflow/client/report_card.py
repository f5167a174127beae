"""Shows one report, its status and its progress, and redraws when they change."""

from __future__ import annotations

import html

import ipywidgets as widgets

from omniflow.client.report import Report
from omniflow.contracts import ReportStatus

STATUS_COLOURS = {
    ReportStatus.PENDING: "#6b6b6b",
    ReportStatus.PROCESSING: "#1f5fa8",
    ReportStatus.DONE: "#1d6b35",
    ReportStatus.FAILED: "#a4262c",
    ReportStatus.CANCELLED: "#8a6d00",
}
_BAR_STYLE = {
    ReportStatus.PENDING: "",
    ReportStatus.PROCESSING: "info",
    ReportStatus.DONE: "success",
    ReportStatus.FAILED: "danger",
    ReportStatus.CANCELLED: "warning",
}


def status_badge(status: ReportStatus) -> str:
    """Returns the status as a small coloured label, in HTML."""
    return (f'<span data-status="{status}" style="color:white;background:{STATUS_COLOURS[status]};'
            f'padding:1px 6px;border-radius:3px;font-size:90%">{status}</span>')


class ReportCard:
    """The latest state of the report just submitted; empty until there is one."""

    def __init__(self) -> None:
        self.report: Report | None = None
        self.summary = widgets.HTML("")
        self.bar = widgets.IntProgress(value=0, min=0, max=100, description="progress",
                                       layout=widgets.Layout(visibility="hidden"))
        self.widget = widgets.VBox([self.summary, self.bar])

    def show(self, report: Report) -> None:
        self.report = report
        reason = ""
        if report.failure_reason:
            reason = f" — {html.escape(report.failure_reason)}"
        self.summary.value = (
            f'<div data-report-id="{report.id}">Report <code>{report.short_id}</code> '
            f"({html.escape(report.type)}) {status_badge(report.status)}{reason}</div>"
        )
        self.bar.value = 100 if report.status is ReportStatus.DONE else report.progress
        self.bar.bar_style = _BAR_STYLE[report.status]
        self.bar.layout.visibility = "visible"

    def clear(self) -> None:
        self.report = None
        self.summary.value = ""
        self.bar.value = 0
        self.bar.layout.visibility = "hidden"
