"""Request and response bodies, with the examples the OpenAPI document shows.

Inputs forbid unknown fields and bound every string, so a typo or an oversized value is a 422
naming the field rather than something silently ignored or stored.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from starlette.responses import Response

from omniflow.contracts import REPORT_TYPES, ReportStatus

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")


def _clean_text(value: str) -> str:
    """Refuses control characters and unpaired surrogates (they cannot be stored as UTF-8)."""
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode text") from exc
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("must be an email address like name@example.org")
    return value


CleanText = Annotated[str, AfterValidator(_clean_text)]
Email = Annotated[str, Field(min_length=3, max_length=254), AfterValidator(_clean_text),
                  AfterValidator(_email)]
Password = Annotated[str, Field(min_length=8, max_length=128), AfterValidator(_clean_text)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Credentials(_Input):
    """An email and a password."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"email": "ada@example.org",
                                         "password": "correct horse battery"}]},
    )

    email: Email
    password: Password


class UserOut(BaseModel):
    """A user account as others may see it (never the password hash)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": 7, "email": "ada@example.org", "role": "learner",
         "created_at": "2026-12-05T09:30:00Z"}]})

    id: int
    email: str
    role: Literal["learner", "admin"]
    created_at: dt.datetime


class Token(BaseModel):
    """A bearer access token."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…", "token_type": "bearer",
         "expires_in": 3600}]})

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")


REPORT_TYPE_NAMES = tuple(REPORT_TYPES)

# The report types as a closed set, for filters: an unknown type is a 422 naming the field,
# like an unknown status, rather than an empty page.
ReportTypeName = Literal[REPORT_TYPE_NAMES]  # type: ignore[valid-type]

StatusFilter = Annotated[
    list[ReportStatus] | None,
    Query(description="Only reports in this status; repeat it (`status=DONE&status=FAILED`) "
          "for reports in any of several."),
]
TypeFilter = Annotated[
    list[ReportTypeName] | None,
    Query(description="Only reports of this type; repeat it for any of several."),
]


class CreateReport(_Input):
    """A report request: its type and the parameters that type takes."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [
            {"type": "sales_summary",
             "params": {"region": "north", "start_date": "2026-01-01",
                        "end_date": "2026-03-31"}},
            {"type": "inventory_snapshot", "params": {"warehouse": "LYON-2"}},
            {"type": "user_activity", "params": {"days": 30, "top": 5}},
        ]},
    )

    type: str = Field(min_length=1, max_length=64,
                      description=f"One of: {', '.join(REPORT_TYPE_NAMES)}.")
    params: dict[str, Any] = Field(default_factory=dict,
                                   description="The parameters of that report type.")


_REPORT_EXAMPLE = {
    "id": "0b9f2a4e-6a51-4c57-9d0e-3f7f1f0f5a11",
    "owner_id": 7,
    "type": "sales_summary",
    "params": {"region": "north", "start_date": "2026-01-01", "end_date": "2026-03-31",
               "seed": 0, "poison": False},
    "status": "PROCESSING",
    "generation": 1,
    "attempts": 1,
    "progress": 40,
    "failure_reason": None,
    "trace_id": "5b0c6f3e9a7d4f1e8c2b7a6d5e4f3a2b",
    "idempotency_key": "order-2026-0042",
    "worker": "worker-1",
    "created_at": "2026-12-05T09:30:00.120Z",
    "queued_at": "2026-12-05T09:30:00.140Z",
    "started_at": "2026-12-05T09:30:00.170Z",
    "finished_at": None,
    "updated_at": "2026-12-05T09:30:01.020Z",
}


class ReportOut(BaseModel):
    """A report request and where it is in its lifecycle."""

    model_config = ConfigDict(json_schema_extra={"examples": [_REPORT_EXAMPLE]})

    id: uuid.UUID
    owner_id: int
    type: str
    params: dict[str, Any]
    status: ReportStatus
    generation: int = Field(description="Starts at 1; each retry or requeue adds one.")
    attempts: int = Field(description="Deliveries to a worker over the report's whole life.")
    progress: int = Field(description="Percent done, 0 to 100.")
    failure_reason: str | None
    trace_id: str = Field(description="Follows the request into the worker's logs.")
    idempotency_key: str | None
    worker: str | None
    created_at: dt.datetime
    queued_at: dt.datetime | None = Field(description="When the job reached the broker.")
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    updated_at: dt.datetime


class ReportPage(BaseModel):
    """One page of reports, newest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"items": [_REPORT_EXAMPLE], "next_cursor": "MjAyNi0xMi0wNVQwOTozMDowMC4xMjBa"}]})

    items: list[ReportOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page.")


def report_from_row(row: Any) -> ReportOut:
    """Builds the response model from a database row the schema already guarantees.

    Validation is skipped (the database's constraints did it), so each value must already
    have its field's type: the status column is text and becomes the enum here.
    """
    values = {name: row[name] for name in _REPORT_FIELDS}
    values["status"] = ReportStatus(values["status"])
    return ReportOut.model_construct(**values)


_REPORT_FIELDS = tuple(ReportOut.model_fields)


def json_response(model: BaseModel, status: int = 200,
                  headers: dict[str, str] | None = None) -> Response:
    """Serializes ``model`` once, straight to JSON bytes."""
    return Response(model.model_dump_json(), status_code=status, headers=headers,
                    media_type="application/json")
