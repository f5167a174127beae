"""The end-user web client of the lab, made of widgets: an account, a form, my reports.

``ClientApp`` wires the parts together around one ``GatewayApi`` and one message area. Buttons
start tasks on the kernel's event loop (see ``background.py``), so the notebook never freezes
while the gateway works, and the report just submitted updates itself until it ends.
"""

from __future__ import annotations

import logging
from typing import Any

import ipywidgets as widgets

from omniflow.client.auth_panel import AuthPanel
from omniflow.client.background import Background
from omniflow.client.gateway_api import DEFAULT_TIMEOUT_S, GatewayApi
from omniflow.client.messages import MessageArea
from omniflow.client.report import Report
from omniflow.client.report_form import ReportForm
from omniflow.client.report_watch import POLL_INTERVAL_S
from omniflow.client.reports_table import ReportsTable
from omniflow.client.widget_cleanup import close_tree
from omniflow.contracts import ReportStatus

log = logging.getLogger("omniflow.client")


class ClientApp:
    """Display it in a cell to use it; its parts are attributes, so code can drive it too.

    Note that the app owns a connection pool: ``await app.close()`` when done with it.
    """

    def __init__(self, gateway_url: str | None = None, *,
                 poll_interval_s: float = POLL_INTERVAL_S, page_size: int = 10,
                 timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.api = GatewayApi(gateway_url, timeout_s=timeout_s)
        self.message = MessageArea()
        self.background = Background(self.message.error)
        self.auth = AuthPanel(self.api, self.background, self.message,
                              on_change=self._refresh_table)
        self.table = ReportsTable(self.api, self.background, self.message, page_size=page_size)
        self.form = ReportForm(self.api, self.background, self.message,
                               on_change=self._report_changed, poll_interval_s=poll_interval_s)
        self._seen: dict[str, ReportStatus] = {}
        self.widget = widgets.VBox([
            widgets.HTML(f"<b>OmniFlow client</b> · gateway <code>{self.api.base_url}</code>"),
            self.message.widget,
            self.auth.widget,
            self.form.widget,
            self.table.widget,
        ], layout=widgets.Layout(border="1px solid #ddd", padding="6px"))

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    async def settle(self, timeout_s: float = 60.0) -> None:
        """Waits until every action started by a button (and the report watch) is over."""
        await self.background.settle(timeout_s)

    async def close(self) -> None:
        """Stops every task, closes the connections and removes the widgets."""
        self.background.cancel_all()
        await self.api.aclose()
        close_tree(self.widget)
        log.info("client app closed")

    def _refresh_table(self) -> None:
        self.background.spawn(self.table.refresh(), name="refresh reports")

    def _report_changed(self, report: Report) -> None:
        # Redraw the table when a status moves, not on every progress step.
        if self._seen.get(report.id) is not report.status:
            self._seen[report.id] = report.status
            self._refresh_table()

