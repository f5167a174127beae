"""A person's path through the client: submit, watch it finish, filter, cancel, retry."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

from omniflow.client import ApiError, ClientApp
from omniflow.contracts import ReportStatus
from omniflow.monitor import AdminPoller
from omniflow.settings import Settings

SALES = {"start_date": "2026-01-01", "end_date": "2026-06-30"}


async def test_a_submitted_report_updates_itself_until_done(signed_in: ClientApp) -> None:
    app = signed_in
    app.form.type.value = "user_activity"
    app.form.params.set_values(days=3, top=5)

    app.form.process.click()
    await app.settle()

    report = app.form.report
    assert report is not None and report.status is ReportStatus.DONE
    assert app.message.level == "success"
    assert app.message.text == f"Report {report.short_id} is DONE."
    assert 'data-status="DONE"' in app.form.card.summary.value
    assert app.form.card.bar.value == 100
    assert [row.id for row in app.table.rows] == [report.id]


async def test_the_card_shows_each_status_it_passes_through(signed_in: ClientApp) -> None:
    app = signed_in
    seen: list[ReportStatus] = []
    app.form.card.summary.observe(
        lambda _change: seen.append(app.form.card.report.status), names="value")
    app.form.type.value = "inventory_snapshot"
    app.form.params.set_values(warehouse="LYON-2")

    app.form.process.click()
    await app.settle()

    assert seen[0] is ReportStatus.PENDING
    assert seen[-1] is ReportStatus.DONE
    assert ReportStatus.PROCESSING in seen


async def test_the_status_filter_shows_only_that_status(signed_in: ClientApp) -> None:
    app = signed_in
    app.form.type.value = "user_activity"
    app.form.process.click()
    await app.settle()

    app.table.status.value = "DONE"
    await app.settle()
    assert [row.status for row in app.table.rows] == [ReportStatus.DONE]
    assert app.table.summary.value == "1 DONE report(s)."

    app.table.status.value = "CANCELLED"
    await app.settle()
    assert app.table.rows == ()
    assert app.table.summary.value == "No CANCELLED reports yet."


async def in_flight_capacity(settings: Settings) -> int:
    """How many jobs the live workers can hold at once; more than that must wait PENDING."""
    poller = AdminPoller(settings.gateway_url)
    try:
        workers = len((await poller.poll()).workers)
    finally:
        await poller.aclose()
    return workers * settings.worker_concurrency


async def test_cancel_button_cancels_a_pending_report(signed_in: ClientApp,
                                                      settings: Settings) -> None:
    app = signed_in
    # A burst larger than what the workers can hold leaves the newest reports PENDING.
    burst_size = min(await in_flight_capacity(settings) + 8, settings.max_unfinished_reports)
    await asyncio.gather(*(app.api.submit_report("sales_summary", SALES)
                           for _ in range(burst_size)))

    try:
        app.table.status.value = "PENDING"
        await app.settle()
        cancelled = None
        for report in app.table.rows:
            buttons = app.table.actions[report.id]
            assert "retry" not in buttons
            if "cancel" not in buttons:
                continue
            buttons["cancel"].click()
            await app.settle()
            if app.message.text == f"Report {report.short_id} is CANCELLED.":
                cancelled = report
                break
            # A worker took it between the listing and the click: the gateway said so.
            assert "Could not cancel the report" in app.message.text

        assert cancelled is not None, "no report stayed PENDING long enough to be cancelled"
        assert (await app.api.get_report(cancelled.id)).status is ReportStatus.CANCELLED
        assert cancelled.id not in {row.id for row in app.table.rows}
        assert app.message.level == "success"
    finally:
        await cancel_what_still_waits(app)


async def cancel_what_still_waits(app: ClientApp) -> None:
    """Leaves the workers only what they already hold, for the tests that come next."""
    page = await app.api.list_reports(status="PENDING", limit=100)
    for report in page.items:
        with contextlib.suppress(ApiError):
            await app.api.cancel_report(report.id)


async def test_retry_button_runs_a_failed_report_again(signed_in: ClientApp) -> None:
    app = signed_in
    app.form.type.value = "user_activity"
    app.form.params.set_values(poison=True)

    app.form.process.click()
    await app.settle(timeout_s=120)  # Three deliveries, each after the reclaim delay.

    failed = app.form.report
    assert failed is not None and failed.status is ReportStatus.FAILED
    assert app.message.level == "error"
    assert app.message.text.startswith(f"Report {failed.short_id} FAILED: ")
    await app.table.refresh()
    buttons = app.table.actions[failed.id]
    assert set(buttons) == {"retry"}

    buttons["retry"].click()
    await app.settle()
    assert app.message.text == f"Report {failed.short_id} was queued again (generation 2)."
    again = await app.api.get_report(failed.id)
    assert again.generation == 2
    assert again.status in {ReportStatus.PENDING, ReportStatus.PROCESSING}


async def test_the_params_follow_the_report_type(app: ClientApp) -> None:
    app.form.type.value = "sales_summary"
    assert {"region", "start_date", "end_date"} <= set(app.form.params.inputs)
    assert isinstance(app.form.params.inputs["start_date"].value, dt.date)

    app.form.type.value = "user_activity"
    assert set(app.form.params.inputs) == {"days", "top", "seed", "poison"}
    assert app.form.params.inputs["days"].value == 7
