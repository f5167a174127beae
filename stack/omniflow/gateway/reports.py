"""A learner's report requests: submit, list, read, cancel and retry.

Every route here is scoped to the caller: another user's report answers 404, exactly as a
report that does not exist, so ids cannot be probed to learn what others have submitted.

Submitting writes the report and its outbox row in one statement; the relay publishes the job
later. The request path never talks to Redis, so a broker outage does not fail a submit.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import uuid
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Header, Path, Query, Request
from pydantic import ValidationError

from omniflow.contracts import ReportStatus, parse_params
from omniflow.gateway import database, queries
from omniflow.gateway.auth import CurrentUser, Res
from omniflow.gateway.errors import ProblemError, params_errors
from omniflow.gateway.openapi import problems
from omniflow.gateway.schemas import (
    CreateReport,
    ReportOut,
    ReportPage,
    StatusFilter,
    TypeFilter,
    json_response,
    report_from_row,
)
from omniflow.gateway.submits import Submit

log = logging.getLogger("omniflow.gateway.reports")

router = APIRouter(prefix="/reports", tags=["reports"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Any printable ASCII text without spaces. Submitting again with the same "
        "key returns the first report (200) instead of creating another.",
        examples=["order-2026-0042"],
    ),
]
ReportId = Annotated[uuid.UUID, Path(description="The report's id.")]
PageLimit = Annotated[int, Query(ge=1, le=100, description="Reports per page.")]
Cursor = Annotated[str | None, Query(max_length=200,
                                     description="`next_cursor` from the previous page.")]


def validated_params(body: CreateReport) -> dict[str, Any]:
    """Checks the params against the type's schema; returns them with defaults filled in."""
    if "type" in body.params:
        raise ProblemError(422, "1 input is not valid", kind="validation-error", errors=[
            {"field": "params.type", "reason": "the report type belongs in the top-level "
             "field 'type'"}])
    try:
        model = parse_params(body.type, body.params)
    except ValidationError as exc:
        errors = params_errors(exc, body.type)
        count = len(errors)
        detail = f"{count} input is not valid" if count == 1 else f"{count} inputs are not valid"
        raise ProblemError(422, detail, kind="validation-error", errors=errors) from None
    return model.model_dump(mode="json", exclude={"type"})


@router.post(
    "",
    status_code=202,
    response_model=ReportOut,
    summary="Submit a report request",
    responses={
        200: {"model": ReportOut,
              "description": "A replay: this Idempotency-Key was used before; the first "
              "report is returned and nothing new is created."},
        **problems(401, 409, 422, 429),
    },
)
async def submit(body: CreateReport, principal: CurrentUser, res: Res, request: Request,
                 idempotency_key: IdempotencyKey = None) -> Any:
    """Saves the request as PENDING and queues its job; the answer does not wait for the work.

    The report and its outbox row are committed together, in a batch with whatever other
    submits arrived meanwhile (see `omniflow.gateway.submits`).

    Follow the report with `GET /reports/{id}` or the `/events` stream.
    """
    params = validated_params(body)
    item = Submit(report_id=uuid.uuid4(), owner_id=principal.user_id, type=body.type,
                  params=params, trace_id=request.scope["omniflow.trace_id"],
                  idempotency_key=idempotency_key)

    outcome = await res.submits.submit(item)
    row, is_new = outcome.row, outcome.is_new
    if row is None:
        row, is_new = await _after_refusal(res, principal.user_id, idempotency_key,
                                           outcome.unfinished), False

    report = report_from_row(row)
    location = {"Location": f"/reports/{report.id}"}
    if is_new:
        log.debug("accepted report %s (%s) for user %s", report.id, report.type,
                 principal.user_id)
        return json_response(report, 202, location)
    if report.type != body.type or report.params != params:
        raise ProblemError(
            409,
            "this Idempotency-Key was already used for a different request; "
            "use a new key for a new report",
            kind="idempotency-key-reused",
        )
    return json_response(report, 200, {**location, "Idempotent-Replayed": "true"})


async def _after_refusal(res: Res, user_id: int, key: str | None, unfinished: int) -> Any:
    """Explains why the submit statement inserted nothing, or finds the concurrent twin."""
    limit = res.settings.max_unfinished_reports
    if key is not None and unfinished < limit:
        # A concurrent request with the same key committed first; it is now visible.
        async def fetch(conn: asyncpg.Connection) -> asyncpg.Record | None:
            return await conn.fetchrow(queries.REPORT_BY_IDEMPOTENCY_KEY, user_id, key)

        twin = await database.run(res.pool, fetch, name="idempotent lookup")
        if twin is not None:
            return twin
    raise _too_many(unfinished, limit)


def _too_many(unfinished: int, limit: int) -> ProblemError:
    return ProblemError(
        429,
        f"you have {unfinished} unfinished reports (PENDING or PROCESSING) and at most "
        f"{limit} are allowed; wait for some to finish or cancel pending ones",
        kind="too-many-unfinished",
        headers={"Retry-After": "5"},
    )


@router.get("", response_model=ReportPage, summary="List my reports, newest first",
            responses=problems(401, 422))
