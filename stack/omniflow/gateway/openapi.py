"""Helpers that make the OpenAPI document describe the problem responses each route can give."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

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


def install(app: FastAPI) -> None:
    """Makes every error response in the document a problem document, with its schema.

    FastAPI files a response ``model`` under ``application/json``; errors are served as
    ``application/problem+json``, so the schema moves there, and FastAPI's own validation
    error schema gives way to ours.
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(title=app.title, version=app.version,
                               description=app.description, routes=app.routes,
                               tags=app.openapi_tags)
            problem_ref = {"$ref": "#/components/schemas/Problem"}
            for path in spec["paths"].values():
                for operation in path.values():
                    for status, response in operation.get("responses", {}).items():
                        content = response.get("content", {})
                        if int(status) >= 400 and PROBLEM_MEDIA_TYPE in content:
                            content.pop("application/json", None)
                            content[PROBLEM_MEDIA_TYPE]["schema"] = problem_ref
            for unused in ("HTTPValidationError", "ValidationError"):
                spec.get("components", {}).get("schemas", {}).pop(unused, None)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
