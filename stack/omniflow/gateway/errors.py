"""One error shape for every response: RFC 9457 problem details (``application/problem+json``).

A client (or a learner with ``curl``) can always read ``status``, ``title`` and ``detail``; a
validation error adds ``errors``, a list of ``{field, reason}`` naming each bad input. Every
problem also carries the request's ``trace_id`` so it can be found in the logs.

See https://www.rfc-editor.org/rfc/rfc9457 for the format.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from omniflow.contracts import REPORT_TYPES

log = logging.getLogger("omniflow.gateway")

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:omniflow:problem:"


class FieldError(BaseModel):
    """One bad input: where it is and what is wrong with it."""

    field: str = Field(examples=["params.start_date"])
    reason: str = Field(examples=["Input should be a valid date in the format YYYY-MM-DD"])


class Problem(BaseModel):
    """The body of every error response."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:omniflow:problem:validation-error",
                    "title": "Unprocessable Content",
                    "status": 422,
                    "detail": "1 input is not valid",
                    "instance": "/reports",
                    "trace_id": "5b0c6f3e9a7d4f1e8c2b7a6d5e4f3a2b",
                    "errors": [{"field": "params.region", "reason": "Input should be 'north', "
                                "'south', 'east', 'west' or 'all'"}],
                }
            ]
        }
    )

    type: str = Field(description="A URI naming the kind of problem.")
    title: str = Field(description="A short summary of the kind of problem.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong with this request, for a person.")
    instance: str = Field(description="The path of the request that failed.")
    trace_id: str | None = Field(default=None, description="Finds this request in the logs.")
    errors: list[FieldError] | None = Field(default=None, description="Each invalid input.")


class ProblemError(Exception):
    """Raised anywhere in a request to answer with a problem response."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.errors = errors
        self.headers = headers or {}


def problem_body(
    status: int,
    detail: str,
    *,
    instance: str,
    trace_id: str | None,
    kind: str | None = None,
    errors: list[dict[str, str]] | None = None,
) -> bytes:
    """Encodes a problem document; ``kind`` defaults to a slug of the status phrase."""
    phrase = _phrase(status)
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + (kind or phrase.lower().replace(" ", "-")),
        "title": phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
        "trace_id": trace_id,
    }
    if errors is not None:
        body["errors"] = errors
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def problem_response(request: Request, status: int, detail: str, *, kind: str | None = None,
                     errors: list[dict[str, str]] | None = None,
                     headers: dict[str, str] | None = None) -> Response:
    """Builds the problem response for ``request``."""
    content = problem_body(
        status, detail, instance=request.url.path,
        trace_id=request.scope.get("omniflow.trace_id"), kind=kind, errors=errors,
    )
    return Response(content, status_code=status, headers=headers,
                    media_type=PROBLEM_MEDIA_TYPE)


def field_errors(errors: Any, *, prefix: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """Turns pydantic error dicts into ``{field, reason}`` pairs a person can act on.

    Note that the first element of a request error's location is where the input came from:
    body fields are named by their path in the JSON document, other inputs keep their place
    (``query.limit``, ``path.report_id``, ``header.idempotency-key``).
    """
    result = []
    for error in errors:
        loc = [str(part) for part in (*prefix, *error.get("loc", ()))]
        if loc and loc[0] == "body":
            loc = loc[1:]
        elif len(loc) == 3 and loc[0] == "query" and loc[2].isdigit():
            loc = loc[:2]  # A repeatable parameter (``status=…&status=…``) is named as one.
        reason = str(error.get("msg", "is not valid"))
        if error.get("type") == "json_invalid":
            detail = (error.get("ctx") or {}).get("error", "")
            reason = f"the body is not valid JSON ({detail})" if detail else "invalid JSON"
            loc = []
        result.append({"field": ".".join(loc) or "body", "reason": reason})
    return result


def params_errors(exc: ValidationError, report_type: str) -> list[dict[str, str]]:
    """Names errors from ``contracts.parse_params`` relative to the request body.

    The parameter schemas form a union tagged by the report type, so pydantic puts the tag
    first in each location (``sales_summary.start_date``); the client wrote ``params.…``.
    """
    result = []
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error.get("loc", ())]
        if error.get("type") == "union_tag_invalid":
            result.append({"field": "type", "reason": f"unknown report type {report_type!r}; "
                           f"expected one of {_expected_tags(error)}"})
            continue
        if loc and loc[0] == report_type:
            loc = loc[1:]
        reason = str(error.get("msg", "is not valid"))
        if reason.startswith("Value error, "):
            reason = reason.removeprefix("Value error, ")
            # A rule across fields names its main field first ("end_date must not be ...").
            named = reason.split(" ", 1)[0]
            if not loc and named in _params_fields(report_type):
                loc = [named]
        result.append({"field": ".".join(["params", *loc]), "reason": reason})
    return result


def install_handlers(app: FastAPI) -> None:
    """Makes every error the application raises answer with a problem document."""
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(request, exc.status, exc.detail, kind=exc.kind, errors=exc.errors,
                            headers=exc.headers)


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = field_errors(exc.errors())
    count = len(errors)
    detail = f"{count} input is not valid" if count == 1 else f"{count} inputs are not valid"
    return problem_response(request, 422, detail, kind="validation-error", errors=errors)


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    detail = exc.detail if isinstance(exc.detail, str) else _phrase(status)
    errors = None
    if isinstance(exc.__cause__, RecursionError):
        # The JSON decoder gives up on absurdly deep nesting before the handler runs.
        detail = "the body is nested too deeply to be a valid request"
        errors = [{"field": "body", "reason": "JSON nesting is too deep"}]
    elif isinstance(exc.__cause__, UnicodeDecodeError):
        detail = "the body is not valid UTF-8 text"
        errors = [{"field": "body", "reason": "JSON must be encoded as UTF-8"}]
    elif status == 400 and detail == "There was an error parsing the body":
        detail = "the body could not be parsed as JSON"
        errors = [{"field": "body", "reason": "the body could not be read as JSON"}]
    kind = "body-too-large" if status == 413 else None
    return problem_response(request, status, detail, kind=kind, errors=errors,
                            headers=exc.headers)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _params_fields(report_type: str) -> set[str]:
    model = REPORT_TYPES.get(report_type)
    return set(model.model_fields) if model else set()


def _expected_tags(error: Any) -> str:
    ctx = error.get("ctx") or {}
    return str(ctx.get("expected_tags", "a known report type"))