async def list_mine(
    principal: CurrentUser,
    res: Res,
    status: StatusFilter = None,
    type: TypeFilter = None,
    limit: PageLimit = 20,
    cursor: Cursor = None,
) -> Any:
    """Pages through the caller's reports, newest first."""
    return await fetch_page(res, owner_id=principal.user_id, statuses=status, report_types=type,
                            limit=limit, cursor=cursor)


@router.get("/{report_id}", response_model=ReportOut, summary="Read one of my reports",
            responses=problems(401, 404, 422))
async def read(report_id: ReportId, principal: CurrentUser, res: Res) -> Any:
    """Returns the report with its status, progress, attempts and timestamps."""

    async def fetch(conn: asyncpg.Connection) -> asyncpg.Record | None:
        return await conn.fetchrow(queries.OWN_REPORT_BY_ID, report_id, principal.user_id)

    row = await database.run(res.pool, fetch, name="read report")
    if row is None:
        raise not_found()
    return json_response(report_from_row(row))


@router.post("/{report_id}/cancel", response_model=ReportOut,
             summary="Cancel a report that has not started",
             responses=problems(401, 404, 409, 422))
async def cancel(report_id: ReportId, principal: CurrentUser, res: Res) -> Any:
    """Moves a PENDING report to CANCELLED; a report already taken by a worker is 409."""

    async def change(conn: asyncpg.Connection) -> asyncpg.Record | None:
        return await conn.fetchrow(queries.CANCEL, report_id, principal.user_id)

    async def change_again(conn: asyncpg.Connection) -> Any:
        # The first try may have committed: its own cancellation is not a conflict.
        row = await change(conn)
        if row is not None and not row["changed"] and row["status"] == "CANCELLED":
            return {**dict(row), "changed": True}
        return row

    row = await database.run(res.pool, change, retry=change_again, name="cancel")
    if row is None:
        raise not_found()
    if not row["changed"]:
        raise _wrong_status(row["status"], "PENDING", "cancelled")
    log.info("cancelled report %s", report_id)
    return json_response(report_from_row(row))


@router.post("/{report_id}/retry", status_code=202, response_model=ReportOut,
             summary="Run a failed report again", responses=problems(401, 404, 409, 422, 429))
async def retry(report_id: ReportId, principal: CurrentUser, res: Res) -> Any:
    """Puts a FAILED report back to PENDING as a new generation and queues a new job."""
    limit = res.settings.max_unfinished_reports

    async def change(conn: asyncpg.Connection) -> asyncpg.Record | None:
        return await conn.fetchrow(queries.RETRY, report_id, principal.user_id, limit)

    # Not repeated once sent: the guarded update makes a repeat harmless, but it would answer
    # "conflict" to a user whose retry had in fact gone through.
    row = await database.run(res.pool, change, repeatable=False, name="retry")
    if row is None:
        raise not_found()
    if not row["changed"]:
        if row["status"] == "FAILED" and row["unfinished"] >= limit:
            raise _too_many(row["unfinished"], limit)
        raise _wrong_status(row["status"], "FAILED", "retried")
    log.info("retrying report %s as generation %s", report_id, row["generation"])
    return json_response(report_from_row(row), 202)


async def fetch_page(res: Res, *, owner_id: int | None, statuses: list[ReportStatus] | None,
                     report_types: list[str] | None, limit: int, cursor: str | None) -> Any:
    """Runs one keyset-paginated page query; shared with the admin list.

    A repeated filter (``status=DONE&status=FAILED``) matches any of its values.
    """
    after = decode_cursor(cursor) if cursor else None
    sql, args = queries.list_reports(
        owner_id=owner_id,
        statuses=sorted({status.value for status in statuses or ()}),
        report_types=sorted(set(report_types or ())),
        after=after, limit=limit + 1)

    async def fetch(conn: asyncpg.Connection) -> list[asyncpg.Record]:
        return await conn.fetch(sql, *args)

    rows = await database.run(res.pool, fetch, name="list reports")
    items = [report_from_row(row) for row in rows[:limit]]
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return json_response(ReportPage.model_construct(items=items, next_cursor=next_cursor))


def encode_cursor(row: Any) -> str:
    """Makes the opaque token that resumes a page after ``row``."""
    text = f"{row['created_at'].isoformat()}|{row['id']}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    """Reads a cursor back; a tampered or truncated one is a 422 on ``query.cursor``."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, _, ident = text.partition("|")
        at = dt.datetime.fromisoformat(created)
        if at.tzinfo is None:
            raise ValueError("naive timestamp")
        return at, uuid.UUID(ident)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ProblemError(422, "1 input is not valid", kind="validation-error", errors=[
            {"field": "query.cursor", "reason": "not a cursor this API returned"}]) from None


def not_found() -> ProblemError:
    return ProblemError(404, "no report with this id", kind="not-found")


def _wrong_status(current: str, needed: str, verb: str) -> ProblemError:
    return ProblemError(
        409,
        f"the report is {current}; only a {needed} report can be {verb}",
        kind="wrong-status",
    )
