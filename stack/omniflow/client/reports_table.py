"""The table of my reports, newest first, with a status filter and the allowed actions.

Each row offers only what the gateway will accept: "Cancel" while a report is ``PENDING`` and
"Retry" once it has ``FAILED``. Pages follow the gateway's cursor, so a long history is read a
page at a time; "Newest" goes back to the first page.
"""

from __future__ import annotations

import html
import logging
from typing import Any

import ipywidgets as widgets

from omniflow.client.background import Background
from omniflow.client.gateway_api import GatewayApi
from omniflow.client.messages import MessageArea
from omniflow.client.report import Report
from omniflow.client.report_card import status_badge
from omniflow.client.widget_cleanup import close_tree
from omniflow.contracts import ReportStatus

log = logging.getLogger("omniflow.client")

ALL = "all"
HEADERS = ("report", "type", "status", "progress", "created (UTC)", "actions")


class ReportsTable:
    """One page of my reports; ``rows`` and ``actions`` let code read and press it."""

    def __init__(self, api: GatewayApi, background: Background, message: MessageArea, *,
                 page_size: int = 10) -> None:
        self._api = api
        self._background = background
        self._message = message
        self._page_size = page_size
        self._pages: list[str | None] = [None]
        self._next_cursor: str | None = None

        self.rows: tuple[Report, ...] = ()
        self.actions: dict[str, dict[str, widgets.Button]] = {}
        self.status = widgets.Dropdown(options=[ALL, *(str(s) for s in ReportStatus)],
                                       value=ALL, description="status",
                                       style={"description_width": "4em"})
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.newest = widgets.Button(description="Newest", disabled=True)
        self.older = widgets.Button(description="Older", disabled=True)
        self.summary = widgets.HTML("Log in to see your reports.")
        self.grid = widgets.GridBox(layout=widgets.Layout(
            grid_template_columns="6em 11em 8em 5em 11em auto", grid_gap="2px 10px"))
        self.widget = widgets.VBox([
            widgets.HTML("<h4>My reports</h4>"),
            widgets.HBox([self.status, self.refresh_button, self.newest, self.older]),
            self.summary,
            self.grid,
        ])

        self.status.observe(self._on_filter, names="value")
        self.refresh_button.on_click(lambda _b: self._spawn_refresh())
        self.newest.on_click(lambda _b: self._spawn_page(first=True))
        self.older.on_click(lambda _b: self._spawn_page(first=False))

    async def refresh(self) -> None:
        """Reads the current page again with the current filter."""
        if not self._api.signed_in:
            self._show(())
            self.summary.value = "Log in to see your reports."
            return
        status = None if self.status.value == ALL else self.status.value
        page = await self._api.list_reports(status=status, limit=self._page_size,
                                            cursor=self._pages[-1])
        self._next_cursor = page.next_cursor
        self._show(page.items)

    async def cancel(self, report_id: str) -> None:
        report = await self._api.cancel_report(report_id)
        self._message.success(f"Report {report.short_id} is {report.status}.")
        await self.refresh()

    async def retry(self, report_id: str) -> None:
        report = await self._api.retry_report(report_id)
        self._message.success(f"Report {report.short_id} was queued again "
                              f"(generation {report.generation}).")
        await self.refresh()

    def _show(self, reports: tuple[Report, ...]) -> None:
        for old in self.grid.children:
            close_tree(old)
        self.rows = reports
        self.actions = {}

        cells: list[widgets.Widget] = [widgets.HTML(f"<b>{name}</b>") for name in HEADERS]
        for report in reports:
            cells.extend([
                widgets.HTML(f"<code>{report.short_id}</code>"),
                widgets.HTML(html.escape(report.type)),
                widgets.HTML(status_badge(report.status)),
                widgets.HTML(f"{report.progress}%"),
                widgets.HTML(html.escape(report.created_at[:19].replace("T", " "))),
                self._action_buttons(report),
            ])
        self.grid.children = cells if reports else []

        filtered = "" if self.status.value == ALL else f" {self.status.value}"
        page = f", page {len(self._pages)}" if len(self._pages) > 1 else ""
        self.summary.value = (f"{len(reports)}{filtered} report(s){page}." if reports
                              else f"No{filtered} reports yet.")
        self.newest.disabled = len(self._pages) == 1
        self.older.disabled = self._next_cursor is None

    def _action_buttons(self, report: Report) -> widgets.HBox:
        buttons: dict[str, widgets.Button] = {}
        if report.can_cancel:
            buttons["cancel"] = widgets.Button(description="Cancel", button_style="warning",
                                               layout=widgets.Layout(width="6em"))
            buttons["cancel"].on_click(
                lambda _b, rid=report.id: self._background.spawn(self.cancel(rid),
                                                                 name="cancel report"))
        if report.can_retry:
            buttons["retry"] = widgets.Button(description="Retry", button_style="info",
                                              layout=widgets.Layout(width="6em"))
            buttons["retry"].on_click(
                lambda _b, rid=report.id: self._background.spawn(self.retry(rid),
                                                                 name="retry report"))
        self.actions[report.id] = buttons
        return widgets.HBox(list(buttons.values()))

    def _spawn_refresh(self) -> None:
        self._background.spawn(self.refresh(), name="refresh reports")

    def _spawn_page(self, *, first: bool) -> None:
        if first:
            self._pages = [None]
        elif self._next_cursor is not None:
            self._pages.append(self._next_cursor)
        self._spawn_refresh()

    def _on_filter(self, _change: dict[str, Any]) -> None:
        self._pages = [None]
        self._spawn_refresh()

