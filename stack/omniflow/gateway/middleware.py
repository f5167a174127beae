"""Two plain ASGI middlewares that wrap every request.

``RequestContext`` gives each request a trace id (a well-formed incoming ``X-Trace-Id`` is kept,
so a caller can follow its own id through the system), returns it in the response, tags every
log line written while the request runs, writes one access-log line when it ends, and turns an
unexpected exception into a 500 problem that reveals nothing about the code.

``BodyLimit`` refuses an oversized body before anyone parses it: on ``Content-Length`` before a
single byte is read, and for a chunked body as soon as the running count passes the limit. The
body is never buffered beyond the limit, so a 100 MB upload costs the gateway no memory. Note
that the 413 does not ask to close the connection: uvicorn (httptools) then discards the rest of
the body as it arrives, until its keep-alive timeout, so a client that only reads after sending
everything still gets the answer instead of a connection reset.

Both are written against the raw ASGI interface rather than Starlette's ``BaseHTTPMiddleware``,
which adds a task and a stream per request: on the submit path that overhead shows.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omniflow.gateway.errors import PROBLEM_MEDIA_TYPE, problem_body

log = logging.getLogger("omniflow.gateway")
access_log = logging.getLogger("omniflow.gateway.access")

TRACE_HEADER = b"x-trace-id"
_TRACE_ID = re.compile(rb"^[A-Za-z0-9._-]{8,64}$")
_current_trace: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "omniflow_trace_id", default=None)


def install_trace_logging() -> None:
    """Makes every log record carry the trace id of the request that wrote it."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "omniflow_trace", False):
        return

    def make_record(*args: object, **kwargs: object) -> logging.LogRecord:
        # Under its own name: a ``trace_id`` given as ``extra=`` must still be allowed.
        record = factory(*args, **kwargs)
        record.request_trace_id = _current_trace.get()
        return record

    make_record.omniflow_trace = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_record)


class RequestContext:
    """Trace id, access log and last-resort error handling for each HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()
        trace_id = _trace_id_of(scope)
        scope["omniflow.trace_id"] = trace_id
        token = _current_trace.set(trace_id)
        header = (TRACE_HEADER, trace_id.encode())
        status = 500
        response_started = False

        async def send_with_trace(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_trace)
        except Exception:
            log.exception("unhandled error in %s %s", scope["method"], scope["path"])
            if not response_started:
                await _send_problem(send_with_trace, scope, 500,
                                    "an unexpected error occurred; it has been logged")
        finally:
            access_log.info(
                "%s %s %s %.1fms user=%s", scope["method"], scope["path"], status,
                (time.perf_counter() - started) * 1000, scope.get("omniflow.user_id", "-"),
            )
            _current_trace.reset(token)


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit} bytes")


class BodyLimit:
    """Caps the size of every request body at ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            log.warning("refused a %d-byte body (limit %d) before reading it", declared,
                        self.max_bytes)
            await _send_problem(send, scope, 413, BodyTooLarge(self.max_bytes).detail)
            return

        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    log.warning("cut off a streamed body at %d bytes (limit %d)", received,
                                self.max_bytes)
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge as exc:
            # Only reached when the body was read outside a route (the router answers itself).
            if response_started:
                raise
            await _send_problem(send, scope, 413, str(exc.detail))


def _trace_id_of(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == TRACE_HEADER:
            if _TRACE_ID.match(value):
                return value.decode()
            break
    return uuid.uuid4().hex


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_problem(send: Send, scope: Scope, status: int, detail: str) -> None:
    kind = "body-too-large" if status == 413 else "internal-error"
    body = problem_body(status, detail, instance=scope["path"],
                        trace_id=scope.get("omniflow.trace_id"), kind=kind)
    headers = [(b"content-type", PROBLEM_MEDIA_TYPE.encode()),
               (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
