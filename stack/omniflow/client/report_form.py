"""The "Process report" form: pick a type, fill its parameters, submit, watch it run.

The form checks its values with the contract before sending, so most mistakes are shown beside
their field without a round trip. A submit carries an ``Idempotency-Key`` that is kept until the
gateway accepts the report or the form changes, so pressing the button again after a failed
attempt (the gateway was down, the answer got lost) can never create the report twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from omniflow.client.background import Background
from omniflow.client.gateway_api import GatewayApi
from omniflow.client.messages import MessageArea
from omniflow.client.param_widgets import ParamsEditor
from omniflow.client.problems import ApiError
from omniflow.client.report import Report
from omniflow.client.report_card import ReportCard
from omniflow.client.report_watch import POLL_INTERVAL_S, follow_report
from omniflow.client.validation import check_params
from omniflow.contracts import REPORT_TYPES, ReportStatus

log = logging.getLogger("omniflow.client")


def suggested_values(report_type: str) -> dict[str, Any]:
    """Values that make a fresh form valid where the contract has no default (date ranges)."""
    if report_type == "sales_summary":
        today = dt.date.today()
        return {"start_date": today - dt.timedelta(days=30), "end_date": today}
    if report_type == "inventory_snapshot":
        return {"warehouse": "main"}
    return {}


class ReportForm:
    """Submits one report at a time and follows the latest one until it ends."""

    def __init__(
        self,
        api: GatewayApi,
        background: Background,
        message: MessageArea,
        *,
        on_change: Callable[[Report], None] | None = None,
        poll_interval_s: float = POLL_INTERVAL_S,
    ) -> None:
        self._api = api
        self._background = background
        self._message = message
        self._on_change = on_change
        self._poll_interval_s = poll_interval_s
        self._idempotency_key: str | None = None
        self._watch: asyncio.Task[Any] | None = None

        first = next(iter(REPORT_TYPES))
        self.type = widgets.Dropdown(options=list(REPORT_TYPES), value=first,
                                     description="report type",
                                     style={"description_width": "9em"})
        self.params = ParamsEditor(first)
        self.process = widgets.Button(description="Process report", button_style="primary",
                                      icon="play", tooltip="Send the report request")
        self.card = ReportCard()
        self.widget = widgets.VBox([
            widgets.HTML("<h4>Process report</h4>"),
            self.type,
            self.params.widget,
            self.process,
            self.card.widget,
        ])

        self._reset_params(first)
        self.type.observe(self._on_type, names="value")
        self.process.on_click(self._on_process)

    @property
    def report(self) -> Report | None:
        """The latest state of the report submitted last."""
        return self.card.report

    async def submit(self) -> Report | None:
        """Checks the form, sends it and starts following the new report."""
        checked = check_params(self.type.value, self.params.values())
        self.params.show_problems(checked.errors)
        if checked.params is None:
            listed = "; ".join(str(problem) for problem in checked.errors)
            self._message.error(f"Please fix the form: {listed}.")
            return None
        if not self._api.signed_in:
            self._message.error("Log in (or sign up) first: reports belong to an account.")
            return None

        self._idempotency_key = self._idempotency_key or uuid.uuid4().hex
        self.process.disabled = True
        try:
            report = await self._api.submit_report(self.type.value, checked.params,
                                                   idempotency_key=self._idempotency_key)
        except ApiError as exc:
            self.params.show_problems(exc.errors)
            raise
        finally:
            self.process.disabled = False

        self._idempotency_key = None
        self._message.success(f"Report {report.short_id} accepted: it is {report.status}.")
        self._start_watch(report)
        return report

    async def wait(self, timeout_s: float = 60.0) -> Report | None:
        """Waits until the report submitted last has finished; returns its final state."""
        if self._watch is not None:
            async with asyncio.timeout(timeout_s):
                await asyncio.shield(self._watch)
        return self.report

    def stop_watching(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None

    def _start_watch(self, report: Report) -> None:
        self.stop_watching()
        self._watch = self._background.spawn(self._follow(report), name="follow report")

    async def _follow(self, report: Report) -> None:
        final = await follow_report(self._api, report, self._changed,
                                    on_trouble=self._message.error,
                                    interval_s=self._poll_interval_s)
        if final.status is ReportStatus.DONE:
            self._message.success(f"Report {final.short_id} is DONE.")
        elif final.status is ReportStatus.FAILED:
            reason = final.failure_reason or "no reason given"
            self._message.error(f"Report {final.short_id} FAILED: {reason}.")
        else:
            self._message.info(f"Report {final.short_id} is {final.status}.")

    def _changed(self, report: Report) -> None:
        self.card.show(report)
        if self._on_change is not None:
            self._on_change(report)

    def _on_process(self, _button: widgets.Button) -> None:
        self._background.spawn(self.submit(), name="submit report")

    def _on_type(self, change: dict[str, Any]) -> None:
        self._reset_params(change["new"])

    def _reset_params(self, report_type: str) -> None:
        self.params.set_type(report_type)
        self.params.set_values(**suggested_values(report_type))
        for box in self.params.inputs.values():
            box.observe(self._forget_key, names="value")
        self._idempotency_key = None

    def _forget_key(self, _change: dict[str, Any]) -> None:
        # A changed form is a different request: it must not replay the previous one.
        self._idempotency_key = None
