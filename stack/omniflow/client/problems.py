"""Turns whatever goes wrong while talking to the gateway into one error a person can read.

The gateway answers every failure with RFC 9457 problem details (``status``, ``title``,
``detail`` and, for bad inputs, ``errors: [{field, reason}]``). A dropped connection, a time-out
or a refused port never reaches that far, so they get a message of their own here. The widgets
show ``ApiError.message`` and never a traceback.

See https://www.rfc-editor.org/rfc/rfc9457 for the format.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

START_HINT = "Start the stack with `make lab` (or `omniflow up`) and try again."


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One bad input: the field as the gateway names it (``params.end_date``) and why."""

    field: str
    reason: str

    @property
    def name(self) -> str:
        """The field's own name, without the ``params.`` prefix of the request body."""
        return self.field.removeprefix("params.")

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


class ApiError(Exception):
    """A request that did not succeed, with a message fit to show in a widget."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        kind: str | None = None,
        errors: tuple[FieldProblem, ...] = (),
        retry_after_s: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.kind = kind
        self.errors = errors
        self.retry_after_s = retry_after_s


class GatewayUnreachable(ApiError):
    """No HTTP answer at all: the gateway is down, the address is wrong, or it timed out."""


def unreachable(base_url: str, exc: httpx.TransportError) -> GatewayUnreachable:
    """Describes a connection that failed before any response arrived."""
    if isinstance(exc, httpx.TimeoutException):
        what = f"The gateway at {base_url} did not answer in time."
    else:
        what = f"Cannot reach the gateway at {base_url}."
    return GatewayUnreachable(f"{what} {START_HINT}")


def error_from_response(response: httpx.Response, *, action: str) -> ApiError:
    """Reads a problem document (or whatever body came back) into an ``ApiError``.

    ``action`` says what was being done, in a few words ("log in", "submit the report").
    """
    status = response.status_code
    body = _json_or_none(response)
    detail = str(body.get("detail") or "") if isinstance(body, dict) else ""
    kind = str(body.get("type", "")).rsplit(":", 1)[-1] if isinstance(body, dict) else None
    errors = _field_problems(body)
    retry_after = _retry_after(response)
    detail = detail or response.reason_phrase or "no detail given"

    if status == 401:
        if action == "log in":
            message = f"Could not log in: {detail}."
        else:
            message = (f"You are not signed in, or your session has expired: log in again "
                       f"({detail}).")
    elif status == 403:
        message = f"Not allowed to {action}: {detail}."
    elif status == 404:
        message = f"Could not {action}: not found ({detail})."
    elif status == 422 and errors:
        listed = "; ".join(str(error) for error in errors)
        message = f"Could not {action}, some inputs are not valid: {listed}."
    elif status == 429:
        message = f"Too many requests, slow down: {detail}."
    elif status >= 500:
        message = f"The gateway failed to {action} (HTTP {status}): {detail}. Try again shortly."
    else:
        message = f"Could not {action}: {detail}."
    return ApiError(message, status=status, kind=kind, errors=errors, retry_after_s=retry_after)


def _json_or_none(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def _field_problems(body: object) -> tuple[FieldProblem, ...]:
    if not isinstance(body, dict) or not isinstance(body.get("errors"), list):
        return ()
    return tuple(
        FieldProblem(str(item.get("field", "body")), str(item.get("reason", "is not valid")))
        for item in body["errors"]
        if isinstance(item, dict)
    )


def _retry_after(response: httpx.Response) -> int | None:
    value = response.headers.get("Retry-After", "")
    return int(value) if value.isdigit() else None
