"""Helpers that make the OpenAPI document describe the problem responses each route can give."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from omniflow.gateway.errors import PROBLEM_MEDIA_TYPE, TYPE_PREFIX, Problem

_EXAMPLES: dict[int, tuple[str, str]] = {
    400: ("bad-request", "the login form could not be decoded"),
    401: ("unauthorized", "the access token has expired"),
    403: ("forbidden", "this endpoint is for administrators"),
    404: ("not-found", "no report with this id"),
    409: ("conflict", "the report is DONE; only a PENDING report can be cancelled"),
    413: ("body-too-large", "the request body is larger than the limit of 65536 bytes"),
    422: ("validation-error", "1 input is not valid"),
    429: ("too-many-unfinished", "you have 50 unfinished reports, the most allowed"),
    503: ("database-unavailable", "the database is not reachable right now; please retry"),
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry for a route that can answer with these problem statuses."""
    result: dict[int | str, dict[str, Any]] = {}
    for status in (*statuses, 413, 500, 503):
        kind, detail = _EXAMPLES.get(status, ("internal-error", "an unexpected error occurred"))
        phrase = HTTPStatus(status).phrase
        example: dict[str, Any] = {
            "type": TYPE_PREFIX + kind,
            "title": phrase,
            "status": status,
            "detail": detail,
            "instance": "/reports",
            "trace_id": "5b0c6f3e9a7d4f1e8c2b7a6d5e4f3a2b",
        }
        if status == 422:
            example["errors"] = [{"field": "params.start_date",
                                  "reason": "Input should be a valid date"}]
        result[status] = {
            "model": Problem,
            "description": phrase,
            "content": {PROBLEM_MEDIA_TYPE: {"example": example}},
        }
    return result
